"""What an LLM teacher sends and what it must answer.

Every word sent to a model comes from ``templates/prompts/`` (``system.j2`` and
one template per category, overridable with ``--templates``). The answer is a
``TeacherDraft``: instructor asks the model for it and validates it with the
plan as context, so a draft that misses a seeded value, drops a required result
key or puts a failure where a success belongs goes back to the model with the
validator's reason (instructor's re-ask) instead of being thrown away.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

from generator.scenarios.base import Scenario, ScenarioDraft, ScenarioPlan
from generator.templating import environment
from generator.tools import ToolSet, ToolSpec

PLAN_CONTEXT = "plan"
TOOLS_CONTEXT = "tools"


class TeacherDraft(BaseModel):
    """One training conversation written around a fixed plan of tool calls."""

    model_config = ConfigDict(extra="forbid")

    user_request: str = Field(
        description="The user's message. States every value the user is to state, verbatim."
    )
    tool_results: list[dict[str, Any]] = Field(
        description=(
            "One JSON object per tool call, in call order: what the tool returned. "
            'A failing call returns {"error": {"code": ..., "message": ...}}.'
        )
    )
    final_answer: str = Field(
        description="The assistant's reply to the user after the last tool result."
    )

    @model_validator(mode="after")
    def _fits_the_plan(self, info: ValidationInfo) -> TeacherDraft:
        """With the plan in the validation context, run the whole validator on the draft."""
        context = info.context or {}
        plan, tools = context.get(PLAN_CONTEXT), context.get(TOOLS_CONTEXT)
        if plan is None or tools is None:
            return self
        from generator.validate import validate_scenario

        rejection = validate_scenario(Scenario(plan=plan, draft=self.to_draft()), tools)
        if rejection is not None:
            raise ValueError(f"{rejection.stage}: {rejection.reason}")
        return self

    def to_draft(self) -> ScenarioDraft:
        return ScenarioDraft(
            user_request=self.user_request,
            tool_results=self.tool_results,
            final_answer=self.final_answer,
        )


def validation_context(plan: ScenarioPlan, tools: tuple[ToolSpec, ...]) -> dict[str, Any]:
    return {PLAN_CONTEXT: plan, TOOLS_CONTEXT: ToolSet(tools)}


class PromptBuilder:
    """Renders the chat messages for one plan from the prompt templates."""

    def __init__(self, templates: Path | None = None) -> None:
        env = environment(templates)
        self._system = env.get_template("prompts/system.j2")
        self._env = env

    def messages(self, plan: ScenarioPlan, tools: tuple[ToolSpec, ...]) -> list[dict[str, str]]:
        template = self._env.get_template(f"prompts/{plan.category}.j2")
        user = template.render(
            plan=plan,
            style=plan.style,
            stated=plan.stated_arguments(),
            tools_json=json.dumps([tool.definition for tool in tools], indent=1),
            plan_json=plan.model_dump_json(),
        )
        return [
            {"role": "system", "content": self._system.render().strip()},
            {"role": "user", "content": user.strip()},
        ]

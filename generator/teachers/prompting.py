"""What an LLM teacher sends and what it must answer.

Every word sent to a model comes from ``templates/prompts/`` (``system.j2`` and
one template per category, overridable with ``--templates``). The answer is a
``TeacherDraft``: instructor asks the model for it and validates it with the
plan as context, so a draft that misses a seeded value, drops a required result
key or puts a failure where a success belongs goes back to the model with the
validator's reason (instructor's re-ask) instead of being thrown away.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

import instructor
import jinja2
from pydantic import ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from callforge.generator.errors import InputError
from callforge.generator.scenarios import CATEGORIES
from callforge.generator.scenarios.base import Scenario, ScenarioDraft, ScenarioPlan
from callforge.generator.templating import as_json, environment
from callforge.generator.tools import ToolSet, ToolSpec, stored_definition

if TYPE_CHECKING:
    from callforge.generator.dataflow import DataFlowGraph

_PLAN: ContextVar[_Checking | None] = ContextVar("plan", default=None)
_Checking = tuple[ScenarioPlan, ToolSet, list[dict[str, Any]] | None]


@contextmanager
def checking_against(
    plan: ScenarioPlan,
    tools: tuple[ToolSpec, ...],
    dataflow: DataFlowGraph | None = None,
    results: Sequence[dict[str, Any]] | None = None,
) -> Iterator[None]:
    """Validate ``TeacherDraft``s made in this block (this asyncio task) against ``plan``.

    ``dataflow`` is the user's data-flow graph, if the run has one (else it is inferred).
    ``results`` are the real tool messages (``--execute``): a draft's own tool results
    are replaced by them before the check, so its answer is checked against what the
    tools really returned, and a draft that misquotes them is not asked again for it.

    A context variable, not instructor's ``context=``: instructor also renders
    the messages as Jinja templates with that context, which costs milliseconds
    per request and would mangle a prompt whose values contain ``{{``.
    """
    real = [dict(result) for result in results] if results is not None else None
    token = _PLAN.set((plan, ToolSet(tools, dataflow=dataflow), real))
    try:
        yield
    finally:
        _PLAN.reset(token)


class DraftRejected(ValueError):
    """The validator rejected a draft: its stage travels with the re-ask's reason."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage = stage


def rejected_stage(exc: BaseException, default: str) -> str:
    """The validator stage behind a draft that did not fit, else ``default``."""
    errors = exc.errors() if isinstance(exc, ValidationError) else []
    for error in errors:
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, DraftRejected):
            return cause.stage
    return default


class TeacherDraft(instructor.OpenAISchema):
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
    free_text: list[dict[str, str]] = Field(
        default_factory=list,
        description=(
            "One object per tool call, in call order: the value you wrote for each argument "
            'listed under "Arguments you write" ({} for a call with none).'
        ),
    )

    _written_plan: ScenarioPlan | None = PrivateAttr(default=None)
    """The plan with this draft's free text, kept by the check that made it."""

    def written_plan(self, plan: ScenarioPlan, tools: tuple[ToolSpec, ...]) -> ScenarioPlan:
        """``plan`` with this draft's free text (raises ValueError where it does not fit)."""
        if self._written_plan is not None:
            return self._written_plan
        return plan.with_free_text(self.free_text, ToolSet(tools))

    @model_validator(mode="after")
    def _fits_the_plan(self) -> TeacherDraft:
        """Inside ``checking_against``, run the whole validator on the draft."""
        checking = _PLAN.get()
        if checking is None:
            return self
        plan, tools, real = checking
        from callforge.generator.validate import validate_scenario

        if real is not None:
            self.tool_results = [dict(result) for result in real]
        written = plan.with_free_text(self.free_text, tools)
        rejection = validate_scenario(Scenario(plan=written, draft=self.to_draft()), tools)
        self._written_plan = written
        if rejection is not None:
            raise DraftRejected(rejection.stage, rejection.reason)
        return self

    def to_draft(self) -> ScenarioDraft:
        # The same fields with the same types, validated by this model already.
        return ScenarioDraft.model_construct(
            user_request=self.user_request,
            tool_results=self.tool_results,
            final_answer=self.final_answer,
            turn_texts=list(getattr(self, "turn_texts", [])),
        )


class ConversationDraft(TeacherDraft):
    """A conversation of several turns: the words between the first request and the answer."""

    turn_texts: list[str] = Field(
        description=(
            "The words of every turn between user_request and final_answer, in order, "
            'as listed under "The turns" (a clarifying question, the user\'s reply, '
            "an answer before a follow-up, the follow-up...)."
        )
    )


def draft_model_for(plan: ScenarioPlan) -> type[TeacherDraft]:
    """The response model a plan needs: one with ``turn_texts`` when it has middle turns.

    Plans of one request and one answer keep ``TeacherDraft``, so their requests
    (and cache keys) are what they were.
    """
    return ConversationDraft if len(plan.text_turns()) > 2 else TeacherDraft


class ProposedLink(instructor.OpenAISchema):
    """One data flow the model proposes: a result field passed on as a parameter."""

    model_config = ConfigDict(extra="forbid")

    from_tool: str
    field: str = Field(description='Path of the result field, e.g. "flights[].flight_id".')
    to_tool: str
    parameter: str
    reason: str = ""


class ProposedLinks(instructor.OpenAISchema):
    """The data flows of a tool set, as the model sees them."""

    model_config = ConfigDict(extra="forbid")

    links: list[ProposedLink]


class JudgeVerdict(instructor.OpenAISchema):
    """A grade of one finished training conversation (``--judge``)."""

    model_config = ConfigDict(extra="forbid")

    calls_fit_request: bool = Field(
        description="True if every call and argument is what the user's message asks for."
    )
    answer_fits_results: bool = Field(
        description=(
            "True if the final answer states only what the user or the tool results said "
            "and reports the results' data that answers the request."
        )
    )
    reason: str = Field(description="One sentence: what is wrong, or why it is fine.")

    @property
    def passed(self) -> bool:
        return self.calls_fit_request and self.answer_fits_results

    def failure(self) -> str:
        """The rejection reason of a failing grade."""
        parts = [
            name
            for name, ok in (
                ("the calls do not fit the request", self.calls_fit_request),
                ("the answer does not fit the results", self.answer_fits_results),
            )
            if not ok
        ]
        return f"{' and '.join(parts)}: {self.reason.strip()}"


class PromptBuilder:
    """Renders the prompts for one plan from the prompt templates.

    The system prompt is the same for every request; the user prompt carries the
    plan. The tools' JSON is rendered once per combination of tools.
    """

    def __init__(self, templates: Path | None = None) -> None:
        env = environment(templates)
        try:  # every template now, so a broken --templates file fails before any work
            self.system = env.get_template("prompts/system.j2").render().strip()
            self._templates = {name: env.get_template(f"prompts/{name}.j2") for name in CATEGORIES}
            self._links = env.get_template("prompts/links.j2")
            judge = env.get_template("prompts/judge.j2")
            self.judge_system = judge.render(part="system", messages=[], tools_json="").strip()
        except jinja2.TemplateError as exc:
            raise InputError(f"prompt template: {_template_problem(exc)}") from None
        self._tools_json: dict[tuple[str, ...], str] = {}
        self._judge = judge

    def user_prompt(
        self,
        plan: ScenarioPlan,
        tools: tuple[ToolSpec, ...],
        results: Sequence[dict[str, Any]] | None = None,
    ) -> str:
        """The request for one draft; ``results`` are the real tool messages (``--execute``),
        shown as fixed, to be written around."""
        return (
            self._templates[plan.category]
            .render(
                plan=plan,
                style=plan.style,
                stated=plan.stated_arguments(),
                written=_written(plan, tools),
                tools_json=self._tools_json_of(tools),
                plan_json=plan.prompt_json(),
                results=[as_json(result) for result in results] if results is not None else None,
            )
            .strip()
        )

    def links_prompt(self, tools: ToolSet) -> str:
        """The request for a tool set's data flows, with each tool's declared result schema."""
        definitions = [stored_definition(tool) for tool in tools]
        return self._links.render(tools_json=as_json(definitions)).strip()

    def judge_prompt(
        self, plan: ScenarioPlan, tools: tuple[ToolSpec, ...], draft: ScenarioDraft
    ) -> str:
        """The judge's view of a finished conversation: the tools and every turn."""
        messages = Scenario(plan=plan, draft=draft).to_messages()
        return self._judge.render(
            part="user", messages=messages, tools_json=self._tools_json_of(tools)
        ).strip()

    def _tools_json_of(self, tools: tuple[ToolSpec, ...]) -> str:
        key = tuple(tool.content_hash for tool in tools)
        text = self._tools_json.get(key)
        if text is None:
            # Result schemas shown too: the teacher's results must fit them.
            text = self._tools_json[key] = as_json([stored_definition(tool) for tool in tools])
        return text


def _written(plan: ScenarioPlan, tools: tuple[ToolSpec, ...]) -> list[dict[str, Any]]:
    """The free-text arguments the teacher writes, with the schema each must keep."""
    if not any(step.free_text for step in plan.steps):
        return []
    by_name = {tool.name: tool for tool in tools}
    return [
        {
            "call": index + 1,
            "tool": step.call.name,
            "argument": name,
            "kind": kind,
            "schema": (by_name[step.call.name].parameters.get("properties") or {}).get(name, {}),
        }
        for index, step in enumerate(plan.steps)
        for name, kind in step.free_text.items()
        if step.call.name in by_name
    ]


def _template_problem(exc: jinja2.TemplateError) -> str:
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return f"{exc.filename or exc.name}:{exc.lineno}: {exc.message}"
    if isinstance(exc, jinja2.TemplateNotFound):
        return f"{exc.name} not found"
    return str(exc)

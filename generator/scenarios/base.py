"""The scenario model every category renders from.

A scenario is made in two halves:

* the **plan** (``ScenarioPlan``) is the generator's: which tools are called, with
  which seeded arguments, which call fails and why, which argument is chained from
  an earlier result. It is decided before a teacher writes a word, so it is valid
  by construction and reproducible from the seed;
* the **draft** (``ScenarioDraft``) is the teacher's: the user's words, each tool's
  result and the final answer, written *around* the plan.

``Scenario`` joins them and renders OpenAI chat messages. A category is a plan
builder plus its own validation rules (``Category``); the renderer and the
generic checks are shared, so a new category touches only its own module and
the registry.
"""

from __future__ import annotations

import json
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, ClassVar

from faker import Faker
from pydantic import BaseModel, ConfigDict, Field

from callforge.generator.schema import validate_instance
from callforge.generator.seeding import REFERENCE_TODAY, free_text_arguments
from callforge.generator.tools import ToolSet, ToolSpec

ERROR_KEY = "error"
"""A tool result that is a JSON object with this top-level key reports a failure."""


class ToolCall(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str
    arguments: dict[str, Any]


class PlannedFailure(BaseModel):
    """Why a planned call fails, and whether the assistant's call was the mistake."""

    model_config = ConfigDict(extra="forbid")

    kind: str
    detail: str
    assistant_mistake: bool
    argument: str | None = None
    """The argument the mistake is in (for a failure the assistant caused), if one."""
    retry_after_seconds: int | None = None
    """For a rate limit: how long the tool asks the caller to wait before retrying."""


class PlannedStep(BaseModel):
    model_config = ConfigDict(extra="forbid")

    call: ToolCall
    failure: PlannedFailure | None = None
    must_return: dict[str, Any] = Field(default_factory=dict)
    """Values the tool's result has to hold, for later calls to use, keyed by dotted path
    into the result (``"id"``, ``"customer.id"``, ``"results.0.flight_id"``; see
    ``result_value``)."""
    free_text: dict[str, str] = Field(default_factory=dict)
    """Free-text arguments of this call (argument -> kind: title, subject, body, query, sql...).

    An LLM teacher writes these itself, under the argument's schema; the seeded
    values are placeholders until it does. The offline teacher keeps them.
    """

    @property
    def trainable(self) -> bool:
        """False where the call is the assistant's own mistake: export gives it weight 0."""
        return self.failure is None or not self.failure.assistant_mistake


class ChainLink(BaseModel):
    """A later call's argument whose value comes from an earlier tool result.

    ``path`` is where the earlier result holds it (a dotted path, ``results.0.flight_id``):
    the earlier tool's output field, never the later tool's parameter name.
    """

    model_config = ConfigDict(extra="forbid")

    from_step: int
    to_step: int
    argument: str
    value: Any
    path: str = ""
    """Empty in plans made before paths: the result's top-level key ``argument``."""

    @property
    def result_path(self) -> str:
        return self.path or self.argument


class ScenarioPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str
    tool: str
    attempt: int
    seed: int
    steps: list[PlannedStep]
    chains: list[ChainLink] = Field(default_factory=list)
    style: dict[str, str] = Field(default_factory=dict)
    today: str = ""
    """The example's "today" (ISO date), from its seed: dates, results and answers agree on it.

    Empty only in scenarios stored before it existed; read ``today_date`` then."""

    @property
    def today_date(self) -> date:
        """``today`` as a date (``REFERENCE_TODAY`` for scenarios stored without one)."""
        return date.fromisoformat(self.today) if self.today else REFERENCE_TODAY

    @property
    def failure_kind(self) -> str | None:
        return next((s.failure.kind for s in self.steps if s.failure), None)

    def with_free_text(self, written: list[dict[str, Any]], tools: ToolSet) -> ScenarioPlan:
        """This plan with a teacher's free text in place of the marked placeholders.

        Every marked argument must be written, as a non-empty string that keeps
        the call valid against the tool's schema (maxLength, pattern, format);
        raises ValueError with the reason otherwise, for the teacher to be re-asked.
        """
        if not any(step.free_text for step in self.steps):
            return self
        steps = []
        for index, step in enumerate(self.steps):
            if step.free_text:
                given = written[index] if index < len(written) else {}
                arguments = _written_arguments(step, given, tools, f"call {index + 1}")
                step = step.model_copy(
                    update={"call": step.call.model_copy(update={"arguments": arguments})}
                )
            steps.append(step)
        return self.model_copy(update={"steps": steps})

    def tools_used(self) -> list[str]:
        return list(dict.fromkeys(step.call.name for step in self.steps))

    def stated_arguments(self) -> list[tuple[str, dict[str, Any]]]:
        """(tool, arguments) the user must state: successful calls minus chained values."""
        chained = {(link.to_step, link.argument) for link in self.chains}
        stated = []
        for index, step in enumerate(self.steps):
            if step.failure is not None:
                continue
            arguments = {
                name: value
                for name, value in step.call.arguments.items()
                if (index, name) not in chained
            }
            stated.append((step.call.name, arguments))
        return stated


class ScenarioDraft(BaseModel):
    """What a teacher writes around a plan."""

    model_config = ConfigDict(extra="forbid")

    user_request: str
    tool_results: list[dict[str, Any]]
    final_answer: str


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan: ScenarioPlan
    draft: ScenarioDraft

    def to_messages(self) -> list[dict[str, Any]]:
        """OpenAI fine-tuning chat messages, exactly as its docs show them."""
        messages: list[dict[str, Any]] = [{"role": "user", "content": self.draft.user_request}]
        for step, result in zip(self.plan.steps, self.draft.tool_results, strict=False):
            call = step.call
            assistant: dict[str, Any] = {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {
                            "name": call.name,
                            "arguments": _json_text(call.arguments),
                        },
                    }
                ],
            }
            if not step.trainable:
                assistant["weight"] = 0
            messages.append(assistant)
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call.id,
                    "content": _json_text(result),
                }
            )
        messages.append({"role": "assistant", "content": self.draft.final_answer})
        return messages


_json_text = json.JSONEncoder(ensure_ascii=False).encode
"""``json.dumps(value, ensure_ascii=False)``, without making an encoder for every call."""


_TODAY_SPAN_DAYS = 2 * 365


def today_for(seed: int) -> date:
    """One example's "today", from its attempt seed: reproducible, never the wall clock.

    Up to two years after ``REFERENCE_TODAY``.
    Taken from the seed arithmetically, not from the plan's random stream, so
    adding it moved no other drawn value.
    """
    return REFERENCE_TODAY + timedelta(days=seed % _TODAY_SPAN_DAYS)


@dataclass
class PlanContext:
    """Everything a category may draw from while planning one attempt."""

    rng: random.Random
    faker: Faker
    attempt: int
    seed: int
    optional_rate: float = 0.5
    style: dict[str, str] = field(default_factory=dict)
    today: date = field(init=False)  # the example's "today", from ``seed``

    def __post_init__(self) -> None:
        self.today = today_for(self.seed)

    def call_id(self, step: int) -> str:
        return f"call_{self.seed % 16**8:08x}{step}"


class Category(ABC):
    """A scenario category: how to plan it and what must hold of a finished one."""

    name: ClassVar[str]

    def unavailable_for(self, tool: ToolSpec, tools: ToolSet) -> str | None:
        """Why this category cannot be built for ``tool``, or None if it can."""
        return None

    @abstractmethod
    def plan(self, tool: ToolSpec, tools: ToolSet, context: PlanContext) -> ScenarioPlan: ...

    @abstractmethod
    def check(self, scenario: Scenario, tools: ToolSet) -> str | None:
        """The first rule of this category the scenario breaks, or None."""

    marks_free_text: ClassVar[bool] = True
    """Whether a teacher may rewrite this category's free-text arguments."""

    def make_plan(self, tool: ToolSpec, tools: ToolSet, context: PlanContext) -> ScenarioPlan:
        """``plan``, with the free-text arguments a teacher writes marked on each call."""
        plan = self.plan(tool, tools, context)
        if self.marks_free_text:
            mark_free_text(plan, tools)
        return plan

    def new_plan(
        self, tool: ToolSpec, context: PlanContext, steps: list[PlannedStep], **extra: Any
    ) -> ScenarioPlan:
        return ScenarioPlan(
            category=self.name,
            tool=tool.name,
            attempt=context.attempt,
            seed=context.seed,
            steps=steps,
            style=context.style,
            today=context.today.isoformat(),
            **extra,
        )


def _written_arguments(
    step: PlannedStep, given: dict[str, Any], tools: ToolSet, call: str
) -> dict[str, Any]:
    """``step``'s arguments with the written free text, checked against the tool's schema."""
    where = f"free_text: {call} ({step.call.name})"
    extra = sorted(set(given) - set(step.free_text))
    if extra:
        raise ValueError(f"{where}: {extra[0]!r} is not an argument you write")
    arguments = dict(step.call.arguments)
    for name in step.free_text:
        value = given.get(name)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where}: write {name!r} as a non-empty string")
        arguments[name] = value
    problems = validate_instance(tools[step.call.name].parameters, arguments)
    if problems:
        raise ValueError(f"{where}: breaks the tool's schema: {'; '.join(problems)}")
    return arguments


def mark_free_text(plan: ScenarioPlan, tools: ToolSet) -> None:
    """Mark each successful call's free-text string arguments, except values chained in."""
    chained = {(link.to_step, link.argument) for link in plan.chains}
    for index, step in enumerate(plan.steps):
        if step.failure is not None or step.call.name not in tools:
            continue
        kinds = free_text_arguments(tools[step.call.name].parameters, step.call.name)
        step.free_text = {
            name: kind
            for name, kind in kinds.items()
            if isinstance(step.call.arguments.get(name), str) and (index, name) not in chained
        }


def result_is_error(result: Any) -> bool:
    return isinstance(result, dict) and ERROR_KEY in result

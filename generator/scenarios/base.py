"""The scenario model every category renders from.

A scenario is made in two halves:

* the **plan** (``ScenarioPlan``) is the generator's: which tools are called, with
  which seeded arguments, which call fails and why, which argument is chained from
  an earlier result, and the conversation's **turns** (``Turn``): user turns and
  the values each states, assistant turns with zero or more calls (several calls
  in one turn are parallel), assistant texts (an answer, a clarifying question, a
  decline). It is decided before a teacher writes a word, so it is valid by
  construction and reproducible from the seed;
* the **draft** (``ScenarioDraft``) is the teacher's: the words of every text turn
  and each tool's result, written *around* the plan.

``Scenario`` joins them and renders OpenAI chat messages by walking the turns. A
category is a plan builder plus its own validation rules (``Category``); the
renderer and the generic checks read the turns, never the category's name, so a
new category touches only its own module and the registry. Plans without turns
(the first categories, and everything stored before turns) have the one-request
layout: the user states everything, each call its own turn, one answer.
"""

from __future__ import annotations

import json
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, ClassVar, Literal

from faker import Faker
from pydantic import BaseModel, ConfigDict, Field

from callforge.generator.schema import validate_instance
from callforge.generator.seeding import REFERENCE_TODAY, free_text_arguments, seed_arguments
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


class Turn(BaseModel):
    """One turn of the planned conversation.

    * a **user** turn (``role="user"``): the words the teacher writes for it state
      the arguments listed in ``states`` (step index -> argument names) and nothing
      the plan withholds;
    * an **assistant call turn** (``calls`` non-empty): the steps it calls, all in
      one assistant message (several for parallel calls), each answered by its own
      tool message;
    * an **assistant text turn** (``role="assistant"``, no calls): an answer, a
      clarifying question or a polite decline, as ``intent`` says.
    """

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    intent: str = ""
    """What the words do: request, supply, follow_up (user); answer, clarify, decline
    (assistant). The offline teacher phrases a turn by its intent."""
    states: dict[int, list[str]] = Field(default_factory=dict)
    calls: list[int] = Field(default_factory=list)

    @property
    def is_text(self) -> bool:
        return not self.calls


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
    turns: list[Turn] = Field(default_factory=list)
    """The conversation's turns; empty for the one-request layout of the first
    categories (``layout`` then derives it: the user states everything, each step
    is its own call turn, one answer)."""
    withheld: dict[int, list[str]] = Field(default_factory=dict)
    """Arguments (step index -> names) the first user turn leaves out (``clarify``)."""
    unserved: str = ""
    """What the user asks that no listed tool does (``no_call``)."""
    system: str = ""
    """The example's system message, if it has one."""

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
        """The tools the plan calls (its cell's tool when it calls none)."""
        return list(dict.fromkeys(step.call.name for step in self.steps)) or [self.tool]

    def tools_shown(self, tools: ToolSet) -> tuple[ToolSpec, ...]:
        """The tools a teacher writes against: the called ones, or all when none is called
        (a request no tool fits is judged against every tool)."""
        names = self.tools_used() if self.steps else tools.names
        return tuple(tools[name] for name in names)

    @property
    def layout(self) -> list[Turn]:
        """``turns``, or the one-request layout when the plan has none."""
        if self.turns:
            return self.turns
        chained = {(link.to_step, link.argument) for link in self.chains}
        states = {
            index: [name for name in step.call.arguments if (index, name) not in chained]
            for index, step in enumerate(self.steps)
            if step.failure is None
        }
        return [
            Turn(role="user", intent="request", states=states),
            *(Turn(role="assistant", calls=[index]) for index in range(len(self.steps))),
            Turn(role="assistant", intent="answer"),
        ]

    def text_turns(self) -> list[Turn]:
        """The turns a teacher writes words for, in order (user turns and assistant texts)."""
        return [turn for turn in self.layout if turn.is_text]

    def stated_in(self, turn: Turn) -> list[tuple[str, dict[str, Any]]]:
        """(tool, arguments) a user turn must state, one entry per step it speaks for."""
        return [
            (
                self.steps[index].call.name,
                {
                    name: self.steps[index].call.arguments[name]
                    for name in names
                    if name in self.steps[index].call.arguments
                },
            )
            for index, names in turn.states.items()
        ]

    def stated_arguments(self) -> list[tuple[str, dict[str, Any]]]:
        """(tool, arguments) the first user turn states: successful calls minus chained
        and withheld values."""
        return self.stated_in(self.layout[0])

    def prompt_json(self) -> str:
        """The plan as JSON for a prompt, without the turn fields the plan leaves empty."""
        unset = {
            name for name in ("turns", "withheld", "unserved", "system") if not getattr(self, name)
        }
        return self.model_dump_json(exclude=unset)


class ScenarioDraft(BaseModel):
    """What a teacher writes around a plan.

    ``user_request`` is the first turn's words and ``final_answer`` the last's;
    ``turn_texts`` the words of every text turn in between, in order (a clarifying
    question, the user's reply, an answer before a follow-up...).
    """

    model_config = ConfigDict(extra="forbid")

    user_request: str
    tool_results: list[dict[str, Any]]
    final_answer: str
    turn_texts: list[str] = Field(default_factory=list)
    retry_note: str = ""
    """The words of ``final_answer`` that tell of the assistant's mistaken first call
    ("I had mistyped the order id at first; ..."): an export that drops the mistaken
    call (``--mistakes drop``) drops them too, so the answer reads as after one call."""

    def texts(self) -> list[str]:
        """The words of every text turn, in order."""
        return [self.user_request, *self.turn_texts, self.final_answer]


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan: ScenarioPlan
    draft: ScenarioDraft

    def text_of(self) -> dict[int, str]:
        """Layout position -> the words written for that text turn."""
        positions = [i for i, turn in enumerate(self.plan.layout) if turn.is_text]
        return dict(zip(positions, self.draft.texts(), strict=False))

    def to_messages(self) -> list[dict[str, Any]]:
        """OpenAI fine-tuning chat messages, exactly as its docs show them.

        Parallel calls are one assistant message with several ``tool_calls``,
        followed by one tool message per call, in call order.
        """
        messages: list[dict[str, Any]] = []
        if self.plan.system:
            messages.append({"role": "system", "content": self.plan.system})
        texts = self.text_of()
        results = self.draft.tool_results
        for position, turn in enumerate(self.plan.layout):
            if turn.is_text:
                messages.append({"role": turn.role, "content": texts.get(position, "")})
                continue
            steps = [(self.plan.steps[i], results[i]) for i in turn.calls if i < len(results)]
            if not steps:
                continue
            assistant: dict[str, Any] = {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": step.call.id,
                        "type": "function",
                        "function": {
                            "name": step.call.name,
                            "arguments": _json_text(step.call.arguments),
                        },
                    }
                    for step, _ in steps
                ],
            }
            if not all(step.trainable for step, _ in steps):
                assistant["weight"] = 0
            messages.append(assistant)
            messages.extend(
                {"role": "tool", "tool_call_id": step.call.id, "content": tool_message_text(result)}
                for step, result in steps
            )
        return messages


_json_text = json.JSONEncoder(ensure_ascii=False).encode
"""``json.dumps(value, ensure_ascii=False)``, without making an encoder for every call."""

tool_message_text = _json_text
"""A tool result as the content of its tool message (the execution check compares these)."""


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
    executing: bool = False
    """The calls are made for real before a teacher writes (``--execute``): they are final
    (no free-text argument is left for the teacher to rewrite), and only failures a real
    tool gives itself are planned (an assistant's mistake it refuses), never a staged
    rate limit or timeout."""
    today: date = field(init=False)  # the example's "today", from ``seed``

    def __post_init__(self) -> None:
        self.today = today_for(self.seed)

    def call_id(self, step: int) -> str:
        return f"call_{self.seed % 16**8:08x}{step}"

    def seed_arguments(
        self,
        tool: ToolSpec,
        *,
        rng: random.Random | None = None,
        optional_rate: float | None = None,
    ) -> dict[str, Any]:
        """Seeded arguments of one call of ``tool`` on this attempt's day (its own ``rng``
        and ``optional_rate`` unless others are given)."""
        return seed_arguments(
            tool.parameters,
            rng if rng is not None else self.rng,
            self.faker,
            optional_rate=self.optional_rate if optional_rate is None else optional_rate,
            tool=tool.name,
            today=self.today,
        )


class Category(ABC):
    """A scenario category: how to plan it and what must hold of a finished one."""

    name: ClassVar[str]
    default_weight: ClassVar[float] = 1.0
    """Its share in the default ``--mix`` (0: only when asked for)."""

    def unavailable_for(self, tool: ToolSpec, tools: ToolSet) -> str | None:
        """Why this category cannot be built for ``tool``, or None if it can."""
        return None

    def unavailable_executed(self, tool: ToolSpec, tools: ToolSet) -> str | None:
        """Why this category cannot be built for ``tool`` when its calls are made for real
        (``--execute``), beyond ``unavailable_for``; None if it can."""
        return None

    @abstractmethod
    def plan(self, tool: ToolSpec, tools: ToolSet, context: PlanContext) -> ScenarioPlan: ...

    @abstractmethod
    def check(self, scenario: Scenario, tools: ToolSet) -> str | None:
        """The first rule of this category the scenario breaks, or None."""

    marks_free_text: ClassVar[bool] = True
    """Whether a teacher may rewrite this category's free-text arguments."""

    def make_plan(self, tool: ToolSpec, tools: ToolSet, context: PlanContext) -> ScenarioPlan:
        """``plan``, with the free-text arguments a teacher writes marked on each call
        (none when the calls are executed first: what was executed is what is shown)."""
        plan = self.plan(tool, tools, context)
        if self.marks_free_text and not context.executing:
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

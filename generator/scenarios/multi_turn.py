"""``multi_turn``: a call and an answer, then a follow-up that reuses the context.

"And for Porto?": the second call is the same tool with one or two values
changed; the user states only what changed, the rest comes from earlier turns.
The conversation checker grounds every value of the later call in the whole
conversation; the rules here check that the follow-up is new, states its new
values and leaves something to the context.
"""

from __future__ import annotations

import re
from typing import Any

from callforge.generator.grounding import GroundingText
from callforge.generator.scenarios.base import (
    Category,
    PlanContext,
    PlannedStep,
    Scenario,
    ScenarioPlan,
    ToolCall,
    Turn,
    result_is_error,
)
from callforge.generator.schema import instance_is_valid
from callforge.generator.seeding import free_text_arguments
from callforge.generator.tool_kinds import tool_kind
from callforge.generator.tools import ToolSet, ToolSpec

_DRAWS = 8
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_IDENTITY = re.compile(r"(^|_)(id|code|sku|number|name|email|to|recipient|username)$", re.I)


class MultiTurn(Category):
    name = "multi_turn"

    def unavailable_for(self, tool: ToolSpec, tools: ToolSet) -> str | None:
        if not _changeable(tool) or len(_values(tool)) < 2:
            return "it needs a plain value a follow-up changes and another one it keeps"
        return None

    def plan(self, tool: ToolSpec, tools: ToolSet, context: PlanContext) -> ScenarioPlan:
        rng = context.rng

        def seeded(rate: float) -> dict[str, Any]:
            return context.seed_arguments(tool, rng=rng, optional_rate=rate)

        values, changeable_names = _values(tool), _changeable(tool)
        first = seeded(context.optional_rate)
        for draw in range(_DRAWS):  # something to change, and something to keep besides
            if len([n for n in first if n in values]) >= 2 and set(first) & set(changeable_names):
                break
            first = seeded(1.0 if draw >= _DRAWS // 2 else max(context.optional_rate, 0.75))
        kept = [n for n in first if n in values]
        changeable = [name for name in changeable_names if name in first] or list(first)
        changed: list[str] = []
        follow = dict(first)
        for draw in range(2 * _DRAWS):
            if draw == _DRAWS and tool_kind(tool).returns_data:
                # every draw kept the same value ("method": its described default): a
                # look-up or computation may as well be asked again for another value
                changeable = [n for n in first if n in values and n not in changeable] or changeable
            most = max(1, min(len(changeable), len(kept) - 1))
            names = rng.sample(changeable, min(most, rng.choice((1, 1, 2))))
            fresh = seeded(1.0)
            follow = {**first, **{n: fresh[n] for n in names if n in fresh}}
            changed = [n for n in names if follow.get(n) != first.get(n)]
            if changed and instance_is_valid(tool.parameters, follow):
                break
        else:
            follow, changed = dict(first), []  # rejected as a repeat: nothing could change
        steps = [
            PlannedStep(call=ToolCall(id=context.call_id(0), name=tool.name, arguments=first)),
            PlannedStep(call=ToolCall(id=context.call_id(1), name=tool.name, arguments=follow)),
        ]
        turns = [
            Turn(role="user", intent="request", states={0: list(first)}),
            Turn(role="assistant", calls=[0]),
            Turn(role="assistant", intent="answer"),
            Turn(role="user", intent="follow_up", states={1: changed}),
            Turn(role="assistant", calls=[1]),
            Turn(role="assistant", intent="answer"),
        ]
        return self.new_plan(tool, context, steps, turns=turns)

    def check(self, scenario: Scenario, tools: ToolSet) -> str | None:
        plan, draft = scenario.plan, scenario.draft
        users = [p for p, turn in enumerate(plan.layout) if turn.role == "user"]
        if len(users) < 2 or len(plan.steps) < 2:
            return "expected a follow-up user turn and a second call"
        if any(step.failure for step in plan.steps) or any(
            map(result_is_error, draft.tool_results)
        ):
            return "a multi_turn call failed"
        earlier, later = plan.steps[-2].call, plan.steps[-1].call
        if earlier.name == later.name and earlier.arguments == later.arguments:
            return "the follow-up call repeats the first call"
        follow_up = GroundingText([scenario.text_of()[users[-1]]])
        for name, value in later.arguments.items():
            if earlier.arguments.get(name) != value and not follow_up.contains(value):
                return f"the follow-up does not state the new '{name}' = {value!r}"
        reused = [
            name
            for name, value in later.arguments.items()
            if earlier.arguments.get(name) == value
            and not isinstance(value, bool)
            and not follow_up.contains(value)
        ]
        if not reused:
            return "the follow-up restates every value: nothing is taken from earlier turns"
        return None


def _changeable(tool: ToolSpec) -> list[str]:
    """Arguments a follow-up plausibly changes: plain values, not dates, flags or free text."""
    properties = tool.parameters.get("properties") or {}
    free_text = free_text_arguments(tool.parameters, tool.name)
    acting = not tool_kind(tool).returns_data
    required = set(tool.parameters.get("required") or [])
    return [
        name
        for name, schema in properties.items()
        if isinstance(schema, dict)
        and schema.get("type") in ("string", "integer", "number")
        and name not in free_text
        and not _DATE.match(str(schema.get("default", "")))
        # an action is repeated for another record or person ("cancel ORD-2 too"), not
        # with another option on the same one (cancelling one order twice, for another
        # reason; a meeting scheduled twice, once for 45 minutes)
        and (
            _IDENTITY.search(name) and name in required and "enum" not in schema
            if acting
            else "format" not in schema
        )
    ]


def _values(tool: ToolSpec) -> list[str]:
    """Arguments that carry a value a user states (not flags)."""
    properties = tool.parameters.get("properties") or {}
    return [
        name
        for name, schema in properties.items()
        if isinstance(schema, dict) and schema.get("type") != "boolean"
    ]

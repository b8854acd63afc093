"""``clarify``: the user leaves out a required value; the assistant asks for exactly it.

The first user turn states every argument but one required value; the assistant
asks for that value (and calls nothing yet); the user supplies it; then the call
and the answer. The rules: the value is absent from the first user turn, the
question asks for it, and the user's reply states it.
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
from callforge.generator.seeding import free_text_arguments
from callforge.generator.tools import ToolSet, ToolSpec

_WORD = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_ENDS = {"from": "source", "to": "target"}
_NOT_A_LABEL = frozenset({"the", "a", "an", "of", "to", "for", "in", "on", "at", "by", "and", "or"})


class Clarify(Category):
    name = "clarify"
    default_weight = 0.5

    def unavailable_for(self, tool: ToolSpec, tools: ToolSet) -> str | None:
        if not _askable(tool):
            return "it has no required value a user could leave out and be asked for"
        return None

    def plan(self, tool: ToolSpec, tools: ToolSet, context: PlanContext) -> ScenarioPlan:
        arguments = context.seed_arguments(tool)
        askable = [name for name in _askable(tool) if _is_value(arguments.get(name))]
        withheld = context.rng.choice(askable)
        step = PlannedStep(
            call=ToolCall(id=context.call_id(0), name=tool.name, arguments=arguments)
        )
        turns = [
            Turn(
                role="user", intent="request", states={0: [n for n in arguments if n != withheld]}
            ),
            Turn(role="assistant", intent="clarify"),
            Turn(role="user", intent="supply", states={0: [withheld]}),
            Turn(role="assistant", calls=[0]),
            Turn(role="assistant", intent="answer"),
        ]
        return self.new_plan(tool, context, [step], turns=turns, withheld={0: [withheld]})

    def check(self, scenario: Scenario, tools: ToolSet) -> str | None:
        plan, draft = scenario.plan, scenario.draft
        if len(plan.steps) != 1 or len(draft.turn_texts) != 2:
            return "expected a request, a question, the user's reply, one call and an answer"
        if plan.steps[0].failure or result_is_error(draft.tool_results[0]):
            return "the call after the clarification failed"
        names = plan.withheld.get(0, [])
        if not names:
            return "no value is withheld from the first user turn"
        arguments = plan.steps[0].call.arguments
        question, reply = draft.turn_texts
        first, second = GroundingText([draft.user_request]), GroundingText([reply])
        for name in names:
            value = arguments.get(name)
            if first.contains(value):
                return f"the first user turn already states '{name}' = {value!r}, nothing to ask"
            if not asks_for(question, tools[plan.steps[0].call.name], name):
                return f"the clarifying question does not ask for '{name}'"
            if not second.contains(value):
                return f"the user's reply does not state '{name}' = {value!r}"
        if "?" not in question:
            return "the clarifying turn asks no question"
        return None


def argument_label(tool: ToolSpec, argument: str) -> str:
    """What a person calls ``argument``: its name in words ("departure date"), or for a
    name that says nothing ("to", "cc") the start of its description ("recipient address")."""
    words = _WORD.findall(_CAMEL.sub(" ", argument).replace("_", " ").lower())
    if len(words) > 1 and words[0] in _ENDS:  # from_currency -> source currency
        return " ".join([_ENDS[words[0]], *words[1:]])
    if any(word not in _NOT_A_LABEL and len(word) > 2 for word in words):
        return " ".join(words)
    schema = (tool.parameters.get("properties") or {}).get(argument) or {}
    described = _WORD.findall(str(schema.get("description") or "").lower())[:4]
    return " ".join(w for w in described if w not in _NOT_A_LABEL) or " ".join(words)


def asks_for(question: str, tool: ToolSpec, argument: str) -> bool:
    """Whether ``question`` names ``argument``: a word of its label, plural or not."""
    wanted = {
        word.rstrip("s")
        for word in _WORD.findall(argument_label(tool, argument))
        if word not in _NOT_A_LABEL and len(word) > 1
    }
    said = {word.rstrip("s") for word in _WORD.findall(question.lower())}
    return bool(wanted & said)


def _askable(tool: ToolSpec) -> list[str]:
    """Required arguments a user states as a value (not a flag, not written free text)."""
    properties = tool.parameters.get("properties") or {}
    free_text = free_text_arguments(tool.parameters, tool.name)
    return [
        name
        for name in tool.parameters.get("required") or []
        if name in properties
        and (properties[name] or {}).get("type") not in ("boolean", "object", "array")
        and name not in free_text
    ]


def _is_value(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool) and value != ""

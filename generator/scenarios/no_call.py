"""``no_call``: the tools are listed, none serves the request; the assistant calls nothing.

The request is built from what the tools cannot do: an action on one of the
tool set's entities that no tool performs ("delete the customer record" where
tools only look customers up), or an everyday ask none of them is about. The
assistant declines politely (or, for a request that needs no tool, answers).
The rule that keeps it honest: a request that states every required value of a
listed tool is one that tool serves, and is rejected.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from callforge.generator.grounding import GroundingText
from callforge.generator.limits import SlowPattern, UnusablePattern, data_pattern
from callforge.generator.scenarios.base import (
    Category,
    PlanContext,
    Scenario,
    ScenarioPlan,
    Turn,
)
from callforge.generator.templating import load_yaml
from callforge.generator.tool_kinds import Verb, tool_kind
from callforge.generator.tools import ToolSet, ToolSpec

_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_MONTH_DAY = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}\b|"
    r"\b\d{1,2}(st|nd|rd|th)? (of )?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)",
    re.I,
)
# Starts only where a run of address characters starts: searched from every position
# inside a run, a 4 MiB request without "@" took hours (each start rescans the run).
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+\.[\w.]+")
_NUMBER = re.compile(r"(?<![\w.])\d+(\.\d+)?(?![\w.])")
_TOKEN = re.compile(r"[^\s,;:!?()\"']+")
_WORD = re.compile(r"[a-z]+")
_NO_TOOL_SHARE = 0.25
_RECORD_VERBS = {Verb.LOOKUP, Verb.SEARCH, Verb.CREATE, Verb.SEND, Verb.SCHEDULE, Verb.BOOK}


class NoCall(Category):
    name = "no_call"
    default_weight = 0.5
    marks_free_text = False

    def plan(self, tool: ToolSpec, tools: ToolSet, context: PlanContext) -> ScenarioPlan:
        """A request no tool serves, declined; or, one time in four, one that needs no
        tool at all ("what can you do?", "thanks, that's all"), simply answered."""
        rng = context.rng
        if rng.random() < _NO_TOOL_SHARE:
            ask = rng.choice(list(_bank()["no_tool"]))
            turns = [Turn(role="user", intent="chat"), Turn(role="assistant", intent="reply")]
            return self.new_plan(tool, context, [], turns=turns, unserved=ask)
        unserved = rng.choice(unserved_asks(tool, tools))
        turns = [
            Turn(role="user", intent="unserved"),
            Turn(role="assistant", intent="decline"),
        ]
        return self.new_plan(tool, context, [], turns=turns, unserved=unserved)

    def check(self, scenario: Scenario, tools: ToolSet) -> str | None:
        plan = scenario.plan
        if plan.steps or any(turn.calls for turn in plan.layout):
            return "a no_call conversation calls a tool"
        words = [scenario.draft.user_request, *scenario.draft.turn_texts[::2]]
        for tool in tools:
            stated = states_required_values(tool, " ".join(words))
            if stated:
                return (
                    f"the request states every required value of {tool.name} "
                    f"({', '.join(stated)}): that tool serves it"
                )
        return None


def unserved_asks(tool: ToolSpec, tools: ToolSet) -> list[str]:
    """Requests no tool of ``tools`` serves, near ``tool``'s entity first.

    An action on the tool's entity that no tool with that entity performs, then
    everyday asks whose subject words no tool's name or description mentions.
    """
    bank = _bank()
    entity = tool_kind(tool).entity
    done = {tool_kind(t).verb for t in tools if tool_kind(t).entity == entity}
    if not done & _RECORD_VERBS:  # a forecast or a conversion is nothing a user keeps
        done = set(Verb)
    near = [
        form.format(entity=entity)
        for verb, forms in bank["actions"].items()
        if Verb(verb) not in done
        for form in forms
    ]
    if done != set(Verb):
        near += [form.format(entity=entity) for form in bank["never_done"]]
    vocabulary = {
        word for t in tools for word in _WORD.findall(f"{t.name} {t.description}".lower())
    }
    elsewhere = [
        ask["ask"] for ask in bank["elsewhere"] if not set(ask["subject"].split()) & vocabulary
    ]
    return near + elsewhere or ["tell me a joke"]


@lru_cache(maxsize=1)
def _bank() -> dict[str, Any]:
    bank: dict[str, Any] = load_yaml("offline/no_call.yaml")
    return bank


def states_required_values(tool: ToolSpec, text: str) -> list[str]:
    """The tool's required parameters if ``text`` holds a value for every one, else [].

    A value counts as held by its kind: an enum value or const named, a date, an
    email, a number, a token matching the parameter's pattern, or, for a plain
    string, the parameter's name in words ("customer id", "city"). Flags are left
    out; a tool with nothing else required is never served by words alone.
    """
    properties = tool.parameters.get("properties") or {}
    required = [
        name
        for name in tool.parameters.get("required") or []
        if isinstance(properties.get(name), dict) and properties[name].get("type") != "boolean"
    ]
    if not required:
        return []
    grounding = GroundingText([text])
    lowered = text.lower()
    for name in required:
        if not _holds(properties[name], name, text, lowered, grounding):
            return []
    return required


def _holds(
    schema: dict[str, Any], name: str, text: str, lowered: str, grounding: GroundingText
) -> bool:
    if "enum" in schema:
        return any(grounding.contains(v) for v in schema["enum"] if v is not None)
    if "const" in schema:
        return grounding.contains(schema["const"])
    kind, fmt = schema.get("type"), schema.get("format", "")
    if fmt in ("date", "date-time"):
        return bool(_ISO_DATE.search(text) or _MONTH_DAY.search(text))
    if fmt == "email" or name.endswith("email"):
        return bool(_EMAIL.search(text))
    if kind in ("integer", "number"):
        return bool(_NUMBER.search(text))
    if "pattern" in schema:
        try:
            pattern = data_pattern(schema["pattern"])
            return any(pattern.fullmatch(token) for token in _TOKEN.findall(text))
        except (UnusablePattern, SlowPattern):
            return False
    label = " ".join(_WORD.findall(name.replace("_", " ").lower()))
    return bool(label) and label in lowered

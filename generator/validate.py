"""The validator: what every example must satisfy before it is stored.

Two layers:

* ``check_conversation`` needs only OpenAI messages and the tool schemas, so it
  re-checks any exported line: role order, every tool call answered by exactly
  one tool message with its id, known functions, arguments that parse and fit the
  schema, grounded values, failed calls repaired, a final answer faithful to
  the results (``answers.py``: no number, date or name from nowhere, and some of
  the results' data when they hold any);
* ``validate_scenario`` renders a scenario, runs ``check_conversation`` on it,
  checks every successful tool result (``check_results``: it fits the tool's
  declared output schema, and a lookup, search, conversion, computation or
  forecast returns data, not just ids, a status and the arguments back) and
  then its category's own rules (a chained value really came from the earlier
  result, an error_recovery first call really fails, ...).

A failed check is data: a ``Rejection`` with a stage and a reason, never an
exception.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from callforge.generator.answers import ignored_results, informative_leaves, unsupported_claim
from callforge.generator.grounding import GroundingText, normalise_parts, scalar_values
from callforge.generator.results import is_hollow
from callforge.generator.scenarios import get_category
from callforge.generator.scenarios.base import Scenario, ScenarioPlan, result_is_error
from callforge.generator.schema import validate_instance
from callforge.generator.tool_kinds import tool_kind
from callforge.generator.tools import ToolSet

STRUCTURE = "structure"
SCHEMA = "schema"
GROUNDING = "grounding"
ANSWER = "answer"
RESULT = "result"
CATEGORY = "category"
DEDUP = "dedup"
TEACHER = "teacher"
JUDGE = "judge"
EXECUTION = "execution"
"""The real tool (``--execute``) failed where the plan expected success, succeeded where it
staged a failure, or returned what its declared output schema forbids."""
"""A teacher's grader (``--judge``) failed the conversation; the reason is the judge's."""


@dataclass(frozen=True)
class Rejection:
    stage: str
    reason: str


def validate_scenario(scenario: Scenario, tools: ToolSet) -> Rejection | None:
    """The first reason ``scenario`` must not be stored, or None if it passes."""
    plan, draft = scenario.plan, scenario.draft
    if len(draft.tool_results) != len(plan.steps):
        return Rejection(
            STRUCTURE,
            f"wrong result count: {len(draft.tool_results)} tool results "
            f"for {len(plan.steps)} calls",
        )
    for index, (step, result) in enumerate(zip(plan.steps, draft.tool_results, strict=True)):
        if (step.failure is not None) != result_is_error(result):
            expected = "an error" if step.failure else "a success"
            return Rejection(CATEGORY, f"result mismatch: call {index + 1} must return {expected}")
    problem = check_layout(scenario)
    if problem is not None:
        return problem
    conversation = _ConversationCheck(tools.parameter_schemas, plan_today(plan))
    messages = scenario.to_messages()
    # The results are judged before the answer is judged against them.
    problem = (
        conversation.run(messages)
        or check_results(scenario, tools)
        or conversation.check_answer(messages[-1]["content"])
    )
    if problem is not None:
        return problem
    reason = get_category(plan.category).check(scenario, tools)
    return Rejection(CATEGORY, reason) if reason else None


def check_layout(scenario: Scenario) -> Rejection | None:
    """The draft has words for every text turn, and every planned call sits in one call turn."""
    plan, draft = scenario.plan, scenario.draft
    between = len(plan.text_turns()) - 2
    if len(draft.turn_texts) != between:
        return Rejection(
            STRUCTURE,
            f"wrong turn count: {len(draft.turn_texts)} texts between the request and the "
            f"answer, the plan has {between}",
        )
    placed = sorted(index for turn in plan.layout for index in turn.calls)
    if placed != list(range(len(plan.steps))):
        return Rejection(STRUCTURE, "the turns do not call every planned step exactly once")
    return None


def check_results(scenario: Scenario, tools: ToolSet) -> Rejection | None:
    """Every successful result fits its tool's output schema and, where data is the point, has some.

    A lookup, search, conversion, computation or forecast (``ToolKind.returns_data``)
    whose result holds nothing beyond ids, a status, timestamps and the call's own
    arguments is hollow: a model trained on it learns to answer with ids.
    """
    for index, (step, result) in enumerate(
        zip(scenario.plan.steps, scenario.draft.tool_results, strict=True)
    ):
        name = step.call.name
        if step.failure is not None or name not in tools:
            continue
        tool = tools[name]
        if tool.output_schema is not None:
            errors = validate_instance(tool.output_schema, result)
            if errors:
                return Rejection(
                    RESULT,
                    f"result of call {index + 1} ({name}) breaks its output schema: {errors[0]}",
                )
        kind = tool_kind(tool)
        if kind.returns_data and is_hollow(result, step.call.arguments):
            return Rejection(
                RESULT,
                f"hollow result of call {index + 1} ({name}): only ids, status, timestamps and "
                f"echoed arguments; a {kind.verb} must return data",
            )
    return None


def check_conversation(
    messages: Sequence[Mapping[str, Any]],
    schemas: Mapping[str, Mapping[str, Any]],
    today: date | None = None,
) -> Rejection | None:
    """Check OpenAI chat messages against the tools' parameter schemas.

    ``today`` is the day the conversation happens on, for relative dates
    ("tomorrow"); without it only absolute dates ground a date.
    """
    check = _ConversationCheck(schemas, today)
    return check.run(messages) or check.check_answer(messages[-1]["content"])


def plan_today(plan: ScenarioPlan) -> date | None:
    """The example's "today" (``ScenarioPlan.today``), if the plan has one."""
    today = getattr(plan, "today", None)
    try:
        return date.fromisoformat(today) if isinstance(today, str) else None
    except ValueError:
        return None


class _ConversationCheck:
    def __init__(self, schemas: Mapping[str, Mapping[str, Any]], today: date | None) -> None:
        self.schemas = schemas
        self.today = today
        # What the user and the tool results so far have said, normalised for
        # grounding one text at a time (each is normalised once per conversation).
        self.evidence: list[str] = []
        self.unrepaired: dict[str, str] = {}
        self.results: list[Any] = []  # successful tool results, parsed
        self.arguments: list[Any] = []  # every call's arguments, for echoes

    def _add_evidence(self, texts: Sequence[str]) -> None:
        self.evidence.extend(normalise_parts(texts))

    def run(self, messages: Sequence[Mapping[str, Any]]) -> Rejection | None:
        position = 0
        while position < len(messages) and messages[position].get("role") == "system":
            position += 1
        if position >= len(messages) or messages[position].get("role") != "user":
            return Rejection(STRUCTURE, "role order: the conversation must open with a user turn")
        previous_role = None
        while position < len(messages):
            message = messages[position]
            role = message.get("role")
            problem = self._check_weight(message)
            if problem:
                return problem
            if role == "user":
                if previous_role not in (None, "assistant_text"):
                    return Rejection(STRUCTURE, "role order: a user turn interrupts tool calls")
                if not _non_empty_text(message.get("content")):
                    return Rejection(STRUCTURE, "empty user turn")
                self._add_evidence([message["content"]])
                previous_role, position = "user", position + 1
            elif role == "assistant" and message.get("tool_calls"):
                answers = messages[position + 1 : position + 1 + len(message["tool_calls"])]
                problem = self._check_calls(message["tool_calls"], answers)
                if problem:
                    return problem
                previous_role, position = "tool", position + 1 + len(answers)
            elif role == "assistant":
                if not _non_empty_text(message.get("content")):
                    return Rejection(STRUCTURE, "empty assistant answer")
                previous_role, position = "assistant_text", position + 1
            else:
                return Rejection(STRUCTURE, f"role order: unexpected {role!r} message")
        if previous_role != "assistant_text":
            return Rejection(STRUCTURE, "no final answer: the last turn must be assistant text")
        if self.unrepaired:
            name, call_id = next(iter(self.unrepaired.items()))
            return Rejection(STRUCTURE, f"unrepaired failure: call {call_id} to {name} failed")
        return None

    def check_answer(self, answer: str) -> Rejection | None:
        """After ``run``: the final answer states only what it was told, and what the
        results hold."""
        evidence = GroundingText.of_parts(self.evidence, self.today)
        claim = unsupported_claim(answer, evidence, self.results)
        if claim:
            return Rejection(ANSWER, f"unfaithful answer: {claim}")
        # The last result is what the user asked for; earlier ones fed the later calls.
        last = self.results[-1] if self.results else None
        facts = informative_leaves(last, scalar_values(self.arguments))
        ignored = ignored_results(GroundingText([answer], self.today), facts)
        return Rejection(ANSWER, ignored) if ignored else None

    def _check_weight(self, message: Mapping[str, Any]) -> Rejection | None:
        if "weight" not in message:
            return None
        if message.get("role") != "assistant" or message["weight"] not in (0, 1):
            return Rejection(STRUCTURE, "bad weight: only assistant turns, and only 0 or 1")
        return None

    def _check_calls(
        self, calls: Sequence[Mapping[str, Any]], answers: Sequence[Mapping[str, Any]]
    ) -> Rejection | None:
        ids = [call.get("id") for call in calls]
        if len(set(ids)) != len(ids) or not all(isinstance(i, str) and i for i in ids):
            return Rejection(STRUCTURE, "tool call ids must be unique non-empty strings")
        answered = [a.get("tool_call_id") for a in answers if a.get("role") == "tool"]
        if sorted(map(str, answered)) != sorted(map(str, ids)) or len(answers) != len(calls):
            return Rejection(
                STRUCTURE, f"unanswered call: calls {ids} are answered by tool messages {answered}"
            )
        by_id = {answer["tool_call_id"]: answer for answer in answers}
        for call in calls:
            problem = self._check_call(call, by_id[call["id"]])
            if problem:
                return problem
        self._add_evidence([str(answer.get("content", "")) for answer in answers])
        return None

    def _check_call(self, call: Mapping[str, Any], answer: Mapping[str, Any]) -> Rejection | None:
        function = call.get("function") or {}
        name = function.get("name")
        if call.get("type") != "function" or not isinstance(name, str):
            return Rejection(STRUCTURE, "malformed tool call: needs type 'function' and a name")
        if name not in self.schemas:
            return Rejection(SCHEMA, f"unknown function: '{name}' is not one of the tools")
        raw = function.get("arguments")
        if not isinstance(raw, str):
            return Rejection(STRUCTURE, f"arguments of {name} must be a JSON string")
        try:
            arguments = json.loads(raw)
        except json.JSONDecodeError as exc:
            return Rejection(SCHEMA, f"unparsable arguments of {name}: {exc.msg}")
        if not isinstance(arguments, dict):
            return Rejection(SCHEMA, f"arguments of {name} must be a JSON object")
        if not isinstance(answer.get("content"), str):
            return Rejection(STRUCTURE, f"the tool message answering {call['id']} has no content")
        self.arguments.append(arguments)
        result = _parsed(answer["content"])
        if result_is_error(result):
            self.unrepaired[name] = call["id"]
            return None
        self.results.append(result)
        errors = validate_instance(self.schemas[name], arguments)
        if errors:
            return Rejection(SCHEMA, f"invalid arguments of {name}: {errors[0]}")
        missing = GroundingText.of_parts(self.evidence, self.today).missing(
            arguments, _enum_rivals(self.schemas[name], arguments)
        )
        if missing:
            path, value = missing[0]
            said = (
                "the user's words say the opposite"
                if isinstance(value, bool)
                else "is not stated by the user or an earlier tool result"
            )
            return Rejection(GROUNDING, f"ungrounded value: {name}.{path} = {value!r} {said}")
        self.unrepaired.pop(name, None)
        return None


def _enum_rivals(schema: Mapping[str, Any], arguments: Mapping[str, Any]) -> dict[str, list[str]]:
    """For each top-level option argument, the enum's other options."""
    properties = schema.get("properties") or {}
    rivals = {}
    for name, value in arguments.items():
        options = (properties.get(name) or {}).get("enum") if isinstance(value, str) else None
        if options:
            rivals[name] = [o for o in options if isinstance(o, str) and o != value]
    return rivals


def _non_empty_text(content: Any) -> bool:
    return isinstance(content, str) and bool(content.strip())


def _parsed(content: str) -> Any:
    """A tool message's content as JSON, or as the text it is."""
    try:
        return json.loads(content)
    except json.JSONDecodeError:
        return content

"""The validator: what every example must satisfy before it is stored.

Two layers:

* ``check_conversation`` needs only OpenAI messages and the tool schemas, so it
  re-checks any exported line: role order, every tool call answered by exactly
  one tool message with its id, known functions, arguments that parse and fit the
  schema, grounded values, failed calls repaired, a final answer;
* ``validate_scenario`` renders a scenario, runs ``check_conversation`` on it and
  then its category's own rules (a chained value really came from the earlier
  result, an error_recovery first call really fails, ...).

A failed check is data: a ``Rejection`` with a stage and a reason, never an
exception.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from generator.grounding import GroundingText, normalise_parts
from generator.scenarios import get_category
from generator.scenarios.base import Scenario, result_is_error
from generator.schema import validate_instance
from generator.tools import ToolSet

STRUCTURE = "structure"
SCHEMA = "schema"
GROUNDING = "grounding"
CATEGORY = "category"
DEDUP = "dedup"
TEACHER = "teacher"


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
    check = _ConversationCheck(_parameter_schemas(tools))
    problem = check.run(check.messages_of(scenario))
    if problem is not None:
        return problem
    reason = get_category(plan.category).check(scenario, tools)
    return Rejection(CATEGORY, reason) if reason else None


def check_conversation(
    messages: Sequence[Mapping[str, Any]], schemas: Mapping[str, Mapping[str, Any]]
) -> Rejection | None:
    """Check OpenAI chat messages against the tools' parameter schemas."""
    return _ConversationCheck(schemas).run(messages)


def _parameter_schemas(tools: ToolSet) -> Mapping[str, Mapping[str, Any]]:
    """Each tool's parameters schema by name, built once per tool set."""
    global _last_schemas
    if _last_schemas is None or _last_schemas[0] is not tools:
        _last_schemas = (tools, {tool.name: tool.parameters for tool in tools})
    return _last_schemas[1]


_last_schemas: tuple[ToolSet, dict[str, Mapping[str, Any]]] | None = None


class _ConversationCheck:
    def __init__(self, schemas: Mapping[str, Mapping[str, Any]]) -> None:
        self.schemas = schemas
        self.evidence: list[str] = []
        self.unrepaired: dict[str, str] = {}
        # Normalised evidence, one part per text, and the grounding text made of it.
        self._parts: list[str] = []
        self._grounding: GroundingText | None = None
        # For a scenario's own messages (``messages_of``): arguments standing for
        # their JSON text, and whether a tool result is an error, by its text's id.
        self._arguments: dict[str, dict[str, Any]] = {}
        self._result_errors: dict[int, bool] = {}

    def messages_of(self, scenario: Scenario) -> list[dict[str, Any]]:
        """``scenario.to_messages()``, checked without a JSON round trip where none is needed.

        Arguments that ``json.loads(json.dumps(...))`` gives back unchanged are handed to
        the checks as they are, behind a placeholder text; tool results are still written
        as JSON (they are evidence), and whether one reports an error is read off the
        object it was written from.
        """

        def arguments_text(arguments: dict[str, Any]) -> str:
            if not _plain_json(arguments):
                return json.dumps(arguments, ensure_ascii=False)
            token = f"\x00{len(self._arguments)}"
            self._arguments[token] = arguments
            return token

        def result_text(result: dict[str, Any]) -> str:
            text = json.dumps(result, ensure_ascii=False)
            if type(result) is dict:
                self._result_errors[id(text)] = result_is_error(result)
            return text

        return scenario.render_messages(arguments_text, result_text)

    def _add_evidence(self, texts: Sequence[str]) -> None:
        self.evidence.extend(texts)
        self._parts.extend(normalise_parts(texts))
        self._grounding = None

    def _grounding_text(self) -> GroundingText:
        """``GroundingText(self.evidence)``, each text normalised once per conversation."""
        if self._grounding is None:
            self._grounding = GroundingText.of_parts(self._parts)
        return self._grounding

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
        arguments = self._arguments.get(raw) if self._arguments else None
        if arguments is None:
            try:
                arguments = json.loads(raw)
            except json.JSONDecodeError as exc:
                return Rejection(SCHEMA, f"unparsable arguments of {name}: {exc.msg}")
        if not isinstance(arguments, dict):
            return Rejection(SCHEMA, f"arguments of {name} must be a JSON object")
        content = answer.get("content")
        if not isinstance(content, str):
            return Rejection(STRUCTURE, f"the tool message answering {call['id']} has no content")
        is_error = self._result_errors.get(id(content)) if self._result_errors else None
        if is_error is None:
            is_error = _is_error_content(content)
        if is_error:
            self.unrepaired[name] = call["id"]
            return None
        errors = validate_instance(self.schemas[name], arguments)
        if errors:
            return Rejection(SCHEMA, f"invalid arguments of {name}: {errors[0]}")
        missing = self._grounding_text().missing(arguments)
        if missing:
            path, value = missing[0]
            return Rejection(
                GROUNDING,
                f"ungrounded value: {name}{path} = {value!r} is not stated by the user "
                "or an earlier tool result",
            )
        self.unrepaired.pop(name, None)
        return None


def _plain_json(value: Any) -> bool:
    """Whether ``json.loads(json.dumps(value))`` is ``value`` again, same types throughout.

    Plain dicts with string keys, lists, strings, ints, finite floats, booleans and
    None; a tuple (read back as a list), a NaN (a new object, so no longer ``is`` a
    schema's) or any other type is not.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        return all(type(key) is str and _plain_json(item) for key, item in value.items())
    if kind is list:
        return all(_plain_json(item) for item in value)
    return False


def _non_empty_text(content: Any) -> bool:
    return isinstance(content, str) and bool(content.strip())


def _is_error_content(content: str) -> bool:
    try:
        return result_is_error(json.loads(content))
    except json.JSONDecodeError:
        return False

"""An OpenAI chat fine-tuning format checker, written independently of callforge.

It follows the checks of OpenAI's cookbook notebook "Data preparation and
analysis for chat model fine-tuning", extended with the rules of the
function-calling format (``tools``, ``tool_calls``, ``tool_call_id``, ``weight``).
Returns the list of problems of one JSONL record; empty means valid.
"""

from __future__ import annotations

import json
from typing import Any

MESSAGE_KEYS = {"role", "content", "name", "function_call", "weight", "tool_calls", "tool_call_id"}
ROLES = {"system", "user", "assistant", "function", "tool"}


def format_errors(record: Any) -> list[str]:
    if not isinstance(record, dict):
        return ["data_type"]
    errors: list[str] = []
    messages = record.get("messages")
    if not isinstance(messages, list) or not messages:
        return ["missing_messages_list"]
    unknown_top = set(record) - {"messages", "tools", "parallel_tool_calls"}
    if unknown_top:
        errors.append(f"unrecognized_top_level_key:{sorted(unknown_top)}")
    errors += _tools_errors(record.get("tools"))
    open_calls: set[str] = set()
    for message in messages:
        errors += _message_errors(message, open_calls)
    if not any(m.get("role") == "assistant" for m in messages if isinstance(m, dict)):
        errors.append("example_missing_assistant_message")
    if open_calls:
        errors.append(f"unanswered_tool_calls:{sorted(open_calls)}")
    return errors


def _tools_errors(tools: Any) -> list[str]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        return ["tools_not_list"]
    errors = []
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if tool.get("type") != "function" or not isinstance(function, dict):
            errors.append("tool_not_function")
        elif not isinstance(function.get("name"), str):
            errors.append("tool_missing_name")
        elif not isinstance(function.get("parameters", {}), dict):
            errors.append("tool_parameters_not_object")
    return errors


def _message_errors(message: Any, open_calls: set[str]) -> list[str]:
    if not isinstance(message, dict) or "role" not in message:
        return ["message_missing_key"]
    errors = []
    if set(message) - MESSAGE_KEYS:
        errors.append(f"message_unrecognized_key:{sorted(set(message) - MESSAGE_KEYS)}")
    role = message["role"]
    if role not in ROLES:
        errors.append("unrecognized_role")
    if "weight" in message and (role != "assistant" or message["weight"] not in (0, 1)):
        errors.append("invalid_weight")
    calls = message.get("tool_calls")
    content = message.get("content")
    if calls:
        if role != "assistant":
            errors.append("tool_calls_not_from_assistant")
        for call in calls:
            function = call.get("function", {})
            if call.get("type") != "function" or not isinstance(call.get("id"), str):
                errors.append("tool_call_malformed")
            elif not isinstance(function.get("arguments"), str):
                errors.append("tool_call_arguments_not_string")
            else:
                try:
                    json.loads(function["arguments"])
                except json.JSONDecodeError:
                    errors.append("tool_call_arguments_not_json")
                open_calls.add(call["id"])
    elif not isinstance(content, str) or not content:
        errors.append("missing_content")
    if role == "tool":
        call_id = message.get("tool_call_id")
        if call_id not in open_calls:
            errors.append("tool_message_without_call")
        open_calls.discard(call_id)
    return errors

"""The validator rejects what it must, with the stage and reason stats will count."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from callforge.generator.validate import GROUNDING, SCHEMA, STRUCTURE, check_conversation

SCHEMAS = {
    "get_order": {
        "type": "object",
        "properties": {"order_id": {"type": "string"}, "limit": {"type": "integer", "maximum": 10}},
        "required": ["order_id"],
    },
    "refund": {
        "type": "object",
        "properties": {"order_id": {"type": "string"}, "amount": {"type": "number"}},
        "required": ["order_id", "amount"],
    },
}


def _call(call_id: str, name: str, arguments: Any, **extra: Any) -> dict[str, Any]:
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    message = {
        "role": "assistant",
        "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": raw}}
        ],
    }
    return {**message, **extra}


def _tool(call_id: str, content: Any) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": json.dumps(content)}


GOOD = [
    {"role": "user", "content": "Find order ORD-1 and refund 12.5 of it."},
    _call("c1", "get_order", {"order_id": "ORD-1"}),
    _tool("c1", {"order_id": "ORD-1", "total": 30}),
    _call("c2", "refund", {"order_id": "ORD-1", "amount": 12.5}),
    _tool("c2", {"status": "ok"}),
    {"role": "assistant", "content": "Refunded 12.5."},
]


def test_good_conversation_passes() -> None:
    assert check_conversation(GOOD, SCHEMAS) is None


def test_chained_value_grounded_in_an_earlier_result() -> None:
    messages = copy.deepcopy(GOOD)
    messages[2] = _tool("c1", {"order_id": "ORD-1", "replacement_order": "ORD-7"})
    messages[3] = _call("c2", "refund", {"order_id": "ORD-7", "amount": 12.5})
    assert check_conversation(messages, SCHEMAS) is None
    messages[2] = _tool("c1", {"order_id": "ORD-1"})
    rejection = check_conversation(messages, SCHEMAS)
    assert rejection is not None and rejection.stage == GROUNDING


def _mutated(index: int, replacement: Any) -> list[dict[str, Any]]:
    messages = copy.deepcopy(GOOD)
    if replacement is None:
        del messages[index]
    else:
        messages[index] = replacement
    return messages


@pytest.mark.parametrize(
    ("messages", "stage", "reason"),
    [
        (GOOD[1:], STRUCTURE, "role order"),
        (GOOD[:-1], STRUCTURE, "no final answer"),
        (_mutated(2, None), STRUCTURE, "unanswered call"),
        (_mutated(2, _tool("zz", {})), STRUCTURE, "unanswered call"),
        (_mutated(1, _call("c1", "get_orders", {"order_id": "ORD-1"})), SCHEMA, "unknown function"),
        (
            _mutated(1, _call("c1", "get_order", "{order_id: ORD-1}")),
            SCHEMA,
            "unparsable arguments",
        ),
        (
            _mutated(1, _call("c1", "get_order", {"order_id": "ORD-1", "limit": 50})),
            SCHEMA,
            "invalid arguments",
        ),
        (
            _mutated(1, _call("c1", "get_order", {"order_id": "ORD-9"})),
            GROUNDING,
            "ungrounded value",
        ),
        (
            _mutated(3, _call("c2", "refund", {"order_id": "ORD-1", "amount": 13})),
            GROUNDING,
            "ungrounded value",
        ),
        (_mutated(5, {"role": "assistant", "content": "  "}), STRUCTURE, "empty assistant answer"),
        (
            _mutated(
                0,
                {"role": "user", "content": "Find order ORD-1 and refund 12.5 of it.", "weight": 0},
            ),
            STRUCTURE,
            "bad weight",
        ),
    ],
)
def test_rejections(messages: list[dict[str, Any]], stage: str, reason: str) -> None:
    rejection = check_conversation(messages, SCHEMAS)
    assert rejection is not None
    assert rejection.stage == stage
    assert rejection.reason.startswith(reason), rejection.reason


def test_failed_call_must_be_repaired() -> None:
    failing = [
        GOOD[0],
        _call("c0", "refund", {"order_id": "ORD-1"}, weight=0),
        _tool("c0", {"error": {"code": "missing_argument", "message": "amount is required"}}),
        {"role": "assistant", "content": "Sorry, that failed."},
    ]
    rejection = check_conversation(failing, SCHEMAS)
    assert rejection is not None and rejection.reason.startswith("unrepaired failure")
    repaired = failing[:3] + GOOD[3:]
    assert check_conversation(repaired, SCHEMAS) is None

"""Stored examples and rejected drafts as conversations a person can read.

``callforge show`` prints them; the HTML report shows the same lines. The
messages are the exported ones (``Scenario.to_messages``), so what is read here
is what a model is trained on. Text from drafts and tools is shown with
control characters escaped: a draft cannot move the cursor or recolour a terminal.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_WIDTH = 400
"""Longest argument or result text shown whole on one line; longer is cut with …"""


def printable(text: str) -> str:
    """``text`` with control characters (ANSI escapes among them) shown as ``\\x1b``."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


def _short(text: str) -> str:
    text = printable(text)
    return text if len(text) <= _WIDTH else text[: _WIDTH - 1] + "…"


def conversation(messages: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    """One line per turn: who speaks, and what (calls as ``name(arguments)``)."""
    for message in messages:
        role = message.get("role")
        if role == "assistant" and message.get("tool_calls"):
            unlearned = "  [weight 0: not learned]" if message.get("weight") == 0 else ""
            for call in message["tool_calls"]:
                function = call.get("function", {})
                yield (
                    f"assistant -> {printable(str(function.get('name')))}"
                    f"({_short(str(function.get('arguments', '')))}){unlearned}"
                )
        elif role == "tool":
            yield f"      tool <- {_short(str(message.get('content', '')))}"
        else:
            yield f"{role:>9}: {printable(str(message.get('content', '')))}"


def example_text(scenario: Mapping[str, Any]) -> Iterator[str]:
    """An accepted example: its conversation as exported."""
    from callforge.generator.scenarios.base import Scenario

    yield from conversation(Scenario.model_validate(scenario).to_messages())


def rejected_text(payload: Mapping[str, Any] | None) -> Iterator[str]:
    """A rejected draft: the conversation it would have been, or the plan it failed on.

    A rejection stores the whole scenario when the teacher wrote a draft, and only
    the plan when no usable draft came (stage ``teacher``).
    """
    if not payload:
        yield "(nothing stored for this attempt)"
        return
    if "draft" in payload and "plan" in payload:
        from callforge.generator.scenarios.base import Scenario

        try:
            yield from conversation(Scenario.model_validate(payload).to_messages())
            return
        except ValueError:
            pass  # a draft too broken to render: show what was stored
    plan = payload.get("plan", payload)
    yield "(no usable draft; the plan was:)"
    for step in plan.get("steps") or []:
        call = step.get("call", {})
        arguments = json.dumps(call.get("arguments", {}), ensure_ascii=False)
        yield f"assistant -> {printable(str(call.get('name')))}({_short(arguments)})"
    answer = payload.get("last_answer")
    if isinstance(answer, str):
        yield "(the model's last answer:)"
        with contextlib.suppress(ValueError):  # not JSON: shown as it was written
            answer = json.dumps(json.loads(answer), indent=2, ensure_ascii=False)
        yield from (printable(line) for line in answer.splitlines()[:40])

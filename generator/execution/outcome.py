"""What one real tool call gave back, and how it becomes a tool message."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from callforge.generator.scenarios.base import ERROR_KEY
from callforge.generator.tools import RESULT_KEY


@dataclass(frozen=True)
class ToolOutcome:
    """A tool's real return value (JSON), or the message of the error it gave.

    ``value`` is always a JSON object (``json_result`` wraps anything else), because a
    tool message is one; ``error`` is the tool's own words (the exception's message,
    the MCP error text, the HTTP status and body).
    """

    value: dict[str, Any] | None = None
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    def as_json(self) -> dict[str, Any]:
        """What the store's execution cache keeps."""
        return {"value": self.value, "error": self.error}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ToolOutcome:
        return cls(value=data.get("value"), error=data.get("error"))


def json_result(value: Any) -> dict[str, Any]:
    """A JSON value as a tool result object: an object as is, anything else wrapped
    under ``RESULT_KEY``, as a declared non-object result is."""
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return value
    return {RESULT_KEY: value}


def as_tool_message(outcome: ToolOutcome) -> dict[str, Any]:
    """The tool result a scenario shows: the value, or ``{"error": message}``.

    Object keys in sorted order, at every level: the store keeps JSON that way, so the
    result the teacher is shown, the stored example, the export and a rerun from the
    execution cache all hold the same bytes.
    """
    if outcome.error is not None:
        return {ERROR_KEY: outcome.error}
    return _sorted_keys(outcome.value) if outcome.value is not None else {}


def _sorted_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_keys(item) for item in value]
    return value


def parsed_text(text: str) -> Any:
    """Text a tool answered with: its JSON value when it is JSON, else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


@runtime_checkable
class Executor(Protocol):
    """Calls the real tools of one tool set."""

    kind: str
    """``python``, ``mcp`` or ``http``: what the cache key and the messages say."""

    async def start(self) -> None:
        """Open what the calls need (a server process, an HTTP session)."""
        ...

    async def call(self, name: str, arguments: Mapping[str, Any]) -> ToolOutcome: ...

    async def aclose(self) -> None: ...

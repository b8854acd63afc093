"""MCP tool lists -> OpenAI function objects.

Accepts what an MCP server's ``tools/list`` returns, in any of its wrappings:

* a JSON array of tools ``{"name", "description", "inputSchema"}``;
* the result object ``{"tools": [...]}`` (``nextCursor`` is ignored);
* the whole JSON-RPC response ``{"jsonrpc": "2.0", "id": 1, "result": {"tools": [...]}}``.

``inputSchema`` is already a JSON Schema object and becomes ``parameters`` as is;
a tool without a description falls back to its ``title``. ``outputSchema`` (what
the tool's structured result holds) becomes the tool's declared result schema;
``annotations`` are hints, not arguments, and are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callforge.generator.errors import InputError
from callforge.generator.tools import OUTPUT_SCHEMA_KEY


def tool_entries(data: Any, *, source: str) -> list[Any] | None:
    """The list of tools inside any MCP wrapping, or None when ``data`` has none."""
    if isinstance(data, Mapping) and "jsonrpc" in data:
        if "error" in data:
            error = data["error"]
            message = error.get("message") if isinstance(error, Mapping) else error
            text = " ".join(str(message).split())
            raise InputError(f"the JSON-RPC response is an error: {text}", source=source)
        data = data.get("result")
    if isinstance(data, Mapping):
        data = data.get("tools")
    return data if isinstance(data, list) else None


def mcp_functions(data: Any, *, source: str) -> list[dict[str, Any]]:
    """One OpenAI function object per MCP tool."""
    entries = tool_entries(data, source=source)
    if entries is None:
        raise InputError(
            'expected a JSON array of MCP tools, an object {"tools": [...]} '
            "or a JSON-RPC tools/list response",
            source=source,
        )
    return [_function(entry, index, source) for index, entry in enumerate(entries)]


def _function(entry: Any, index: int, source: str) -> dict[str, Any]:
    if not isinstance(entry, Mapping):
        raise InputError(f"tool #{index + 1} is not a JSON object", source=source)
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f'tool #{index + 1} has no "name"', source=source)
    if "inputSchema" not in entry:
        raise InputError(
            'has no "inputSchema" (every MCP tool needs one)', source=source, tool=name
        )
    description = entry.get("description")
    if description is None:
        description = entry.get("title") or ""
    function = {"name": name, "description": description, "parameters": entry["inputSchema"]}
    if entry.get("outputSchema") is not None:
        function[OUTPUT_SCHEMA_KEY] = entry["outputSchema"]
    return function

"""MCP servers, through the official ``mcp`` SDK: over stdio (``--mcp-command``) or a URL.

The server lists its own tools (``tools/list``), so no tool file is needed: the
listing goes through the same importer as a saved MCP listing
(``generator.importers.mcp``). A call's result is its structured content where the
server gives one, else its text content (parsed as JSON when it is JSON); a result
flagged ``is_error`` is an error result holding the server's text.

The SDK runs the connection in anyio task groups, so ``start`` and ``aclose`` must be
awaited in the same task (the run's main task does both).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import Any

from callforge.generator.errors import InputError
from callforge.generator.execution.outcome import ToolOutcome, json_result, parsed_text
from callforge.generator.importers.mcp import mcp_functions
from callforge.generator.tools import ToolSet, parse_tools

DEFAULT_TIMEOUT_S = 30.0


def server_target(command: str | None = None, url: str | None = None) -> Any:
    """What ``mcp.Client`` connects to: a URL, or the parameters to launch a stdio server."""
    from mcp import StdioServerParameters

    if url:
        if not url.startswith(("http://", "https://")):
            raise InputError(f"--mcp-url: expected an http(s) URL, got '{url}'")
        return url
    words = shlex.split(command or "")
    if not words:
        raise InputError(
            '--mcp-command: give the command that starts the server, e.g. "python server.py"'
        )
    return StdioServerParameters(command=words[0], args=words[1:])


class McpExecutor:
    """Calls the tools of one MCP server, over one connection for the whole run."""

    kind = "mcp"

    def __init__(self, target: Any, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.target = target
        self.timeout_s = timeout_s
        self._stack: AsyncExitStack | None = None
        self._client: Any = None

    async def start(self) -> None:
        if self._client is not None:
            return
        from mcp import Client

        self._stack = AsyncExitStack()
        client = Client(self.target, read_timeout_seconds=self.timeout_s, mode="legacy")
        try:
            self._client = await self._stack.enter_async_context(client)
        except Exception as error:
            await self._stack.aclose()
            self._stack = None
            raise InputError(f"cannot connect to the MCP server: {_one_line(error)}") from None

    async def aclose(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
        self._stack, self._client = None, None

    async def tool_listing(self) -> list[dict[str, Any]]:
        """The server's tools as MCP tool objects (``name``, ``inputSchema``, ...)."""
        await self.start()
        tools: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = await self._client.list_tools(cursor=cursor)
            tools += [
                t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in page.tools
            ]
            cursor = page.next_cursor
            if not cursor:
                return tools

    async def call(self, name: str, arguments: Mapping[str, Any]) -> ToolOutcome:
        await self.start()
        try:
            result = await self._client.call_tool(name, dict(arguments))
        except Exception as error:  # a protocol-level error: unknown tool, bad arguments
            return ToolOutcome(error=_one_line(error))
        return call_outcome(result)


def call_outcome(result: Any) -> ToolOutcome:
    """A ``CallToolResult`` as an outcome: structured content first, then text."""
    texts = [block.text for block in result.content if getattr(block, "type", "") == "text"]
    if result.is_error:
        return ToolOutcome(error=" ".join(" ".join(texts).split()) or "the tool reported an error")
    if result.structured_content is not None:
        return ToolOutcome(value=json_result(result.structured_content))
    if len(texts) == 1:
        return ToolOutcome(value=json_result(parsed_text(texts[0])))
    return ToolOutcome(value=json_result(texts))


async def server_tools(executor: McpExecutor, *, source: str) -> ToolSet:
    """The tool set the server lists, as a tool file of its listing would give."""
    listing = await executor.tool_listing()
    return parse_tools(mcp_functions(listing, source=source), source=source, rename_invalid=True)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__

"""From the ``--execute`` flags to an ``Execution``: which executor, and whether it may run.

* ``--mcp-command "..."`` or ``--mcp-url URL``: an MCP server, whose own listing is the
  tool set (``--tools`` not needed);
* ``--base-url-for-tools URL``: the ``--tools`` OpenAPI document, called at that URL;
* otherwise ``--tools`` must name Python (``module:function``, ``file.py``).

Side-effecting tools must be allowed before anything runs (``generator.execution.safety``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from callforge.generator.errors import InputError
from callforge.generator.execution.cache import CachedExecutor
from callforge.generator.execution.outcome import Executor
from callforge.generator.execution.safety import check_side_effects
from callforge.generator.execution.stage import Execution
from callforge.generator.importers.selection import describe_patterns, selected
from callforge.generator.teachers.base import ResponseCache
from callforge.generator.tools import ToolSet


@dataclass(frozen=True)
class ExecuteOptions:
    """What the user said about executing the tools."""

    tools: str | None = None
    mcp_command: str | None = None
    mcp_url: str | None = None
    base_url: str | None = None
    allow_side_effects: bool = False
    side_effects: Sequence[str] = field(default_factory=tuple)
    refresh: bool = False
    timeout_s: float = 10.0

    @property
    def mcp(self) -> bool:
        return bool(self.mcp_command or self.mcp_url)


def tool_executor(options: ExecuteOptions) -> Executor:
    """The executor the flags name; a clear error when the tools cannot be called."""
    if options.mcp:
        from callforge.generator.execution.mcp import McpExecutor, server_target

        target = server_target(command=options.mcp_command, url=options.mcp_url)
        return McpExecutor(target, timeout_s=max(options.timeout_s, 30.0))
    if options.tools is None:
        raise InputError("--execute: give --tools, --mcp-command or --mcp-url")
    if options.base_url:
        from callforge.generator.execution.http import HttpExecutor
        from callforge.generator.importers.detect import read_document

        document = read_document(Path(options.tools), options.tools)
        return HttpExecutor(
            document, options.base_url, source=options.tools, timeout_s=options.timeout_s
        )
    from callforge.generator.importers.python import looks_like_python

    if not looks_like_python(options.tools):
        raise InputError(
            "--execute calls Python tools (module:function, file.py), an MCP server "
            "(--mcp-command, --mcp-url) or an OpenAPI document at --base-url-for-tools; "
            f"'{options.tools}' is none of these"
        )
    from callforge.generator.execution.python import PythonExecutor

    return PythonExecutor(options.tools, timeout_s=options.timeout_s)


def server_tool_set(
    options: ExecuteOptions, *, include: Sequence[str] = (), exclude: Sequence[str] = ()
) -> ToolSet:
    """The tools an MCP server lists (``--mcp-command``/``--mcp-url`` without ``--tools``),
    kept by the ``--include``/``--exclude`` name globs."""
    from callforge.generator.execution.mcp import McpExecutor, server_tools

    executor = tool_executor(options)
    assert isinstance(executor, McpExecutor)

    async def listing() -> ToolSet:
        try:
            return await server_tools(executor, source=options.mcp_command or options.mcp_url or "")
        finally:
            await executor.aclose()

    tools = asyncio.run(listing())
    kept = [name for name in tools.names if selected([name], include, exclude)]
    if not kept:
        patterns = describe_patterns(include, exclude)
        raise InputError(
            f"no tool of the MCP server matches the patterns ({patterns}); "
            f"tools: {', '.join(tools.names)}"
        )
    return tools.subset(kept)


def execution_for(
    tools: ToolSet, options: ExecuteOptions, cache: ResponseCache | None
) -> tuple[Execution, list[str]]:
    """The run's execution stage and the side-effecting tools it was allowed to call.

    Raises before anything is called when side-effecting tools are not allowed.
    """
    allowed = check_side_effects(
        tools, allowed=options.allow_side_effects, marked=options.side_effects
    )
    executor = CachedExecutor(tool_executor(options), cache, refresh=options.refresh)
    return Execution(executor, tools), allowed

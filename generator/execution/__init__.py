"""Calling the real tools: Python functions, MCP servers and HTTP APIs (``--execute``).

Every executor answers one question, ``await executor.call(name, arguments)``, with a
``ToolOutcome``: the tool's real return value as JSON, or the error it raised or
answered with. The pipeline puts that outcome in the tool message instead of a
result a teacher imagined, and the validator's ``execution`` stage compares it
with the plan (a call planned to succeed must succeed, a staged failure must fail).

Nothing here runs unless the user asks for it (``--execute``); ``generator.execution
.safety`` says which tools change the world and must be allowed first.
"""

from callforge.generator.execution.outcome import (
    Executor,
    ToolOutcome,
    as_tool_message,
    json_result,
)

__all__ = ["Executor", "ToolOutcome", "as_tool_message", "json_result"]

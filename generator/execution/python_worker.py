"""Serve Python tool calls over a pipe: ``python -m ...python_worker MEMORY_MB``.

The parent (``generator.execution.python``) keeps one worker per tool module for the
whole run. It writes one request per line on the worker's stdin, as JSON (``spec``,
``tool``, ``arguments``), and reads one reply per line from its stdout:
``{"value": ...}`` or ``{"error": "..."}``; one call at a time. The module is imported
once, on the first call. The worker caps its own address space before importing the
user's code, so a tool that eats memory fails with a ``MemoryError`` here instead of
taking the machine down; the parent enforces the time limit by killing the worker
(and starts a new one for the next call), as it does when the worker dies.

The user's code never sees the pipe: its prints go to stderr (dropped by the parent)
and its stdin is ``/dev/null``, so a tool that prints or reads cannot garble a reply.

Arguments are validated against the function's signature (``pydantic.validate_call``),
so a Pydantic model or a date parameter gets its real type, and a wrong argument is
the real validation error a caller would see. The return value is turned into JSON
the way Pydantic serialises (dataclasses, models, datetimes, enums, sets); a value
that has no JSON form is an error result naming its type.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import resource
import sys
from typing import Any

MEBIBYTE = 1024 * 1024
_MODULES: dict[str, Any] = {}
"""The tool modules imported so far, by spec: imported once, on the first call."""


def main() -> None:
    _limit_memory(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    request_fd, reply_fd = os.dup(sys.stdin.fileno()), os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # the tool's prints are not replies
    with open(os.devnull, "rb") as nothing:
        os.dup2(nothing.fileno(), sys.stdin.fileno())  # nor is what it reads a request
    with (
        os.fdopen(request_fd, "r", encoding="utf-8") as requests,
        os.fdopen(reply_fd, "w", encoding="utf-8") as replies,
    ):
        for line in requests:
            request = json.loads(line)
            reply = run(request["spec"], request["tool"], request.get("arguments") or {})
            replies.write(json.dumps(reply, ensure_ascii=False) + "\n")
            replies.flush()


def _limit_memory(megabytes: int) -> None:
    if megabytes <= 0:
        return
    limit = megabytes * MEBIBYTE
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def run(spec: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """``{"value": json}`` or ``{"error": message}`` for one call of ``tool``."""
    from pydantic import ValidationError, validate_call
    from pydantic_core import PydanticSerializationError, to_jsonable_python

    from callforge.generator.errors import CallforgeError
    from callforge.generator.importers.python import split_spec, tool_module

    module_spec, _, _ = split_spec(spec)
    try:
        if spec not in _MODULES:
            _MODULES[spec] = tool_module(module_spec, spec)
        function = _function(_MODULES[spec], tool)
    except CallforgeError as error:
        return {"error": str(error)}
    try:
        value = validate_call(function)(**arguments)
        if inspect.isawaitable(value):
            import asyncio

            value = asyncio.run(_awaited(value))
    except ValidationError as error:
        return {"error": _validation_message(error)}
    except MemoryError:
        return {"error": "MemoryError: the tool ran out of memory"}
    except Exception as error:
        return {"error": _exception_message(error)}
    try:
        return {"value": to_jsonable_python(value)}
    except PydanticSerializationError:
        kind = type(value).__qualname__
        return {"error": f"the tool returned a {kind}, which has no JSON form"}


async def _awaited(value: Any) -> Any:
    return await value


def _function(module: Any, tool: str) -> Any:
    value = getattr(module, tool, None)
    if inspect.isfunction(value):
        return value
    for candidate in vars(module).values():
        if inspect.isfunction(candidate) and candidate.__name__ == tool:
            return candidate
    from callforge.generator.errors import InputError

    raise InputError(f"no function '{tool}' to call in this module", tool=tool)


def _exception_message(error: BaseException) -> str:
    """The exception's own message (its type's name when it has none)."""
    text = " ".join(str(error).split())
    return text or type(error).__name__


def _validation_message(error: Any) -> str:
    problems = [
        f"{'.'.join(str(part) for part in item['loc']) or 'arguments'}: {item['msg']}"
        for item in error.errors(include_url=False)
    ]
    return "invalid arguments: " + "; ".join(problems)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()

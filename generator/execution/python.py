"""Python tools (``module:function``, ``file.py``), each call in its own subprocess.

A fresh ``python -m callforge.generator.execution.python_worker`` per call: the user's
code never runs inside callforge's process, a call that hangs is killed at its
timeout, and one that eats memory hits the worker's address-space limit. What a call
prints goes to the worker's stderr and is dropped; only its return value or error
comes back.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from callforge.generator.execution.outcome import ToolOutcome, json_result

DEFAULT_TIMEOUT_S = 10.0
DEFAULT_MEMORY_MB = 1024
_WORKER = "callforge.generator.execution.python_worker"


class PythonExecutor:
    """Calls the functions of the module ``spec`` names (the ``--tools`` value)."""

    kind = "python"

    def __init__(
        self,
        spec: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        memory_mb: int = DEFAULT_MEMORY_MB,
    ) -> None:
        module, colon, attribute = spec.rpartition(":")
        if colon and module.endswith(".py"):
            spec = f"{Path(module).resolve()}:{attribute}"
        elif spec.endswith(".py"):
            spec = str(Path(spec).resolve())
        self.spec = spec
        self.cwd = os.getcwd()  # a dotted module name is importable from here
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None

    async def call(self, name: str, arguments: Mapping[str, Any]) -> ToolOutcome:
        request = {
            "spec": self.spec,
            "tool": name,
            "arguments": dict(arguments),
            "memory_mb": self.memory_mb,
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            _WORKER,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=self.cwd,
        )
        try:
            stdout, _ = await asyncio.wait_for(
                process.communicate(json.dumps(request).encode()), self.timeout_s
            )
        except TimeoutError:
            process.kill()
            await process.wait()
            return ToolOutcome(error=f"the call did not finish within {self.timeout_s:g} s")
        return _outcome(stdout, process.returncode)


def _outcome(stdout: bytes, returncode: int | None) -> ToolOutcome:
    try:
        reply = json.loads(stdout)
    except ValueError:
        return ToolOutcome(error=f"the tool's process ended without a result (exit {returncode})")
    if reply.get("error") is not None:
        return ToolOutcome(error=str(reply["error"]))
    return ToolOutcome(value=json_result(reply.get("value")))

"""Python tools (``module:function``, ``file.py``), called in a long-lived worker process.

One ``python -m callforge.generator.execution.python_worker`` per tool module serves
every call of the run over a pipe, one call at a time: the user's code never runs
inside callforge's process, and the module is imported once instead of once per call
(a fresh process per call cost ~1 s under load). Isolation is kept: a call that hangs
past its timeout, or a worker that crashes or hits its address-space limit, ends that
worker (killed, its call an error result) and the next call starts a new one. What a
call prints goes to the worker's stderr and is dropped; only its return value or error
comes back.

A module's globals live as long as its worker, as they would in a server: a tool that
keeps state between calls keeps it here until its worker is restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
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
_REPLY_LIMIT = 64 * 1024 * 1024
"""The longest reply line read from a worker (a larger result is an error result)."""
_GOODBYE_S = 1.0
"""How long a worker may take to exit once its requests end, before it is killed."""


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
        self.workers_started = 0
        """Worker processes started so far: 1 for a run whose calls all went well."""
        self._worker: asyncio.subprocess.Process | None = None
        self._one_at_a_time = asyncio.Lock()

    async def start(self) -> None:
        return None  # the worker starts with the first call

    async def aclose(self) -> None:
        worker, self._worker = self._worker, None
        if worker is None or worker.returncode is not None:
            return
        assert worker.stdin is not None
        worker.stdin.close()  # the worker's loop ends with its requests
        try:
            await asyncio.wait_for(worker.wait(), _GOODBYE_S)
        except TimeoutError:
            _kill(worker)
            await worker.wait()

    async def call(self, name: str, arguments: Mapping[str, Any]) -> ToolOutcome:
        request = json.dumps({"spec": self.spec, "tool": name, "arguments": dict(arguments)})
        async with self._one_at_a_time:
            worker = await self._running_worker()
            assert worker.stdin is not None and worker.stdout is not None
            try:
                worker.stdin.write(request.encode() + b"\n")
                await worker.stdin.drain()
                line = await asyncio.wait_for(worker.stdout.readline(), self.timeout_s)
            except TimeoutError:
                await self._end_worker()
                return ToolOutcome(error=f"the call did not finish within {self.timeout_s:g} s")
            except ValueError:  # a reply line longer than _REPLY_LIMIT
                await self._end_worker()
                return ToolOutcome(error=f"the tool's result is over {_REPLY_LIMIT:,} bytes")
            except ConnectionError:  # the worker died before it read the request
                line = b""
            except BaseException:  # cancelled mid-call: its reply must not answer the next one
                _kill(worker)
                self._worker = None
                raise
            if not line.endswith(b"\n"):
                returncode = await self._end_worker()
                return ToolOutcome(
                    error=f"the tool's process ended without a result (exit {returncode})"
                )
            return _outcome(line)

    async def _running_worker(self) -> asyncio.subprocess.Process:
        if self._worker is not None and self._worker.returncode is None:
            return self._worker
        self._worker = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            _WORKER,
            str(self.memory_mb),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=self.cwd,
            limit=_REPLY_LIMIT,
        )
        self.workers_started += 1
        return self._worker

    async def _end_worker(self) -> int | None:
        """Kill the current worker (hung, dead or unreadable); the next call starts another."""
        worker, self._worker = self._worker, None
        if worker is None:
            return None
        _kill(worker)
        return await worker.wait()


def _kill(worker: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        worker.kill()


def _outcome(line: bytes) -> ToolOutcome:
    try:
        reply = json.loads(line)
    except ValueError:
        return ToolOutcome(error="the tool's process answered with something other than JSON")
    if reply.get("error") is not None:
        return ToolOutcome(error=str(reply["error"]))
    return ToolOutcome(value=json_result(reply.get("value")))

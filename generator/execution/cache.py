"""Execution results kept like teacher answers: a rerun or a resumed run calls no tool twice.

A call is keyed by the tool's name, its version (``ToolSpec.content_hash``: a changed
definition calls again) and its canonical arguments. The outcome goes through the
store's response cache (``teacher_cache`` under the id ``execute:<kind>``, journalled
the moment it comes back, so a killed run keeps it); ``--refresh-tools`` calls again
and keeps the new outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callforge.generator.execution.outcome import Executor, ToolOutcome
from callforge.generator.teachers.base import NO_USAGE, CacheEntry, ResponseCache
from callforge.generator.tools import ToolSpec, canonical_json, sha256_hex


def execution_key(tool: ToolSpec, arguments: Mapping[str, Any]) -> str:
    """The cache key of one call: tool, tool version and canonical arguments."""
    return "execute:" + sha256_hex(canonical_json([tool.name, tool.content_hash, dict(arguments)]))


class CachedExecutor:
    """An executor whose outcomes are looked up first and kept after."""

    def __init__(
        self, executor: Executor, cache: ResponseCache | None, *, refresh: bool = False
    ) -> None:
        self.executor = executor
        self.cache = cache
        self.refresh = refresh
        self.calls = 0
        """Real calls made (cache hits excluded)."""
        self.fresh: list[CacheEntry] = []
        """Outcomes of real calls, for the run to store with its next batch."""

    @property
    def teacher_id(self) -> str:
        return f"execute:{self.executor.kind}"

    async def call(self, tool: ToolSpec, arguments: Mapping[str, Any]) -> ToolOutcome:
        key = execution_key(tool, arguments)
        if self.cache is not None and not self.refresh:
            entry = self.cache.get(key)
            if entry is not None:
                return ToolOutcome.from_json(entry.response)
        outcome = await self.executor.call(tool.original_name or tool.name, arguments)
        self.calls += 1
        entry = CacheEntry(key, self.teacher_id, outcome.as_json(), NO_USAGE)
        if self.cache is not None:
            self.cache.keep(entry)
        self.fresh.append(entry)
        return outcome

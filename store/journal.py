"""Teacher answers not committed yet, kept in a side file so a killed run loses none.

The pipeline commits to DuckDB in batches: a commit costs milliseconds of CPU
whatever its size, so committing every answer would cost more than the answer's
whole share of the client's CPU budget. An answer that arrived after the last
commit would then die with a killed process, though it was paid for and the
response cache exists to keep it. So the pipeline also appends each answer to a
journal segment the moment it has it: one ``os.write`` of one JSON line, which
the operating system keeps once the call returns, however the process ends
afterwards. Handing a batch to the writer seals the segment; once that batch is
committed the segment is deleted. Opening the store replays the segments a
killed run left into ``teacher_cache``, so resuming resends only what was in
flight.

Segments sit beside the DuckDB file as ``<file>.journal-<pid>-<n>``; only the
process holding DuckDB's write lock on the file writes them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from generator.teachers.base import CacheEntry, Usage

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class CacheJournal:
    def __init__(self, store_path: Path) -> None:
        self._folder = store_path.parent
        self._prefix = f"{store_path.name}.journal-"
        self._segment: Path | None = None
        self._fd: int | None = None
        self._sealed = 0

    def append(self, entry: CacheEntry) -> None:
        """Keep ``entry`` on disk before anything else happens to it."""
        if self._fd is None:
            self._sealed += 1
            self._segment = self._folder / f"{self._prefix}{os.getpid()}-{self._sealed}"
            self._fd = os.open(self._segment, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        usage = entry.usage
        record = {
            "key": entry.key,
            "teacher": entry.teacher,
            "response": entry.response,
            "usage": [usage.requests, usage.prompt_tokens, usage.completion_tokens],
        }
        line = memoryview((_ENCODE.encode(record) + "\n").encode())
        while line:
            line = line[os.write(self._fd, line) :]

    def seal(self) -> Path | None:
        """End the current segment (its entries go in the batch being handed over)."""
        segment, fd = self._segment, self._fd
        self._segment = self._fd = None
        if fd is not None:
            os.close(fd)
        return segment

    @staticmethod
    def settle(segment: Path | None) -> None:
        """The batch holding ``segment``'s entries is committed: it is no longer needed."""
        if segment is not None:
            segment.unlink(missing_ok=True)

    def leftovers(self) -> list[Path]:
        """Segments other processes left behind.

        Another process holding the file would hold DuckDB's lock too, so theirs are
        from processes that died. This process's own are skipped: another store
        object on the same file here may still be writing one.
        """
        own = f"{self._prefix}{os.getpid()}-"
        return sorted(
            path
            for path in self._folder.glob(f"{self._prefix}*")
            if not path.name.startswith(own) and path.is_file()
        )

    @staticmethod
    def read(segment: Path) -> list[CacheEntry]:
        """The entries of a segment; a line cut short by the kill is skipped."""
        entries = []
        for line in segment.read_bytes().splitlines():
            try:
                record = json.loads(line)
                key, teacher, response = record["key"], record["teacher"], record["response"]
                entries.append(CacheEntry(key, teacher, response, Usage(*record["usage"])))
            except (ValueError, KeyError, TypeError):
                continue
        return entries

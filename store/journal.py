"""Teacher answers not committed yet, kept in side files so a killed run loses none.

The pipeline commits to DuckDB in batches: a commit costs milliseconds of CPU
whatever its size, so committing every answer would cost more than the answer's
whole share of the client's CPU budget. An answer that arrived after the last
commit would then die with a killed process, though it was paid for and the
response cache exists to keep it. So the teacher also hands each answer to the
journal the moment it has it: one ``os.write`` of one JSON line, which the
operating system keeps once the call returns, however the process ends
afterwards. Each batch handed to the writer seals the current segment; a sealed
segment is deleted once every answer in it has been committed. Opening the
store replays the segments a killed run left into ``teacher_cache``, so
resuming resends only what was in flight.

Segments sit beside the DuckDB file as ``<file>.journal-<pid>-<n>``; only the
process holding DuckDB's write lock on the file writes them.
"""

from __future__ import annotations

import glob
import json
import os
from collections.abc import Iterable
from pathlib import Path

from callforge.generator.records import CacheEntry, Usage

_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class CacheJournal:
    """Used from one thread (the event loop's): ``append``, ``seal``, ``committed``."""

    def __init__(self, store_path: Path) -> None:
        self._folder = store_path.parent
        self._prefix = f"{store_path.name}.journal-"
        self._segment: Path | None = None
        self._fd: int | None = None
        self._segments_made = 0
        self._uncommitted: dict[Path, set[str]] = {}
        """Per segment of this process, the keys of its answers not committed yet."""

    def append(self, entry: CacheEntry) -> None:
        """Keep ``entry`` on disk before anything else happens to it."""
        if self._fd is None or self._segment is None:
            self._segments_made += 1
            self._segment = self._folder / f"{self._prefix}{os.getpid()}-{self._segments_made}"
            self._fd = os.open(self._segment, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self._uncommitted[self._segment] = set()
        usage = entry.usage
        record = {
            "key": entry.key,
            "teacher": entry.teacher,
            "response": entry.response,
            "usage": [
                usage.requests,
                usage.prompt_tokens,
                usage.completion_tokens,
                usage.cached_tokens,
            ],
        }
        line = memoryview((_ENCODE.encode(record) + "\n").encode())
        while line:
            line = line[os.write(self._fd, line) :]
        self._uncommitted[self._segment].add(entry.key)

    def seal(self) -> None:
        """Close the current segment; the next answer starts a new one."""
        fd, self._fd, self._segment = self._fd, None, None
        if fd is not None:
            os.close(fd)
        self._delete_settled()

    def committed(self, keys: Iterable[str]) -> None:
        """These answers are in the store now: delete sealed segments left with none."""
        done = set(keys)
        for pending in self._uncommitted.values():
            pending -= done
        self._delete_settled()

    def _delete_settled(self) -> None:
        for segment, pending in list(self._uncommitted.items()):
            if not pending and segment != self._segment:
                segment.unlink(missing_ok=True)
                del self._uncommitted[segment]

    def leftovers(self) -> list[Path]:
        """Segments other processes left behind.

        Another process holding the file would hold DuckDB's lock too, so theirs are
        from processes that died. This process's own are skipped: another store
        object on the same file here may still be writing one.
        """
        own = f"{self._prefix}{os.getpid()}-"
        return sorted(
            path
            for path in self._folder.glob(f"{glob.escape(self._prefix)}*")
            if not path.name.startswith(own) and path.is_file()
        )

    @staticmethod
    def read(segment: Path) -> tuple[list[CacheEntry], int]:
        """The entries of a segment, and how many lines were skipped.

        A journal is data left on disk, not trusted: a line cut short by the kill,
        or one that does not parse or fit the cache's types (a string for a token
        count, a response that is no JSON object), is skipped, not stored.
        """
        entries, skipped = [], 0
        for line in segment.read_bytes().splitlines():
            entry = _entry(line)
            if entry is None:
                skipped += 1
            else:
                entries.append(entry)
        return entries, skipped


_INTEGER_MAX = 2**31 - 1
"""``requests`` is an INTEGER column; token counts are BIGINT, far above any real count."""


def _entry(line: bytes) -> CacheEntry | None:
    """One journal line as a cache entry, or None when it does not parse or fit."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict):
        return None
    key, teacher, response, usage = (record.get(name) for name in _FIELDS)
    if not (isinstance(key, str) and isinstance(teacher, str) and isinstance(response, dict)):
        return None
    # requests, prompt, completion[, cached prompt tokens] (journals written before those: 3)
    if not isinstance(usage, list) or len(usage) not in (3, 4):
        return None
    if not all(type(n) is int and 0 <= n <= _INTEGER_MAX for n in usage):
        return None
    return CacheEntry(key, teacher, response, Usage(*usage))


_FIELDS = ("key", "teacher", "response", "usage")

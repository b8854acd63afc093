"""The DuckDB store: the one place that holds SQL.

A store is one DuckDB file. Opening it applies any pending migration and stores
the teacher answers a killed run left in its journal (``store/journal.py``);
every write the pipeline makes goes through ``write_batch``, which commits whole
examples and rejections in one transaction, so a process killed at any moment
leaves either all of an example or none of it.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from callforge.generator.errors import StoreError, StoreInUseError, StoreWriteError
from callforge.generator.records import NO_USAGE, OUTPUT_SCHEMA_KEY, CacheEntry, Cell, Usage
from callforge.store.journal import CacheJournal
from callforge.store.migrations import MIGRATIONS

STALE = """
    e.example_id IN (
        SELECT example_id FROM (SELECT example_id, unnest(tool_hashes) AS made_from FROM examples)
        WHERE made_from NOT IN (SELECT tool_hash FROM current_tools)
    )
"""
"""SQL: example ``e`` was made from a tool version that is no longer current.

The ids of the stale examples come from one anti-join of every example's tool
hashes against ``current_tools``, so the check costs the hashes the examples list,
not examples x tools (10,000 tools and examples: 15 s with a ``list_has_all``
against the whole current list per example, 0.05 s this way). The subquery is not
correlated: a correlated one made DuckDB buffer the outer rows, conversations
included, for its join."""

log = logging.getLogger(__name__)
"""Warnings a command shows on stderr (``cli.py`` formats them as ``warning: ...``)."""


@dataclass(frozen=True)
class ExampleRow:
    """An accepted example, ready to be stored."""

    example_id: str
    tool_name: str
    tool_hash: str
    category: str
    attempt: int
    failure_kind: str | None
    dedup_key: str
    user_request: str
    tool_hashes: list[str]
    scenario: dict[str, Any]
    teacher: str
    usage: Usage = NO_USAGE
    cached: bool = False


@dataclass(frozen=True)
class RejectionRow:
    """A failed attempt, with the stage that stopped it and why."""

    tool_name: str
    tool_hash: str
    category: str
    attempt: int
    stage: str
    reason: str
    payload: dict[str, Any] | None = None
    usage: Usage = NO_USAGE


@dataclass(frozen=True)
class StoredExample:
    """An example read back for export."""

    example_id: str
    tool_name: str
    category: str
    tool_hashes: list[str]
    scenario: dict[str, Any]
    stale: bool
    failure_kind: str | None = None
    teacher: str = ""


_EXAMPLE_COLUMNS = [
    ("example_id", "VARCHAR"),
    ("run_id", "VARCHAR"),
    ("tool_name", "VARCHAR"),
    ("tool_hash", "VARCHAR"),
    ("category", "VARCHAR"),
    ("attempt", "INTEGER"),
    ("failure_kind", "VARCHAR"),
    ("dedup_key", "VARCHAR"),
    ("user_request", "VARCHAR"),
    ("tool_hashes", "VARCHAR[]"),
    ("scenario", "VARCHAR"),
    ("teacher", "VARCHAR"),
    ("created_at", "TIMESTAMP"),
    ("requests", "INTEGER"),
    ("prompt_tokens", "BIGINT"),
    ("completion_tokens", "BIGINT"),
    ("cached", "BOOLEAN"),
    ("cached_tokens", "BIGINT"),
]
_REJECTION_COLUMNS = [
    ("run_id", "VARCHAR"),
    ("tool_name", "VARCHAR"),
    ("tool_hash", "VARCHAR"),
    ("category", "VARCHAR"),
    ("attempt", "INTEGER"),
    ("stage", "VARCHAR"),
    ("reason", "VARCHAR"),
    ("payload", "VARCHAR"),
    ("created_at", "TIMESTAMP"),
    ("requests", "INTEGER"),
    ("prompt_tokens", "BIGINT"),
    ("completion_tokens", "BIGINT"),
    ("cached_tokens", "BIGINT"),
]
_TOOL_COLUMNS = [
    ("tool_hash", "VARCHAR"),
    ("name", "VARCHAR"),
    ("definition", "VARCHAR"),
    ("first_seen", "TIMESTAMP"),
    ("output_schema", "VARCHAR"),
]
_CURRENT_TOOL_COLUMNS = [("name", "VARCHAR"), ("tool_hash", "VARCHAR"), ("position", "INTEGER")]
_TARGET_COLUMNS = [("tool_name", "VARCHAR"), ("category", "VARCHAR"), ("target", "INTEGER")]
_CACHE_COLUMNS = [
    ("key", "VARCHAR"),
    ("teacher", "VARCHAR"),
    ("response", "VARCHAR"),
    ("requests", "INTEGER"),
    ("prompt_tokens", "BIGINT"),
    ("completion_tokens", "BIGINT"),
    ("created_at", "TIMESTAMP"),
]


def _split_output_schema(definition: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """A stored definition as (the exported definition, its result schema or None)."""
    function = definition.get("function")
    if not isinstance(function, dict) or OUTPUT_SCHEMA_KEY not in function:
        return definition, None
    function = dict(function)
    output_schema = function.pop(OUTPUT_SCHEMA_KEY)
    return {**definition, "function": function}, output_schema


def _stored(definition: str, output_schema: str | None) -> dict[str, Any]:
    """A stored row back as a definition ``tools.parse_tools`` reads, result schema included."""
    entry = json.loads(definition)
    if output_schema is not None:
        entry["function"][OUTPUT_SCHEMA_KEY] = json.loads(output_schema)
    return entry


def _insert_rows(
    db: duckdb.DuckDBPyConnection,
    table: str,
    columns: list[tuple[str, str]],
    rows: list[list[Any]],
    conflict: str = "",
) -> None:
    """Insert ``rows`` in one statement: one list parameter per column, unnested in step.

    ``executemany`` costs about a millisecond per row in DuckDB; this is one
    statement per batch, whatever its size.
    """
    if not rows:
        return
    names = ", ".join(name for name, _ in columns)
    unnested = ", ".join(f"unnest(?::{kind}[])" for _, kind in columns)
    db.execute(
        f"INSERT INTO {table} ({names}) SELECT {unnested} {conflict}",
        [list(values) for values in zip(*rows, strict=True)],
    )


_SORTED_JSON = json.JSONEncoder(sort_keys=True)
"""``json.dumps(value, sort_keys=True)``, without building an encoder per call."""
_SORTED_JSON_OR_STR = json.JSONEncoder(sort_keys=True, default=str)


def _cache_rows(entries: Iterable[CacheEntry], now: datetime) -> list[list[Any]]:
    """``teacher_cache`` rows, one per key (the last entry for a key wins)."""
    rows = {
        entry.key: [
            entry.key,
            entry.teacher,
            _SORTED_JSON.encode(entry.response),
            entry.usage.requests,
            entry.usage.prompt_tokens,
            entry.usage.completion_tokens,
            now,
        ]
        for entry in entries
    }
    return list(rows.values())


_REPLACE_ANSWER = "ON CONFLICT (key) DO UPDATE SET " + ", ".join(
    f"{name} = excluded.{name}" for name, _ in _CACHE_COLUMNS if name != "key"
)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.+?) \(PID (\d+)\)")
_DUCKDB_MAGIC = b"DUCK"
"""DuckDB's file format marker, at bytes 8-12 of every database file."""
_FAULTS = (
    duckdb.IOException,
    duckdb.TransactionException,
    duckdb.FatalException,
    duckdb.InternalException,
    duckdb.SerializationException,
    duckdb.PermissionException,
)
"""DuckDB errors that come from the file or the disk, not from callforge's SQL."""
_RUNS_OF_THIS_PROCESS: set[str] = set()
"""Runs begun here: any other run still ``running`` when a store opens was killed."""


def _interrupted_query(exc: BaseException | None) -> bool:
    """Whether DuckDB stopped a query for Ctrl-C: it turns the ``KeyboardInterrupt``
    raised while it runs into its own error."""
    if isinstance(exc, duckdb.InterruptException):
        return True
    return type(exc) is RuntimeError and str(exc) == "Query interrupted"


def _damaged(detail: str) -> bool:
    return "Corrupt database file" in detail or "not a valid DuckDB database" in detail


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or [""])[0][:300]


class StoreResponseCache:
    """The store's ``teacher_cache`` as a teacher's ``ResponseCache``.

    Keys are loaded once, so a miss (the common case in a fresh run) costs a set
    lookup, not a query; entries written during the run are not needed back.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._keys = store.cache_keys()

    def get(self, key: str) -> CacheEntry | None:
        return self._store.cache_get(key) if key in self._keys else None

    def keep(self, entry: CacheEntry) -> None:
        self._store.journal.append(entry)


class Store:
    """A callforge DuckDB file, migrated on open."""

    def __init__(self, path: str | Path, *, must_exist: bool = False) -> None:
        self.path = Path(path)
        if must_exist and not self.path.exists():
            raise StoreError(f"{self.path}: no such store; run 'callforge generate' first")
        self._check_is_store()
        self._db = self._connect()
        self._appenders: dict[str, duckdb.Appender] = {}
        self._reader: duckdb.DuckDBPyConnection | None = None
        self._stored_cache_keys: set[str] | None = None
        self.broken = False
        """A write failed: DuckDB may refuse every later statement, so none is tried."""
        self.journal = CacheJournal(self.path)
        try:
            self.migrate()
            self._mark_killed_runs()
            self._replay_journal()
        except _FAULTS as exc:
            self._close_quietly()
            raise self.fault(exc) from exc
        except duckdb.Error as exc:
            self._close_quietly()
            if _damaged(str(exc)):
                raise self.fault(exc) from exc
            raise

    def _check_is_store(self) -> None:
        """Refuse an existing file that is not a DuckDB database (JSON, CSV, a typo'd path).

        DuckDB would open some such files as an empty in-memory database: a run
        would then report what it accepted and keep none of it.
        """
        if self.path.is_dir():
            raise StoreError(f"{self.path}: is a folder; --db takes a DuckDB file")
        try:
            with self.path.open("rb") as file:
                header = file.read(12)
        except FileNotFoundError:
            return
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot read the store: {exc.strerror}") from exc
        if header and header[8:12] != _DUCKDB_MAGIC:
            raise StoreError(
                f"{self.path}: exists and is not a callforge store (a DuckDB file); "
                "give --db a new file name or an existing store"
            )

    def _connect(self) -> duckdb.DuckDBPyConnection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot create its folder: {exc.strerror}") from exc
        try:
            return duckdb.connect(str(self.path))
        except duckdb.IOException as exc:
            if _damaged(str(exc)):
                raise self.fault(exc) from exc
            holder = _LOCK_HOLDER.search(str(exc))
            if holder:
                raise StoreInUseError(
                    f"{self.path}: in use by another process (PID {holder.group(2)}); "
                    "wait for it to finish or use another --db",
                    pid=int(holder.group(2)),
                ) from exc
            raise StoreError(f"{self.path}: cannot open as a DuckDB file ({exc})") from exc
        except duckdb.Error as exc:
            if _damaged(str(exc)):
                raise self.fault(exc) from exc
            raise StoreError(f"{self.path}: cannot open as a DuckDB file ({exc})") from exc

    def fault(self, exc: duckdb.Error) -> StoreError:
        """The one-line error for a DuckDB failure of the file or the disk."""
        detail = _first_line(str(exc))
        if _damaged(detail):
            return StoreError(
                f"{self.path}: the store is damaged past repair ({detail}); "
                "restore it from a copy or start a new one with another --db"
            )
        self.broken = True
        return StoreWriteError(
            f"{self.path}: cannot write to the store ({detail}); what was committed before is kept",
            detail=detail,
        )

    def close(self) -> None:
        self.journal.seal()  # what it holds was not committed: the next open stores it
        self._appenders.clear()
        if self.broken:
            self._close_quietly()
            return
        try:
            if self._reader is not None:
                self._reader.close()
            self._db.close()  # a checkpoint: the first write of a clean close
        except _FAULTS as exc:
            self._close_quietly()
            raise self.fault(exc) from exc

    def _close_quietly(self) -> None:
        """Let go of a connection that failed: the WAL keeps what was committed."""
        for connection in (self._reader, self._db):
            if connection is not None:
                with suppress(duckdb.Error):
                    connection.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, _tb: object
    ) -> None:
        """Close; a file or disk failure inside the block becomes one line naming the file,
        a query that Ctrl-C interrupted the ``KeyboardInterrupt`` it was."""
        if _interrupted_query(exc):
            self.close()
            raise KeyboardInterrupt from exc
        if isinstance(exc, _FAULTS) or (isinstance(exc, duckdb.Error) and _damaged(str(exc))):
            self.broken = True
            self.close()
            raise self.fault(exc) from exc
        if exc is not None:
            self.broken = self.broken or isinstance(exc, StoreWriteError)
            with suppress(StoreError):  # the error already on its way says more
                self.close()
            return
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self._db.execute("BEGIN TRANSACTION")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- migrations ---------------------------------------------------------

    def migrate(self) -> list[str]:
        """Apply pending migrations, each in one transaction with its record."""
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS _migrations "
            "(name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)"
        )
        applied = {row[0] for row in self._db.execute("SELECT name FROM _migrations").fetchall()}
        newly_applied = []
        for step in MIGRATIONS:
            if step.__name__ in applied:
                continue
            with self.transaction() as db:
                step(db)
                db.execute("INSERT INTO _migrations VALUES (?, ?)", [step.__name__, _now()])
            newly_applied.append(step.__name__)
        return newly_applied

    def applied_migrations(self) -> list[str]:
        rows = self._db.execute("SELECT name FROM _migrations ORDER BY name").fetchall()
        return [row[0] for row in rows]

    # -- runs ---------------------------------------------------------------

    def _mark_killed_runs(self) -> None:
        """Runs left ``running`` by a process that died (kill -9, power loss) were interrupted.

        This process holds DuckDB's write lock, so no other process is running one.
        """
        self._db.execute(
            "UPDATE runs SET status = 'interrupted' WHERE status = 'running' "
            "AND NOT list_contains(?, run_id)",
            [sorted(_RUNS_OF_THIS_PROCESS)],
        )

    def begin_run(self, command: str, config: Mapping[str, Any]) -> str:
        run_id = uuid.uuid4().hex[:12]
        _RUNS_OF_THIS_PROCESS.add(run_id)
        self._db.execute(
            "INSERT INTO runs (run_id, command, started_at, finished_at, status, config) "
            "VALUES (?, ?, ?, NULL, 'running', ?)",
            [run_id, command, _now(), json.dumps(config, sort_keys=True)],
        )
        return run_id

    def finish_run(
        self, run_id: str, status: str, summary: Mapping[str, Any] | None = None
    ) -> None:
        self._db.execute(
            "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE run_id = ?",
            [_now(), status, None if summary is None else json.dumps(summary), run_id],
        )

    # -- tools and targets --------------------------------------------------

    def register_tools(self, definitions: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
        """Record (name, hash, definition) as the current tool set, keeping old versions.

        A definition may carry the tool's result schema under the function object's
        ``x-output-schema`` (``tools.stored_definition``): it is kept in its own column,
        so the definitions read back for export never hold it.
        """
        rows = list(definitions)
        now = _now()
        versions = {}
        for name, tool_hash, definition in rows:
            exported, output_schema = _split_output_schema(definition)
            versions[tool_hash] = [
                tool_hash,
                name,
                json.dumps(exported, sort_keys=True),
                now,
                None if output_schema is None else json.dumps(output_schema, sort_keys=True),
            ]
        with self.transaction() as db:  # one statement per table: DuckDB's cost is per statement
            # Only versions not stored yet: cheaper than ``ON CONFLICT DO NOTHING``, whose
            # conflict check costs DuckDB several milliseconds per statement.
            known = db.execute(
                "SELECT tool_hash FROM tools WHERE tool_hash IN (SELECT unnest(?::VARCHAR[]))",
                [list(versions)],
            ).fetchall()
            for (tool_hash,) in known:
                del versions[tool_hash]
            _insert_rows(db, "tools", _TOOL_COLUMNS, list(versions.values()))
            db.execute("DELETE FROM current_tools")
            _insert_rows(
                db,
                "current_tools",
                _CURRENT_TOOL_COLUMNS,
                [[name, tool_hash, position] for position, (name, tool_hash, _) in enumerate(rows)],
            )

    def current_tools(self) -> list[tuple[str, str, dict[str, Any]]]:
        rows = self._db.execute(
            """
            SELECT c.name, c.tool_hash, t.definition
            FROM current_tools c JOIN tools t USING (tool_hash)
            ORDER BY c.position
            """
        ).fetchall()
        return [(name, tool_hash, json.loads(definition)) for name, tool_hash, definition in rows]

    def current_tool_definitions(self) -> list[dict[str, Any]]:
        """The current tools' definitions with their result schemas (``x-output-schema``),
        for ``tools.parse_tools`` to rebuild ``ToolSpec``s (the store stays below tools)."""
        rows = self._db.execute(
            """
            SELECT t.definition, t.output_schema
            FROM current_tools c JOIN tools t USING (tool_hash)
            ORDER BY c.position
            """
        ).fetchall()
        return [_stored(*row) for row in rows]

    def tool_versions(self, hashes: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Stored tool versions by hash, with their result schemas (see above)."""
        wanted = sorted(set(hashes))
        if not wanted:
            return {}
        rows = self._db.execute(
            "SELECT tool_hash, definition, output_schema FROM tools "
            "WHERE list_contains(?, tool_hash)",
            [wanted],
        ).fetchall()
        return {tool_hash: _stored(definition, schema) for tool_hash, definition, schema in rows}

    def tool_definitions(self, hashes: Iterable[str]) -> dict[str, dict[str, Any]]:
        wanted = sorted(set(hashes))
        if not wanted:
            return {}
        rows = self._db.execute(
            "SELECT tool_hash, definition FROM tools WHERE list_contains(?, tool_hash)", [wanted]
        ).fetchall()
        return {tool_hash: json.loads(definition) for tool_hash, definition in rows}

    def set_targets(self, targets: Mapping[Cell, int]) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM targets")
            _insert_rows(
                db,
                "targets",
                _TARGET_COLUMNS,
                [[tool, category, target] for (tool, category), target in targets.items()],
            )

    def targets(self) -> dict[Cell, int]:
        rows = self._db.execute("SELECT tool_name, category, target FROM targets").fetchall()
        return {(tool, category): target for tool, category, target in rows}

    # -- generation bookkeeping ----------------------------------------------

    _STALE = STALE

    def accepted_counts(self) -> dict[Cell, int]:
        """Accepted, non-stale examples per cell."""
        rows = self._db.execute(
            f"""
            SELECT tool_name, category, count(*) FROM examples e
            WHERE NOT ({self._STALE}) GROUP BY ALL
            """
        ).fetchall()
        return {(tool, category): count for tool, category, count in rows}

    def subcategory_counts(self) -> dict[tuple[str, str], int]:
        """Accepted, non-stale examples per (category, failure kind), for categories with kinds."""
        rows = self._db.execute(
            f"""
            SELECT category, failure_kind, count(*) FROM examples e
            WHERE failure_kind IS NOT NULL AND NOT ({self._STALE}) GROUP BY ALL ORDER BY ALL
            """
        ).fetchall()
        return {(category, kind): count for category, kind, count in rows}

    def unused_attempts(self) -> dict[Cell, tuple[list[int], int]]:
        """Per cell, the attempt numbers not stored below the highest, and the next after it.

        Attempts finish out of order, so a killed run may have stored attempt 7 but
        not 5; resuming makes 5 before 8, as the uninterrupted run did.
        """
        rows = self._db.execute(
            """
            SELECT tool_name, category, list(DISTINCT attempt ORDER BY attempt) FROM (
                SELECT tool_name, category, attempt FROM examples
                UNION ALL SELECT tool_name, category, attempt FROM rejections
            ) GROUP BY ALL
            """
        ).fetchall()
        unused = {}
        for tool, category, stored in rows:
            present = set(stored)
            holes = [number for number in range(stored[-1]) if number not in present]
            unused[(tool, category)] = (holes, stored[-1] + 1)
        return unused

    def dedup_keys(self) -> set[str]:
        return {row[0] for row in self._db.execute("SELECT dedup_key FROM examples").fetchall()}

    def write_batch(
        self,
        run_id: str,
        examples: Iterable[ExampleRow],
        rejections: Iterable[RejectionRow],
        cache_entries: Iterable[CacheEntry] = (),
    ) -> None:
        """Commit whole examples, rejections and teacher responses together, or nothing.

        A failed write (disk full, permissions) is a ``StoreWriteError``, and so is
        every later one: what was committed before stays.
        """
        if self.broken:
            raise StoreWriteError(
                f"{self.path}: cannot write to the store (an earlier write failed); "
                "what was committed before is kept",
                detail="an earlier write failed",
            )
        try:
            self._write_batch(run_id, examples, rejections, cache_entries)
        except _FAULTS as exc:
            raise self.fault(exc) from exc

    def _write_batch(
        self,
        run_id: str,
        examples: Iterable[ExampleRow],
        rejections: Iterable[RejectionRow],
        cache_entries: Iterable[CacheEntry],
    ) -> None:
        now = _now()
        example_rows: list[list[Any]] = [
            [
                e.example_id,
                run_id,
                e.tool_name,
                e.tool_hash,
                e.category,
                e.attempt,
                e.failure_kind,
                e.dedup_key,
                e.user_request,
                e.tool_hashes,
                _SORTED_JSON.encode(e.scenario),
                e.teacher,
                now,
                e.usage.requests,
                e.usage.prompt_tokens,
                e.usage.completion_tokens,
                e.cached,
                e.usage.cached_tokens,
            ]
            for e in examples
        ]
        rejection_rows: list[list[Any]] = [
            [
                run_id,
                r.tool_name,
                r.tool_hash,
                r.category,
                r.attempt,
                r.stage,
                r.reason,
                None if r.payload is None else _SORTED_JSON_OR_STR.encode(r.payload),
                now,
                r.usage.requests,
                r.usage.prompt_tokens,
                r.usage.completion_tokens,
                r.usage.cached_tokens,
            ]
            for r in rejections
        ]
        unique_cache_rows = _cache_rows(cache_entries, now)
        if not (example_rows or rejection_rows or unique_cache_rows):
            return
        if not unique_cache_rows:
            self._write(example_rows, rejection_rows, [], fresh_cache=True)
            return
        # Responses whose keys are all new skip ``ON CONFLICT DO NOTHING``, which costs
        # DuckDB milliseconds per statement. The keys known to be stored are read once;
        # should another connection have stored one since, the plain insert fails and the
        # batch is written again the careful way, so the outcome is the same.
        known = self._known_cache_keys()
        fresh = not any(row[0] in known for row in unique_cache_rows)
        try:
            self._write(example_rows, rejection_rows, unique_cache_rows, fresh_cache=fresh)
        except duckdb.ConstraintException:
            if not fresh:
                raise
            self._stored_cache_keys = None
            self._write(example_rows, rejection_rows, unique_cache_rows, fresh_cache=False)
        if self._stored_cache_keys is not None:
            self._stored_cache_keys.update(row[0] for row in unique_cache_rows)

    def _write(
        self,
        example_rows: list[list[Any]],
        rejection_rows: list[list[Any]],
        cache_rows: list[list[Any]],
        *,
        fresh_cache: bool,
    ) -> None:
        """Insert the rows of one batch, all or none.

        One table's rows go in as one statement, atomic on its own; more take a
        transaction. Each statement costs DuckDB milliseconds of CPU, whatever its size.
        """
        # An appender refuses to run while a result of ``execute`` is unread (as after
        # ``cache_get``'s ``fetchone``); a new ``execute`` would have dropped it, so do that.
        self._db.complete()
        tables = bool(example_rows) + bool(rejection_rows) + bool(cache_rows)
        with self.transaction() if tables > 1 else nullcontext(self._db) as db:
            self._append("examples", _EXAMPLE_COLUMNS, example_rows)
            self._append("rejections", _REJECTION_COLUMNS, rejection_rows)
            if fresh_cache:
                self._append("teacher_cache", _CACHE_COLUMNS, cache_rows)
            else:  # a key stored before: its cached answer did not validate, this replaces it
                _insert_rows(db, "teacher_cache", _CACHE_COLUMNS, cache_rows, _REPLACE_ANSWER)

    def _replay_journal(self) -> None:
        """Store the answers a killed run journaled but never committed, then drop them."""
        segments = self.journal.leftovers()
        if not segments:
            return
        entries: list[CacheEntry] = []
        skipped = 0
        for segment in segments:
            kept, dropped = CacheJournal.read(segment)
            entries += kept
            skipped += dropped
        if skipped:
            log.warning(
                "%s: skipped %d journal line%s that did not parse or fit the response cache "
                "(%d stored)",
                self.path,
                skipped,
                "s"[: skipped != 1],
                len(entries),
            )
        with self.transaction() as db:
            _insert_rows(
                db,
                "teacher_cache",
                _CACHE_COLUMNS,
                _cache_rows(entries, _now()),
                "ON CONFLICT DO NOTHING",
            )
        self._stored_cache_keys = None
        for segment in segments:
            segment.unlink(missing_ok=True)

    def _known_cache_keys(self) -> set[str]:
        """The teacher-cache keys stored, read once and kept up to date by ``write_batch``."""
        if self._stored_cache_keys is None:
            rows = self._db.execute("SELECT key FROM teacher_cache").fetchall()
            self._stored_cache_keys = {row[0] for row in rows}
        return self._stored_cache_keys

    def _append(self, table: str, columns: list[tuple[str, str]], rows: list[list[Any]]) -> None:
        """Insert ``rows`` with the table's appender: one statement, no SQL to parse.

        Values convert as ``executemany`` parameters do, to the same stored values as
        ``_insert_rows``; the appender is made once per table. A failed flush drops
        its rows, and any other failure clears them, so nothing is left buffered.
        """
        if not rows:
            return
        appender = self._appenders.get(table)
        if appender is None:
            appender = self._db.appender(table, columns=[name for name, _ in columns])
            self._appenders[table] = appender
        try:
            appender.append_rows(rows)
            appender.flush()
        except BaseException:
            appender.clear()
            raise

    # -- the teacher cache ------------------------------------------------------

    def response_cache(self) -> StoreResponseCache:
        return StoreResponseCache(self)

    def cache_keys(self) -> frozenset[str]:
        """The teacher-cache keys stored now (the same set ``write_batch`` keeps, not re-read)."""
        return frozenset(self._known_cache_keys())

    def cache_get(self, key: str) -> CacheEntry | None:
        """A cached response, read through its own cursor.

        A run looks responses up from its event loop while ``write_batch`` runs in a
        writer thread; a DuckDB connection serves one thread at a time, so reads
        take a cursor (a second connection to the same database) of their own.
        """
        if self._reader is None:
            self._reader = self._db.cursor()
        row = self._reader.execute(
            """
            SELECT teacher, response, requests, prompt_tokens, completion_tokens
            FROM teacher_cache WHERE key = ?
            """,
            [key],
        ).fetchone()
        if row is None:
            return None
        teacher, response, requests, prompt_tokens, completion_tokens = row
        return CacheEntry(
            key, teacher, json.loads(response), Usage(requests, prompt_tokens, completion_tokens)
        )

    def usage_totals(self) -> dict[str, Any]:
        """Requests and tokens spent, over accepted examples and rejections, all runs."""
        spent = self._db.execute(
            """
            SELECT coalesce(sum(requests), 0), coalesce(sum(prompt_tokens), 0),
                   coalesce(sum(completion_tokens), 0), coalesce(sum(cached_tokens), 0)
            FROM (
                SELECT requests, prompt_tokens, completion_tokens, cached_tokens FROM examples
                UNION ALL
                SELECT requests, prompt_tokens, completion_tokens, cached_tokens FROM rejections
            )
            """
        ).fetchone()
        cached = self._db.execute("SELECT count(*) FROM examples WHERE cached").fetchone()
        assert spent is not None and cached is not None
        return {
            "requests": int(spent[0]),
            "prompt_tokens": int(spent[1]),
            "completion_tokens": int(spent[2]),
            "cached_tokens": int(spent[3]),
            "cached_examples": int(cached[0]),
        }

    def run_summaries(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            """
            SELECT run_id, command, started_at, finished_at, status, summary FROM runs
            ORDER BY started_at
            """
        ).fetchall()
        return [
            {
                "run_id": run_id,
                "command": command,
                "started_at": started.isoformat(),
                "finished_at": finished.isoformat() if finished else None,
                "status": status,
                **(json.loads(summary) if summary else {}),
            }
            for run_id, command, started, finished, status, summary in rows
        ]

    # -- reading back ---------------------------------------------------------

    def examples(self, *, include_stale: bool = False) -> list[StoredExample]:
        rows = self._db.execute(
            f"""
            SELECT example_id, tool_name, category, tool_hashes, scenario, {self._STALE} AS stale
            FROM examples e ORDER BY example_id
            """
        ).fetchall()
        return [
            StoredExample(example_id, tool, category, list(hashes), json.loads(scenario), stale)
            for example_id, tool, category, hashes, scenario, stale in rows
            if include_stale or not stale
        ]

    def cell_examples(
        self, tool: str | None = None, category: str | None = None, limit: int = 3
    ) -> list[StoredExample]:
        """Up to ``limit`` examples (of a tool, of a category), in attempt order."""
        rows = self._db.execute(
            f"""
            SELECT example_id, tool_name, category, tool_hashes, scenario, {self._STALE} AS stale
            FROM examples e
            WHERE (?::VARCHAR IS NULL OR tool_name = ?) AND (?::VARCHAR IS NULL OR category = ?)
            ORDER BY tool_name, category, attempt LIMIT ?
            """,
            [tool, tool, category, category, limit],
        ).fetchall()
        return [
            StoredExample(example_id, tool_name, cell, list(hashes), json.loads(scenario), stale)
            for example_id, tool_name, cell, hashes, scenario, stale in rows
        ]

    def stale_counts(self) -> dict[Cell, int]:
        rows = self._db.execute(
            f"SELECT tool_name, category, count(*) FROM examples e WHERE {self._STALE} GROUP BY ALL"
        ).fetchall()
        return {(tool, category): count for tool, category, count in rows}

    def rejection_counts(self) -> dict[tuple[str, str], int]:
        """Rejections per (stage, reason kind); the reason kind is the text before any colon."""
        rows = self._db.execute(
            """
            SELECT stage, split_part(reason, ':', 1) AS kind, count(*) FROM rejections
            GROUP BY ALL ORDER BY 3 DESC, 1, 2
            """
        ).fetchall()
        return {(stage, kind): count for stage, kind, count in rows}

    def rejection_reasons(self) -> list[tuple[str, str, int]]:
        """(stage, reason, count) for every distinct stored reason, most frequent first."""
        rows = self._db.execute(
            "SELECT stage, reason, count(*) FROM rejections GROUP BY ALL ORDER BY 3 DESC, 1, 2"
        ).fetchall()
        return [(stage, reason, count) for stage, reason, count in rows]

    def attempt_counts(self) -> dict[Cell, tuple[int, int]]:
        """Per cell, (examples accepted, attempts rejected) over every run, stale included."""
        rows = self._db.execute(
            """
            SELECT tool_name, category, sum(accepted)::BIGINT, sum(rejected)::BIGINT FROM (
                SELECT tool_name, category, 1 AS accepted, 0 AS rejected FROM examples
                UNION ALL SELECT tool_name, category, 0, 1 FROM rejections
            ) GROUP BY ALL
            """
        ).fetchall()
        return {(tool, category): (int(a), int(r)) for tool, category, a, r in rows}

    def rejected_drafts(
        self, tool: str | None = None, category: str | None = None, limit: int = 5
    ) -> list[dict[str, Any]]:
        """The latest rejected attempts (of a cell), each with its stage, reason and draft."""
        rows = self._db.execute(
            """
            SELECT tool_name, category, attempt, stage, reason, payload FROM rejections
            WHERE (?::VARCHAR IS NULL OR tool_name = ?) AND (?::VARCHAR IS NULL OR category = ?)
            ORDER BY created_at DESC, tool_name, category, attempt DESC LIMIT ?
            """,
            [tool, tool, category, category, limit],
        ).fetchall()
        return [
            {
                "tool": tool_name,
                "category": cell_category,
                "attempt": attempt,
                "stage": stage,
                "reason": reason,
                "payload": json.loads(payload) if payload else None,
            }
            for tool_name, cell_category, attempt, stage, reason, payload in rows
        ]

    def usage_by_cell(self) -> dict[Cell, dict[str, int]]:
        """Requests and tokens spent per cell, accepted and rejected attempts together."""
        rows = self._db.execute(
            """
            SELECT tool_name, category, sum(requests)::BIGINT, sum(prompt_tokens)::BIGINT,
                   sum(completion_tokens)::BIGINT, sum(cached_tokens)::BIGINT
            FROM (
                SELECT tool_name, category, requests, prompt_tokens, completion_tokens,
                       cached_tokens FROM examples
                UNION ALL
                SELECT tool_name, category, requests, prompt_tokens, completion_tokens,
                       cached_tokens FROM rejections
            ) GROUP BY ALL
            """
        ).fetchall()
        return {
            (tool, category): {
                "requests": int(requests or 0),
                "prompt_tokens": int(prompt or 0),
                "completion_tokens": int(completion or 0),
                "cached_tokens": int(cached or 0),
            }
            for tool, category, requests, prompt, completion, cached in rows
        }

    def rejections_by_stage(self) -> dict[str, int]:
        rows = self._db.execute(
            "SELECT stage, count(*) FROM rejections GROUP BY stage ORDER BY 2 DESC, 1"
        ).fetchall()
        return dict(rows)

    # -- report: per-cell aggregates, never the whole store in memory --------

    def request_bigrams_by_cell(self) -> dict[Cell, tuple[int, int, int]]:
        """Per cell of non-stale examples: (examples, distinct word bigrams, word bigrams)
        over the users' first requests, counted here so the texts never leave DuckDB.

        A word is a run of letters, digits and underscores (Python's ``\\w``), lower-cased
        (``lower``, as Python's ``str.lower``):
        "Book a table, for 2!" has the bigrams "book a", "a table", "table for", "for 2".
        """
        rows = self._db.execute(
            f"""
            WITH words AS (
                SELECT tool_name, category,
                       regexp_extract_all(lower(user_request), '[\\p{{L}}\\p{{N}}_]+') AS w
                FROM examples e WHERE NOT ({self._STALE})
            ), pairs AS (
                SELECT tool_name, category, w[i] || ' ' || w[i + 1] AS pair
                FROM (SELECT tool_name, category, w, unnest(range(1, len(w))) AS i FROM words)
            ), cells AS (SELECT tool_name, category, count(*) AS examples FROM words GROUP BY ALL)
            SELECT c.tool_name, c.category, any_value(c.examples),
                   count(DISTINCT p.pair), count(p.pair)
            FROM cells c LEFT JOIN pairs p USING (tool_name, category) GROUP BY ALL
            """
        ).fetchall()
        return {
            (tool, category): (int(examples), int(distinct), int(total))
            for tool, category, examples, distinct, total in rows
        }

    def successful_calls_by_cell(
        self, batch_size: int = 2_000
    ) -> Iterator[list[tuple[str, str, str]]]:
        """(tool, category, arguments JSON) of every call of its cell's own tool that did
        not fail, over non-stale examples, a batch at a time."""
        cursor = self._db.cursor()
        cursor.execute(
            f"""
            SELECT tool_name, category, step -> '$.call.arguments' FROM (
                SELECT tool_name, category,
                       unnest(from_json(scenario -> '$.plan.steps', '["JSON"]')) AS step
                FROM examples e WHERE NOT ({self._STALE})
            )
            WHERE step ->> '$.call.name' = tool_name
              AND coalesce(step ->> '$.failure', 'null') = 'null'
            """  # in no order: the report keeps sets per cell
        )
        try:
            while rows := cursor.fetchmany(batch_size):
                yield [(tool, category, str(arguments)) for tool, category, arguments in rows]
        finally:
            cursor.close()

    def first_examples_by_cell(self, per_cell: int) -> list[StoredExample]:
        """The first ``per_cell`` non-stale examples of every cell, by example id."""
        rows = self._db.execute(
            f"""
            SELECT example_id, tool_name, category, tool_hashes, scenario FROM (
                SELECT *, row_number() OVER (
                    PARTITION BY tool_name, category ORDER BY example_id
                ) AS place
                FROM examples e WHERE NOT ({self._STALE})
            ) WHERE place <= ? ORDER BY tool_name, category, example_id
            """,
            [per_cell],
        ).fetchall()
        return [
            StoredExample(example_id, tool, category, list(hashes), json.loads(scenario), False)
            for example_id, tool, category, hashes, scenario in rows
        ]

    # -- export: split keys, groups, streaming ------------------------------

    @contextmanager
    def memory_bound(self, limit: str = "256MB") -> Iterator[None]:
        """Cap DuckDB's memory for a pass over the whole store: a sort or join beyond
        the cap spills to ``<db>.tmp`` instead of growing the process with the store
        (export sorts a million conversations by their seeded order)."""
        row = self._db.execute(
            "SELECT current_setting('memory_limit'), current_setting('enable_progress_bar')"
        ).fetchone()
        memory, progress = row if row else ("", False)
        self._db.execute(f"SET memory_limit = '{limit}'")
        self._db.execute("SET enable_progress_bar = false")  # callforge reports progress
        self._db.execute("SET preserve_insertion_order = false")  # every read here orders
        try:
            yield
        finally:
            self._db.execute(f"SET memory_limit = '{memory}'")
            self._db.execute(f"SET enable_progress_bar = {'true' if progress else 'false'}")
            self._db.execute("RESET preserve_insertion_order")

    def examples_to_key(self, batch_size: int = 500) -> Iterator[list[tuple[str, str, str]]]:
        """(example_id, user_request, scenario JSON) of examples not keyed for splits yet.

        The rows to key are listed once (their row ids, in a temp table) and read a
        batch at a time by row id, each batch its own short query: a reader left open
        while ``add_split_keys`` commits made DuckDB keep every committed version for
        it (RSS grew by ~400 bytes per example and signing a million took 19x as long
        as 100,000)."""
        cursor = self.cursor()
        try:
            cursor.execute(
                """
                CREATE TEMP TABLE keying AS
                SELECT row_number() OVER (ORDER BY rowid) AS n, rowid AS row FROM examples
                WHERE example_id NOT IN (SELECT example_id FROM request_signatures)
                ORDER BY n
                """
            )
            first = 1
            while rows := [
                row
                for (row,) in cursor.execute(
                    "SELECT row FROM keying WHERE n >= $first AND n < $first + $size ORDER BY n",
                    {"first": first, "size": batch_size},
                ).fetchall()
            ]:
                yield self._db.execute(
                    """
                    SELECT example_id, user_request, scenario FROM examples
                    WHERE rowid BETWEEN $low AND $high AND rowid IN (SELECT unnest($rows))
                    """,
                    {"low": rows[0], "high": rows[-1], "rows": rows},
                ).fetchall()
                first += batch_size
        finally:
            cursor.close()

    def add_split_keys(
        self,
        signatures: list[tuple[str, list[int]]],
        calls: list[tuple[str, str, str]],
    ) -> None:
        """Store request signatures and (example_id, tool, call key) rows in one transaction."""
        with self.transaction() as db:
            if signatures:
                db.execute(
                    "INSERT INTO request_signatures SELECT unnest(?), unnest(?::UINTEGER[][])",
                    [[i for i, _ in signatures], [s for _, s in signatures]],
                )
            if calls:
                db.execute(
                    "INSERT INTO example_calls SELECT unnest(?), unnest(?), unnest(?)",
                    [[c[0] for c in calls], [c[1] for c in calls], [c[2] for c in calls]],
                )

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own on the store's database: its temp tables and results
        are its own (``store/selection.py`` keeps an export's working set on one)."""
        return self._db.cursor()

    def provenance(self) -> dict[str, Any]:
        """Teachers and generate runs behind the stored examples (never keys or URLs)."""
        teachers = self._db.execute(
            "SELECT teacher, count(*) FROM examples GROUP BY teacher ORDER BY teacher"
        ).fetchall()
        runs = self._db.execute(
            """
            SELECT run_id, config FROM runs
            WHERE command = 'generate' AND run_id IN (SELECT DISTINCT run_id FROM examples)
            ORDER BY started_at, run_id
            """
        ).fetchall()
        return {
            "teachers": dict(teachers),
            "runs": [(run_id, json.loads(config)) for run_id, config in runs],
        }

    def table_counts(self) -> dict[str, int]:
        """Row counts of every data table: lets tests prove a failed command changed nothing."""
        tables = [
            "runs",
            "tools",
            "current_tools",
            "targets",
            "examples",
            "rejections",
            "teacher_cache",
        ]
        return {
            table: self._db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in tables
        }

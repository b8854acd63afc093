"""The DuckDB store: migrations, atomic batches, bookkeeping queries."""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from callforge.generator.errors import StoreError
from callforge.generator.records import CacheEntry, Usage
from callforge.store import ExampleRow, RejectionRow, Store
from callforge.store.migrations import MIGRATIONS
from tests.conftest import REPO


def _columns(path: Path, table: str) -> list[tuple[str, str]]:
    with duckdb.connect(str(path)) as db:
        rows = db.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
    return [(name, kind) for name, kind in rows]


def _example(key: str, tool: str = "t", category: str = "single", attempt: int = 0) -> ExampleRow:
    return ExampleRow(
        example_id=key[:20],
        tool_name=tool,
        tool_hash="h1",
        category=category,
        attempt=attempt,
        failure_kind=None,
        dedup_key=key,
        user_request="hi",
        tool_hashes=["h1"],
        scenario={"k": key},
        teacher="test",
    )


def test_blank_store_has_exact_schema(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with Store(path) as store:
        assert store.applied_migrations() == [m.__name__ for m in MIGRATIONS]
    assert _columns(path, "examples") == [
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
    assert [name for name, _ in _columns(path, "rejections")] == [
        "run_id",
        "tool_name",
        "tool_hash",
        "category",
        "attempt",
        "stage",
        "reason",
        "payload",
        "created_at",
        "requests",
        "prompt_tokens",
        "completion_tokens",
        "cached_tokens",
    ]
    assert [name for name, _ in _columns(path, "teacher_cache")] == [
        "key",
        "teacher",
        "response",
        "requests",
        "prompt_tokens",
        "completion_tokens",
        "created_at",
    ]


def test_an_old_store_is_upgraded_in_place_keeping_its_examples(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as db:  # a store written before migration 2 existed
        db.execute("CREATE TABLE _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)")
        MIGRATIONS[0](db)
        db.execute("INSERT INTO _migrations VALUES (?, now())", [MIGRATIONS[0].__name__])
        db.execute(
            "INSERT INTO examples VALUES ('e1', 'r', 't', 'h1', 'single', 0, NULL, 'k1', 'hi', "
            "['h1'], '{}', 'offline', now())"
        )
    with Store(path) as store:
        assert store.applied_migrations() == [m.__name__ for m in MIGRATIONS]
        assert [e.example_id for e in store.examples(include_stale=True)] == ["e1"]
        assert store.usage_totals()["requests"] == 0


def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    Store(path).close()
    with Store(path) as store:
        assert store.migrate() == []
        assert len(store.applied_migrations()) == len(MIGRATIONS)


def test_failing_migration_rolls_back_with_its_record(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    Store(path).close()

    def m999_broken(db: duckdb.DuckDBPyConnection) -> None:
        db.execute("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("boom")

    MIGRATIONS.append(m999_broken)
    try:
        with pytest.raises(RuntimeError, match="boom"):
            Store(path)
    finally:
        MIGRATIONS.remove(m999_broken)
    with duckdb.connect(str(path)) as db:
        tables = {
            row[0]
            for row in db.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        applied = {row[0] for row in db.execute("SELECT name FROM _migrations").fetchall()}
    assert "half_done" not in tables
    assert "m999_broken" not in applied


def test_write_batch_is_all_or_nothing(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        run = store.begin_run("test", {})
        store.write_batch(run, [_example("a" * 64)], [])
        with pytest.raises(duckdb.ConstraintException):
            # the second example repeats a dedup key: the whole batch must roll back
            store.write_batch(
                run,
                [_example("b" * 64, attempt=1), _example("a" * 64, attempt=2)],
                [RejectionRow("t", "h1", "single", 3, "schema", "bad: x")],
            )
        assert store.table_counts()["examples"] == 1
        assert store.table_counts()["rejections"] == 0


def test_counts_attempts_and_staleness(tmp_path: Path) -> None:
    with Store(tmp_path / "s.duckdb") as store:
        run = store.begin_run("test", {})
        store.register_tools([("t", "h1", {"function": {"name": "t"}})])
        store.write_batch(
            run,
            [_example("a" * 64, attempt=0), _example("b" * 64, attempt=4)],
            [RejectionRow("t", "h1", "single", 7, "grounding", "ungrounded value: x")],
        )
        assert store.accepted_counts() == {("t", "single"): 2}
        assert store.unused_attempts() == {("t", "single"): ([1, 2, 3, 5, 6], 8)}
        assert store.rejections_by_stage() == {"grounding": 1}
        assert store.rejection_counts() == {("grounding", "ungrounded value"): 1}
        store.register_tools([("t", "h2", {"function": {"name": "t", "v": 2}})])
        assert store.accepted_counts() == {}
        assert store.stale_counts() == {("t", "single"): 2}
        assert [e.stale for e in store.examples(include_stale=True)] == [True, True]
        assert store.examples() == []


def test_an_example_is_stale_when_any_tool_it_was_made_from_changed(tmp_path: Path) -> None:
    # examples made from several tools: stale as soon as one of them is no longer current
    made_from = {"a": ["h1"], "b": ["h1", "g1"], "c": ["g1", "k1"], "d": []}
    with Store(tmp_path / "s.duckdb") as store:
        run = store.begin_run("test", {})
        store.register_tools([("t", "h1", {"v": 1}), ("u", "g1", {"v": 1}), ("w", "k1", {"v": 1})])
        rows = [
            replace(_example(key * 64, attempt=i), tool_hashes=hashes)
            for i, (key, hashes) in enumerate(made_from.items())
        ]
        store.write_batch(run, rows, [])
        assert not any(e.stale for e in store.examples(include_stale=True))
        store.register_tools([("t", "h1", {"v": 1}), ("u", "g2", {"v": 2})])  # u changed, w gone
        current = {"h1"}
        expected = {key[0] * 20: not set(hashes) <= current for key, hashes in made_from.items()}
        assert expected == {"a" * 20: False, "b" * 20: True, "c" * 20: True, "d" * 20: False}
        every = store.examples(include_stale=True)
        assert {e.example_id: e.stale for e in every} == expected
        assert [e.example_id for e in store.examples()] == ["a" * 20, "d" * 20]
        assert store.stale_counts() == {("t", "single"): 2}
        assert store.accepted_counts() == {("t", "single"): 2}


def test_locked_store_is_a_clear_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "s.duckdb"
    Store(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); "
            "print('ok', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        with pytest.raises(StoreError, match=rf"in use by another process \(PID {holder.pid}\)"):
            Store(path)
    finally:
        holder.kill()
        holder.wait()


def test_journaled_answers_survive_a_kill_and_are_stored_on_the_next_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store[1].duckdb"  # glob characters in the name: found all the same
    answers = [
        CacheEntry(f"k{i}", "openai:m", {"n": i, "text": "é"}, Usage(1, 10, 5)) for i in range(3)
    ]
    killed_process = f"""
import os, signal
from callforge.generator.records import CacheEntry, Usage
from callforge.store import Store

answers = {answers!r}
store = Store({str(path)!r})
run = store.begin_run("test", {{}})
store.journal.append(answers[0])
store.journal.seal()
store.journal.append(answers[1])
store.write_batch(run, [], [], [answers[0]])
store.journal.committed(["k0"])
assert len([p for p in store.path.parent.iterdir() if ".journal-" in p.name]) == 1
store.journal.append(answers[2])
os.kill(os.getpid(), signal.SIGKILL)  # answers 1 and 2 were never committed
"""
    killed = subprocess.run([sys.executable, "-c", killed_process], cwd=REPO, check=False)
    assert killed.returncode == -signal.SIGKILL
    segments = [path for path in tmp_path.iterdir() if ".journal-" in path.name]
    assert len(segments) == 1
    with segments[0].open("ab") as segment:
        segment.write(b'{"key": "k3", "teach')  # as if the kill had cut this line short

    with Store(path) as reopened:
        assert reopened.cache_keys() == {"k0", "k1", "k2"}
        assert reopened.cache_get("k2") == answers[2]
    assert not [path for path in tmp_path.iterdir() if ".journal-" in path.name]

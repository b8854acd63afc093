"""Export options beyond the end-to-end path: sampled tool lists with distractors."""

from __future__ import annotations

import hashlib
import shutil
import tracemalloc
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from callforge.generator.export import ExportConfig, export_dataset
from callforge.generator.validate import check_conversation
from callforge.store import Store
from callforge.store.selection import ExportSelection
from tests.conftest import read_jsonl, run_cli


def _export(db: Path, out: Path, *extra: str) -> list[dict]:
    result = run_cli("export", "--db", db, "--out", out, "--seed", "4", *extra)
    assert result.returncode == 0, result.stderr
    return read_jsonl(out / "train.jsonl") + read_jsonl(out / "eval.jsonl")


def _called(line: dict) -> set[str]:
    return {
        call["function"]["name"]
        for message in line["messages"]
        for call in message.get("tool_calls", [])
    }


def test_tools_per_example_lists_the_called_tools_among_distractors(
    small_store: Path, tmp_path: Path
) -> None:
    lines = _export(small_store, tmp_path / "a", "--tools-per-example", "3")
    assert lines
    first_position = Counter()
    for line in lines:
        names = [tool["function"]["name"] for tool in line["tools"]]
        called = _called(line)
        assert len(names) == max(3, len(called)) and len(set(names)) == len(names)
        assert called <= set(names)
        schemas = {t["function"]["name"]: t["function"]["parameters"] for t in line["tools"]}
        assert check_conversation(line["messages"], schemas) is None
        if called:  # a no_call line calls nothing
            first_position[names.index(sorted(called)[0])] += 1
    assert len(first_position) == 3  # the called tool is not always in the same place
    with_distractors = [
        line for line in lines if {t["function"]["name"] for t in line["tools"]} - _called(line)
    ]
    assert len(with_distractors) >= len(lines) // 2

    again = _export(small_store, tmp_path / "b", "--tools-per-example", "3")
    assert again == lines  # seeded: the same export twice is the same bytes


def test_without_the_option_every_line_lists_the_whole_set(
    small_store: Path, tmp_path: Path, tools_data: list
) -> None:
    lines = _export(small_store, tmp_path / "all")
    assert all(len(line["tools"]) == len(tools_data) for line in lines)


def test_tools_per_example_below_one_is_refused(small_store: Path, tmp_path: Path) -> None:
    result = run_cli(
        "export", "--db", small_store, "--out", tmp_path / "x", "--tools-per-example", "0"
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --tools-per-example must be at least 1, got 0"
    assert not (tmp_path / "x").exists()


def _multiply(db: Path, examples: int) -> None:
    """Copy the store's examples up to ``examples`` by SQL, each copy with its own id and
    request (words of the stored requests chosen by a hash of its index)."""
    with duckdb.connect(str(db)) as connection:
        connection.execute(
            """
            CREATE TEMP TABLE base AS
            SELECT row_number() OVER (ORDER BY example_id) - 1 AS k, * FROM examples;
            CREATE TEMP TABLE words AS
            SELECT list(DISTINCT w ORDER BY w) AS words
            FROM (SELECT unnest(string_split(user_request, ' ')) AS w FROM examples);
            INSERT INTO examples
            SELECT * EXCLUDE (i, request) REPLACE (
                printf('copy%08d', i) AS example_id, 'copy-' || i AS dedup_key,
                request AS user_request,
                replace(scenario, to_json(user_request)::VARCHAR, to_json(request)::VARCHAR)
                    AS scenario)
            FROM (
                SELECT b.* EXCLUDE (k), i, array_to_string(list_transform(range(16),
                    lambda j: words[(1 + hash(i * 31 + j) % len(words))::BIGINT]), ' ')
                    AS request
                FROM range((SELECT count(*) FROM base), $examples) t(i), words
                    JOIN base b ON b.k = i % (SELECT count(*) FROM base)
            )
            """,
            {"examples": examples},
        )


def _export_peak(db: Path, out: Path) -> int:
    """Python's peak allocation (tracemalloc) while exporting the store, in bytes."""
    with Store(db) as store:
        tracemalloc.start()
        try:
            export_dataset(store, out, ExportConfig(seed=4))
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def test_export_memory_does_not_grow_with_the_store(small_store: Path, tmp_path: Path) -> None:
    """The old export kept an index entry per example (a few hundred bytes each: over
    400 kB more for 2,000 more examples); now the split is decided in DuckDB."""
    sizes = {}
    _export_peak(small_store, tmp_path / "warm-up")  # imports and caches filled once
    for examples in (1_000, 3_000):
        db = tmp_path / f"store-{examples}.duckdb"
        shutil.copy(small_store, db)
        _multiply(db, examples)
        peak = _export_peak(db, tmp_path / f"out-{examples}")
        out = tmp_path / f"out-{examples}"
        lines = len(read_jsonl(out / "train.jsonl")) + len(read_jsonl(out / "eval.jsonl"))
        assert lines == examples  # every example exported
        sizes[examples] = peak
    assert sizes[3_000] - sizes[1_000] < 200_000, sizes


def test_the_stream_in_slices_keeps_the_seeded_order(
    small_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The final stream reads the conversations a slice of seeded places per query:
    many small slices write the same bytes as one, in seeded order."""
    _multiply(small_store, 1_000)
    with Store(small_store) as store:
        export_dataset(store, tmp_path / "one", ExportConfig(seed=4))
    monkeypatch.setattr(ExportSelection, "READ", 37)
    with Store(small_store) as store:
        export_dataset(store, tmp_path / "many", ExportConfig(seed=4))
    names = ("train.jsonl", "eval.jsonl", "train.meta.jsonl", "eval.meta.jsonl")
    for name in names:
        assert (tmp_path / "many" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()
    for split in ("train", "eval"):
        ids = [line["example_id"] for line in read_jsonl(tmp_path / "many" / f"{split}.meta.jsonl")]
        seeded = sorted(ids, key=lambda i: (hashlib.sha256(f"4:{i}".encode()).hexdigest()[:16], i))
        assert ids == seeded and len(ids) > 37


def test_an_export_that_fails_part_way_leaves_the_folder_as_it_was(
    small_store: Path, tmp_path: Path
) -> None:
    """The eval split cannot be written (its temporary name is taken by a folder): the
    train split written before it must not replace the old one, and no temporary file of
    this export may stay behind."""
    out = tmp_path / "data"
    _export(small_store, out, "--seed", "1")
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    (out / ".eval.jsonl.tmp").mkdir()
    result = run_cli("export", "--db", small_store, "--out", out, "--seed", "2")
    assert result.returncode != 0
    (out / ".eval.jsonl.tmp").rmdir()
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    # The same export, unhindered, does change the files: the check above could fail.
    _export(small_store, out, "--seed", "2")
    assert (out / "train.jsonl").read_bytes() != before["train.jsonl"]

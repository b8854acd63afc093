"""The whole path as a user runs it: generate, kill, resume, stats, export, load."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import datasets
import duckdb
import pytest

from callforge.generator.validate import check_conversation
from tests.conftest import CLI, read_jsonl, run_cli
from tests.openai_format import format_errors

PER_TOOL = 24


def _generate(db: Path, tools: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    result = run_cli(
        "generate", "--tools", tools, "--per-tool", PER_TOOL, "--seed", "11", "--db", db, *extra
    )
    assert result.returncode == 0, result.stderr
    return result


def _stats(db: Path) -> dict:
    result = run_cli("stats", "--db", db, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _export(db: Path, out: Path, *extra: str) -> dict:
    result = run_cli("export", "--db", db, "--out", out, "--seed", "5", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads((out / "manifest.json").read_text())


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory, example_tools_path: Path) -> Path:
    db = tmp_path_factory.mktemp("straight") / "callforge.duckdb"
    _generate(db, example_tools_path)
    return db


@pytest.fixture(scope="module")
def example_tools_path() -> Path:
    from callforge.generator.templating import EXAMPLE_TOOLS

    return EXAMPLE_TOOLS


def test_generate_fills_every_cell(uninterrupted: Path, tools_data: list) -> None:
    stats = _stats(uninterrupted)
    assert stats["accepted_total"] == PER_TOOL * len(tools_data)
    per_tool: dict[str, int] = {}
    for row in stats["cells"]:
        assert row["accepted"] == row["target"], row
        per_tool[row["tool"]] = per_tool.get(row["tool"], 0) + row["accepted"]
    assert set(per_tool.values()) == {PER_TOOL}
    assert {row["category"] for row in stats["cells"]} == {"single", "error_recovery", "multi_step"}


def test_second_run_generates_nothing(
    uninterrupted: Path, example_tools_path: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "again.duckdb"
    copy.write_bytes(uninterrupted.read_bytes())
    before = _stats(copy)
    result = _generate(copy, example_tools_path)
    assert "accepted 0," in result.stderr
    assert _stats(copy)["accepted_total"] == before["accepted_total"]


def test_killed_run_resumes_to_the_same_dataset(
    uninterrupted: Path, example_tools_path: Path, tmp_path: Path, tools_data: list
) -> None:
    # Committed batches land in the write-ahead log after the tool set; kill once some have.
    # A loaded machine may still be writing the first batch when the log passes that size
    # (nothing committed yet): then kill a fresh run later, so the kill is mid-run.
    enough = 20_000 + 3 * example_tools_path.stat().st_size
    for attempt in range(3):
        db = tmp_path / f"killed{attempt}.duckdb"
        partial = _kill_generate_after(db, example_tools_path, wal_bytes=enough * 2**attempt)
        if partial:
            break
    assert 0 < partial < PER_TOOL * len(tools_data)
    _generate(db, example_tools_path)
    assert _stats(db)["accepted_total"] == PER_TOOL * len(tools_data)

    straight = _export(uninterrupted, tmp_path / "straight")
    resumed = _export(db, tmp_path / "resumed")
    # The same data; the card and manifest differ only in naming the runs behind it.
    data = {name for name in straight["files"] if name != "README.md"}
    assert {n: resumed["files"][n] for n in data} == {n: straight["files"][n] for n in data}
    assert len(resumed["provenance"]["runs"]) == 2 and len(straight["provenance"]["runs"]) == 1
    assert (tmp_path / "resumed" / "train.jsonl").read_bytes() == (
        tmp_path / "straight" / "train.jsonl"
    ).read_bytes()


def _kill_generate_after(db: Path, tools: Path, wal_bytes: int) -> int:
    """Start generate, SIGKILL it once its write-ahead log holds ``wal_bytes``; what was kept."""
    wal = Path(f"{db}.wal")
    command = [*CLI, "generate", "--tools", str(tools), "--per-tool", str(PER_TOOL)]
    command += ["--seed", "11", "--db", str(db)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if wal.exists() and wal.stat().st_size > wal_bytes:
            break
        time.sleep(0.005)
    assert process.poll() is None, "generate finished before it could be killed; raise PER_TOOL"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return int(_stats(db)["accepted_total"])


def test_export_is_valid_openai_format_and_loads_with_datasets(
    uninterrupted: Path, tmp_path: Path
) -> None:
    out = tmp_path / "data"
    manifest = _export(uninterrupted, out)
    train, evaluation = read_jsonl(out / "train.jsonl"), read_jsonl(out / "eval.jsonl")
    assert (
        len(train) == manifest["totals"]["train"] and len(evaluation) == manifest["totals"]["eval"]
    )
    assert len(evaluation) == pytest.approx(0.1 * (len(train) + len(evaluation)), abs=8)

    for record in train + evaluation:
        assert format_errors(record) == []
        schemas = {t["function"]["name"]: t["function"]["parameters"] for t in record["tools"]}
        assert check_conversation(record["messages"], schemas) is None

    loaded = datasets.load_dataset(
        "json",
        data_files={"train": str(out / "train.jsonl"), "eval": str(out / "eval.jsonl")},
    )
    assert loaded["train"].num_rows == len(train)
    assert loaded["eval"].num_rows == len(evaluation)
    first = loaded["train"][0]["messages"]
    assert first[0]["role"] == "user" and first[-1]["role"] == "assistant"


def test_export_is_stratified_and_deterministic(uninterrupted: Path, tmp_path: Path) -> None:
    first = _export(uninterrupted, tmp_path / "a")
    second = _export(uninterrupted, tmp_path / "b")
    assert first == second
    # Largest-remainder rounding over the whole store: the eval split is 10% of all
    # examples, every category in eval, every cell near its exact share; a group (a
    # shared call, a near-duplicate request) goes whole, so a cell may be off by one
    # group beyond the rounding.
    cells = {
        (tool, category): (count, first["counts"]["eval"].get(tool, {}).get(category, 0))
        for tool, row in first["counts"]["train"].items()
        for category, count in row.items()
    }
    with duckdb.connect(str(uninterrupted), read_only=True) as connection:
        (largest,) = connection.execute(
            "SELECT coalesce(max(n), 1) FROM "
            "(SELECT count(*) n FROM example_groups GROUP BY group_id)"
        ).fetchone()
    total = sum(train + evaluation for train, evaluation in cells.values())
    assert int(total * 0.1 + 0.5) - largest <= first["totals"]["eval"] <= int(total * 0.1 + 0.5)
    for cell, (train, evaluation) in cells.items():
        assert abs(evaluation - 0.1 * (train + evaluation)) < 1 + largest, cell
    assert {c for (_, c), (_, e) in cells.items() if e} == {c for _, c in cells}
    other_seed = run_cli("export", "--db", uninterrupted, "--out", tmp_path / "c", "--seed", "6")
    assert other_seed.returncode == 0
    assert json.loads((tmp_path / "c" / "manifest.json").read_text())["files"] != first["files"]


def test_export_balance_and_cap(uninterrupted: Path, tmp_path: Path) -> None:
    capped = _export(uninterrupted, tmp_path / "cap", "--cap", "5", "--eval-fraction", "0.2")
    cells: dict[tuple[str, str], int] = {}
    for split in ("train", "eval"):
        for tool, row in capped["counts"][split].items():
            for category, count in row.items():
                cells[(tool, category)] = cells.get((tool, category), 0) + count
    assert set(cells.values()) == {5}

    balanced = _export(uninterrupted, tmp_path / "bal", "--balance")
    totals = {}
    for split in ("train", "eval"):
        for tool, row in balanced["counts"][split].items():
            for category, count in row.items():
                totals[(tool, category)] = totals.get((tool, category), 0) + count
    assert len(set(totals.values())) == 1


TRANSIENT_CODES = {  # each error dialect's codes for a rate limit and a timeout
    "rate_limited",
    "timeout",
    429,
    504,
    "rate_limit_error",
    "api_timeout",
    "RESOURCE_EXHAUSTED",
    "DEADLINE_EXCEEDED",
}


def test_error_recovery_mistakes_get_weight_zero(uninterrupted: Path, tmp_path: Path) -> None:
    out = tmp_path / "w"
    _export(uninterrupted, out, "--eval-fraction", "0")
    weighted, transient = 0, 0
    for record in read_jsonl(out / "train.jsonl"):
        messages = record["messages"]
        tool_turns = [m for m in messages if m["role"] == "tool"]
        errors = [json.loads(m["content"]).get("error") for m in tool_turns]
        if not any(errors):
            assert all("weight" not in m for m in messages)
            continue
        first_call = next(m for m in messages if m.get("tool_calls"))
        code = next(errors[0][key] for key in ("code", "status", "type") if key in errors[0])
        if code in TRANSIENT_CODES:
            transient += 1
            assert "weight" not in first_call
        else:
            weighted += 1
            assert first_call["weight"] == 0
    assert weighted > 0 and transient > 0


def test_edited_schema_makes_examples_stale(
    uninterrupted: Path, tools_data: list, tmp_path: Path
) -> None:
    db = tmp_path / "stale.duckdb"
    db.write_bytes(uninterrupted.read_bytes())
    tools_data[3]["function"]["parameters"]["properties"]["subject"]["maxLength"] = 70
    edited = tmp_path / "tools.json"
    edited.write_text(json.dumps(tools_data))
    result = run_cli(
        "generate", "--tools", edited, "--per-tool", PER_TOOL, "--seed", "11", "--db", db
    )
    assert result.returncode == 0, result.stderr
    stats = _stats(db)
    stale = {(r["tool"], r["category"]): r["stale"] for r in stats["cells"] if r["stale"]}
    assert {tool for tool, _ in stale} >= {"send_email"}
    assert stats["stale_total"] == sum(stale.values()) > 0
    assert all(r["accepted"] == r["target"] for r in stats["cells"])  # regenerated

    current = _export(db, tmp_path / "current")
    with_stale = _export(db, tmp_path / "all", "--include-stale")
    assert (
        sum(with_stale["totals"].values()) == sum(current["totals"].values()) + stats["stale_total"]
    )

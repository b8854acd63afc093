"""The store tells the truth: what it reports as stored is stored, and faults are one line.

A full disk is simulated with ``RLIMIT_FSIZE`` (writes past the limit fail with
EFBIG, as a full disk fails with ENOSPC): DuckDB's own write path fails, in a
real process, on a real file.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from callforge.store import Store
from tests.conftest import CLI, run_cli, store_snapshot


def stats(db: Path) -> dict[str, Any]:
    result = run_cli("stats", "--db", db, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    "content",
    ['{"tools": []}\n', "tool,category\nlookup,single\n", '{"a": 1}\n{"a": 2}\n', "x"],
    ids=["json", "csv", "jsonl", "one-byte"],
)
def test_db_refuses_an_existing_file_that_is_not_a_store(
    tmp_path: Path, example_tools: Path, content: str
) -> None:
    existing = tmp_path / "exist.json"
    existing.write_text(content)
    for args in (
        ["generate", "--tools", example_tools, "--per-tool", "2"],
        ["stats"],
        ["tools", "list"],
    ):
        result = run_cli(*args, "--db", existing)
        assert result.returncode == 2, result.stderr
        assert result.stderr == (
            f"error: {existing}: exists and is not a callforge store (a DuckDB file); "
            "give --db a new file name or an existing store\n"
        )
    assert existing.read_text() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exist.json"]


def test_db_refuses_a_folder(tmp_path: Path) -> None:
    result = run_cli("stats", "--db", tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"error: {tmp_path}: is a folder; --db takes a DuckDB file\n"


def _damage(path: Path, offset: int, length: int) -> None:
    with path.open("r+b") as file:
        file.seek(offset)
        file.write(b"\xff" * length)


def test_a_store_damaged_past_repair_is_one_line_naming_the_file(
    small_store: Path, tmp_path: Path
) -> None:
    """Damage in the header fails on open; damage in a data block fails on the first read."""
    size = small_store.stat().st_size
    for offset in (12_288, size - 600_000):
        damaged = tmp_path / f"damaged-{offset}.duckdb"
        shutil.copy(small_store, damaged)
        _damage(damaged, offset, 262_144)
        before = damaged.read_bytes()
        failures = 0
        for args in (["stats"], ["export", "--out", tmp_path / f"out-{offset}"], ["tools", "list"]):
            result = run_cli(*args, "--db", damaged)
            if result.returncode == 0:
                continue  # this command's queries did not touch the damaged block
            failures += 1
            assert result.returncode == 2, result.stderr
            assert result.stderr.startswith(
                f"error: {damaged}: the store is damaged past repair (Corrupt database file"
            ), result.stderr
            assert result.stderr.endswith(
                "); restore it from a copy or start a new one with another --db\n"
            )
            assert result.stderr.count("\n") == 1
        assert failures, f"damage at {offset} went unnoticed"
        assert damaged.read_bytes() == before


def _limit_file_size(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a killed process
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_full_disk_stops_the_run_with_one_line_and_counts_only_what_was_stored(
    tmp_path: Path, example_tools: Path
) -> None:
    db = tmp_path / "full.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    command = [*CLI, "generate", "--tools", str(example_tools), "--per-tool", "200"]
    result = subprocess.run(
        [*command, "--db", str(db)],
        capture_output=True,
        text=True,
        env=env,
        preexec_fn=lambda: _limit_file_size(1_500_000),
        timeout=300,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    prefix = f"error: {db}: cannot write to the store ("
    assert lines[0].startswith(prefix) and "File too large" in lines[0], lines[0]
    stored_line = lines[0].split("); ")[-1]
    stored = int(stored_line.split()[0])
    assert stored_line == (
        f"{stored} accepted examples of this run were stored before it: free some space "
        "(or fix the folder's permissions) and run the same command to continue"
    )
    report = stats(db)
    assert report["accepted_total"] == stored > 0
    assert [run["status"] for run in report["runs"]] == ["interrupted"]
    resumed = run_cli("generate", "--tools", example_tools, "--per-tool", "200", "--db", db)
    assert resumed.returncode == 0, resumed.stderr
    assert stats(db)["accepted_total"] == 200 * len(json.loads(example_tools.read_text()))


def _bound_by_mode_bits() -> None:
    """As root, drop the capabilities that let root write anywhere whatever the mode bits.

    ``prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH)``: after ``exec`` the
    child holds neither, so a folder's ``r-x`` stops it as it stops any user.
    """
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def test_a_store_in_a_folder_that_cannot_be_written_is_one_line(
    tmp_path: Path, small_store: Path, example_tools: Path
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    shutil.copy(small_store, locked / "kept.duckdb")
    os.chmod(locked / "kept.duckdb", 0o444)
    os.chmod(locked, stat.S_IRUSR | stat.S_IXUSR | stat.S_IROTH | stat.S_IXOTH)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    try:
        for name in ("new.duckdb", "kept.duckdb"):
            result = subprocess.run(
                [
                    *CLI,
                    "generate",
                    "--tools",
                    str(example_tools),
                    "--per-tool",
                    "2",
                    "--db",
                    str(locked / name),
                ],
                capture_output=True,
                text=True,
                env=env,
                cwd=tmp_path,
                timeout=120,
                preexec_fn=_bound_by_mode_bits,
            )
            assert result.returncode in (1, 2), result.stderr
            assert result.stderr.count("\n") == 1, result.stderr
            assert result.stderr.startswith(f"error: {locked / name}: "), result.stderr
            assert "Permission denied" in result.stderr or "Read-only" in result.stderr
        assert sorted(p.name for p in locked.iterdir()) == ["kept.duckdb"]
    finally:
        os.chmod(locked, 0o755)
    assert store_snapshot(locked / "kept.duckdb") == store_snapshot(small_store)


def test_a_run_killed_outright_shows_as_interrupted(tmp_path: Path) -> None:
    """A process that dies between begin_run and finish_run (kill -9) leaves 'running'."""
    db = tmp_path / "killed.duckdb"
    script = (
        "import os\n"
        "from callforge.store import Store\n"
        f"store = Store({str(db)!r})\n"
        "store.begin_run('generate', {})\n"
        "os.kill(os.getpid(), 9)\n"
    )
    died = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert died.returncode == -signal.SIGKILL
    with Store(db) as store:
        runs = store.run_summaries()
    assert [run["status"] for run in runs] == ["interrupted"]
    assert runs[0]["finished_at"] is None


def test_export_below_a_file_or_into_a_read_only_folder_is_one_line(
    small_store: Path, tmp_path: Path
) -> None:
    before = store_snapshot(small_store)
    blocker = tmp_path / "file.txt"
    blocker.write_text("keep me")
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    os.chmod(readonly, 0o555)
    cases = [
        (["export", "--out", blocker / "data"], f"{blocker / 'data'}: Not a directory"),
        (["export", "--out", readonly / "data"], f"{readonly / 'data'}: Permission denied"),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    try:
        for args, expected in cases:
            result = subprocess.run(
                [*CLI, *map(str, args), "--db", str(small_store)],
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
                preexec_fn=_bound_by_mode_bits,
            )
            assert result.returncode == 2, result.stderr
            assert result.stderr == f"error: {expected}\n"
        assert list(readonly.iterdir()) == []
    finally:
        os.chmod(readonly, 0o755)
    assert blocker.read_text() == "keep me"
    assert store_snapshot(small_store) == before

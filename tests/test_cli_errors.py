"""Every bad input: one clear line on stderr, exit code 2, and the store unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli, store_snapshot


def _write(path: Path, content: Any) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _tool(name: str | None = "lookup", parameters: Any = None) -> dict[str, Any]:
    function: dict[str, Any] = {"description": "Look something up."}
    if name is not None:
        function["name"] = name
    function["parameters"] = (
        parameters
        if parameters is not None
        else {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        }
    )
    return {"type": "function", "function": function}


BAD_TOOL_FILES = [
    pytest.param("[]", "no tools found (the tool list is empty)", id="empty-list"),
    pytest.param('{"tools": []}', "no tools found (the tool list is empty)", id="empty-wrapped"),
    pytest.param([_tool("a"), _tool("a")], "tool 'a': duplicate tool name", id="duplicate-names"),
    pytest.param([_tool(None)], 'tool #1 has no "name"', id="missing-name"),
    pytest.param(
        [_tool("x", parameters={"type": "string"})],
        "tool 'x'",
        id="non-object-parameters",
    ),
    pytest.param(
        [_tool("x", parameters={"type": "object", "properties": {"q": {"type": "strin"}}})],
        "tool 'x'",
        id="invalid-json-schema",
    ),
    pytest.param([_tool("x", parameters=[1, 2])], "tool 'x'", id="parameters-not-a-mapping"),
    pytest.param(
        '[{"type": "function", "function": {"name": ', "not valid JSON (line 1", id="bad-json"
    ),
    pytest.param('"just a string"', "expected a JSON array of tools", id="wrong-shape"),
]


@pytest.mark.parametrize(("content", "expected"), BAD_TOOL_FILES)
def test_bad_tool_file_is_one_line_exit_2_and_store_unchanged(
    small_store: Path, tmp_path: Path, content: Any, expected: str
) -> None:
    before = store_snapshot(small_store)
    tools = _write(tmp_path / "bad_tools.json", content)
    result = run_cli("generate", "--tools", tools, "--per-tool", "3", "--db", small_store)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {tools}: "), lines[0]
    assert expected in lines[0]
    assert store_snapshot(small_store) == before


def test_missing_tool_file(small_store: Path, tmp_path: Path) -> None:
    before = store_snapshot(small_store)
    missing = tmp_path / "nope.json"
    result = run_cli("generate", "--tools", missing, "--db", small_store)
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"error: {missing}: cannot read tool file: No such file or directory"
    )
    assert store_snapshot(small_store) == before


@pytest.mark.parametrize(
    ("mix", "expected"),
    [
        (
            "single=2,bogus=1",
            "unknown category 'bogus' (known: single, error_recovery, multi_step)",
        ),
        ("single=x", "--mix: weight of 'single' is not a number: 'x'"),
        ("single=0", "--mix: give at least one category a positive weight"),
    ],
)
def test_bad_mix(small_store: Path, example_tools: Path, mix: str, expected: str) -> None:
    before = store_snapshot(small_store)
    result = run_cli("generate", "--tools", example_tools, "--mix", mix, "--db", small_store)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {expected}"
    assert store_snapshot(small_store) == before


def test_unknown_teacher(small_store: Path, example_tools: Path) -> None:
    before = store_snapshot(small_store)
    result = run_cli(
        "generate", "--tools", example_tools, "--teacher", "oracle", "--db", small_store
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: unknown teacher 'oracle' (known: ")
    assert store_snapshot(small_store) == before


def test_stats_and_export_on_missing_store(tmp_path: Path) -> None:
    missing = tmp_path / "none.duckdb"
    for args in (["stats"], ["export", "--out", tmp_path / "out"]):
        result = run_cli(*args, "--db", missing)
        assert result.returncode == 2
        assert (
            result.stderr.strip()
            == f"error: {missing}: no such store; run 'callforge generate' first"
        )
    assert not missing.exists()


def test_not_a_duckdb_file(tmp_path: Path) -> None:
    bogus = _write(tmp_path / "bogus.duckdb", "this is not a database")
    result = run_cli("stats", "--db", bogus)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {bogus}: exists and is not a callforge store (a DuckDB file); "
        "give --db a new file name or an existing store"
    )
    assert bogus.read_text() == "this is not a database"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--eval-fraction", "1.5"], "--eval-fraction must be in [0, 1), got 1.5"),
        (["--cap", "0"], "--cap must be at least 1, got 0"),
    ],
)
def test_bad_export_options(
    small_store: Path, tmp_path: Path, args: list[str], expected: str
) -> None:
    out = tmp_path / "out"
    result = run_cli("export", "--db", small_store, "--out", out, *args)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {expected}"
    assert not out.exists()


def test_export_into_a_file_path(small_store: Path, tmp_path: Path) -> None:
    target = _write(tmp_path / "file.txt", "keep me")
    result = run_cli("export", "--db", small_store, "--out", target)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: --out {target} exists and is not a folder"
    assert target.read_text() == "keep me"

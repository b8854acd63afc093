"""Every bad input: one clear line on stderr, exit code 2, and the store unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli, run_installed, store_snapshot


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


OPENAI = ["--teacher", "openai", "--model", "m"]
BAD_FLAGS = [
    pytest.param(
        [*OPENAI, "--mode", "bogus"],
        "--mode: Input should be 'tools', 'json', 'json_schema' or 'md_json' (got 'bogus')",
        id="mode",
    ),
    pytest.param(
        [*OPENAI, "--timeout", "-1"],
        "--timeout: Input should be greater than 0 (got -1.0)",
        id="timeout",
    ),
    pytest.param(
        [*OPENAI, "--temperature", "5"],
        "--temperature: Input should be less than or equal to 2 (got 5.0)",
        id="temperature",
    ),
    pytest.param(
        [*OPENAI, "--rpm", "0"], "--rpm: Input should be greater than 0 (got 0.0)", id="rpm"
    ),
    pytest.param(
        [*OPENAI, "--tpm", "-5"], "--tpm: Input should be greater than 0 (got -5.0)", id="tpm"
    ),
    pytest.param(
        [*OPENAI, "--concurrency", "0"],
        "--concurrency: Input should be greater than or equal to 1 (got 0)",
        id="concurrency",
    ),
    pytest.param(
        ["--locale", "xx_YY"],
        "--locale: Faker has no locale 'xx_YY' (for example en_US, de_DE, fr_FR, ja_JP)",
        id="locale",
    ),
    pytest.param(["--per-tool", "-3"], "--per-tool must be at least 1, got -3", id="per-tool"),
    pytest.param(
        ["--per-tool", "many"],
        "Invalid value for '--per-tool': Input should be a valid integer, "
        "unable to parse string as an integer",
        id="per-tool-not-a-number",
    ),
    pytest.param(
        ["--optional-rate", "1.5"], "--optional-rate must be in [0, 1], got 1.5", id="rate"
    ),
    pytest.param(["--bogus"], "No such option: --bogus", id="unknown-option"),
    pytest.param(["--max-cost", "1"], "--max-cost needs --teacher openai", id="offline-cap"),
    pytest.param(
        [*OPENAI, "--max-cost", "1"],
        "--max-cost needs prices: --price-in and --price-out, or [prices] in callforge.toml",
        id="max-cost-without-prices",
    ),
    pytest.param(
        [*OPENAI, "--max-requests", "0"],
        "--max-requests must be at least 1, got 0",
        id="max-requests",
    ),
    pytest.param(
        [*OPENAI, "--price-in", "-1"],
        "--price-in: a price per million tokens is a number >= 0, got -1.0",
        id="price",
    ),
    pytest.param(["--pilot", "-1"], "--pilot must be 0 (off) or more, got -1", id="pilot"),
    pytest.param(
        ["--templates", "no-such-folder"], "--templates no-such-folder: no such folder", id="tpl"
    ),
]


@pytest.mark.parametrize(("args", "expected"), BAD_FLAGS)
def test_a_bad_flag_is_one_line_exit_2_and_no_file(
    cli: Any, example_tools: Path, tmp_path: Path, args: list[str], expected: str
) -> None:
    result = cli(
        "generate", "--tools", example_tools, *args, cwd=tmp_path, env={"OPENAI_API_KEY": "k"}
    )
    assert (result.returncode, result.stderr) == (2, f"error: {expected}\n")
    assert list(tmp_path.iterdir()) == []  # no store, no journal, no progress file


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--locale", "xx_YY"], "--locale: Faker has no locale 'xx_YY'"),
        ([*OPENAI, "--mode", "bogus"], "--mode: Input should be"),
    ],
)
def test_a_bad_flag_leaves_an_existing_store_unchanged(
    cli: Any, small_store: Path, example_tools: Path, args: list[str], expected: str
) -> None:
    before = store_snapshot(small_store)
    siblings = sorted(small_store.parent.iterdir())
    result = cli("generate", "--tools", example_tools, "--db", small_store, *args)
    assert result.returncode == 2 and result.stderr.startswith(f"error: {expected}")
    assert store_snapshot(small_store) == before
    assert sorted(small_store.parent.iterdir()) == siblings


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            '[teacher]\nname = "openai"\nmodel = "m"\ntimeout = -1\n',
            "callforge.toml: [teacher] timeout: Input should be greater than 0 (got -1)",
        ),
        (
            '[teacher]\nname = "openai"\nmodel = "m"\nmode = "xml"\n',
            "callforge.toml: [teacher] mode: Input should be 'tools', 'json', 'json_schema' "
            "or 'md_json' (got 'xml')",
        ),
        (
            '[prices]\ninput = "cheap"\n',
            "callforge.toml: [prices] input: a price per million tokens is a number >= 0, "
            "got 'cheap'",
        ),
        ("[teacher]\ntimeout = ", "callforge.toml: not valid TOML"),
    ],
)
def test_a_bad_config_value_is_one_line_exit_2_and_no_store(
    cli: Any, example_tools: Path, tmp_path: Path, config: str, expected: str
) -> None:
    (tmp_path / "callforge.toml").write_text(config)
    result = cli("generate", "--tools", example_tools, cwd=tmp_path, env={"OPENAI_API_KEY": "k"})
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {expected}") and result.stderr.count("\n") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["callforge.toml"]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("offline/user_request.j2", "{% for x in y %}\nnever closed\n", "user_request.j2:2: "),
        ("offline/phrases.yaml", "a: [unclosed\n", "phrases.yaml: not valid YAML"),
    ],
)
def test_a_broken_template_is_one_line_exit_2_and_no_store(
    cli: Any, example_tools: Path, tmp_path: Path, name: str, content: str, expected: str
) -> None:
    override = tmp_path / "mine"
    (override / name).parent.mkdir(parents=True)
    (override / name).write_text(content)
    db = tmp_path / "x.duckdb"
    result = cli("generate", "--tools", example_tools, "--templates", override, "--db", db)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: template: ") and expected in result.stderr
    assert not db.exists()


def test_the_installed_command_prints_the_same_one_line_errors(
    example_tools: Path, tmp_path: Path
) -> None:
    """The one test of the real entry point: exit codes and stderr as a shell sees them."""
    result = run_installed("generate", "--tools", example_tools, "--per-tool", "-3", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (
        2,
        "error: --per-tool must be at least 1, got -3\n",
    )
    made = run_installed("generate", "--tools", example_tools, "--per-tool", "1", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "callforge.duckdb").exists()

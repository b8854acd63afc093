"""Tool files are hostile data: bounded, never run, and shown escaped.

What callforge runs is only what a user names as code (a ``.py`` path, a module
that resolves, ``--format python``); everything read from a tool file is data,
checked against the limits in the README before anything is stored.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli, store_snapshot


@pytest.mark.parametrize(
    "spec", ["tools.jsn", "tools.json.bak", "tools.txt", "schema.yaml.orig", "tools.jsn:lookup"]
)
def test_a_missing_files_name_never_imports_a_module(tmp_path: Path, spec: str) -> None:
    (tmp_path / "tools.py").write_text("open('RAN', 'w').write('tools.py ran')\n")
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "__init__.py").write_text("open('RAN', 'w').write('schema ran')\n")
    db = tmp_path / "store.duckdb"
    result = run_cli("generate", "--tools", spec, "--db", db, cwd=tmp_path)
    assert result.returncode == 2
    module = spec.partition(":")[0]
    assert result.stderr == (
        f"error: {spec}: no such file, and no module '{module}' importable "
        "from the current directory\n"
    )
    assert not (tmp_path / "RAN").exists()
    assert not db.exists()


def test_a_module_named_outright_is_still_imported(tmp_path: Path) -> None:
    (tmp_path / "mytools.py").write_text(
        "def lookup(query: str) -> str:\n    'Look something up.'\n    return query\n"
    )
    result = run_cli("tools", "import", "mytools", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert '"name": "lookup"' in result.stdout


def _tool_file(parameters: dict[str, Any]) -> str:
    function = {"name": "lookup", "description": "Look it up.", "parameters": parameters}
    return json.dumps([{"type": "function", "function": function}])


def _schema_nested(levels: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"a": schema}, "required": ["a"]}
    return schema


def _one_property(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {"x": schema}, "required": ["x"]}


BILLION_LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    + ["openapi: 3.0.0", "info: {title: laughs, version: '1'}", "paths: {}"]
)
FIVE_THOUSAND_DIGITS = "9" * 5000
TOO_DEEP = "nested deeper than 64 levels (the limit)"

HOSTILE_FILES = [
    pytest.param(
        "bomb.yaml", BILLION_LAUGHS,
        "holds more than 1,000,000 values (YAML aliases counted in full; the limit)",
        id="yaml-billion-laughs",
    ),
    pytest.param("self.yaml", "a: &a [*a]\n", "an alias refers to itself", id="yaml-cycle"),
    pytest.param("deep.json", "[" * 500 + "]" * 500, TOO_DEEP, id="json-500-deep"),
    pytest.param("deep.json", "[" * 100_000 + "]" * 100_000, TOO_DEEP, id="json-100000-deep"),
    pytest.param("deep.yaml", "a: " + "[" * 5000 + "]" * 5000, TOO_DEEP, id="yaml-5000-deep"),
    pytest.param(
        "schema.json", _tool_file(_schema_nested(100)), TOO_DEEP, id="schema-100-deep"
    ),
    pytest.param(
        "big.json", _tool_file(_one_property({"type": "number", "maximum": 1e300})).replace(
            "1e+300", "1e400"
        ),
        "a number is not finite (1e400); JSON numbers must be", id="1e400",
    ),
    pytest.param(
        "nan.json", _tool_file(_one_property({"type": "number", "minimum": float("nan")})),
        "a number is not finite (NaN); JSON numbers must be", id="NaN",
    ),
    pytest.param(
        "inf.json", _tool_file(_one_property({"type": "number", "maximum": float("inf")})),
        "a number is not finite (Infinity); JSON numbers must be", id="Infinity",
    ),
    pytest.param(
        "digits.json",
        _tool_file(_one_property({"type": "integer", "maximum": 1})).replace(
            '"maximum": 1', f'"maximum": {FIVE_THOUSAND_DIGITS}'
        ),
        "an integer has more than 20 digits (the limit)", id="5000-digit-integer",
    ),
    pytest.param(
        "digits.yaml", f"openapi: 3.0.0\nx: {FIVE_THOUSAND_DIGITS}\n",
        "an integer has more than 20 digits", id="5000-digit-integer-yaml",
    ),
    pytest.param(
        "inf.yaml", "openapi: 3.0.0\nx: .inf\n", "a number is not finite (inf)", id="yaml-inf"
    ),
    pytest.param(
        "enum.json", _tool_file(_one_property({"enum": [f"v{i}" for i in range(100_000)]})),
        "tool 'lookup': at parameters.properties.x: enum has 100,000 values; "
        "the limit is 10,000",
        id="enum-100000",
    ),
    pytest.param(
        "minlength.json", _tool_file(_one_property({"type": "string", "minLength": 10**7})),
        "tool 'lookup': at parameters.properties.x: minLength is 10,000,000; "
        "the limit is 10,000",
        id="minLength-10000000",
    ),
    pytest.param(
        "minitems.json",
        _tool_file(_one_property({"type": "array", "items": {}, "minItems": 50_000})),
        "at parameters.properties.x: minItems is 50,000; the limit is 1,000",
        id="minItems-50000",
    ),
    pytest.param(
        "properties.json",
        _tool_file({"type": "object", "properties": {f"p{i}": {} for i in range(1001)}}),
        "tool 'lookup': at parameters: properties has 1,001 properties; the limit is 1,000",
        id="properties-1001",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("name", "content", "expected"), HOSTILE_FILES)
def test_hostile_tool_files_are_one_line_exit_2_and_the_store_unchanged(
    small_store: Path, tmp_path: Path, name: str, content: str, expected: str
) -> None:
    before = store_snapshot(small_store)
    tools = tmp_path / name
    tools.write_text(content)
    started = time.monotonic()
    result = run_cli("generate", "--tools", tools, "--per-tool", "2", "--db", small_store)
    assert time.monotonic() - started < 30
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr[-2000:]
    assert result.stderr.startswith(f"error: {tools}: "), result.stderr[:500]
    assert expected in result.stderr, result.stderr[:500]
    assert store_snapshot(small_store) == before


def test_a_tool_file_that_never_ends_stops_at_the_size_limit(tmp_path: Path) -> None:
    db = tmp_path / "store.duckdb"
    for source in ("/dev/zero", _sparse(tmp_path / "huge.json", 64 * 2**20 + 1)):
        result = run_cli("generate", "--tools", source, "--db", db, timeout=60)
        assert result.returncode == 2, result.stderr
        assert result.stderr == (
            f"error: {source}: cannot read tool file: larger than 64 MiB (the limit)\n"
        )
    assert not db.exists()


def _sparse(path: Path, size: int) -> Path:
    with path.open("wb") as file:
        file.truncate(size)
    return path


def test_a_python_module_whose_schema_breaks_a_limit_is_one_line(tmp_path: Path) -> None:
    module = tmp_path / "huge_enum.py"
    module.write_text(
        "from typing import Literal\n"
        "Choice = Literal[tuple(f'v{i}' for i in range(20_000))]\n"
        "def pick(choice: Choice) -> str:\n    'Pick one.'\n    return choice\n"
    )
    result = run_cli("tools", "import", module)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        f"error: {module}: tool 'pick': at parameters.properties.choice: enum has 20,000 "
        "values; the limit is 10,000\n"
    )


MARKUP = "[/bold] [link=file:///etc/passwd]x[/link] [red]"
ANSI = "\x1b[31mRED\x1b[0m \x1b]0;pwned\x07 \x1b[2J"


def test_tool_text_reaches_the_terminal_escaped(tmp_path: Path) -> None:
    """Rich markup is shown as text, escape sequences as \\x1b: neither acts on the terminal."""
    tools = tmp_path / "evil.json"
    evil = {
        "name": f"evil{MARKUP}{ANSI}",  # renamed to fit OpenAI's rule; the original is shown
        "description": f"{MARKUP} {ANSI}",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
    }
    tools.write_text(json.dumps([evil]))
    db = tmp_path / "evil.duckdb"
    outputs = []
    for args in (
        ["tools", "import", tools],
        ["generate", "--tools", tools, "--per-tool", "2", "--db", db],
        ["tools", "list", "--db", db],
    ):
        result = run_cli(*args, env={"COLUMNS": "200"})
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout + result.stderr)
    for text in outputs:
        assert "\x1b" not in text and "\x07" not in text
    listed = outputs[2]  # the table cuts descriptions at 32 characters
    assert "[/bold] [link=file:///etc/passw" in listed
    assert "evil[/bold]" in outputs[0]  # the original name, cut at 12


def test_rejection_reasons_from_an_endpoint_are_shown_escaped(small_store: Path) -> None:
    from callforge.store import RejectionRow, Store

    with Store(small_store) as store:
        run_id = store.begin_run("generate", {})
        reason = "[/bold] [red]boom[/red] \x1b[2J\x1b[31mRED\x07"  # stats shows up to a colon
        store.write_batch(
            run_id, [], [RejectionRow("get_weather_forecast", "h", "single", 99, "teacher", reason)]
        )
        store.finish_run(run_id, "completed")
    result = run_cli("stats", "--db", small_store, env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout + result.stderr
    assert "teacher: [/bold] [red]boom[/red] \\x1b[2J\\x1b[31mRED\\x07" in result.stdout


def _seconds_to_seed(schema: dict[str, Any]) -> float:
    from faker import Faker

    from callforge.generator.seeding import seed_arguments

    faker = Faker()
    faker.seed_instance(0)
    started = time.perf_counter()
    seed_arguments(schema, random.Random(0), faker, tool="t")
    return time.perf_counter() - started


def test_seeding_is_linear_in_the_enum_length() -> None:
    def enum_of(size: int, run: int) -> dict[str, Any]:  # fresh values: no plan cache hit
        values = [f"v{run}-{i}" for i in range(size)]
        return _one_property({"type": "string", "enum": values, "minLength": 2})

    small = min(_seconds_to_seed(enum_of(1_000, run)) for run in range(3))
    large = min(_seconds_to_seed(enum_of(10_000, run)) for run in range(3, 6))
    assert large < 30 * max(small, 1e-3), (small, large)  # linear: ~10x; quadratic: ~100x


def test_a_huge_max_length_or_max_items_seeds_and_generates_at_once(tmp_path: Path) -> None:
    tools = tmp_path / "huge.json"
    schema = {
        "type": "object",
        "properties": {
            "note": {"type": "string", "maxLength": 10_000_000},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 10_000_000},
        },
        "required": ["note", "tags"],
    }
    tools.write_text(_tool_file(schema))
    db = tmp_path / "huge.duckdb"
    started = time.monotonic()
    result = run_cli("generate", "--tools", tools, "--per-tool", "12", "--db", db, timeout=120)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 60
    stats = json.loads(run_cli("stats", "--db", db, "--json").stdout)
    assert stats["accepted_total"] == 12


def test_a_backtracking_pattern_is_stopped_in_time_not_run_for_hours() -> None:
    from callforge.generator.schema import validate_instance

    schema = _one_property({"type": "string", "pattern": "^(a|aa)+$"})
    started = time.monotonic()
    errors = validate_instance(schema, {"x": "a" * 40 + "b"})  # Python's re: minutes
    assert time.monotonic() - started < 10
    assert errors == [
        "$.x: pattern '^(a|aa)+$' took over 0.1s to match a 41-character value "
        "(a nested repetition that backtracks?); simplify the pattern"
    ]
    assert validate_instance(schema, {"x": "aaaa"}) == []


def test_a_free_text_pattern_that_backtracks_does_not_hang_seeding(tmp_path: Path) -> None:
    """The pattern from the issue: with Python's re, seeding a sentence hung for good."""
    message = {"type": "string", "description": "Free text to send.", "pattern": r"^(\w+\s?)*!$"}
    tools = tmp_path / "pattern.json"
    tools.write_text(_tool_file(_one_property(message)))
    db = tmp_path / "pattern.duckdb"
    result = run_cli("generate", "--tools", tools, "--per-tool", "4", "--db", db, timeout=120)
    assert result.returncode == 0, result.stderr
    stats = json.loads(run_cli("stats", "--db", db, "--json").stdout)
    assert stats["accepted_total"] == 4

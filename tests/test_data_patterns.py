"""Every regular expression from data runs with a bound (issue #16, "bounded everything").

Patterns come from tool files (``pattern``, ``patternProperties``, ``propertyNames``,
output schemas), which callforge does not trust. Python's ``re`` backtracks for hours
on ``^(\\w+\\s?)*!$`` and cannot be interrupted, and the ``regex`` engine writes
``(?:a{1000}){1000}`` out in full when it compiles it: each path below either answers
within a bound, refuses the pattern in one line (exit 2, nothing stored), or rejects
the value with the reason.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli

BACKTRACKS = r"^(a|aa)+$"  # ``regex`` times out on it too: 2**20 ways to split 40 a's
ISSUE_PATTERN = r"^(\w+\s?)*!$"  # the issue's: ``regex`` answers at once, ``re`` never
SLOW_NAME = "a" * 40 + "b"
SLOW = (
    f"pattern {BACKTRACKS!r} took over 0.1s to match a 41-character value "
    "(a nested repetition that backtracks?); simplify the pattern"
)
BOUND_S = 10.0  # each check takes 0.1 s of the pattern's time; Python's re: hours


def _re_backtracks(pattern: str, text: str) -> bool:
    """Whether Python's ``re`` is still busy after a second (checked in a subprocess)."""
    import subprocess
    import sys

    probe = f"import re; re.search({pattern!r}, {text!r})"
    try:
        subprocess.run([sys.executable, "-c", probe], timeout=1.0, check=True)
    except subprocess.TimeoutExpired:
        return True
    return False


def test_the_patterns_used_here_hang_pythons_re() -> None:
    """The baseline: without the bound each case below would not come back."""
    assert _re_backtracks(BACKTRACKS, SLOW_NAME)
    assert _re_backtracks(ISSUE_PATTERN, "a" * 40)


NAME_KEYWORDS = [
    pytest.param(
        {"patternProperties": {BACKTRACKS: {"type": "integer"}}},
        f"$.{SLOW_NAME}: {SLOW}",
        id="patternProperties",
    ),
    pytest.param(
        {"patternProperties": {BACKTRACKS: {}}, "additionalProperties": False},
        f"$: {SLOW}",
        id="additionalProperties",
    ),
    pytest.param(
        {"patternProperties": {BACKTRACKS: {}}, "unevaluatedProperties": False},
        f"$: {SLOW}",
        id="unevaluatedProperties",
    ),
    pytest.param(
        {"allOf": [{"patternProperties": {BACKTRACKS: {}}}], "unevaluatedProperties": False},
        f"$.{SLOW_NAME}: {SLOW}",  # the allOf branch fails on it, so the name is unevaluated
        id="unevaluatedProperties-in-allOf",
    ),
    pytest.param(
        {"propertyNames": {"pattern": BACKTRACKS}},
        f"$: {SLOW}",
        id="propertyNames",
    ),
]


@pytest.mark.parametrize(("keywords", "expected"), NAME_KEYWORDS)
def test_a_property_name_that_makes_a_pattern_backtrack_is_a_rejection_in_time(
    keywords: dict[str, Any], expected: str
) -> None:
    """A teacher's arguments (or a result) with such a name: rejected, with the reason."""
    from callforge.generator.schema import instance_is_valid, validate_instance

    schema = {"type": "object", **keywords}
    started = time.monotonic()
    errors = validate_instance(schema, {SLOW_NAME: 1})
    valid = instance_is_valid(schema, {SLOW_NAME: 1})
    assert time.monotonic() - started < BOUND_S
    assert expected in errors, errors
    assert valid is False
    assert instance_is_valid(schema, {"aaaa": 1}) is True  # the pattern still works


def test_names_the_pattern_leaves_out_still_meet_additional_properties() -> None:
    from callforge.generator.schema import validate_instance

    schema = {
        "type": "object",
        "properties": {"id": {}},
        "patternProperties": {"^x-": {"type": "integer"}},
        "additionalProperties": False,
    }
    assert validate_instance(schema, {"id": 1, "x-a": 2}) == []
    assert validate_instance(schema, {"id": 1, "x-a": "2", "y": 3}) == [
        "$: 'y' does not match any of the regexes: '^x-'",
        "$['x-a']: '2' is not of type 'integer'",
    ]


def _tool_file(tmp_path: Path, parameters: dict[str, Any], **extra: Any) -> Path:
    function = {"name": "lookup", "description": "Look it up.", "parameters": parameters}
    path = tmp_path / "tools.json"
    path.write_text(json.dumps([{**function, **extra}]))
    return path


def test_the_issues_pattern_in_pattern_properties_does_not_hang_generate(
    tmp_path: Path,
) -> None:
    """Seeded arguments are checked against ``patternProperties`` by name: with ``re``
    a 40-character property name held ``generate`` for good (measured: killed at 20 s)."""
    name = "a" * 40
    tools = _tool_file(
        tmp_path,
        {
            "type": "object",
            "properties": {name: {"type": "string"}},
            "required": [name],
            "patternProperties": {ISSUE_PATTERN: {"type": "integer"}},
            "additionalProperties": False,
        },
    )
    db = tmp_path / "store.duckdb"
    started = time.monotonic()
    result = run_cli("generate", "--tools", tools, "--per-tool", "4", "--db", db)
    assert time.monotonic() - started < 60
    assert result.returncode == 0, result.stderr
    stats = json.loads(run_cli("stats", "--db", db, "--json").stdout)
    assert stats["accepted_total"] == 4


WRITTEN_OUT = "is over 100,000 pieces once its repetitions are written out (the limit)"
NESTED = "(?:a{65535}){65535}"  # the regex engine: minutes and gigabytes to compile
DRAWN = "^" + "(" * 7 + "a{0,30}" + "){0,30}" * 7 + "$"  # rstr would draw 6**8 characters


@pytest.mark.parametrize(
    ("parameters", "extra", "where"),
    [
        pytest.param(
            {"type": "object", "properties": {"x": {"type": "string", "pattern": NESTED}}},
            {},
            "at parameters.properties.x.pattern",
            id="pattern",
        ),
        pytest.param(
            {"type": "object", "properties": {"x": {"type": "string", "pattern": DRAWN}}},
            {},
            "at parameters.properties.x.pattern",
            id="pattern-drawn-long",
        ),
        pytest.param(
            {"type": "object", "patternProperties": {NESTED: {}}},
            {},
            "at parameters.patternProperties",
            id="patternProperties",
        ),
        pytest.param(
            {"type": "object", "propertyNames": {"pattern": NESTED}},
            {},
            "at parameters.propertyNames.pattern",
            id="propertyNames",
        ),
        pytest.param(
            {"type": "object"},
            {"x-output-schema": {"type": "object", "patternProperties": {NESTED: {}}}},
            "at output_schema.patternProperties",
            id="output-schema",
        ),
    ],
)
def test_a_pattern_too_big_to_compile_is_one_line_and_nothing_is_stored(
    tmp_path: Path, parameters: dict[str, Any], extra: dict[str, Any], where: str
) -> None:
    tools = _tool_file(tmp_path, parameters, **extra)
    db = tmp_path / "store.duckdb"
    started = time.monotonic()
    result = run_cli("generate", "--tools", tools, "--per-tool", "2", "--db", db)
    assert time.monotonic() - started < 30
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr[-2000:]
    assert result.stderr.startswith(f"error: {tools}: tool 'lookup': {where}: pattern "), (
        result.stderr
    )
    assert WRITTEN_OUT in result.stderr
    assert not db.exists()


def test_a_pattern_that_backtracks_on_the_users_words_does_not_hang_the_no_call_check() -> None:
    """``no_call`` asks whether a request states a value by matching its words against
    the parameter's pattern: each word is matched in time, and a slow one is not stated."""
    from callforge.generator.scenarios.no_call import states_required_values
    from callforge.generator.tools import ToolSpec

    schema = {"type": "string", "pattern": BACKTRACKS}
    tool = ToolSpec(
        "lookup",
        "Look it up.",
        {"type": "object", "properties": {"code": schema}, "required": ["code"]},
    )
    started = time.monotonic()
    stated = states_required_values(tool, f"Look up {SLOW_NAME} please")
    assert time.monotonic() - started < BOUND_S
    assert stated == []
    assert states_required_values(tool, "Look up aaaa please") == ["code"]
    assert re.fullmatch(BACKTRACKS, "aaaa")  # the word the second call found


def test_a_huge_request_without_an_address_is_checked_in_linear_time() -> None:
    """The email check ran on a teacher's request from every position of a run: a
    1 MiB request without "@" took about half an hour (quadratic); now milliseconds."""
    from callforge.generator.scenarios.no_call import states_required_values
    from callforge.generator.tools import ToolSpec

    schema = {"type": "string", "format": "email"}
    tool = ToolSpec(
        "invite", "Invite someone.", {"type": "object", "properties": {"email": schema},
                                      "required": ["email"]},
    )  # fmt: skip
    started = time.monotonic()
    assert states_required_values(tool, "a" * 2**20) == []
    assert time.monotonic() - started < BOUND_S
    assert states_required_values(tool, "Invite ann.lee+x@example.co.uk today") == ["email"]


# Patterns run only with ``fullmatch`` (anchored at both ends: linear), by module.
_FULLMATCH_ONLY = {("callforge.generator.teachers.offline", "_CODE")}


def test_callforges_own_patterns_take_linear_time_on_hostile_text() -> None:
    """Every compiled pattern of the package, searched over 20,000 characters of the
    runs that make a greedy class backtrack: a quadratic one takes seconds here."""
    import importlib
    import pkgutil

    import callforge.generator
    import callforge.store

    modules = [
        importlib.import_module(info.name)
        for package in (callforge.generator, callforge.store)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")
    ]
    texts = [unit * (20_000 // len(unit)) for unit in ("a", "1", " ", "a.", "A", "a_", "1-", "a ")]
    slow: list[tuple[str, str, float]] = []
    checked = 0
    for module in modules:
        for name, value in vars(module).items():
            if not isinstance(value, re.Pattern) or (module.__name__, name) in _FULLMATCH_ONLY:
                continue
            checked += 1
            for text in texts:
                started = time.perf_counter()
                value.search(text)
                took = time.perf_counter() - started
                if took > 0.1:  # linear: ~1 ms; the quadratic email pattern took 0.7-2 s
                    slow.append((f"{module.__name__}.{name}", text[:4], took))
    assert checked > 50
    assert slow == []


def test_a_pattern_under_the_limit_seeds_a_value_no_longer_than_it_written_out() -> None:
    """The size bound is also the bound on what seeding draws from a pattern: each
    repetition is drawn at most ``min(n, m + 6)`` times."""
    import random
    from re import _parser  # type: ignore[attr-defined]

    from faker import Faker

    from callforge.generator.limits import MAX_PATTERN_SIZE, written_out_size
    from callforge.generator.seeding import seed_arguments

    nested = "^" + "(" * 4 + "[ab]{0,30}" + "){1,30}" * 4 + "$"  # 6 * 7**4, and ^ and $
    assert written_out_size(_parser.parse(nested)) == 6 * 7**4 + 2 <= MAX_PATTERN_SIZE
    faker = Faker()
    faker.seed_instance(0)
    schema = {"type": "object", "properties": {"x": {"type": "string", "pattern": nested}},
              "required": ["x"]}  # fmt: skip
    started = time.monotonic()
    value = seed_arguments(schema, random.Random(0), faker, tool="t")["x"]
    assert time.monotonic() - started < BOUND_S
    assert re.fullmatch(nested, value)
    assert len(value) <= 6 * 7**4


_NAME_SCHEMAS = [
    {"patternProperties": {"^x-": {"type": "integer"}, "id$": {"type": "string"}}},
    {"properties": {"a": {}}, "patternProperties": {"^x-": {}}, "additionalProperties": False},
    {"properties": {"a": {}}, "additionalProperties": {"type": "integer"}},
    {"patternProperties": {"^x-": {}}, "additionalProperties": {"type": "string"}},
    {"properties": {"a": {}}, "unevaluatedProperties": False},
    {"allOf": [{"properties": {"a": {}}}, {"patternProperties": {"^x-": {}}}],
     "unevaluatedProperties": False},
    {"anyOf": [{"properties": {"a": {"type": "integer"}}}, {"patternProperties": {"^b": {}}}],
     "unevaluatedProperties": {"type": "boolean"}},
    {"if": {"properties": {"a": {"const": 1}}}, "then": {"properties": {"b": {}}},
     "else": {"patternProperties": {"^c": {}}}, "unevaluatedProperties": False},
    {"$defs": {"base": {"properties": {"a": {}}}}, "$ref": "#/$defs/base",
     "unevaluatedProperties": False},
    {"dependentSchemas": {"a": {"properties": {"b": {}}}}, "unevaluatedProperties": False},
]  # fmt: skip
_NAME_INSTANCES = [
    {}, {"a": 1}, {"a": 1, "b": 2}, {"x-1": 1, "x-2": "2"}, {"order_id": 5, "c": True},
    {"a": 2, "c": 1}, {"b": True, "zz": False}, {"a": "s", "q": 1}, {"x-": None, "id": "k"},
]  # fmt: skip


@pytest.mark.parametrize("keywords", _NAME_SCHEMAS)
def test_the_bounded_keywords_decide_and_say_what_jsonschemas_own_do(
    keywords: dict[str, Any],
) -> None:
    """The keywords that match names in time are jsonschema's, re-written: on patterns
    that are quick, their verdicts and messages are jsonschema's own."""
    from jsonschema import Draft202012Validator

    from callforge.generator.schema import compiled_validator

    schema = {"type": "object", **keywords}
    ours = compiled_validator(schema, openapi=False)
    theirs = Draft202012Validator(schema)
    for instance in _NAME_INSTANCES:
        mine = sorted((list(e.path), e.message) for e in ours.iter_errors(instance))
        expected = sorted((list(e.path), e.message) for e in theirs.iter_errors(instance))
        assert mine == expected, instance

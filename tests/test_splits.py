"""Train/eval splits: related examples stay together, small stores still get an eval
split of every category, whole tools can be held out.

Which example went where is read from the ``openai`` format's metadata sidecar;
what relates two examples (a shared call, a near-identical request) is worked out
here from the store's own rows, not from callforge's grouping tables.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import read_jsonl, run_cli

SMALL_TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_status",
            "description": "Get the service status of a region.",
            "parameters": {
                "type": "object",
                "properties": {"region": {"type": "string", "enum": ["eu", "us"]}},
                "required": ["region"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "Look up an order by its number.",
            "parameters": {
                "type": "object",
                "properties": {"order_number": {"type": "integer", "minimum": 1, "maximum": 4}},
                "required": ["order_number"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "list_holidays",
            "description": "List the public holidays of the current year.",
            "parameters": {"type": "object", "properties": {}},
        },
    },
]


def export(db: Path, out: Path, *args: str) -> dict[str, Any]:
    result = run_cli("export", "--db", db, "--out", out, "--seed", "3", *args)
    assert result.returncode == 0, result.stderr
    return json.loads((out / "manifest.json").read_text())


def sides(out: Path) -> dict[str, str]:
    return {
        row["example_id"]: split
        for split in ("train", "eval")
        for row in read_jsonl(out / f"{split}.meta.jsonl")
    }


def stored(db: Path) -> dict[str, dict[str, Any]]:
    with duckdb.connect(str(db), read_only=True) as connection:
        rows = connection.execute(
            "SELECT example_id, category, user_request, scenario FROM examples"
        ).fetchall()
    return {
        example_id: {"category": category, "request": request, "scenario": json.loads(scenario)}
        for example_id, category, request, scenario in rows
    }


def successful_calls(scenario: dict[str, Any]) -> set[str]:
    """Calls that succeeded, with arguments (one without any is a tool choice, no task)."""
    return {
        json.dumps([s["call"]["name"], s["call"]["arguments"]], sort_keys=True)
        for s in scenario["plan"]["steps"]
        if s["failure"] is None and s["call"]["arguments"]
    }


def test_shared_calls_and_near_duplicate_requests_stay_on_one_side(tmp_path: Path) -> None:
    tools = tmp_path / "tools.json"
    tools.write_text(json.dumps(SMALL_TOOLS))
    db = tmp_path / "small.duckdb"
    result = run_cli("generate", "--tools", tools, "--per-tool", "12", "--seed", "5", "--db", db)
    assert result.returncode == 0, result.stderr
    examples = stored(db)
    # Near duplicates by construction: a request copied onto an example of another
    # tool, with a few words added (their calls differ, only their words are alike).
    by_tool: dict[str, list[str]] = defaultdict(list)
    for example_id, example in sorted(examples.items()):
        by_tool[example["scenario"]["plan"]["tool"]].append(example_id)
    pairs = list(zip(by_tool["lookup_order"][:8], by_tool["list_holidays"][:8], strict=True))
    with duckdb.connect(str(db)) as connection:
        for original, copy in pairs:
            connection.execute(
                "UPDATE examples SET user_request = ? || ' Thanks a lot.' WHERE example_id = ?",
                [examples[original]["request"], copy],
            )

    out = tmp_path / "out"
    export(db, out, "--eval-fraction", "0.3")
    side = sides(out)
    assert set(side) == set(examples)
    assert Counter(side.values())["eval"] > 0 and Counter(side.values())["train"] > 0
    for original, copy in pairs:
        assert side[original] == side[copy], (original, copy)

    holders: dict[str, set[str]] = defaultdict(set)
    for example_id, example in examples.items():
        for call in successful_calls(example["scenario"]):
            holders[call].add(example_id)
    across_categories = 0
    for call, members in holders.items():
        assert len({side[m] for m in members}) == 1, call
        across_categories += len({examples[m]["category"] for m in members}) > 1
    assert across_categories > 0  # the store does hold one call under two categories


def test_a_store_of_8_per_tool_gets_eval_in_every_category(
    small_store: Path, tmp_path: Path
) -> None:
    manifest = export(small_store, tmp_path / "out")
    total = sum(manifest["totals"].values())
    assert total == 80 and manifest["totals"]["eval"] == 8
    categories = {c for row in manifest["counts"]["train"].values() for c in row}
    in_eval = {c for row in manifest["counts"]["eval"].values() for c in row}
    assert in_eval == categories == {"single", "error_recovery", "multi_step"}
    eval_tools = Counter(manifest["counts"]["eval"])
    assert len(eval_tools) == 8  # spread over tools: no tool twice while others have none


def test_eval_per_cell(small_store: Path, tmp_path: Path) -> None:
    manifest = export(small_store, tmp_path / "out", "--eval-per-cell", "1")
    cells = [
        (tool, category, count)
        for tool, row in manifest["counts"]["eval"].items()
        for category, count in row.items()
    ]
    assert all(count == 1 for _, _, count in cells)
    assert len(cells) == 30  # 10 tools x 3 categories, each of 2 or more examples


def test_holdout_tools_by_name_and_by_count(small_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "named"
    manifest = export(small_store, out, "--holdout-tools", "get_weather_forecast,send_email")
    held = {"get_weather_forecast", "send_email"}
    assert set(manifest["held_out_tools"]) == held
    for line in read_jsonl(out / "train.jsonl"):
        listed = {tool["function"]["name"] for tool in line["tools"]}
        called = {
            call["function"]["name"] for m in line["messages"] for call in m.get("tool_calls", [])
        }
        assert not (listed | called) & held
    assert held <= set(manifest["counts"]["eval"])
    assert not held & set(manifest["counts"]["train"])
    evaluated = {
        call["function"]["name"]
        for line in read_jsonl(out / "eval.jsonl")
        for m in line["messages"]
        for call in m.get("tool_calls", [])
    }
    assert held <= evaluated

    counted = export(small_store, tmp_path / "counted", "--holdout-tools", "3")
    assert len(counted["held_out_tools"]) == 3
    assert not set(counted["held_out_tools"]) & set(counted["counts"]["train"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "no_such_tool",
            "--holdout-tools: no tool named no_such_tool in the store (tools: book_flight, "
            "cancel_order, convert_currency, create_order, get_customer, get_weather_forecast, "
            "list_orders, schedule_meeting, search_flights, send_email)",
        ),
        ("10", "--holdout-tools 10 leaves no tool to train on (the store has 10 tools)"),
    ],
)
def test_bad_holdout(small_store: Path, tmp_path: Path, value: str, expected: str) -> None:
    out = tmp_path / "out"
    result = run_cli("export", "--db", small_store, "--out", out, "--holdout-tools", value)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {expected}"
    assert not out.exists()


def test_whole_tool_set_is_listed_in_a_shuffled_order(small_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export(small_store, out)
    firsts = Counter(
        line["tools"][0]["function"]["name"] for line in read_jsonl(out / "train.jsonl")
    )
    assert len(firsts) >= 8  # not the same tool first every time

"""Export options beyond the end-to-end path: sampled tool lists with distractors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from callforge.generator.validate import check_conversation
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

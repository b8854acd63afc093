"""The offline teacher's words: requests a person would write, mistakes models make.

Checked on the example tools and on the real tool files in tests/data (BFCL, MCP,
OpenAPI, Python), each through the same pipeline a user runs.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from faker import Faker

from callforge.generator.importers import load_tools
from callforge.generator.pipeline import GenerateConfig, generate
from callforge.generator.scenarios import get_category
from callforge.generator.scenarios.base import PlanContext, Scenario, ScenarioDraft
from callforge.generator.scenarios.error_recovery import ErrorRecovery
from callforge.generator.teachers.offline import OfflineTeacher
from callforge.generator.templating import EXAMPLE_TOOLS
from callforge.generator.tools import ToolSet
from callforge.generator.validate import CATEGORY, validate_scenario
from callforge.store import Store
from tests.conftest import read_jsonl, run_cli

DATA = Path(__file__).parent / "data"
TOOL_FILES = [
    EXAMPLE_TOOLS,
    DATA / "bfcl_simple.jsonl",
    DATA / "mcp_filesystem.json",
    DATA / "petstore-expanded.yaml",
    DATA / "python_tools.py",
]
# What the old template teacher wrote, and what no person writes.
FORM_WORDS = re.compile(r"\bset to\b|\{|\}|\bNone\b|\s[,.?!]|\b(?:1|one) (?:passengers|days)\b")


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _spans(text: str, size: int = 6) -> set[tuple[str, ...]]:
    words = _words(text)
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def _examples(tools_file: Path, tmp_path: Path, per_tool: int) -> list[Scenario]:
    tools = load_tools(tools_file)
    with Store(tmp_path / "words.duckdb") as store:
        summary = asyncio.run(
            generate(store, tools, OfflineTeacher(), GenerateConfig(per_tool=per_tool, seed=5))
        )
        assert not summary.rejected.get("grounding"), summary.rejected
        assert not summary.rejected.get("answer"), summary.rejected
        return [Scenario.model_validate(e.scenario) for e in store.examples()]


@pytest.mark.parametrize("tools_file", TOOL_FILES, ids=lambda path: path.name)
def test_requests_never_paste_a_description_and_read_like_a_person(
    tools_file: Path, tmp_path: Path
) -> None:
    tools = load_tools(tools_file)
    described = set().union(*(_spans(tool.description) for tool in tools))
    examples = _examples(tools_file, tmp_path, per_tool=8)
    assert examples
    for scenario in examples:
        request = scenario.draft.user_request
        assert not _spans(request) & described, request
        assert not FORM_WORDS.search(request), request
        assert request[0].isupper() and request[-1] not in ",;: ", request


def test_values_are_stated_the_way_people_state_them(tmp_path: Path) -> None:
    """Dates spelt out, counts in words, options in words: and still grounded."""
    requests = " ".join(s.draft.user_request for s in _examples(EXAMPLE_TOOLS, tmp_path, 12))
    months = "January|February|March|April|May|June|July|August|September|October|November"
    assert re.search(rf"\b(?:{months}|December) \d{{1,2}}\b", requests)
    assert re.search(r"\bfor (?:two|three|four|five|six) passengers\b", requests)
    assert "premium economy" in requests  # premium_economy, as people say it
    assert re.search(r"\bfrom [A-Z]{3} to [A-Z]{3}\b", requests)


def test_a_thing_is_named_once_and_flags_say_what_to_do(tmp_path: Path) -> None:
    """ "book flight FLI-1", not "book a flight for flight FLI-1"; "and include orders", not
    "with include orders turned on"; never "cancel the order other reason"."""
    requests = [s.draft.user_request for s in _examples(EXAMPLE_TOOLS, tmp_path, 30)]
    text = " ".join(requests)
    assert not re.search(r"\b(flight|order)s? (for|\() ?\1 [A-Z]{3}-", text)
    assert re.search(r"\b(book|reserve|cancel|call off) (the )?(flight|order) [A-Z]{3}-\d", text)
    assert not re.search(r"include orders turned|yes to include|no to include", text)
    assert re.search(r"\b(and|don't|no need to) include orders\b", text)
    assert not re.search(r"\bother reason\b", text)


def test_no_opener_or_closer_covers_more_than_five_percent(tmp_path: Path) -> None:
    db, out = tmp_path / "s.duckdb", tmp_path / "out"
    made = run_cli(
        "generate", "--tools", EXAMPLE_TOOLS, "--per-tool", "60", "--seed", "7", "--db", db
    )
    assert made.returncode == 0, made.stderr
    exported = run_cli("export", "--db", db, "--out", out, "--eval-fraction", "0")
    assert exported.returncode == 0, exported.stderr
    requests = [line["messages"][0]["content"] for line in read_jsonl(out / "train.jsonl")]
    assert len(requests) == 600
    for pick in (lambda w: w[:3], lambda w: w[-3:]):
        top, count = Counter(" ".join(pick(_words(r))) for r in requests).most_common(1)[0]
        assert count / len(requests) <= 0.05, (top, count)


# -- mistakes models make -------------------------------------------------------------


def _error_recovery_plans(tools: ToolSet, count: int) -> list[Any]:
    plans = []
    for seed in range(count):
        faker = Faker()
        faker.seed_instance(seed)
        tool = list(tools)[seed % len(tools)]
        context = PlanContext(random.Random(seed), faker, attempt=0, seed=seed)
        plans.append(get_category("error_recovery").plan(tool, tools, context))
    return plans


def test_staged_mistakes_are_the_ones_models_make() -> None:
    tools = load_tools(EXAMPLE_TOOLS)
    plans = _error_recovery_plans(tools, 400)
    kinds = Counter(plan.failure_kind for plan in plans)
    assert set(kinds) >= {
        "wrong_format",
        "enum_value",
        "invented_parameter",
        "unknown_id",
        "missing_argument",
        "rate_limited",
        "timeout",
    }, kinds
    assert kinds["invalid_argument"] <= 0.05 * len(plans), kinds  # type swaps: the fallback
    teacher = OfflineTeacher()
    for plan in plans:
        scenario = Scenario(plan=plan, draft=teacher.write_now(plan, {t.name: t for t in tools}))
        assert validate_scenario(scenario, tools) is None, (plan.failure_kind, scenario.draft)
        failed, retry = plan.steps
        if plan.failure_kind == "wrong_format":
            changed = [
                k
                for k in retry.call.arguments
                if failed.call.arguments.get(k) != retry.call.arguments[k]
            ]
            assert len(changed) == 1 and isinstance(failed.call.arguments[changed[0]], str)


def test_error_results_differ_by_tool_and_kind() -> None:
    tools = load_tools(EXAMPLE_TOOLS)
    teacher = OfflineTeacher()
    shapes: dict[str, set[tuple[str, ...]]] = {}
    messages: dict[str, set[str]] = {}
    for plan in _error_recovery_plans(tools, 300):
        error = teacher.write_now(plan, {t.name: t for t in tools}).tool_results[0]["error"]
        core = ("code", "status", "type", "message", "detail", "reason", "title")
        shapes.setdefault(plan.tool, set()).add(tuple(k for k in sorted(error) if k in core))
        text = next(str(v) for k, v in error.items() if k in ("message", "detail", "reason"))
        messages.setdefault(str(plan.failure_kind), set()).add(re.sub(r"'[^']*'|\d+", "_", text))
    assert all(len(found) == 1 for found in shapes.values())  # one dialect per tool
    assert len(set().union(*shapes.values())) >= 3  # and not the same for every tool
    assert all(len(texts) >= 2 for texts in messages.values()), messages


def _rate_limited_scenario(wait_text: str) -> tuple[Scenario, ToolSet]:
    tools = load_tools(EXAMPLE_TOOLS)
    plan = next(p for p in _error_recovery_plans(tools, 200) if p.failure_kind == "rate_limited")
    draft = OfflineTeacher().write_now(plan, {t.name: t for t in tools})
    error = {"code": "rate_limited", "message": f"Too many requests; {wait_text}"}
    results = [{"error": error}, draft.tool_results[1]]
    wait = re.findall(r"\d+", wait_text)[0]  # the answer says how long it waited
    answer = re.sub(r"\b\d+(?= seconds|-second)", wait, draft.final_answer)
    changed = {**draft.model_dump(), "tool_results": results, "final_answer": answer}
    return Scenario(plan=plan, draft=ScenarioDraft(**changed)), tools


def test_a_retry_follows_the_wait_the_tool_asked_for() -> None:
    short, tools = _rate_limited_scenario("retry after 2 seconds")
    assert validate_scenario(short, tools) is None
    long, tools = _rate_limited_scenario("retry after 30 seconds")
    rejection = validate_scenario(long, tools)
    assert rejection is not None
    assert (rejection.stage, rejection.reason) == (
        CATEGORY,
        "rate_limited: the tool asked to wait 30 seconds; retrying at once ignores it",
    )
    minutes, tools = _rate_limited_scenario("try again in 2 min")
    assert validate_scenario(minutes, tools) is not None
    assert ErrorRecovery.name == "error_recovery"


def test_the_offline_answer_reports_result_data_not_ids(tmp_path: Path) -> None:
    # ids next to data (a booking's seat and price, a meeting's end time) are not the news;
    # a sent email's new message id is all its result holds, so that one may be said
    ids = re.compile(r"\b(?:BK|MTG|CNV|ORD)-\d+")
    # (an id the user gave may name which of several parallel calls a part is about)
    examples = _examples(EXAMPLE_TOOLS, tmp_path, 12)
    answers = [s.draft.final_answer for s in examples]
    assert not [
        s.draft.final_answer
        for s in examples
        if any(found not in s.draft.user_request for found in ids.findall(s.draft.final_answer))
    ]
    assert json.dumps(answers).count("updated at") == 0


def test_an_invented_parameter_error_names_only_what_was_sent() -> None:
    """A real API says "unknown parameter 'x'"; it never hints at the right name."""
    tools = load_tools(EXAMPLE_TOOLS)
    plans = [p for p in _error_recovery_plans(tools, 300) if p.failure_kind == "invented_parameter"]
    assert plans
    for plan in plans:
        failed, retry = plan.steps
        assert failed.failure is not None
        right = set(retry.call.arguments) - set(failed.call.arguments)
        assert right and not any(f"'{name}'" in failed.failure.detail for name in right)
        assert "the tool has" not in failed.failure.detail


def test_an_answer_names_the_new_records_id_not_a_key_that_ends_in_id() -> None:
    """A maker's answer reports the id it made, as ``identifies_record`` says: not
    ``valid`` or ``paid`` (which end in "id"), and a booking reference counts."""
    from callforge.generator.tool_kinds import classify

    teacher = OfflineTeacher()
    kind = classify("create_order", "Place an order.")
    made = teacher._made(kind, {"paid": "in full", "order_id": "ORD-52667"}, [], random.Random(1))
    assert "ORD-52667" in made and "in full" not in made
    booked = classify("book_room", "Book a hotel room.")
    made = teacher._made(booked, {"booking_reference": "BOO-11873"}, [], random.Random(1))
    assert "BOO-11873" in made

"""Spend guards against the local OpenAI-compatible server: the pilot, caps, the estimate.

The server's ``SchemaFillingResponder`` answers well-formed nonsense (every draft
is rejected); ``PlanResponder`` answers as a capable model. What the server
counts (requests, tokens, prompt-cache hits) is the independent check of what
callforge says it spent.
"""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path
from typing import Any

from faker import Faker

from callforge.generator.importers import load_tools
from callforge.generator.scenarios import get_category
from callforge.generator.scenarios.base import PlanContext
from callforge.generator.teachers.prompting import PromptBuilder
from callforge.generator.templating import EXAMPLE_TOOLS
from tests.conftest import run_cli
from tests.openai_server import ServerBehaviour, run_server
from tests.plan_responder import PlanResponder

PRICES = ["--price-in", "0.15", "--price-out", "0.6"]


def _generate(
    base_url: str, db: Path, per_tool: int, *extra: str, env: dict[str, str] | None = None
) -> Any:
    return run_cli(
        "generate",
        "--tools",
        EXAMPLE_TOOLS,
        "--per-tool",
        per_tool,
        "--seed",
        "5",
        "--db",
        db,
        "--teacher",
        "openai",
        "--model",
        "m",
        "--base-url",
        base_url,
        *extra,
        env={"OPENAI_API_KEY": "test-key", **(env or {})},
    )


def _stats(db: Path) -> dict[str, Any]:
    result = run_cli("stats", "--db", db, "--json", *PRICES)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _server_cost(stats: Any) -> float:
    return (stats.prompt_tokens * 0.15 + stats.completion_tokens * 0.6) / 1e6


def test_a_teacher_whose_drafts_are_all_rejected_stops_within_the_pilot(tmp_path: Path) -> None:
    db = tmp_path / "nonsense.duckdb"
    with run_server(ServerBehaviour()) as server:  # well-formed nonsense, never accepted
        result = _generate(
            server.base_url, db, 20, "--concurrency", "4", *PRICES, env={"COLUMNS": "250"}
        )
        sent_to_server = server.stats.total
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    match = re.match(
        r"error: stopped with 200 of 200 examples still missing \((\d+) requests sent\): "
        r"the pilot: 0 of the first 20 paid attempts were accepted \(0%, under 20%\); "
        r"top reasons: (.+)\. Try another --mode",
        last,
    )
    assert match, last
    # Within the pilot: 20 judged drafts plus those in flight (4 + 2 + 4), 3 asks each,
    # where the attempt budget of 200 examples would have allowed thousands.
    assert sent_to_server <= int(match.group(1)) <= (20 + 10) * 3
    stats = _stats(db)
    assert stats["accepted_total"] == 0 and stats["rejections_total"] >= 20
    top = stats["rejections_by_reason"][0]
    assert f"{top['stage']}: {top['reason']} (after re-asks) ({top['count']})" in match.group(2)
    assert top["stage"] != "teacher"  # the validator's own stage, not the teacher's wrapper
    # The progress bar: done of missing, time elapsed and an estimate of the time left,
    # and the most common rejection so far.
    bar = next(line for line in result.stderr.splitlines() if line.startswith("generating"))
    assert re.search(r" 0/200 +\d:\d\d:\d\d eta (-:--:--|\d:\d\d:\d\d) rejected \d+", bar), bar
    assert f"top: {top['stage']}: " in bar


def test_max_cost_stops_the_run_at_its_cap(tmp_path: Path) -> None:
    db = tmp_path / "capped.duckdb"
    cap = 0.01
    with run_server(ServerBehaviour(), responder=PlanResponder()) as server:
        result = _generate(server.base_url, db, 10, "--max-cost", str(cap), *PRICES)
        billed = _server_cost(server.stats)
    assert result.returncode == 1
    assert f"--max-cost {cap:g} reached" in result.stderr.strip().splitlines()[-1]
    stats = _stats(db)
    assert 0 < stats["accepted_total"] < 100
    # What the server answered, requests in flight included: in flight they are reserved
    # at the dearest request so far (the estimate's, before any answer), but a re-ask's
    # longer prompt can still cost a little more than that.
    assert billed <= cap * 1.05
    # Stopped near the cap, not well before it: within a round of requests.
    assert 0.5 * cap <= stats["usage"]["cost"] <= cap * 1.05


def test_max_requests_caps_what_the_server_sees(tmp_path: Path) -> None:
    db = tmp_path / "few.duckdb"
    with run_server(ServerBehaviour(), responder=PlanResponder()) as server:
        result = _generate(server.base_url, db, 4, "--max-requests", "15")
        assert server.stats.total == 15
    assert result.returncode == 1
    assert "(15 requests sent): --max-requests 15 reached" in result.stderr
    assert _stats(db)["usage"]["requests"] <= 15


def test_the_estimate_comes_before_the_first_request(tmp_path: Path) -> None:
    db = tmp_path / "estimated.duckdb"
    with run_server(ServerBehaviour(), responder=PlanResponder()) as server:
        result = _generate(server.base_url, db, 4, *PRICES)
        served = server.stats
    assert result.returncode == 0, result.stderr
    first = result.stderr.splitlines()[0]
    estimate = re.match(
        r"estimate: 40 examples to make, one request each before re-asks: "
        r"~([\d,]+) prompt \+ ~([\d,]+) completion tokens .*, about ([\d.]+) at 0.15 in / "
        r"0.6 out per million tokens$",
        first,
    )
    assert estimate, first
    # The server bills the body it received; the estimate rendered prompts of its own.
    estimated_per_request = int(estimate.group(1).replace(",", "")) / 40
    assert 0.8 < estimated_per_request / (served.prompt_tokens / served.total) < 1.25


def test_the_estimate_counts_the_judges_requests(tmp_path: Path) -> None:
    """With --judge every draft is graded by a second request: the estimate says so and
    its prompt tokens match what the server was sent for drafts and grades together."""
    db = tmp_path / "judged.duckdb"
    with run_server(ServerBehaviour(), responder=PlanResponder()) as server:
        result = _generate(server.base_url, db, 4, "--judge", *PRICES)
        served = server.stats
    assert result.returncode == 0, result.stderr
    first = result.stderr.splitlines()[0]
    estimate = re.match(
        r"estimate: 40 examples to make, 2 requests each \(the draft and its --judge grade\) "
        r"before re-asks: ~([\d,]+) prompt \+ ~([\d,]+) completion tokens "
        r"\(~[\d,]+ \+ ~350 per draft, ~([\d,]+) \+ ~60 per grade, counted as characters / 4\), "
        r"about ([\d.]+) at 0.15 in / 0.6 out per million tokens$",
        first,
    )
    assert estimate, first
    assert served.total == 80  # every draft accepted at once, each graded once
    estimated = int(estimate.group(1).replace(",", ""))
    assert 0.8 < estimated / served.prompt_tokens < 1.25
    assert estimate.group(2) == f"{40 * (350 + 60):,}"
    cost = (estimated * 0.15 + 40 * (350 + 60) * 0.6) / 1e6
    assert float(estimate.group(4)) == round(cost, 4)


def test_cached_prompt_tokens_are_recorded_as_the_endpoint_reports_them(tmp_path: Path) -> None:
    db = tmp_path / "cached.duckdb"
    with run_server(ServerBehaviour()) as server:  # rejected drafts: re-asks repeat prompts
        result = _generate(server.base_url, db, 1, "--pilot", "0", *PRICES)
        served = server.stats
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: the run ended ")
    usage = _stats(db)["usage"]
    assert usage["requests"] == served.total
    assert usage["cached_tokens"] == served.cached_tokens > 0
    shown = run_cli("stats", "--db", db, *PRICES)
    assert f"({usage['cached_tokens']:,} served from the provider's prompt cache)" in shown.stdout


def test_the_static_part_of_every_prompt_comes_first() -> None:
    """Two attempts at one cell share the prompt up to and including the tools' JSON.

    The system prompt and the response schema come before it in every request.
    """
    tools = load_tools(EXAMPLE_TOOLS)
    builder = PromptBuilder()
    faker = Faker()
    for category in ("single", "error_recovery", "multi_step"):
        prompts = []
        for attempt in (1, 2):
            faker.seed_instance(attempt)
            context = PlanContext(
                rng=random.Random(attempt),
                faker=faker,
                attempt=attempt,
                seed=attempt,
                optional_rate=0.5,
                style={"persona": f"persona {attempt}"},
            )
            plan = get_category(category).plan(tools["search_flights"], tools, context)
            used = tuple(tools[name] for name in plan.tools_used())
            prompts.append((builder.user_prompt(plan, used), used))
        (first, used), (second, _) = prompts
        shared = os.path.commonprefix([first, second])  # noqa: RUF071 (text, not paths)
        tools_block = first.index("## Tools")
        tools_end = first.index("```", first.index("```json", tools_block) + 7) + 3
        # A multi_step plan's tools depend on the chain drawn, so only its text is fixed.
        static_end = tools_block + len("## Tools") if category == "multi_step" else tools_end
        assert len(shared) >= static_end, (category, first[len(shared) - 40 : len(shared) + 40])
        assert "search_flights" not in first[:tools_block]  # nothing of the plan before


def test_stats_shows_the_validators_reasons_acceptance_and_spend(tmp_path: Path) -> None:
    db = tmp_path / "nothing.duckdb"
    with run_server(ServerBehaviour()) as server:  # every draft rejected
        assert _generate(server.base_url, db, 2).returncode == 1
    result = run_cli("stats", "--db", db, *PRICES)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "None" not in text and "nothing accepted yet; cost " in text
    data = _stats(db)
    lines = text.splitlines()
    start = lines.index("  reasons, grouped by the validator's stage (values masked):")
    reasons = [re.match(r"^\s+(\d+)  ([a-z_]+): (.+)$", line) for line in lines[start + 1 :]]
    reasons = [m for m in reasons if m]
    assert sum(int(m.group(1)) for m in reasons) == data["rejections_total"] > 0
    assert "teacher" not in {m.group(2) for m in reasons}  # the validator's stage, unwrapped
    assert not any("output did not fit" in m.group(3) for m in reasons)
    for m in reasons:  # an argument's path is tool.argument, never run together
        assert not re.search(r"ungrounded value: \w+ =", m.group(3)), m.group(3)
    # The pilot stops the run after its first paid attempts and cancels those in flight:
    # on a loaded machine a cell's only attempts can be among them. Such a cell has no
    # acceptance yet; every other one shows 0% of its attempts.
    tried = [cell for cell in data["cells"] if cell["attempts"]]
    assert len(tried) >= len(data["cells"]) // 2
    for cell in data["cells"]:
        assert cell["acceptance"] == (0.0 if cell["attempts"] else None)
    for cell in tried:
        assert re.search(rf"{cell['tool'][:12]}.*0% of {cell['attempts']}", text)  # names cut

"""Client CPU per example of the three per-example pipeline stages, measured apart.

Run by hand: ``.venv/bin/python benchmarks/bench_stages.py [--examples N] [--repeat R]``.

Uses the example tool set and the pipeline's own pieces, without the event loop:

* plan: ``Generation._plan`` (seeded arguments + scenario plan), per attempt;
* validate: ``validate_scenario`` on the offline teacher's drafts, per attempt;
* store: ``Store.write_batch`` of the accepted examples, in batches of ``--batch``
  rows (the offline run flushes every 64; an LLM run flushes every 0.5 s, so
  smaller batches), into a fresh DuckDB file per repetition;
* store+cache: the same as an LLM teacher's run writes it: examples with token
  usage, each with its response for the teacher cache.

Each figure is CPU time (``time.process_time()``, all threads, so DuckDB's
workers count) per example, best of ``--repeat``. The last line is a digest of
the plans, verdicts and stored rows: equal digests mean unchanged output.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from callforge.generator.dedup import dedup_key
from callforge.generator.importers import load_tools
from callforge.generator.pipeline import GenerateConfig, Generation, cell_targets
from callforge.generator.scenarios.base import Scenario, ScenarioPlan
from callforge.generator.teachers.base import CacheEntry, Usage
from callforge.generator.teachers.offline import OfflineTeacher
from callforge.generator.tools import ToolSet
from callforge.generator.validate import Rejection, validate_scenario
from callforge.store import ExampleRow, RejectionRow, Store

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "templates" / "examples" / "tools.json"


def cells_round_robin(tools: ToolSet, examples: int) -> list[tuple[tuple[str, str], int]]:
    """(cell, attempt number) in the pipeline's round-robin order."""
    targets, _ = cell_targets(tools, max(1, examples // len(tools)), GenerateConfig().mix)
    order: list[tuple[tuple[str, str], int]] = []
    number = 0
    while len(order) < examples:
        for cell in targets:
            order.append((cell, number))
        number += 1
    return order[:examples]


def best(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    """Fewest CPU seconds of ``repeat`` calls of ``run``, and its last result."""
    spent, result = float("inf"), None
    for _ in range(repeat):
        started = time.process_time()
        result = run()
        spent = min(spent, time.process_time() - started)
    return spent, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, nargs="+", default=[64, 16])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    tools = load_tools(TOOLS)
    teacher = OfflineTeacher()
    order = cells_round_robin(tools, args.examples)
    digest = hashlib.sha256()
    figures: dict[str, float] = {}

    with tempfile.TemporaryDirectory(prefix="callforge-stages-") as work:
        with Store(Path(work) / "plan.duckdb") as store:
            generation = Generation(store, tools, teacher, GenerateConfig(seed=args.seed))

            def plan_all() -> list[ScenarioPlan]:
                return [generation._plan(cell, number) for cell, number in order]

            seconds, plans = best(args.repeat, plan_all)
            figures["plan"] = seconds
        for plan in plans:
            digest.update(plan.model_dump_json().encode())

        scenarios = []
        for plan in plans:
            used = {name: tools[name] for name in plan.tools_used()}
            scenarios.append(Scenario(plan=plan, draft=teacher.write_now(plan, used)))

        def validate_all() -> list[Rejection | None]:
            return [validate_scenario(scenario, tools) for scenario in scenarios]

        seconds, verdicts = best(args.repeat, validate_all)
        figures["validate"] = seconds
        digest.update(repr(verdicts).encode())

        examples, rejections = rows(tools, scenarios, verdicts)
        spent_tokens = Usage(1, 900, 250)
        llm_examples = [replace(e, teacher="openai", usage=spent_tokens) for e in examples]
        cache = [
            CacheEntry(e.dedup_key, "openai", e.scenario["draft"], spent_tokens) for e in examples
        ]
        for label, written, entries in (
            ("store", examples, []),
            ("store+cache", llm_examples, cache),
        ):
            for batch in args.batch:
                spent = float("inf")
                for repetition in range(args.repeat):
                    with Store(Path(work) / f"{label}-{batch}-{repetition}.duckdb") as store:
                        run_id = store.begin_run("generate", {})
                        started = time.process_time()
                        for start in range(0, len(written), batch):
                            store.write_batch(
                                run_id,
                                written[start : start + batch],
                                rejections[start // batch :: len(written) // batch + 1],
                                entries[start : start + batch],
                            )
                        spent = min(spent, time.process_time() - started)
                        stored = store.examples()
                        cached = [store.cache_get(entry.key) for entry in entries[:50]]
                figures[f"{label}/{batch}"] = spent
                digest.update(json.dumps([(e.example_id, e.scenario) for e in stored]).encode())
                digest.update(repr(cached).encode())

    count = len(order)
    print(f"{count} attempts, {sum(v is None for v in verdicts)} accepted")
    for stage, seconds in figures.items():
        print(f"{stage:<12}{1e6 * seconds / count:>9.1f} us CPU per example")
    print(f"digest {digest.hexdigest()[:16]}")


def rows(
    tools: ToolSet, scenarios: list[Scenario], verdicts: list[Rejection | None]
) -> tuple[list[ExampleRow], list[RejectionRow]]:
    """Rows as ``Generation._record`` builds them."""
    examples: list[ExampleRow] = []
    rejections: list[RejectionRow] = []
    seen: set[str] = set()
    for scenario, verdict in zip(scenarios, verdicts, strict=True):
        plan = scenario.plan
        tool = tools[plan.tool]
        if verdict is not None:
            rejections.append(
                RejectionRow(
                    tool.name,
                    tool.content_hash,
                    plan.category,
                    plan.attempt,
                    verdict.stage,
                    verdict.reason,
                    scenario.model_dump(mode="json"),
                )
            )
            continue
        key = dedup_key(scenario)
        if key in seen:
            continue
        seen.add(key)
        examples.append(
            ExampleRow(
                example_id=key[:20],
                tool_name=tool.name,
                tool_hash=tool.content_hash,
                category=plan.category,
                attempt=plan.attempt,
                failure_kind=plan.failure_kind,
                dedup_key=key,
                user_request=scenario.draft.user_request,
                tool_hashes=[tools[n].content_hash for n in plan.tools_used()],
                scenario=scenario.model_dump(mode="json"),
                teacher="offline",
            )
        )
    return examples, rejections


if __name__ == "__main__":
    main()

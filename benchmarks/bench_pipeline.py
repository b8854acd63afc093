"""How fast the whole pipeline turns the example tool set into an exported dataset.

Run by hand: ``.venv/bin/python benchmarks/bench_pipeline.py [--examples N]``
(``make bench`` runs exactly that). It generates N examples with the offline
teacher from ``templates/examples/tools.json`` into a fresh DuckDB file, exports
train/eval JSONL + manifest, and re-checks every exported line the way a consumer
would. Prints a table of seconds and examples/s per stage, the end-to-end wall
time, peak RSS, and a last line of JSON with the same figures for scripts.

Stages (plan, teacher, validate, store are the pipeline's own ``stage_seconds``):

* plan: seeding arguments and building the scenario plan, per attempt;
* teacher: the offline teacher writing request, results and answer, per attempt;
* validate: ``validate_scenario``, per attempt;
* store: ``Store.write_batch`` transactions;
* other: the rest of ``generate`` (seedability check, dedup keys, row building, loop);
* export: ``export_dataset`` (read back, split, render, write files);
* revalidate: parse each exported line and run ``check_conversation`` on it.

examples/s divides the examples a stage delivered (accepted, exported or
re-checked lines) by its seconds; attempts/s divides every attempt, accepted or
rejected, for the stages that run once per attempt. End to end is setup +
generate + export; revalidate is the consumer's step and is reported apart.

To profile: ``.venv/bin/python -m cProfile -o bench.prof benchmarks/bench_pipeline.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from callforge.generator.export import ExportConfig, export_dataset
from callforge.generator.importers import load_tools
from callforge.generator.pipeline import GenerateConfig, RunSummary, generate
from callforge.generator.teachers import get_teacher
from callforge.generator.validate import check_conversation
from callforge.store import Store

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "templates" / "examples" / "tools.json"
PER_ATTEMPT_STAGES = ("plan", "teacher", "validate")


def run_pipeline(examples: int, seed: int, work: Path) -> dict[str, Any]:
    """Generate, store and export ``examples`` examples under ``work``; return the figures."""
    phases: dict[str, float] = {}
    started = tick = time.perf_counter()
    tools = load_tools(TOOLS)
    per_tool = math.ceil(examples / len(tools))
    with Store(work / "bench.duckdb") as store:
        tick = _lap(phases, "setup", tick)
        config = GenerateConfig(per_tool=per_tool, seed=seed)
        summary = asyncio.run(generate(store, tools, get_teacher("offline"), config))
        tick = _lap(phases, "generate", tick)
        manifest = export_dataset(store, work / "data", ExportConfig(seed=seed))
        tick = _lap(phases, "export", tick)
    wall = time.perf_counter() - started
    rechecked, failures = revalidate(work / "data")
    _lap(phases, "revalidate", tick)
    exported = sum(manifest["totals"].values())
    return {
        "tools": len(tools),
        "per_tool": per_tool,
        "accepted": summary.accepted,
        "attempts": summary.accepted + sum(summary.rejected.values()),
        "rejected": dict(summary.rejected),
        "unfilled": sum(summary.unfilled.values()),
        "exported": exported,
        "revalidated": rechecked,
        "revalidate_failures": failures,
        "stages": stage_rows(summary, phases, exported, rechecked),
        "phase_seconds": phases,
        "wall_seconds": wall,
        "wall_examples_per_second": exported / wall,
        "peak_rss_mib": peak_rss_mib(),
        "db_bytes": (work / "bench.duckdb").stat().st_size,
        "export_bytes": sum(f["bytes"] for f in manifest["files"].values()),
    }


def _lap(phases: dict[str, float], name: str, since: float) -> float:
    now = time.perf_counter()
    phases[name] = now - since
    return now


def revalidate(data: Path) -> tuple[int, int]:
    """Re-check every exported line as a consumer would: (lines checked, lines rejected)."""
    checked = failures = 0
    for name in ("train.jsonl", "eval.jsonl"):
        with (data / name).open(encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                schemas = {
                    t["function"]["name"]: t["function"]["parameters"] for t in record["tools"]
                }
                checked += 1
                failures += check_conversation(record["messages"], schemas) is not None
    return checked, failures


def stage_rows(
    summary: RunSummary, phases: dict[str, float], exported: int, rechecked: int
) -> dict[str, dict[str, float | None]]:
    """Seconds, examples/s and (per-attempt stages) attempts/s for every stage."""
    attempts = summary.accepted + sum(summary.rejected.values())
    seconds = {"setup": phases["setup"], **summary.stage_seconds}
    seconds["other"] = phases["generate"] - sum(summary.stage_seconds.values())
    seconds["export"] = phases["export"]
    seconds["revalidate"] = phases["revalidate"]
    delivered = {"setup": 0, "export": exported, "revalidate": rechecked}
    rows: dict[str, dict[str, float | None]] = {}
    for stage in ("setup", *PER_ATTEMPT_STAGES, "store", "other", "export", "revalidate"):
        spent = seconds.get(stage, 0.0)
        count = delivered.get(stage, summary.accepted)
        rows[stage] = {
            "seconds": spent,
            "examples_per_second": count / spent if spent and count else None,
            "attempts_per_second": attempts / spent if stage in PER_ATTEMPT_STAGES else None,
        }
    return rows


def peak_rss_mib() -> float:
    """Peak resident set size of this process; ru_maxrss is KiB on Linux, bytes on macOS."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def print_table(figures: dict[str, Any]) -> None:
    wall = figures["wall_seconds"]
    print(
        f"callforge pipeline: {figures['tools']} tools x {figures['per_tool']} per tool, "
        f"{figures['attempts']} attempts, {figures['accepted']} accepted, "
        f"rejected {figures['rejected'] or 'none'}, unfilled {figures['unfilled']}"
    )
    print(f"{'stage':<11}{'seconds':>9}{'share':>8}{'examples/s':>12}{'attempts/s':>12}")
    for stage, row in figures["stages"].items():
        share = "" if stage == "revalidate" else f"{row['seconds'] / wall:.0%}"
        print(
            f"{stage:<11}{row['seconds']:>9.2f}{share:>8}"
            f"{_rate(row['examples_per_second']):>12}{_rate(row['attempts_per_second']):>12}"
        )
    print(
        f"{'end to end':<11}{wall:>9.2f}{'100%':>8}{_rate(figures['wall_examples_per_second']):>12}"
    )
    print(
        f"exported {figures['exported']} lines ({figures['export_bytes'] / 1e6:.1f} MB), "
        f"revalidate rejected {figures['revalidate_failures']}; "
        f"db {figures['db_bytes'] / 1e6:.1f} MB; peak RSS {figures['peak_rss_mib']:.0f} MiB"
    )


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=10_000, help="examples to generate")
    parser.add_argument("--seed", type=int, default=0, help="generation and export seed")
    parser.add_argument("--keep", type=Path, help="folder to keep the store and export in")
    args = parser.parse_args()
    if args.examples < 1:
        parser.error("--examples must be at least 1")
    if args.keep is not None:
        if (args.keep / "bench.duckdb").exists():
            parser.error(
                f"--keep {args.keep} already holds bench.duckdb; remove it or pick another"
            )
        args.keep.mkdir(parents=True, exist_ok=True)
        figures = run_pipeline(args.examples, args.seed, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="callforge-bench-") as work:
            figures = run_pipeline(args.examples, args.seed, Path(work))
    print_table(figures)
    print(json.dumps(_rounded({"benchmark": "pipeline", "examples": args.examples, **figures})))


def _rounded(value: Any) -> Any:
    """Floats to 3 decimals, so the JSON line stays readable in a CI log."""
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return value


if __name__ == "__main__":
    main()

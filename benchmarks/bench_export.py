"""Export at scale: time and peak memory per format, and near-duplicate grouping's growth.

Run by hand: ``.venv/bin/python benchmarks/bench_export.py --examples 100000 [--examples
1000000] [--formats openai,hf] [--keep DIR]``. For each N it builds a store of N examples:
a base of examples the offline teacher writes from ``templates/examples/tools.json``
(the real pipeline), copied up to N through ``Store.write_batch`` with fresh ids, each
copy given its own request (words drawn from the base requests' vocabulary, so near
duplicates stay as rare as chance makes them) and its own string arguments (so copies
share no call). Then, each in a child process whose peak RSS is read with ``wait4``:

* ``export --format F`` for each format (the first one also signs the N requests and
  groups them; the later ones find the signatures stored);
* grouping alone (``group_examples`` over stored signatures) and signing alone
  (``key_new_examples``), in a child of their own, to see how each grows with N.

``--grouping-only`` skips the conversations: it fills a store with N requests of 12-30
words drawn from a 2,000-word vocabulary (every 20th a near duplicate of the one before:
the same words and one more) and one distinct call each, by SQL, and times signing plus
grouping, then grouping alone; what it measures is how grouping grows with N.

Prints one table row per (N, step): seconds, examples/s, peak RSS; a last line of JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "templates" / "examples" / "tools.json"
BASE = 2_000
BATCH = 5_000


def build_store(path: Path, examples: int, seed: int) -> float:
    """A store of ``examples`` examples; returns the seconds it took."""
    import asyncio

    import duckdb

    from callforge.generator.importers import load_tools
    from callforge.generator.pipeline import GenerateConfig, generate
    from callforge.generator.teachers import get_teacher
    from callforge.store import Store

    started = time.perf_counter()
    tools = load_tools(TOOLS)
    with Store(path) as store:
        config = GenerateConfig(per_tool=math.ceil(min(examples, BASE) / len(tools)), seed=seed)
        asyncio.run(generate(store, tools, get_teacher("offline"), config))
    with duckdb.connect(str(path), read_only=True) as db:
        base = db.execute(
            "SELECT example_id, tool_name, tool_hash, category, failure_kind, tool_hashes, "
            "scenario, run_id FROM examples ORDER BY example_id"
        ).fetchall()
    words = sorted({w for row in base for w in json.loads(row[6])["draft"]["user_request"].split()})
    rng = random.Random(seed)
    made = len(base)
    with Store(path) as store:
        while made < examples:
            rows = [copy_of(base[made % len(base)], index, rng, words)
                    for index in range(made, min(made + BATCH, examples))]  # fmt: skip
            store.write_batch(base[0][7], rows, [])
            made += len(rows)
    return time.perf_counter() - started


def copy_of(row: tuple[Any, ...], index: int, rng: random.Random, words: list[str]) -> Any:
    """A copy of a base example with its own request and its own string arguments."""
    from callforge.store import ExampleRow

    example_id, tool, tool_hash, category, kind, hashes, scenario, _ = row
    copy = json.loads(scenario)
    request = " ".join(rng.choices(words, k=rng.randint(12, 30)))
    copy["draft"]["user_request"] = request
    for step in copy["plan"]["steps"]:
        arguments = step["call"]["arguments"]
        for name, value in arguments.items():
            if isinstance(value, str):
                arguments[name] = f"{value}-{index}"
    return ExampleRow(
        example_id=f"{index:012d}{example_id[:8]}",
        tool_name=tool,
        tool_hash=tool_hash,
        category=category,
        attempt=index,
        failure_kind=kind,
        dedup_key=f"bench-{index}",
        user_request=request,
        tool_hashes=list(hashes),
        scenario=copy,
        teacher="offline",
    )


def child(code: str) -> tuple[float, int]:
    """Run ``code`` in a fresh Python; (seconds, peak RSS in MiB) of that process alone."""
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code])
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"child failed ({status}): {code}")
    return seconds, usage.ru_maxrss // 1024


BUILD = """
import sys
sys.path.insert(0, {here!r})
from bench_export import build_store
build_store(__import__("pathlib").Path({db!r}), {size}, {seed})
""".replace("{here!r}", repr(str(Path(__file__).resolve().parent)))
REQUESTS = """
import duckdb
from callforge.store import Store
Store({db!r}).close()  # a migrated, empty store
words = [f"w{{i}}" for i in range(2000)]
with duckdb.connect({db!r}) as db:
    db.execute(
        \"\"\"
        INSERT INTO examples (example_id, run_id, tool_name, tool_hash, category, attempt,
            dedup_key, user_request, tool_hashes, scenario, teacher, created_at)
        SELECT printf('%020d', i), 'bench', 'tool', 'h', 'single', i, printf('k%d', i),
            array_to_string(list_transform(range((12 + hash(b) % 19)::BIGINT),
                lambda k: $words[(1 + hash(b * 131 + k) % 2000)::BIGINT]), ' ')
                || CASE WHEN i % 20 = 0 THEN ' more' ELSE '' END,
            ['h'],
            '{{"plan": {{"steps": [{{"call": {{"name": "tool", "arguments": {{"q": ' || i
                || '}}}}, "failure": null}}]}}}}',
            'bench', now()
        FROM (SELECT i, CASE WHEN i % 20 = 0 THEN i - 1 ELSE i END AS b
              FROM range(1, {size} + 1) t(i))
        \"\"\",
        {{"words": words}},
    )
"""
EXPORT = """
from callforge.generator.export import ExportConfig, export_dataset
from callforge.store import Store
with Store({db!r}) as store:
    export_dataset(store, {out!r}, ExportConfig(format={fmt!r}))
"""
SIGN = """
import duckdb
from callforge.generator.near_duplicates import key_new_examples
from callforge.store import Store
with duckdb.connect({db!r}) as db:  # forget the signatures the exports made
    db.execute("DELETE FROM request_signatures")
    db.execute("DELETE FROM example_calls")
with Store({db!r}) as store:
    key_new_examples(store)
"""
GROUP = """
from callforge.generator.near_duplicates import group_examples
from callforge.store import Store
with Store({db!r}) as store:
    group_examples(store)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, action="append", help="N (repeatable)")
    parser.add_argument(
        "--formats",
        default="openai,hf,axolotl,llamafactory,hermes",
        help="comma-separated; empty: only signing and grouping",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--grouping-only", action="store_true", help="time grouping alone")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    sizes = args.examples or [10_000, 100_000]
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_export_"))
    results: list[dict[str, Any]] = []
    print(f"{'N':>9} {'step':<24} {'seconds':>9} {'examples/s':>11} {'peak RSS MiB':>13}")
    for size in sizes:
        if args.grouping_only:
            db = work / f"requests-{size}.duckdb"
            steps = [
                ("fill requests", REQUESTS.format(db=str(db), size=size)),
                ("sign and group", GROUP.format(db=str(db))),
                ("group", GROUP.format(db=str(db))),
            ]
            db.unlink(missing_ok=True)
            for name, code in steps:
                seconds, rss = child(code)
                results.append(
                    {
                        "examples": size,
                        "step": name,
                        "seconds": round(seconds, 2),
                        "peak_rss_mib": rss,
                    }
                )
                print(f"{size:>9} {name:<24} {seconds:>9.1f} {size / seconds:>11.0f} {rss:>13}")
            continue
        db = work / f"bench-{size}.duckdb"
        if not db.exists():  # in a child too: a forked child starts with its parent's RSS
            built, rss = child(BUILD.format(db=str(db), size=size, seed=args.seed))
            print(f"{size:>9} {'build store':<24} {built:>9.1f} {'':>11} {rss:>13}")
        steps = [
            (
                f"export {fmt}",
                EXPORT.format(db=str(db), out=str(work / f"out-{size}-{fmt}"), fmt=fmt),
            )
            for fmt in args.formats.split(",")
            if fmt
        ]
        steps += [
            ("sign requests", SIGN.format(db=str(db))),
            ("group", GROUP.format(db=str(db))),
        ]
        for name, code in steps:
            seconds, rss = child(code)
            results.append(
                {"examples": size, "step": name, "seconds": round(seconds, 2), "peak_rss_mib": rss}
            )
            print(f"{size:>9} {name:<24} {seconds:>9.1f} {size / seconds:>11.0f} {rss:>13}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()

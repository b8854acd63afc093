"""Export at scale: time and peak memory per format and N, and grouping's growth with N.

One command, run by hand (about 15 minutes on 2 busy cores; building and signing the
1,000,000-example store take most of it)::

    .venv/bin/python benchmarks/bench_export.py --examples 100000 --examples 1000000 \\
        --tools 10000 [--formats openai,hf] [--keep /tmp/bench]

``--examples N`` builds a store of N examples: a base of 2,000 written by the real
pipeline (offline teacher, ``templates/examples/tools.json``), multiplied up to N
by SQL (``INSERT ... SELECT``: fresh ids, requests of 12-30 words of the base's
vocabulary, every 20th a near duplicate of the one before, arguments made
distinct). ``--tools N`` builds a store of N distinct tools with one example each
(renamed copies of the example tools); its lines list ``--tools-per-example``
tools (default 8: the whole set would write N x N tool definitions).

For each store, in a child process each (peak RSS read with ``wait4``): signing
the requests (MinHash), grouping (LSH buckets and components in DuckDB), then
``export`` in every format (which groups again: its time includes that). Prints
seconds, examples/s and peak RSS per step, then each step's growth from the
smallest N to the largest, then the figures as JSON.

Figures of 2 December 2026, 2 cores shared with other sessions (load 1-4), export
openai: 100,000 examples 32.8 s, 339 MiB; 300,000 77.9 s, 390 MiB; 1,000,000
258.9 s, 417 MiB (961 s before the final stream read 20,000 places per query); with
DuckDB capped at 128 MB instead of 256 MB: 250, 270 and 286 MiB. 10,000 tools:
5-7 s per format (20-22 s before the stale check became an anti-join).
"""

from __future__ import annotations

import argparse
import json
import math
import os
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


def build_store(path: Path, examples: int, seed: int) -> float:
    """A store of ``examples`` examples; returns the seconds it took.

    A base of up to ``BASE`` examples comes from the real pipeline (offline teacher);
    the rest are copies made by one SQL statement per ``CHUNK``: each copy gets a
    fresh id, its own request (12-30 words of the base requests' vocabulary chosen by
    a hash of its index; every 20th copy is the one before plus a word, a near
    duplicate) and its own arguments (the copy's index appended to string arguments,
    or put in an integer one), so copies share no call."""
    started = time.perf_counter()
    base = _base_examples(path, min(examples, BASE), seed)
    words = sorted({w for row in base for w in row["request"].split()})
    templates = [_template(row) for row in base]
    with duckdb_connect(path) as db:
        insert_columns(db, "CREATE TEMP TABLE bench_base AS SELECT", templates)
        for start in range(len(base), examples, CHUNK):
            db.execute(
                COPIES,
                {
                    "start": start,
                    "stop": min(start + CHUNK, examples),
                    "words": words,
                    "base": len(base),
                },
            )
    return time.perf_counter() - started


def _base_examples(path: Path, size: int, seed: int) -> list[dict[str, Any]]:
    """Generate ``size`` examples with the offline teacher; read them back."""
    import asyncio

    from callforge.generator.importers import load_tools
    from callforge.generator.pipeline import GenerateConfig, generate
    from callforge.generator.teachers import get_teacher
    from callforge.store import Store

    tools = load_tools(TOOLS)
    with Store(path) as store:
        config = GenerateConfig(per_tool=math.ceil(size / len(tools)), seed=seed)
        asyncio.run(generate(store, tools, get_teacher("offline"), config))
    with duckdb_connect(path) as db:
        rows = db.execute(
            "SELECT example_id, run_id, tool_name, tool_hash, category, failure_kind, "
            "tool_hashes, scenario, user_request FROM examples ORDER BY example_id"
        ).fetchall()
    keys = (
        "example_id",
        "run_id",
        "tool_name",
        "tool_hash",
        "category",
        "failure_kind",
        "tool_hashes",
        "scenario",
        "request",
    )
    return [dict(zip(keys, row, strict=True)) for row in rows]


def _template(row: dict[str, Any]) -> dict[str, Any]:
    """A base example with placeholders where a copy puts its request and its index."""
    scenario = json.loads(row["scenario"])
    scenario["draft"]["user_request"] = REQUEST
    for step in scenario["plan"]["steps"]:
        arguments = step["call"]["arguments"]
        strings = [name for name, value in arguments.items() if isinstance(value, str)]
        for name in strings:
            arguments[name] = f"{arguments[name]}-{COPY}"
        numbers = [name for name, value in arguments.items() if type(value) is int]
        if not strings and numbers:
            arguments[numbers[0]] = NUMBER
    return {**row, "scenario": json.dumps(scenario)}


def insert_columns(
    db: Any,
    statement: str,
    rows: list[dict[str, Any]],
    *,
    columns: tuple[str, ...] | None = None,
    extra: str = "",
) -> None:
    """``statement`` followed by one ``unnest`` per column of ``rows``: one statement in all."""
    names = columns or tuple(rows[0])
    selects = [f"unnest(${name}) AS {name}" for name in names] + ([extra] if extra else [])
    db.execute(f"{statement} {', '.join(selects)}", {n: [r[n] for r in rows] for n in names})


def duckdb_connect(path: Path) -> Any:
    import duckdb

    connection = duckdb.connect(str(path))
    connection.execute("SET enable_progress_bar = false")
    return connection


REQUEST, COPY, NUMBER = "@@request@@", "@@copy@@", "@@number@@"
CHUNK = 200_000
COPIES = f"""
INSERT INTO examples (example_id, run_id, tool_name, tool_hash, category, attempt,
    failure_kind, dedup_key, user_request, tool_hashes, scenario, teacher, created_at)
SELECT printf('%012d', i) || left(b.example_id, 8), b.run_id, b.tool_name, b.tool_hash,
    b.category, i, b.failure_kind, 'bench-' || i, r.request, b.tool_hashes,
    replace(replace(replace(b.scenario, '"{REQUEST}"', to_json(r.request)::VARCHAR),
        '{COPY}', i::VARCHAR), '"{NUMBER}"', i::VARCHAR),
    'offline', now()
FROM (
    SELECT i, i % $base AS k,
        array_to_string(list_transform(range((12 + hash(w) % 19)::BIGINT),
            lambda j: $words[(1 + hash(w * 131 + j) % len($words))::BIGINT]), ' ')
            || CASE WHEN i % 20 = 0 THEN ' again' ELSE '' END AS request
    FROM (SELECT i, CASE WHEN i % 20 = 0 THEN i - 1 ELSE i END AS w
          FROM range($start, $stop) t(i))
) r JOIN (SELECT row_number() OVER (ORDER BY example_id) - 1 AS k, * FROM bench_base) b
    USING (k)
"""


def build_tool_store(path: Path, tools: int, seed: int) -> float:
    """A store of ``tools`` distinct tools with one example each; returns the seconds.

    Each tool is a renamed copy of one of the example tools, its example a copy of
    a base example of that tool that calls only it, renamed the same way, with its
    own request and arguments as ``build_store`` gives its copies."""
    import hashlib
    import random

    started = time.perf_counter()
    base = [
        row
        for row in _base_examples(path, 200, seed)
        if {step["call"]["name"] for step in json.loads(row["scenario"])["plan"]["steps"]}
        == {row["tool_name"]}
    ]
    words = sorted({w for row in base for w in row["request"].split()})
    rng = random.Random(seed)
    with duckdb_connect(path) as db:
        definitions = dict(
            db.execute(
                "SELECT t.name, t.definition FROM current_tools c JOIN tools t USING (tool_hash)"
            ).fetchall()
        )
        tool_rows: list[dict[str, Any]] = []
        example_rows: list[dict[str, Any]] = []
        for index in range(tools):
            row = base[index % len(base)]
            name, renamed = row["tool_name"], f"{row['tool_name']}_{index}"
            definition = json.loads(definitions[name])
            definition["function"]["name"] = renamed
            text = json.dumps(definition, sort_keys=True)
            tool_hash = hashlib.sha256(text.encode()).hexdigest()
            request = " ".join(rng.choices(words, k=rng.randint(12, 30)))
            scenario = (
                _template(row)["scenario"]
                .replace(f'"{REQUEST}"', json.dumps(request))
                .replace(COPY, str(index))
                .replace(f'"{NUMBER}"', str(index))
                .replace(f'"{name}"', f'"{renamed}"')
            )
            tool_rows.append(
                {"tool_hash": tool_hash, "name": renamed, "definition": text, "position": index}
            )
            example_rows.append(
                {
                    "example_id": f"{index:012d}tools",
                    "run_id": row["run_id"],
                    "tool_name": renamed,
                    "tool_hash": tool_hash,
                    "category": row["category"],
                    "attempt": index,
                    "failure_kind": row["failure_kind"],
                    "dedup_key": f"tools-{index}",
                    "user_request": request,
                    "tool_hashes": [tool_hash],
                    "scenario": scenario,
                }
            )
        db.execute("DELETE FROM examples")
        db.execute("DELETE FROM current_tools")
        insert_columns(
            db,
            "INSERT INTO tools (tool_hash, name, definition, first_seen) SELECT",
            tool_rows,
            columns=("tool_hash", "name", "definition"),
            extra="now()",
        )
        insert_columns(
            db,
            "INSERT INTO current_tools (name, tool_hash, position) SELECT",
            tool_rows,
            columns=("name", "tool_hash", "position"),
        )
        insert_columns(
            db,
            "INSERT INTO examples (example_id, run_id, tool_name, tool_hash, category, attempt, "
            "failure_kind, dedup_key, user_request, tool_hashes, scenario, teacher, created_at) "
            "SELECT",
            example_rows,
            extra="'offline', now()",
        )
    return time.perf_counter() - started


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
from bench_export import {builder}
{builder}(__import__("pathlib").Path({db!r}), {size}, {seed})
""".replace("{here!r}", repr(str(Path(__file__).resolve().parent)))
EXPORT = """
from callforge.generator.export import ExportConfig, export_dataset
from callforge.store import Store
with Store({db!r}) as store:
    export_dataset(store, {out!r}, ExportConfig(format={fmt!r}, tools_per_example={listed}))
"""
SIGN = """
import duckdb
from callforge.generator.near_duplicates import key_new_examples
from callforge.store import Store
with duckdb.connect({db!r}) as db:  # forget the signatures an earlier run made
    db.execute("DELETE FROM request_signatures")
    db.execute("DELETE FROM example_calls")
with Store({db!r}) as store, store.memory_bound():
    key_new_examples(store)
"""
GROUP = """
from callforge.generator.near_duplicates import group_examples
from callforge.store import Store
with Store({db!r}) as store:
    print(group_examples(store), "groups", flush=True)
"""
FORMATS = "openai,hf,axolotl,llamafactory,hermes"


def run_steps(
    size: int, db: Path, work: Path, formats: list[str], listed: int | None, label: str
) -> list[dict[str, Any]]:
    """Sign, group, then export in each format; one child process per step."""
    steps = [("sign requests", SIGN.format(db=str(db))), ("group", GROUP.format(db=str(db)))]
    steps += [
        (
            f"export {fmt}",
            EXPORT.format(
                db=str(db),
                out=str(work / f"out-{label.replace(' ', '-')}-{fmt}"),
                fmt=fmt,
                listed=listed,
            ),
        )
        for fmt in formats
    ]
    results = []
    for name, code in steps:
        seconds, rss = child(code)
        results.append(
            {"n": label, "step": name, "seconds": round(seconds, 2), "peak_rss_mib": rss}
        )
        print(
            f"{label:>12} {name:<20} {seconds:>9.1f} {size / seconds:>11.0f} {rss:>13}", flush=True
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, action="append", help="N examples (repeatable)")
    parser.add_argument(
        "--tools", type=int, action="append", help="N tools, one example each (repeatable)"
    )
    parser.add_argument("--formats", default=FORMATS, help=f"comma-separated (default {FORMATS})")
    parser.add_argument(
        "--tools-per-example",
        type=int,
        default=8,
        help="tools listed per line in the --tools stores (default 8; 0: the whole set)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    if not args.examples and not args.tools:
        args.examples = [100_000, 1_000_000]
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_export_"))
    work.mkdir(parents=True, exist_ok=True)
    formats = [fmt for fmt in args.formats.split(",") if fmt]
    results: list[dict[str, Any]] = []
    print(f"{'N':>12} {'step':<20} {'seconds':>9} {'examples/s':>11} {'peak RSS MiB':>13}")
    runs = [(size, "build_store", f"{size}", None) for size in args.examples or ()]
    runs += [
        (size, "build_tool_store", f"{size} tools", args.tools_per_example or None)
        for size in args.tools or ()
    ]
    for size, builder, label, listed in runs:
        db = work / f"bench-{label.replace(' ', '-')}.duckdb"
        if not db.exists():  # in a child too: a forked child starts with its parent's RSS
            code = BUILD.format(builder=builder, db=str(db), size=size, seed=args.seed)
            built, rss = child(code)
            print(f"{label:>12} {'build store':<20} {built:>9.1f} {size / built:>11.0f} {rss:>13}")
        results += run_steps(size, db, work, formats, listed, label)
    print_growth(results)
    print(json.dumps(results))


def print_growth(results: list[dict[str, Any]]) -> None:
    """Grouping's and each export's time and peak RSS from the smallest N to the largest."""
    sized = [r for r in results if r["n"].isdigit()]
    sizes = sorted({int(r["n"]) for r in sized})
    if len(sizes) < 2:
        return
    low, high = sizes[0], sizes[-1]
    for step in dict.fromkeys(r["step"] for r in sized):
        at = {int(r["n"]): r for r in sized if r["step"] == step}
        if low in at and high in at:
            print(
                f"{step}: {high // low}x the examples took "
                f"{at[high]['seconds'] / at[low]['seconds']:.1f}x the time, "
                f"peak RSS {at[low]['peak_rss_mib']} -> {at[high]['peak_rss_mib']} MiB"
            )


if __name__ == "__main__":
    main()

"""``callforge report``: one self-contained HTML page about a store.

What the page shows, all computed here from the store (``report_data``) and laid
out by ``templates/report/report.html.j2``:

* coverage: a tool x category heatmap of accepted examples against targets;
* acceptance per cell, rejections per stage and the validator's reasons, grouped;
* requests, tokens (prompt, cached, completion) and cost, per accepted example;
* diversity per cell: distinct word bigrams over the cell's requests (distinct-2),
  the enum values and optional parameters of the cell's tool its calls exercised;
* a browser of examples by cell (a few per cell, as readable conversations).

No external file, font or script: the page opens from a mail attachment.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from callforge.generator.errors import InputError
from callforge.generator.stats import collect_stats
from callforge.generator.templating import html_template
from callforge.generator.transcript import example_text
from callforge.store import Cell, Store, StoredExample

EXAMPLES_PER_CELL = 5
_WORD = re.compile(r"\w+")


def coverage_class(accepted: int, target: int) -> str:
    """The heatmap colour class of a cell: full, partial, empty, or untargeted."""
    if target <= 0:
        return "untargeted"
    if accepted >= target:
        return "full"
    return "partial" if accepted else "empty"


def distinct_bigrams(texts: Iterable[str]) -> tuple[int, int]:
    """(distinct, total) word bigrams over ``texts``, case-folded: distinct-2's parts."""
    seen: set[tuple[str, str]] = set()
    total = 0
    for text in texts:
        words = _WORD.findall(text.casefold())
        pairs = list(pairwise(words))
        total += len(pairs)
        seen.update(pairs)
    return len(seen), total


def argument_coverage(
    parameters: Mapping[str, Any], calls: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """Which enum values and optional parameters of a tool's top level its calls used."""
    properties = parameters.get("properties", {}) or {}
    required = set(parameters.get("required", []) or [])
    optional = [name for name in properties if name not in required]
    enums = {
        name: list(schema["enum"])
        for name, schema in properties.items()
        if isinstance(schema, Mapping) and isinstance(schema.get("enum"), list)
    }
    used_optional: set[str] = set()
    used_values: dict[str, set[str]] = defaultdict(set)
    for arguments in calls:
        used_optional.update(name for name in optional if name in arguments)
        for name in enums:
            if name in arguments:
                used_values[name].add(json.dumps(arguments[name], sort_keys=True))
    enum_total = sum(len(values) for values in enums.values())
    enum_used = sum(
        len({json.dumps(v, sort_keys=True) for v in values} & used_values[name])
        for name, values in enums.items()
    )
    return {
        "optional_used": len(used_optional),
        "optional_total": len(optional),
        "optional_unused": sorted(set(optional) - used_optional),
        "enum_used": enum_used,
        "enum_total": enum_total,
    }


def _cell_diversity(
    examples: list[StoredExample], parameters: Mapping[str, Any], tool: str
) -> dict[str, Any]:
    requests = [str(e.scenario["draft"]["user_request"]) for e in examples]
    calls = [
        step["call"]["arguments"]
        for e in examples
        for step in e.scenario["plan"]["steps"]
        if step["call"]["name"] == tool and not step.get("failure")
    ]
    distinct, total = distinct_bigrams(requests)
    return {
        "examples": len(examples),
        "distinct_2": round(distinct / total, 3) if total else None,
        "bigrams": total,
        **argument_coverage(parameters, calls),
    }


def report_data(store: Store, prices: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data."""
    stats = collect_stats(store, prices)
    tools = store.current_tools()
    parameters = {name: d["function"].get("parameters", {}) for name, _, d in tools}
    by_cell: dict[Cell, list[StoredExample]] = defaultdict(list)
    for example in store.examples():
        by_cell[(example.tool_name, example.category)].append(example)
    usage_by_cell = store.usage_by_cell()
    categories = sorted({row["category"] for row in stats["cells"]})
    tool_names = [name for name, _, _ in tools] or sorted({r["tool"] for r in stats["cells"]})
    cells = []
    for row in stats["cells"]:
        cell = (row["tool"], row["category"])
        examples = by_cell.get(cell, [])
        spent = usage_by_cell.get(cell, {})
        cells.append(
            {
                **row,
                "class": coverage_class(row["accepted"], row["target"]),
                "tokens": spent.get("prompt_tokens", 0) + spent.get("completion_tokens", 0),
                "requests": spent.get("requests", 0),
                "diversity": _cell_diversity(
                    examples, parameters.get(row["tool"], {}), row["tool"]
                ),
                "examples": [
                    {"id": e.example_id, "lines": list(example_text(e.scenario))}
                    for e in examples[:EXAMPLES_PER_CELL]
                ],
            }
        )
    return {
        "db": stats["db"],
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "accepted_total": stats["accepted_total"],
        "target_total": stats["target_total"],
        "stale_total": stats["stale_total"],
        "rejections_total": stats["rejections_total"],
        "rejections_by_stage": stats["rejections_by_stage"],
        "reasons": stats["rejections_by_reason"][:20],
        "usage": stats["usage"],
        "tools": tool_names,
        "categories": categories,
        "cells": cells,
    }


def write_report(store: Store, out: Path, prices: Mapping[str, float] | None = None) -> Path:
    """Render the page for ``store`` to ``out`` (one HTML file); returns ``out``."""
    if out.is_dir():
        raise InputError(f"--out {out} is a folder; give a file name such as report.html")
    data = report_data(store, prices)
    grid = {(c["tool"], c["category"]): c for c in data["cells"]}
    browser = {f"{c['tool']} / {c['category']}": c["examples"] for c in data["cells"]}
    html = html_template("report/report.html.j2").render(
        data=data,
        grid=grid,
        # For a <script type="application/json">: no "</script>" can end it early.
        browser_json=json.dumps(browser, ensure_ascii=False).replace("<", "\\u003c"),
    )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(f".{out.name}.partial")
        partial.write_text(html, encoding="utf-8")
        partial.replace(out)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot write it ({exc.strerror})") from exc
    return out

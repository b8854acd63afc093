"""``callforge report``: one self-contained HTML page about a store.

What the page shows, gathered here from the store (``report_data``) and laid
out by ``templates/report/report.html.j2``. Totals are counted by the store and
calls read a batch at a time, so the report's memory does not grow with the
number of examples:

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
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from callforge.generator.errors import InputError
from callforge.generator.stats import collect_stats
from callforge.generator.templating import html_template
from callforge.generator.transcript import example_text
from callforge.store import Cell, Store, StoredExample

EXAMPLES_PER_CELL = 5
STORE_MEMORY = "64MB"
"""DuckDB's cap while the report reads the store: its counts spill to disk beyond it,
so the report's peak memory stays flat as the store grows (~150 MB at 120,000 examples,
as at 30,000)."""


def coverage_class(accepted: int, target: int) -> str:
    """The heatmap colour class of a cell: full, partial, empty, or untargeted."""
    if target <= 0:
        return "untargeted"
    if accepted >= target:
        return "full"
    return "partial" if accepted else "empty"


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


def _calls_by_cell(
    store: Store, parameters: Mapping[str, Mapping[str, Any]]
) -> dict[Cell, list[Mapping[str, Any]]]:
    """Per cell, one stand-in call per parameter and per enum value its successful calls
    used: all ``argument_coverage`` reads. The calls come a batch at a time and only
    names and enum values are kept, so memory follows the schemas, not the store."""
    names: dict[Cell, set[str]] = defaultdict(set)
    values: dict[Cell, set[tuple[str, str]]] = defaultdict(set)
    for batch in store.successful_calls_by_cell():
        for tool, category, arguments_json in batch:
            arguments = json.loads(arguments_json)
            if not isinstance(arguments, dict):
                continue
            cell = (tool, category)
            names[cell].update(arguments)
            properties = parameters.get(tool, {}).get("properties", {}) or {}
            values[cell].update(
                (name, json.dumps(value, sort_keys=True))
                for name, value in arguments.items()
                if isinstance(properties.get(name), Mapping) and "enum" in properties[name]
            )
    return {
        cell: [{name: None} for name in sorted(used - {n for n, _ in values[cell]})]
        + [{name: json.loads(value)} for name, value in sorted(values[cell])]
        for cell, used in names.items()
    }


def _cell_diversity(
    bigrams: tuple[int, int, int], parameters: Mapping[str, Any], calls: list[Mapping[str, Any]]
) -> dict[str, Any]:
    examples, distinct, total = bigrams
    return {
        "examples": examples,
        "distinct_2": round(distinct / total, 3) if total else None,
        "bigrams": total,
        **argument_coverage(parameters, calls),
    }


def report_data(store: Store, prices: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data.

    Counted in the store (bigrams, usage) or read a batch at a time (calls): memory
    does not grow with the number of examples.
    """
    with store.memory_bound(STORE_MEMORY):
        stats = collect_stats(store, prices)
        tools = store.current_tools()
        parameters = {name: d["function"].get("parameters", {}) for name, _, d in tools}
        bigrams = store.request_bigrams_by_cell()
        calls = _calls_by_cell(store, parameters)
        shown: dict[Cell, list[StoredExample]] = defaultdict(list)
        for example in store.first_examples_by_cell(EXAMPLES_PER_CELL):
            shown[(example.tool_name, example.category)].append(example)
        usage_by_cell = store.usage_by_cell()
    categories = sorted({row["category"] for row in stats["cells"]})
    tool_names = [name for name, _, _ in tools] or sorted({r["tool"] for r in stats["cells"]})
    cells = []
    for row in stats["cells"]:
        cell = (row["tool"], row["category"])
        spent = usage_by_cell.get(cell, {})
        cells.append(
            {
                **row,
                "class": coverage_class(row["accepted"], row["target"]),
                "tokens": spent.get("prompt_tokens", 0) + spent.get("completion_tokens", 0),
                "requests": spent.get("requests", 0),
                "diversity": _cell_diversity(
                    bigrams.get(cell, (0, 0, 0)),
                    parameters.get(row["tool"], {}),
                    calls.get(cell, []),
                ),
                "examples": [
                    {"id": e.example_id, "lines": list(example_text(e.scenario))}
                    for e in shown.get(cell, [])
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

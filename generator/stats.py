"""What a store holds: accepted examples per cell against target, rejections, staleness."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callforge.store import Store


def collect_stats(store: Store, prices: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Everything ``callforge stats`` shows, as JSON-ready data.

    ``prices`` (per million ``input``/``output`` tokens) adds what the tokens cost.
    """
    targets = store.targets()
    accepted = store.accepted_counts()
    stale = store.stale_counts()
    cells = sorted(set(targets) | set(accepted) | set(stale))
    rows = [
        {
            "tool": tool,
            "category": category,
            "accepted": accepted.get((tool, category), 0),
            "target": targets.get((tool, category), 0),
            "stale": stale.get((tool, category), 0),
        }
        for tool, category in cells
    ]
    return {
        "db": str(store.path),
        "accepted_total": sum(accepted.values()),
        "target_total": sum(targets.values()),
        "stale_total": sum(stale.values()),
        "cells": rows,
        "rejections_total": sum(store.rejections_by_stage().values()),
        "rejections_by_stage": store.rejections_by_stage(),
        "rejections_by_reason": [
            {"stage": stage, "reason": reason, "count": count}
            for (stage, reason), count in store.rejection_counts().items()
        ],
        "categories": category_rows(rows, store.subcategory_counts()),
        "usage": usage_stats(store, sum(accepted.values()), prices or {}),
        "runs": store.run_summaries(),
    }


def category_rows(
    cells: list[dict[str, Any]], subcategories: Mapping[tuple[str, str], int]
) -> list[dict[str, Any]]:
    """Accepted and targeted per category, with its subcategories (error_recovery's failure
    kinds) and their accepted counts."""
    totals: dict[str, dict[str, Any]] = {}
    for cell in cells:
        row = totals.setdefault(
            cell["category"],
            {"category": cell["category"], "accepted": 0, "target": 0, "subcategories": {}},
        )
        row["accepted"] += cell["accepted"]
        row["target"] += cell["target"]
    for (category, kind), count in subcategories.items():
        if category in totals:
            totals[category]["subcategories"][kind] = count
    return list(totals.values())


def usage_stats(store: Store, accepted: int, prices: Mapping[str, float]) -> dict[str, Any]:
    """Tokens spent on every request ever made (rejected ones too), per accepted example."""
    usage = store.usage_totals()
    tokens = usage["prompt_tokens"] + usage["completion_tokens"]
    usage["tokens_per_accepted"] = round(tokens / accepted, 1) if accepted else None
    if prices:
        cost = (
            usage["prompt_tokens"] * prices.get("input", 0.0)
            + usage["completion_tokens"] * prices.get("output", 0.0)
        ) / 1e6
        usage["cost"] = round(cost, 6)
        usage["cost_per_accepted"] = round(cost / accepted, 8) if accepted else None
        usage["prices_per_million"] = dict(prices)
    return usage

"""What a store holds: accepted examples per cell against target, rejections, staleness."""

from __future__ import annotations

from typing import Any

from store import Store


def collect_stats(store: Store) -> dict[str, Any]:
    """Everything ``callforge stats`` shows, as JSON-ready data."""
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
    }

"""What a store holds: accepted examples per cell against target, rejections, staleness, spend.

Imports only the store and the reason grouping: ``callforge stats`` starts fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from callforge.generator.records import Usage
from callforge.generator.rejections import group_reasons
from callforge.generator.spend import cost_of
from callforge.store import Store


def collect_stats(store: Store, prices: Mapping[str, float] | None = None) -> dict[str, Any]:
    """Everything ``callforge stats`` shows, as JSON-ready data.

    ``prices`` (per million ``input``/``output`` tokens) adds what the tokens cost.
    Rejection reasons are grouped (``generator/rejections.py``): the validator's own
    stage and words, values masked, with counts.
    """
    targets = store.targets()
    accepted = store.accepted_counts()
    stale = store.stale_counts()
    attempts = store.attempt_counts()
    cells = sorted(set(targets) | set(accepted) | set(stale))
    rows = []
    for cell in cells:
        made, rejected = attempts.get(cell, (0, 0))
        rows.append(
            {
                "tool": cell[0],
                "category": cell[1],
                "accepted": accepted.get(cell, 0),
                "target": targets.get(cell, 0),
                "stale": stale.get(cell, 0),
                "attempts": made + rejected,
                "acceptance": round(made / (made + rejected), 3) if made + rejected else None,
            }
        )
    by_stage = store.rejections_by_stage()
    return {
        "db": str(store.path),
        "accepted_total": sum(accepted.values()),
        "target_total": sum(targets.values()),
        "stale_total": sum(stale.values()),
        "cells": rows,
        "rejections_total": sum(by_stage.values()),
        "rejections_by_stage": by_stage,
        "rejections_by_reason": [
            {"stage": group.stage, "reason": group.reason, "reasked": group.reasked, "count": n}
            for group, n in group_reasons(store.rejection_reasons())
        ],
        "usage": usage_stats(store, sum(accepted.values()), prices or {}),
        "runs": store.run_summaries(),
    }


def usage_stats(store: Store, accepted: int, prices: Mapping[str, float]) -> dict[str, Any]:
    """Tokens spent on every request ever made (rejected ones too), per accepted example.

    Per-example figures are None while nothing is accepted.
    """
    usage = store.usage_totals()
    tokens = usage["prompt_tokens"] + usage["completion_tokens"]
    usage["tokens_per_accepted"] = round(tokens / accepted, 1) if accepted else None
    usage["requests_per_accepted"] = round(usage["requests"] / accepted, 2) if accepted else None
    if prices:
        cost = cost_of(Usage(0, usage["prompt_tokens"], usage["completion_tokens"]), prices)
        usage["cost"] = round(cost, 6)
        usage["cost_per_accepted"] = round(cost / accepted, 8) if accepted else None
        usage["prices_per_million"] = dict(prices)
    return usage

"""Provenance of an export: what made the data (for ``manifest.json``) and its card.

The dataset card is a ``README.md`` with the Hugging Face metadata header (YAML
between ``---`` lines: ``configs`` mapping splits to files, ``dataset_info``
features where the format fixes them, tags); its wording is in
``templates/export/dataset_card.md.j2``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import yaml

from callforge.generator import __version__
from callforge.generator.exporters import Exporter
from callforge.generator.templating import environment
from callforge.store import Cell, Store

RUN_KEYS = ("seed", "mix", "per_tool", "locale", "optional_rate", "teacher")


def provenance(store: Store, exported: Mapping[Cell, int]) -> dict[str, Any]:
    """Teacher, model, seed, mix and tool hashes behind the exported examples
    (``exported``: how many in each cell)."""
    recorded = store.provenance()
    runs = []
    for run_id, config in recorded["runs"]:
        run = {key: config.get(key) for key in RUN_KEYS}
        run["model"] = (config.get("teacher_options") or {}).get("model")
        runs.append({"run_id": run_id, **run})
    return {
        "teachers": recorded["teachers"],
        "runs": runs,
        "tools": {name: tool_hash for name, tool_hash, _ in store.current_tools()},
        "categories": dict(sorted(_category_counts(exported).items())),
    }


def _category_counts(cells: Mapping[Cell, int]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for (_, category), count in cells.items():
        counts[category] += count
    return counts


def dataset_card(manifest: dict[str, Any], exporter: Exporter, data_files: dict[str, str]) -> str:
    header: dict[str, Any] = {
        "configs": [
            {
                "config_name": "default",
                "data_files": [
                    {"split": split, "path": file} for split, file in data_files.items()
                ],
            }
        ],
        "tags": ["tool-calling", "function-calling", "synthetic", "callforge"],
        "task_categories": ["text-generation"],
        "size_categories": [_size_category(sum(manifest["totals"].values()))],
    }
    features = exporter.card_features()
    if features is not None:
        header["dataset_info"] = {"features": features}
    origin = manifest["provenance"]
    body = (
        environment()
        .get_template("export/dataset_card.md.j2")
        .render(
            title="Tool-calling dataset",
            version=__version__,
            tools=origin["tools"],
            format=exporter.name,
            summary=exporter.summary,
            data_files=data_files,
            totals=manifest["totals"],
            teachers=origin["teachers"],
            runs=[_run_line(run) for run in origin["runs"]],
            held_out=manifest["held_out_tools"],
            usage=exporter.card_usage(data_files),
            categories=origin["categories"],
        )
    )
    return "---\n" + yaml.dump(header, Dumper=_NoAliases, sort_keys=False) + "---\n\n" + body


class _NoAliases(yaml.SafeDumper):
    """YAML without ``&id001`` anchors: the Hub's card parser and readers expect plain YAML."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _run_line(run: dict[str, Any]) -> dict[str, Any]:
    mix = run.get("mix") or {}
    return {**run, "mix": ",".join(f"{k}={v:g}" for k, v in mix.items())}


def _size_category(count: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if count < limit:
            return label
    return "100K<n<1M" if count < 1_000_000 else "1M<n<10M"

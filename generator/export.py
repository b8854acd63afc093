"""Export: balanced, stratified, leak-free train/eval JSONL in OpenAI chat format.

* **Stratified**: every (tool, category) cell is split on its own, so train and
  eval have the same mix.
* **Balanced**: ``balance`` caps every cell at the smallest cell's size, ``cap``
  at a given size; which examples are kept is decided by the seed.
* **Leak-free**: examples whose final call to the cell's tool has the same
  arguments are one task phrased twice; a task goes wholly to train or to eval.
* **Deterministic**: the same store and options write byte-identical files
  (no timestamps; order from a seeded hash, not from insertion order).

Each line is ``{"messages": [...], "tools": [...]}`` as OpenAI's fine-tuning API,
Hugging Face TRL and friends read it. Files are written to temporary names and
renamed into place, so a failed export never leaves a half-written file.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from callforge.generator import __version__
from callforge.generator.errors import InputError
from callforge.generator.scenarios.base import Scenario
from callforge.generator.tools import canonical_json, sha256_hex
from callforge.store import Cell, Store, StoredExample

SPLITS = ("train", "eval")


@dataclass(frozen=True)
class ExportConfig:
    eval_fraction: float = 0.1
    seed: int = 0
    balance: bool = False
    cap: int | None = None
    include_stale: bool = False
    tools_per_example: int | None = None
    """Each line lists this many tools: the ones its conversation calls plus seeded
    distractors from the tool set (None: the whole set)."""

    def check(self) -> None:
        if not 0 <= self.eval_fraction < 1:
            raise InputError(f"--eval-fraction must be in [0, 1), got {self.eval_fraction}")
        if self.cap is not None and self.cap < 1:
            raise InputError(f"--cap must be at least 1, got {self.cap}")
        if self.tools_per_example is not None and self.tools_per_example < 1:
            raise InputError(
                f"--tools-per-example must be at least 1, got {self.tools_per_example}"
            )


def export_dataset(store: Store, out_dir: str | Path, config: ExportConfig) -> dict[str, Any]:
    """Write ``train.jsonl``, ``eval.jsonl`` and ``manifest.json``; return the manifest."""
    config.check()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a folder")
    examples = store.examples(include_stale=config.include_stale)
    if not examples:
        which = "accepted" if config.include_stale else "accepted, current"
        raise InputError(
            f"{store.path}: nothing to export (no {which} examples); run 'callforge generate' first"
        )
    cells = _capped_cells(examples, config)
    splits = _split(cells, config)
    tools_for = _tool_lists(store, config)
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for split in SPLITS:
        lines = [_line(example, tools_for) for example in _shuffled(splits[split], config.seed)]
        files[f"{split}.jsonl"] = _write_atomically(out / f"{split}.jsonl", "".join(lines))
    manifest = {
        "callforge_version": __version__,
        "format": "openai-chat",
        "config": asdict(config),
        "counts": {split: _cell_counts(splits[split]) for split in SPLITS},
        "totals": {split: len(splits[split]) for split in SPLITS},
        "files": files,
    }
    _write_atomically(out / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _order_key(seed: int, example: StoredExample) -> str:
    return sha256_hex(f"{seed}:{example.example_id}")


def _shuffled(examples: list[StoredExample], seed: int) -> list[StoredExample]:
    return sorted(examples, key=lambda example: _order_key(seed, example))


def _capped_cells(
    examples: list[StoredExample], config: ExportConfig
) -> dict[Cell, list[StoredExample]]:
    cells: dict[Cell, list[StoredExample]] = defaultdict(list)
    for example in examples:
        cells[(example.tool_name, example.category)].append(example)
    limit = min(map(len, cells.values())) if config.balance else None
    if config.cap is not None:
        limit = min(limit or config.cap, config.cap)
    return {
        cell: _shuffled(members, config.seed)[:limit] for cell, members in sorted(cells.items())
    }


def _task_key(example: StoredExample) -> str:
    """The final call to the cell's tool: two examples with the same one are one task.

    A conversation that calls nothing is its own task, named by what the user asked.
    """
    steps = example.scenario["plan"]["steps"]
    final = next(
        (s["call"] for s in reversed(steps) if s["call"]["name"] == example.tool_name), None
    )
    if final is None:
        return canonical_json([example.tool_name, example.scenario["plan"].get("unserved", "")])
    return canonical_json([example.tool_name, final["arguments"]])


def _split(
    cells: Mapping[Cell, list[StoredExample]], config: ExportConfig
) -> dict[str, list[StoredExample]]:
    splits: dict[str, list[StoredExample]] = {split: [] for split in SPLITS}
    for members in cells.values():
        tasks: dict[str, list[StoredExample]] = defaultdict(list)
        for example in members:  # already in seeded order
            tasks[_task_key(example)].append(example)
        wanted = int(len(members) * config.eval_fraction + 0.5)
        taken = 0
        for group in tasks.values():
            split = "eval" if taken < wanted else "train"
            taken += len(group) if split == "eval" else 0
            splits[split].extend(group)
    return splits


def _tool_lists(store: Store, config: ExportConfig) -> Callable[[StoredExample], list[Any]]:
    whole_set = _whole_tool_sets(store)
    size = config.tools_per_example
    if size is None:
        return whole_set

    def sampled(example: StoredExample) -> list[dict[str, Any]]:
        """The called tools plus distractors, in an order that does not give them away."""
        tools = whole_set(example)
        # A conversation that calls nothing keeps its own tool: the one it must not call.
        called = {step["call"]["name"] for step in example.scenario["plan"]["steps"]} or {
            example.tool_name
        }
        rng = random.Random(_order_key(config.seed, example))
        others = [tool for tool in tools if tool["function"]["name"] not in called]
        chosen = [tool for tool in tools if tool["function"]["name"] in called]
        chosen += rng.sample(others, max(0, min(size - len(chosen), len(others))))
        rng.shuffle(chosen)
        return chosen

    return sampled


def _whole_tool_sets(store: Store) -> Callable[[StoredExample], list[Any]]:
    """The current tool set, with the versions an example was made from where they differ."""
    current = store.current_tools()
    current_defs = [definition for _, _, definition in current]
    position = {name: index for index, (name, _, _) in enumerate(current)}
    current_hashes = {tool_hash for _, tool_hash, _ in current}

    def tools_for(example: StoredExample) -> list[dict[str, Any]]:
        old = set(example.tool_hashes) - current_hashes
        if not old:
            return current_defs
        tools = list(current_defs)
        for definition in store.tool_definitions(old).values():
            name = definition["function"]["name"]
            if name in position:
                tools[position[name]] = definition
            else:
                tools.append(definition)
        return tools

    return tools_for


def _line(example: StoredExample, tools_for: Callable[[StoredExample], list[Any]]) -> str:
    messages = Scenario.model_validate(example.scenario).to_messages()
    record: dict[str, Any] = {"messages": messages, "tools": tools_for(example)}
    if any(len(message.get("tool_calls") or ()) > 1 for message in messages):
        record["parallel_tool_calls"] = True  # OpenAI's flag for several calls in one turn
    return json.dumps(record, ensure_ascii=False) + "\n"


def _cell_counts(examples: list[StoredExample]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for example in examples:
        row = counts[example.tool_name]
        row[example.category] = row.get(example.category, 0) + 1
    return {tool: dict(sorted(row.items())) for tool, row in sorted(counts.items())}


def _write_atomically(path: Path, text: str) -> dict[str, Any]:
    data = text.encode("utf-8")
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "lines": text.count("\n"),
        "bytes": len(data),
    }

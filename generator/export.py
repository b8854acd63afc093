"""Export: the stored examples, split and balanced, written in a trainer's format.

This module chooses *which* examples go where and in what order; the format is an
exporter's business (``generator/exporters/``), the split's rules are in
``generator/splits.py`` and the groups it keeps whole in ``near_duplicates.py``.

* **Balanced**: ``balance`` caps every (tool, category) cell at the smallest
  cell's size, ``cap`` at a given size; the seed decides which examples stay.
* **Streaming**: the selection, the cap and the split are decided in DuckDB
  (``store/selection.py``); Python holds per-cell counts and a page of groups, and
  the conversations are read a batch at a time in seeded order, rendered and
  written, so memory does not grow with the number of examples.
* **Deterministic**: the same store and options write byte-identical files (no
  timestamps; order from a seeded hash, not from insertion order).
* **Provenance**: ``manifest.json`` (teacher, model, seed, mix, tool hashes,
  callforge version, per-split counts, sha256 of every file) and a dataset card
  (``README.md`` with the Hugging Face metadata header) are written beside the data.

Files are written to temporary names and renamed into place together once all are
written, so a failed or interrupted export leaves the folder as it was: no half-written
file, no new train beside an old eval.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from callforge.generator import __version__
from callforge.generator.errors import InputError
from callforge.generator.exporters import Conversation, Exporter, FormatOptions, get_exporter
from callforge.generator.exporters.base import JsonlWriter, RecordWriter
from callforge.generator.near_duplicates import group_examples
from callforge.generator.provenance import dataset_card, provenance
from callforge.generator.scenarios.base import Scenario
from callforge.generator.splits import (
    SPLITS,
    Split,
    SplitConfig,
    held_out_tools,
    order_key,
    split_selection,
)
from callforge.store import Cell, Store, StoredExample
from callforge.store.selection import ExportSelection


@dataclass(frozen=True)
class ExportConfig:
    eval_fraction: float = 0.1
    seed: int = 0
    balance: bool = False
    cap: int | None = None
    include_stale: bool = False
    tools_per_example: int | None = None
    """Each line lists this many tools: the ones its conversation calls plus seeded
    distractors from the tool set (None: the whole set), in a seeded order."""
    format: str = "openai"
    options: FormatOptions = field(default_factory=FormatOptions)
    eval_per_cell: int | None = None
    holdout_tools: int | tuple[str, ...] | None = None

    @property
    def split(self) -> SplitConfig:
        return SplitConfig(
            eval_fraction=self.eval_fraction,
            eval_per_cell=self.eval_per_cell,
            holdout_tools=self.holdout_tools,
            seed=self.seed,
        )

    def check(self) -> Exporter:
        """Refuse bad options before anything is read or written; return the exporter."""
        self.split.check()
        if self.cap is not None and self.cap < 1:
            raise InputError(f"--cap must be at least 1, got {self.cap}")
        if self.tools_per_example is not None and self.tools_per_example < 1:
            raise InputError(
                f"--tools-per-example must be at least 1, got {self.tools_per_example}"
            )
        return get_exporter(self.format, self.options)


def export_dataset(store: Store, out_dir: str | Path, config: ExportConfig) -> dict[str, Any]:
    """Write the splits in ``config.format``, the manifest and the card; return the manifest."""
    exporter = config.check()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} exists and is not a folder")
    tool_names = [name for name, _, _ in store.current_tools()]
    held_out_tools(config.split, tool_names)  # a bad name fails before any work
    if config.include_stale:
        available = store.table_counts()["examples"]
    else:
        available = sum(store.accepted_counts().values())
    if not available:
        which = "accepted" if config.include_stale else "accepted, current"
        raise InputError(
            f"{store.path}: nothing to export (no {which} examples); run 'callforge generate' first"
        )
    staged = StagedFiles()
    try:
        manifest = _export(store, out, exporter, config, tool_names, staged)
        staged.publish()
    finally:
        staged.discard()
    return manifest


def _export(
    store: Store,
    out: Path,
    exporter: Exporter,
    config: ExportConfig,
    tool_names: list[str],
    staged: StagedFiles,
) -> dict[str, Any]:
    with store.memory_bound():
        group_count = group_examples(store)
        selection = ExportSelection(store, config.seed)
        try:
            chosen = _choose(selection, config)
            split = split_selection(selection, config.split, tool_names)
            out.mkdir(parents=True, exist_ok=True)
            data_files = {name: exporter.data_file(name) for name in SPLITS}
            files = {}
            for name in SPLITS:
                files.update(
                    _write_split(store, selection, out, exporter, split, name, config, staged)
                )
        finally:
            selection.close()
    for file_name, text in exporter.side_files(data_files).items():
        files[file_name] = staged.write_text(out / file_name, text)
    manifest = {
        "callforge_version": __version__,
        "format": exporter.name,
        "config": _jsonable(asdict(config)),
        "provenance": provenance(store, chosen),
        "held_out_tools": list(split.held_out),
        "split_groups": group_count,
        "counts": {name: _cell_counts(split.counts[name]) for name in SPLITS},
        "totals": {name: sum(split.counts[name].values()) for name in SPLITS},
        "files": files,
    }
    card = dataset_card(manifest, exporter, data_files)
    manifest["files"]["README.md"] = staged.write_text(out / "README.md", card)
    staged.write_text(out / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def _write_split(
    store: Store,
    selection: ExportSelection,
    out: Path,
    exporter: Exporter,
    split: Split,
    name: str,
    config: ExportConfig,
    staged: StagedFiles,
) -> dict[str, dict[str, Any]]:
    tools_for = _tool_lists(store, config, split.held_out if name == "train" else ())
    writer = staged.add(exporter.open_writer(out / exporter.data_file(name)))
    sidecar = None
    if exporter.metadata_sidecar():
        sidecar = staged.add(JsonlWriter(out / f"{name}.meta.jsonl"))
    try:
        for example in selection.stream(name):
            conversation = conversation_of(example, tools_for(example))
            writer.write(exporter.record(conversation))
            if sidecar is not None:
                sidecar.write(conversation.metadata)
    except BaseException:
        for open_writer in (writer, sidecar):
            if open_writer is not None:
                open_writer.finish()
        raise
    files = {exporter.data_file(name): writer.close()}
    if sidecar is not None:
        files[f"{name}.meta.jsonl"] = sidecar.close()
    return files


def conversation_of(example: StoredExample, tools: list[dict[str, Any]]) -> Conversation:
    """The stored scenario rendered once (``Scenario.to_messages``), arguments as objects."""
    scenario = Scenario.model_validate(example.scenario)
    messages = scenario.to_messages()
    for message in messages:
        for call in message.get("tool_calls") or ():
            call["function"]["arguments"] = json.loads(call["function"]["arguments"])
    metadata = {
        "example_id": example.example_id,
        "tool": example.tool_name,
        "category": example.category,
        "failure_kind": example.failure_kind,
        "seed": scenario.plan.seed,
    }
    return Conversation(
        messages=messages, tools=tools, metadata=metadata, retry_note=scenario.draft.retry_note
    )


def _choose(selection: ExportSelection, config: ExportConfig) -> dict[Cell, int]:
    """Select the examples to export, each cell capped (``balance``, ``cap``) to its first
    ones in seeded order; return how many each cell keeps."""
    sizes = selection.candidates(include_stale=config.include_stale)
    limit = min(sizes.values()) if config.balance else None
    if config.cap is not None:
        limit = min(limit or config.cap, config.cap)
    selection.choose(limit)
    return {cell: min(size, limit or size) for cell, size in sizes.items()}


def _tool_lists(
    store: Store, config: ExportConfig, hidden: Sequence[str]
) -> Callable[[StoredExample], list[dict[str, Any]]]:
    """Each example's tool list, shuffled by the seed: the called tools first chosen, plus
    distractors up to ``tools_per_example`` (or the whole set), never a ``hidden`` tool.

    The distractors are drawn as positions, so an example costs its list's length,
    not the tool set's: 10,000 tools at 8 a line cost 8 per line."""
    whole_set = _whole_tool_sets(store, set(hidden))
    size = config.tools_per_example

    def listed(example: StoredExample) -> list[dict[str, Any]]:
        tools, position = whole_set(example)
        rng = random.Random(order_key(config.seed, example.example_id))
        if size is None:
            tools = list(tools)
        else:
            # A conversation that calls nothing keeps its own tool: the one it must not call.
            called = {step["call"]["name"] for step in example.scenario["plan"]["steps"]} or {
                example.tool_name
            }
            called_at = sorted(position[name] for name in called if name in position)
            others = len(tools) - len(called_at)
            picks = rng.sample(range(others), max(0, min(size - len(called_at), others)))
            tools = [tools[at] for at in called_at] + [
                tools[_skipping(pick, called_at)] for pick in picks
            ]
        rng.shuffle(tools)
        return tools

    return listed


def _skipping(index: int, taken: list[int]) -> int:
    """The position in the whole list of the ``index``-th tool not at a ``taken`` position."""
    for at in taken:
        if at > index:
            break
        index += 1
    return index


ToolSet = tuple[list[dict[str, Any]], dict[str, int]]
"""Tool definitions and each one's position by name."""


def _whole_tool_sets(store: Store, hidden: set[str]) -> Callable[[StoredExample], ToolSet]:
    """The current tool set, with the versions an example was made from where they differ,
    without the ``hidden`` tools; the current one is built once and shared."""
    current = store.current_tools()
    current_defs = [definition for _, _, definition in current]
    position = {name: index for index, (name, _, _) in enumerate(current)}
    current_hashes = {tool_hash for _, tool_hash, _ in current}
    shared = _visible(current_defs, hidden)

    def tools_for(example: StoredExample) -> ToolSet:
        old = set(example.tool_hashes) - current_hashes
        if not old:
            return shared
        tools = list(current_defs)
        for definition in store.tool_definitions(old).values():
            name = definition["function"]["name"]
            if name in position:
                tools[position[name]] = definition
            else:
                tools.append(definition)
        return _visible(tools, hidden)

    return tools_for


def _visible(tools: list[dict[str, Any]], hidden: set[str]) -> ToolSet:
    shown = [tool for tool in tools if tool["function"]["name"] not in hidden]
    return shown, {tool["function"]["name"]: index for index, tool in enumerate(shown)}


def _cell_counts(cells: dict[Cell, int]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for (tool, category), count in cells.items():
        counts[tool][category] = count
    return {tool: dict(sorted(row.items())) for tool, row in sorted(counts.items())}


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    return value


class StagedFiles:
    """An export's files, written under temporary names and renamed into place together
    once all are written: a failed or interrupted export leaves the folder as it was
    (no mix of new and old splits, no temporary files)."""

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []  # (temporary, final)

    def add(self, writer: RecordWriter) -> RecordWriter:
        self._pending.append((writer.temporary, writer.path))
        return writer

    def write_text(self, path: Path, text: str) -> dict[str, Any]:
        data = text.encode("utf-8")
        temporary = path.with_name(f".{path.name}.tmp")
        self._pending.append((temporary, path))
        temporary.write_bytes(data)
        return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}

    def publish(self) -> None:
        """Rename every file into place, the manifest (written last) last."""
        while self._pending:
            temporary, final = self._pending.pop(0)
            os.replace(temporary, final)

    def discard(self) -> None:
        """Remove what was not published (nothing, after ``publish``)."""
        for temporary, _ in self._pending:
            temporary.unlink(missing_ok=True)
        self._pending.clear()

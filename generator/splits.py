"""Train/eval splits that measure generalisation, knowing nothing of output formats.

* **Groups stay whole.** Examples sharing a call or a near-duplicate request
  (``near_duplicates``) go wholly to train or wholly to eval.
* **Stratified over the whole store.** The eval size is the fraction of the whole
  store, shared out to categories and then to each category's tools by
  largest-remainder rounding: a small store still gets its fraction, and every
  category with two or more examples gets at least one eval example (rounding per
  cell would give a cell of 8 at 10% nothing). Ties go to the tools with the
  fewest eval examples so far, so tools are spread too. ``eval_per_cell`` asks
  for N per (tool, category) cell instead.
* **Held-out tools.** ``holdout_tools`` puts every example that calls those
  tools in eval only: a measure of skill on tools the model never trained on.
* **Deterministic.** Every choice is ordered by a seeded hash, never by insertion.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from callforge.generator.errors import InputError
from callforge.generator.tools import sha256_hex
from callforge.store import Cell
from callforge.store.selection import ExportSelection

SPLITS = ("train", "eval")


@dataclass(frozen=True)
class SplitConfig:
    eval_fraction: float = 0.1
    eval_per_cell: int | None = None
    holdout_tools: int | tuple[str, ...] | None = None
    """A number of tools to hold out (chosen by the seed), or their names."""
    seed: int = 0

    def check(self) -> None:
        if not 0 <= self.eval_fraction < 1:
            raise InputError(f"--eval-fraction must be in [0, 1), got {self.eval_fraction}")
        if self.eval_per_cell is not None and self.eval_per_cell < 0:
            raise InputError(f"--eval-per-cell must be at least 0, got {self.eval_per_cell}")
        if isinstance(self.holdout_tools, int) and self.holdout_tools < 1:
            raise InputError(f"--holdout-tools must be at least 1, got {self.holdout_tools}")


@dataclass(frozen=True)
class Split:
    """What the split decided: the held-out tools and, per split, the examples per cell."""

    held_out: tuple[str, ...]
    counts: dict[str, dict[Cell, int]]


def order_key(seed: int, name: str) -> str:
    return sha256_hex(f"{seed}:{name}")


def order_rank(seed: int, name: str) -> int:
    """``order_key`` as a number: a small sort key for a million examples."""
    return int(order_key(seed, name)[:16], 16)


def parse_holdout(text: str | None) -> int | tuple[str, ...] | None:
    """``--holdout-tools``: a count (``2``) or comma-separated names (``a,b``)."""
    if text is None or not text.strip():
        return None
    if text.strip().isdigit():
        return int(text)
    return tuple(sorted({name.strip() for name in text.split(",") if name.strip()}))


def held_out_tools(config: SplitConfig, tool_names: Sequence[str]) -> tuple[str, ...]:
    holdout = config.holdout_tools
    if holdout is None:
        return ()
    names = sorted(tool_names)
    if isinstance(holdout, int):
        if holdout >= len(names):
            raise InputError(
                f"--holdout-tools {holdout} leaves no tool to train on (the store has "
                f"{len(names)} tools)"
            )
        return tuple(sorted(random.Random(f"holdout:{config.seed}").sample(names, holdout)))
    unknown = [name for name in holdout if name not in names]
    if unknown:
        raise InputError(
            f"--holdout-tools: no tool named {', '.join(unknown)} in the store "
            f"(tools: {', '.join(names)})"
        )
    if len(holdout) >= len(names):
        raise InputError("--holdout-tools names every tool: nothing would be left to train on")
    return holdout


def split_selection(
    selection: ExportSelection, config: SplitConfig, tool_names: Sequence[str]
) -> Split:
    """Assign every selected group to train or eval (the rules: the module docstring).

    Groups are read in seeded order a page at a time and the decisions written back
    to the store, so memory holds the cells' quotas and one page, never every example."""
    config.check()
    held = held_out_tools(config, tool_names)
    selection.choose_groups(held)
    quotas = _quotas(selection.open_cell_sizes(), config)
    left = sum(quotas.values())
    chosen = _Decisions(selection)
    for position, _, cells in selection.open_groups(smallest_first=False):
        if left <= 0:
            break
        if all(quotas.get(cell, 0) >= count for cell, count in cells.items()):
            for cell, count in cells.items():
                quotas[cell] -= count
                left -= count
            chosen.add(position)
    chosen.flush()
    if left > 0:  # groups too big for their cells' quotas: fill the total with whole ones
        _fill_shortfall(selection, left)
    return Split(held, selection.counts())


class _Decisions:
    """Groups decided for eval, written to the store a batch at a time."""

    BATCH = 1_000

    def __init__(self, selection: ExportSelection) -> None:
        self.selection = selection
        self.positions: list[int] = []

    def add(self, position: int) -> None:
        self.positions.append(position)
        if len(self.positions) >= self.BATCH:
            self.flush()

    def flush(self) -> None:
        self.selection.add_eval(self.positions)
        self.positions = []


def _fill_shortfall(selection: ExportSelection, short: int) -> None:
    """Move whole train groups to eval, smallest first, while they fit in ``short`` and
    leave every cell they touch at least one train example."""
    left = Counter(selection.train_cell_sizes())
    moved = _Decisions(selection)
    for position, size, cells in selection.open_groups(smallest_first=True):
        if size > short:
            break
        if all(left[cell] > count for cell, count in cells.items()):
            moved.add(position)
            left.subtract(cells)
            short -= size
    moved.flush()


def _quotas(sizes: dict[Cell, int], config: SplitConfig) -> dict[Cell, int]:
    if config.eval_per_cell is not None:
        return {cell: min(config.eval_per_cell, size - 1) for cell, size in sizes.items()}
    total = sum(sizes.values())
    wanted = math.floor(total * config.eval_fraction + 0.5)
    if wanted == 0 or config.eval_fraction == 0:
        return {}
    by_category: dict[str, dict[str, int]] = defaultdict(dict)
    for (tool, category), size in sizes.items():
        by_category[category][tool] = size
    category_sizes = {category: sum(row.values()) for category, row in by_category.items()}
    category_quota = largest_remainder(
        category_sizes, wanted, floor={c: 1 for c, n in category_sizes.items() if n >= 2}
    )
    quotas: dict[Cell, int] = {}
    tool_eval: Counter[str] = Counter()
    for category in sorted(by_category, key=lambda c: (-category_quota[c], c)):
        row = by_category[category]
        shares = largest_remainder(
            row,
            category_quota[category],
            tie_break=lambda tool: (tool_eval[tool], order_key(config.seed, tool)),
        )
        for tool, quota in shares.items():
            # a cell keeps one example in train, unless it has only the one: a category
            # of one-example cells still needs its share of eval
            quotas[(tool, category)] = min(quota, max(row[tool] - 1, 1))
            tool_eval[tool] += quotas[(tool, category)]
    return quotas


def largest_remainder(
    sizes: dict[str, int],
    seats: int,
    *,
    floor: dict[str, int] | None = None,
    tie_break: Callable[[str], tuple[object, ...]] | None = None,
) -> dict[str, int]:
    """Share ``seats`` out in proportion to ``sizes`` (Hamilton's method), each at least
    its ``floor``; equal remainders go first to the key ``tie_break`` orders lowest."""
    total = sum(sizes.values())
    if total == 0 or seats <= 0:
        return dict.fromkeys(sizes, 0)
    floor = floor or {}
    exact = {key: seats * size / total for key, size in sizes.items()}
    shares = {key: max(math.floor(value), floor.get(key, 0)) for key, value in exact.items()}
    left = seats - sum(shares.values())
    order = sorted(
        sizes,
        key=lambda key: (
            math.floor(exact[key]) - exact[key],
            *(tie_break(key) if tie_break else (key,)),
        ),
    )
    for key in order:
        if left <= 0:
            break
        if shares[key] == math.floor(exact[key]) and shares[key] < sizes[key]:
            shares[key] += 1
            left -= 1
    return shares

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
from callforge.store import Cell, IndexedExample

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
    train: list[IndexedExample]
    eval: list[IndexedExample]
    held_out: tuple[str, ...]

    def part(self, name: str) -> list[IndexedExample]:
        return self.train if name == "train" else self.eval


def order_key(seed: int, name: str) -> str:
    return sha256_hex(f"{seed}:{name}")


def order_rank(seed: int, name: str) -> int:
    """``order_key`` as a number: a small sort key for a million examples."""
    return int(order_key(seed, name)[:16], 16)


def seeded_order(examples: Sequence[IndexedExample], seed: int) -> list[IndexedExample]:
    return sorted(examples, key=lambda example: order_rank(seed, example.example_id))


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


def split_examples(
    examples: Sequence[IndexedExample], config: SplitConfig, tool_names: Sequence[str]
) -> Split:
    """Assign every example to train or eval (see the module docstring for the rules)."""
    config.check()
    held = set(held_out_tools(config, tool_names))
    groups: dict[str, list[IndexedExample]] = defaultdict(list)
    for example in examples:
        groups[example.group_id].append(example)
    forced = {
        group_id
        for group_id, members in groups.items()
        if any(held.intersection(m.tools_called) or m.tool_name in held for m in members)
    }
    rest = [e for e in examples if e.group_id not in forced]
    quotas = _quotas(rest, config)
    del rest
    train: list[IndexedExample] = []
    evaluation: list[IndexedExample] = []
    for group_id in sorted(groups, key=lambda g: order_rank(config.seed, g)):
        members = groups[group_id]
        if group_id in forced:
            evaluation.extend(members)
            continue
        need = Counter((m.tool_name, m.category) for m in members)
        if all(quotas.get(cell, 0) >= count for cell, count in need.items()):
            for cell, count in need.items():
                quotas[cell] -= count
            evaluation.extend(members)
        else:
            train.extend(members)
    short = sum(quotas.values())
    if short > 0:  # groups too big for their cells' quotas: fill the total with whole ones
        train, moved = _fill_shortfall(train, short, config.seed)
        evaluation.extend(moved)
    return Split(
        seeded_order(train, config.seed), seeded_order(evaluation, config.seed), tuple(sorted(held))
    )


def _fill_shortfall(
    train: list[IndexedExample], short: int, seed: int
) -> tuple[list[IndexedExample], list[IndexedExample]]:
    """Move whole train groups to eval, smallest first, while they fit in ``short`` and
    leave every cell they touch at least one train example."""
    groups: dict[str, list[IndexedExample]] = defaultdict(list)
    for example in train:
        groups[example.group_id].append(example)
    left = Counter((e.tool_name, e.category) for e in train)
    moved: set[str] = set()
    for group_id in sorted(groups, key=lambda g: (len(groups[g]), order_rank(seed, g))):
        members = groups[group_id]
        if len(members) > short:
            break
        need = Counter((m.tool_name, m.category) for m in members)
        if all(left[cell] > count for cell, count in need.items()):
            moved.add(group_id)
            left.subtract(need)
            short -= len(members)
    return (
        [e for e in train if e.group_id not in moved],
        [e for e in train if e.group_id in moved],
    )


def _quotas(examples: Sequence[IndexedExample], config: SplitConfig) -> dict[Cell, int]:
    sizes = Counter((e.tool_name, e.category) for e in examples)
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
            quotas[(tool, category)] = min(quota, max(row[tool] - 1, 0))
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

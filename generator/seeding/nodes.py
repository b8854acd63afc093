"""Plan nodes: each draws one value for one schema location.

A compiled plan is a tree of these; drawing arguments only walks the tree.
The schema's own constraints always win over realism: a provider value that
breaks ``maxLength`` or ``pattern`` is replaced by a constrained generic one.
"""

from __future__ import annotations

import copy
import json
import string
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

from callforge.generator.errors import UnsupportedSchemaError
from callforge.generator.limits import SlowPattern, data_pattern
from callforge.generator.schema import FORMAT_CHECKER, Check
from callforge.generator.seeding.free_text import shortened
from callforge.generator.seeding.randomness import Draw
from callforge.generator.seeding.realism import Make

_NULL_RATE = 0.1  # how often an explicitly nullable value is drawn as null
_DEFAULT_RATE = 0.5  # how often a value with a default is drawn as that default
ATTEMPTS = 8


class Node(Protocol):
    def generate(self, draw: Draw) -> Any: ...


# ---------------------------------------------------------------------------
# Plan nodes: each draws one value for one schema location.


@dataclass(frozen=True)
class Const:
    value: Any

    def generate(self, draw: Draw) -> Any:
        return copy.deepcopy(self.value)


@dataclass(frozen=True)
class Enum:
    choices: tuple[Any, ...]

    def generate(self, draw: Draw) -> Any:
        return copy.deepcopy(draw.rng.choice(self.choices))


@dataclass(frozen=True)
class Boolean:
    def generate(self, draw: Draw) -> bool:
        return draw.rng.random() < 0.5


@dataclass(frozen=True)
class Default:
    """Draw the schema's default about half the time: real callers often pass it."""

    default: Any
    inner: Node

    def generate(self, draw: Draw) -> Any:
        if draw.rng.random() < _DEFAULT_RATE:
            return copy.deepcopy(self.default)
        return self.inner.generate(draw)


@dataclass(frozen=True)
class Nullable:
    inner: Node

    def generate(self, draw: Draw) -> Any:
        return None if draw.rng.random() < _NULL_RATE else self.inner.generate(draw)


@dataclass(frozen=True)
class AnyOf:
    branches: tuple[Node, ...]

    def generate(self, draw: Draw) -> Any:
        return draw.rng.choice(self.branches).generate(draw)


@dataclass(frozen=True)
class OneOf:
    """Draw from a branch, keeping only values that match exactly one of the branches."""

    branches: tuple[Node, ...]
    checks: tuple[Check, ...]
    path: str
    tool: str

    def generate(self, draw: Draw) -> Any:
        for _ in range(ATTEMPTS):
            value = draw.rng.choice(self.branches).generate(draw)
            if sum(check(value) for check in self.checks) == 1:
                return value
        raise UnsupportedSchemaError(
            "could not draw a value that matches exactly one oneOf branch; "
            "make the branches mutually exclusive (e.g. with a const or required key)",
            path=self.path,
            tool=self.tool or None,
        )


@dataclass(frozen=True)
class Grid:
    """Numbers ``k * step`` for ``k`` in ``[low, high]``: exact decimals, no 0.1 + 0.2 noise."""

    low: int
    high: int
    step: Fraction
    multiple_of: float | None
    path: str
    tool: str
    passing: tuple[int | float, ...] = ()  # every allowed value, when the grid is small

    def generate(self, draw: Draw) -> int | float:
        if self.passing:
            return draw.rng.choice(self.passing)
        k = self.low
        for _ in range(ATTEMPTS):
            k = draw.rng.randint(self.low, self.high)
            value = grid_value(k, self.step)
            if passes_multiple_of(value, self.multiple_of):
                return value
        for near in range(max(self.low, k - 500), min(self.high, k + 500) + 1):
            if passes_multiple_of(value := grid_value(near, self.step), self.multiple_of):
                return value
        raise UnsupportedSchemaError(
            f"no number near {value} passes multipleOf {self.multiple_of} in float arithmetic",
            path=self.path,
            tool=self.tool or None,
        )


def grid_value(k: int, step: Fraction) -> int | float:
    """``k * step`` as an int when whole, else the nearest float (Fraction-free, same value)."""
    scaled, denominator = k * step.numerator, step.denominator
    if scaled % denominator == 0:
        return scaled // denominator
    return scaled / denominator  # int / int is correctly rounded, as float(Fraction) is


def passes_multiple_of(value: float, multiple_of: float | None) -> bool:
    """jsonschema checks a float multipleOf in float arithmetic; so must we."""
    if not isinstance(multiple_of, float):
        return True
    quotient = value / multiple_of
    return int(quotient) == quotient


@dataclass(frozen=True)
class Text:
    """A string: provider value, then format value, then regex value, then plain words."""

    provider: Make | None
    format_maker: Make | None
    pattern: str | None
    min_length: int
    max_length: int | None
    format: str | None
    name: str
    path: str
    tool: str
    free_text: str = ""  # its kind of free text (a title, a body, SQL), if it is one

    def generate(self, draw: Draw) -> str:
        for make in (self.provider, self.format_maker):
            for _ in range(2 if make else 0):
                value = str(make(draw, self.name))  # type: ignore[misc]
                if self._fits(value):
                    return value
                if self.free_text and self.max_length is not None:
                    cut = shortened(value, self.max_length)  # a subject cut to fit, not noise
                    if cut and self._fits(cut):
                        return cut
        for attempt in range(6 if self.pattern else 0):
            value = draw.xeger(self.pattern)  # type: ignore[arg-type]
            if self._fits(value) and (attempt > 3 or _speakable(value)):
                return value
        for _ in range(2):
            value = _fitted_text(draw, self.min_length, self.max_length)
            if self._fits(value):
                return value
        raise UnsupportedSchemaError(
            "could not draw a string meeting its length, pattern and format together",
            path=self.path,
            tool=self.tool or None,
        )

    def _fits(self, value: str) -> bool:
        if len(value) < self.min_length:
            return False
        if self.max_length is not None and len(value) > self.max_length:
            return False
        if self.pattern is not None and not self._matches(value):
            return False
        return self.format is None or FORMAT_CHECKER.conforms(value, self.format)

    def _matches(self, value: str) -> bool:
        try:
            return data_pattern(self.pattern).search(value)  # type: ignore[arg-type]
        except SlowPattern as slow:
            raise UnsupportedSchemaError(
                str(slow), path=self.path, tool=self.tool or None
            ) from None


def _speakable(text: str) -> bool:
    """Text a user sentence can quote: no edge spaces, newlines or double quotes."""
    return text == text.strip() and '"' not in text and "\n" not in text


def _fitted_text(draw: Draw, low: int, high: int | None) -> str:
    """Plain Faker words cut or padded to ``low..high`` characters, no edge spaces."""
    cap = high if high is not None else max(low, 24)
    text = " ".join(draw.faker.words(draw.rng.randint(1, 2)))
    while len(text) < low:
        text = f"{text} {draw.faker.word()}"
    text = text[:cap].strip()
    while len(text) < low:
        text += draw.rng.choice(string.ascii_lowercase)
    return text


@dataclass(frozen=True)
class Array:
    item: Node | None
    min_items: int
    max_items: int | None
    unique: bool
    path: str
    tool: str
    ordered: bool = False  # an interval or range as a list: [start, end], low first

    def generate(self, draw: Draw) -> list[Any]:
        items = self._items(draw)
        if self.ordered and _sortable(items):
            items.sort()
        return items

    def _items(self, draw: Draw) -> list[Any]:
        if self.item is None:
            return []
        low = self.min_items if self.max_items == 0 else max(self.min_items, 1)
        high = max(low, self.min_items + 2) if self.max_items is None else self.max_items
        count = draw.rng.randint(low, min(high, low + 2))
        if self.ordered and low <= 2 <= high:
            count = 2  # an interval has two ends
        if not self.unique:
            return [self.item.generate(draw) for _ in range(count)]
        return self._unique(draw, count)

    def _unique(self, draw: Draw, count: int) -> list[Any]:
        items: dict[str, Any] = {}
        for _ in range(count * 10 + 10):
            if len(items) == count:
                break
            value = self.item.generate(draw)  # type: ignore[union-attr]
            items.setdefault(json.dumps(value, sort_keys=True), value)
        if len(items) < self.min_items:
            raise UnsupportedSchemaError(
                f"could not draw {self.min_items} distinct items for uniqueItems",
                path=self.path,
                tool=self.tool or None,
            )
        return list(items.values())


@dataclass(frozen=True)
class Property:
    name: str
    node: Node
    needs: frozenset[str]  # itself plus what dependentRequired pulls in


def _sortable(items: list[Any]) -> bool:
    """Numbers, or strings, all of one kind: what an interval list holds."""
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in items)
    return numbers or all(isinstance(v, str) for v in items)

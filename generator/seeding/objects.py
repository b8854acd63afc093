"""An object's properties, drawn so that siblings hold together.

Which optional properties appear, a city with its country and timezone from one
real place, a number whose range follows a sibling unit, origin and destination
that differ, and ranges in order (start before end, min below max, a check-out
``nights`` after the check-in).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from itertools import chain
from typing import Any

from callforge.generator.errors import UnsupportedSchemaError
from callforge.generator.schema import ROOT_PATH, Check
from callforge.generator.seeding.nodes import ATTEMPTS, Default, Node, Nullable, Property, Text
from callforge.generator.seeding.places import Place, local_street
from callforge.generator.seeding.randomness import Draw
from callforge.generator.seeding.realism import words_of


@dataclass(frozen=True)
class Object:
    required: tuple[Property, ...]
    optional: tuple[Property, ...]
    order: tuple[str, ...]
    extra: Node | None
    min_properties: int
    max_properties: int | None
    ordered_pairs: tuple[RangePair, ...]
    path: str
    tool: str
    place: PlaceGroup | None = None
    unit_links: tuple[UnitLink, ...] = ()
    distinct_pairs: tuple[tuple[str, str], ...] = ()

    def generate(self, draw: Draw) -> dict[str, Any]:
        given = draw.given if draw.given and self.path == ROOT_PATH else _NOTHING_GIVEN
        chosen = self._choose(draw)
        if given:
            chosen |= {name for name in self.order if name in given}
        nodes = self.nodes
        fixed = self.place.draw(draw, chosen, given) if self.place else None
        values = {
            name: copy.deepcopy(given[name])
            if name in given
            else fixed[name]
            if fixed and name in fixed
            else nodes[name].generate(draw)
            for name in self.order
            if name in chosen
        }
        self._leave_out_nulls(values)
        if len(values) < self.min_properties:
            self._add_extras(draw, values)
        for link in self.unit_links:
            if link.number not in given:
                link.apply(draw, values)
        for first, second in self.distinct_pairs:
            if second not in given:
                _tell_apart(draw, values, first, second, nodes[second])
        for pair in self.ordered_pairs:
            _order_pair(draw, values, pair, nodes, given)
        return values

    def _leave_out_nulls(self, values: dict[str, Any]) -> None:
        """An optional property drawn as null is left out, as a caller leaves out ``x=None``.

        Python's ``x: int | None = None`` is optional and nullable; a null sent
        for it says nothing the absent key does not, and a user would never say
        "max price: none". Required properties keep their nulls (the schema
        needs them), and so does a property another chosen one depends on.
        """
        nulls = [name for name, value in values.items() if value is None]
        if not nulls:
            return
        needed = set(self.required_names)
        for prop in self.optional:
            if prop.name in values and values[prop.name] is not None:
                needed |= prop.needs
        for name in nulls:
            if name not in needed and len(values) > self.min_properties:
                del values[name]

    @cached_property
    def nodes(self) -> dict[str, Node]:
        return {p.name: p.node for p in chain(self.required, self.optional)}

    @cached_property
    def required_names(self) -> frozenset[str]:
        return frozenset().union(*(p.needs for p in self.required))

    def _choose(self, draw: Draw) -> set[str]:
        chosen: set[str] = set(self.required_names)
        random, rate = draw.rng.random, draw.optional_rate
        if self.max_properties is None:
            # Every name chosen is a declared one, so no choice can exceed ``order``.
            for prop in self.optional:
                if random() < rate:
                    chosen |= prop.needs
        else:
            for prop in self.optional:
                if random() < rate and len(chosen | prop.needs) <= self.max_properties:
                    chosen |= prop.needs
        limit = self.max_properties if self.max_properties is not None else len(self.order)
        if len(chosen) < self.min_properties:
            rest = list(self.optional)
            draw.rng.shuffle(rest)
            for prop in rest:
                if len(chosen) < self.min_properties and len(chosen | prop.needs) <= limit:
                    chosen |= prop.needs
        return chosen

    def _add_extras(self, draw: Draw, values: dict[str, Any]) -> None:
        """Only ``minProperties`` beyond the declared ones makes us invent keys."""
        for _ in range(self.min_properties * 10):
            if len(values) >= self.min_properties or self.extra is None:
                break
            key = draw.faker.word()
            if key not in values and key not in self.order:
                values[key] = self.extra.generate(draw)
        if len(values) < self.min_properties:
            raise UnsupportedSchemaError(
                f"could not reach minProperties {self.min_properties}",
                path=self.path,
                tool=self.tool or None,
            )


@dataclass(frozen=True)
class PlaceGroup:
    """Sibling properties (city, country code, timezone, ...) drawn from one real place.

    ``places`` holds only the places whose value for every field passes that
    field's schema, so a drawn place never breaks validity.
    """

    fields: tuple[tuple[str, str], ...]  # (property, Place attribute)
    places: tuple[Place, ...]
    street: str | None = None  # a street-address property beside them, written locally

    def draw(self, draw: Draw, chosen: set[str], given: Given) -> dict[str, Any]:
        """One place for the chosen fields; one that has the ``given`` values, if any does."""
        present = [(name, role) for name, role in self.fields if name in chosen]
        if len(present) < 2:  # a lone city keeps its variety
            return {}
        places = self.places
        pinned = [(name, role) for name, role in present if name in given]
        if pinned:
            places = tuple(
                place
                for place in places
                if all(getattr(place, role) == given[name] for name, role in pinned)
            )
            if not places:
                return {}
        place = draw.rng.choice(places)
        drawn = {name: getattr(place, role) for name, role in present}
        if self.street in chosen and self.street not in given:
            street = local_street(place, draw.rng)
            if street is not None:
                drawn[self.street] = street
        return drawn


@dataclass(frozen=True)
class UnitLink:
    """A number whose sensible range follows a sibling unit choice: 72 with "fahrenheit"."""

    unit: str
    number: str
    by_unit: Mapping[str, Node]
    default: Any = None  # the unit a tool assumes when the caller leaves it out

    def apply(self, draw: Draw, values: dict[str, Any]) -> None:
        if self.number not in values:
            return
        node = self.by_unit.get(str(values.get(self.unit, self.default)).lower())
        if node is not None:
            values[self.number] = node.generate(draw)


def _tell_apart(draw: Draw, values: dict[str, Any], first: str, second: str, node: Node) -> None:
    """Redraw ``second`` while it equals ``first``: no flight from JFK to JFK, no USD to USD.

    Only for text: equal from/to dates are a one-day range, not a mistake.
    """
    for _ in range(ATTEMPTS):
        if first not in values or second not in values or values[first] != values[second]:
            return
        if not isinstance(values[first], str) or _ISO_LIKE.match(values[first]):
            return
        values[second] = node.generate(draw)


def _order_pair(
    draw: Draw, values: dict[str, Any], pair: RangePair, nodes: Nodes, given: Given
) -> None:
    """Keep ``start <= end`` for ranges like start_date/end_date or min_price/max_price.

    Always, not mostly: the end alone was once redrawn a few times, which left
    one return flight in ten before its departure when a late departure left
    few later days. Now a reversed pair is swapped where each value fits the
    other's schema, else the end is redrawn or set to the start, else the start
    is redrawn or set to the end, else both are redrawn; only ends whose schemas
    barely overlap can stay reversed.
    """
    start, end = pair.start, pair.end
    if start not in values or end not in values:
        return
    if _out_of_order(values[start], values[end]):
        _put_in_order(draw, values, pair, nodes, given)
    if end not in given:
        _fit_date_span(draw, values, pair, nodes[end])


def _put_in_order(
    draw: Draw, values: dict[str, Any], pair: RangePair, nodes: Nodes, given: Given
) -> None:
    """Swap, else redraw or copy the end, else the same for the start, else redraw both.

    A ``given`` end stays as it is; only the other one moves.
    """
    first, last = values[pair.start], values[pair.end]
    pinned = pair.start in given or pair.end in given
    if not pinned and pair.start_check(last) and pair.end_check(first):
        values[pair.start], values[pair.end] = last, first
        return
    ends = (pair.end, pair.start, pair.end_check), (pair.start, pair.end, pair.start_check)
    for name, other, fits in ends:
        if name in given:
            continue
        kept = values[name]
        for _ in range(ATTEMPTS):
            values[name] = nodes[name].generate(draw)
            if not _out_of_order(values[pair.start], values[pair.end]):
                return
        if fits(values[other]):  # equal ends are in order: a one-day range
            values[name] = values[other]
            return
        values[name] = kept
    for _ in range(0 if pinned else ATTEMPTS):  # ends whose schemas barely overlap: both anew
        start, end = nodes[pair.start].generate(draw), nodes[pair.end].generate(draw)
        if not _out_of_order(start, end):
            values[pair.start], values[pair.end] = start, end
            return


def _fit_date_span(draw: Draw, values: dict[str, Any], pair: RangePair, node: Node) -> None:
    """A date range as long as its ``nights`` sibling says, else a few days or hours.

    Dates are drawn over three years, so an independent check-out would land
    months after check-in and a meeting would end next week; the end moves only
    where its own schema accepts the new value.
    """
    first, last = values[pair.start], values[pair.end]
    start, end = _instant(first), _instant(last)
    if start is None or end is None:
        return
    length = values.get(pair.length) if pair.length else None
    if isinstance(length, int) and not isinstance(length, bool) and 0 <= length <= 366:
        gap = timedelta(days=length)
    elif len(last) == 10 and end - start > timedelta(days=30):
        gap = timedelta(days=draw.rng.randint(1, 14))
    elif len(last) > 10 and end - start > timedelta(hours=12):
        gap = timedelta(minutes=30 * draw.rng.randint(1, 8))
    else:
        return
    try:
        moved = start + gap
    except OverflowError:  # a pattern's year 9999
        return
    text = _text_node(node)
    shown = moved.date().isoformat() if len(last) == 10 else moved.strftime("%Y-%m-%dT%H:%M:%SZ")
    if text is not None and text._fits(shown) and not _out_of_order(first, shown):
        values[pair.end] = shown


def _instant(value: Any) -> datetime | None:
    """``2024-05-01`` or ``2024-05-01T09:30:00Z`` (the shapes seeding writes) as a datetime."""
    if not isinstance(value, str) or not _ISO_INSTANT.match(value):
        return None
    try:
        return datetime.fromisoformat(value[:19])
    except ValueError:  # month 13 from a pattern
        return None


def _text_node(node: Node) -> Text | None:
    """The string generator under a default or nullable wrapper, if that is what it is."""
    while isinstance(node, Default | Nullable):
        node = node.inner
    return node if isinstance(node, Text) else None


_ISO_LIKE = re.compile(r"^(\d{4}-\d{2}-\d{2}|\d{2}:\d{2})")
_ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?$")


def _out_of_order(start: Any, end: Any) -> bool:
    """``start > end`` for two numbers, two dates (or date-times) or two times of day."""
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in (start, end)):
        return bool(start > end)
    if not (isinstance(start, str) and isinstance(end, str)):
        return False
    shapes = [_ISO_LIKE.match(v) for v in (start, end)]
    if shapes[0] is None or shapes[1] is None:
        return False
    same_kind = (len(shapes[0].group(1)) == 10) == (len(shapes[1].group(1)) == 10)
    return same_kind and start > end


@dataclass(frozen=True)
class RangePair:
    start: str
    end: str
    start_check: Check  # whether a value fits the start's schema (so a swap is allowed)
    end_check: Check
    length: str = ""  # a sibling counting the days between them, e.g. ``nights``


Nodes = Mapping[str, Node]
Given = Mapping[str, Any]
_NOTHING_GIVEN: Given = {}


# Start-words and the end-words they pair with: start_date/end_date, min_price/max_price.
PAIR_WORDS = {
    "start": ("end", "finish", "stop"),
    "begin": ("end", "finish"),
    "from": ("to", "until"),
    "since": ("until",),
    "low": ("high",),
    "open": ("close",),
    "first": ("last",),
    "min": ("max",),
    "minimum": ("maximum",),
    "earliest": ("latest",),
    "checkin": ("checkout",),
    "lower": ("upper",),
    "departure": ("return", "arrival"),
    "pickup": ("dropoff", "return"),
    "after": ("before",),
}
# Two ends of a trip or transfer, which should differ: origin/destination, from/to currency.
ENDPOINT_WORDS = {
    "from": ("to",),
    "origin": ("destination",),
    "source": ("target",),
    "departure": ("arrival",),
    "sender": ("recipient",),
}
_DAY_COUNT = re.compile(
    r"^((num|number of|stay|trip|rental|duration( in)?) )?(nights|days)$|^(length of )?stay$"
)


def _range_words(name: str) -> str:
    words = words_of(name)
    for spaced, joined in (("check in", "checkin"), ("check out", "checkout")):
        words = words.replace(spaced, joined)
    return words.replace("pick up", "pickup").replace("drop off", "dropoff")


def twin_pairs(names: Sequence[str], twins: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    """Property pairs found by swapping a start-word for its end-word, e.g. start/end date.

    Word order does not matter: ``date_start`` pairs with ``end_date``.
    """
    by_words = {tuple(sorted(_range_words(name).split())): name for name in names}
    pairs = []
    for tokens, name in by_words.items():
        for i, token in enumerate(tokens):
            for other in twins.get(token, ()):
                twin = tuple(sorted([*tokens[:i], other, *tokens[i + 1 :]]))
                if twin in by_words:
                    pairs.append((name, by_words[twin]))
    return pairs


def day_count(names: Sequence[str]) -> str:
    """The one property counting days or nights (a stay's length), or ``""``."""
    found = [name for name in names if _DAY_COUNT.match(words_of(name))]
    return found[0] if len(found) == 1 else ""

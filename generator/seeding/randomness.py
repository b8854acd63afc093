"""The sources of randomness a plan draws from, and the workarounds that keep them fast.

``Draw`` carries the caller's ``random.Random`` and a Faker; ``PatternText`` is
rstr's regex-to-text made quote-free and hash-order independent; the
unweighted twin is a uniform-choice Faker reseeded from the caller's, because
Faker's weighted picks dominate seeding time. All randomness still comes from
the caller's seed.
"""

from __future__ import annotations

import random
import re
import string
import threading
from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from itertools import chain
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, cast

import rstr
from faker import Faker
from faker.generator import Generator

from callforge.generator.limits import DRAWN_REPEATS

_SAFE_CHARS = string.ascii_letters + string.digits + "-_."


REFERENCE_TODAY = date(2025, 1, 1)
"""The "today" of arguments seeded without one; an example's own is drawn from its seed."""


class Draw:
    """The per-call sources of randomness a plan draws from."""

    __slots__ = ("_xeger", "faker", "given", "memo", "optional_rate", "rng", "today")

    def __init__(
        self, rng: random.Random, faker: Faker, optional_rate: float, today: date = REFERENCE_TODAY
    ) -> None:
        self.rng = rng
        self.faker = faker
        self.optional_rate = optional_rate
        self.today = today  # the example's today: bookings lie after it, birth dates before
        self.memo: dict[str, Any] = {}  # what one call's values share: a topic, a table
        self.given: Mapping[str, Any] = {}  # top-level values the caller fixed
        self._xeger: _PatternText | None = None

    def xeger(self, pattern: str) -> str:
        if self._xeger is None:
            self._xeger = _PatternText(self.rng)
        return self._xeger.xeger(pattern)


class _PatternText(rstr.Rstr):
    """rstr's regex-to-text, kept short, quote-free and independent of hash order.

    Stock rstr draws ``.`` and negated classes from ``string.printable`` (quotes,
    newlines) and picks from a ``set`` (order varies with PYTHONHASHSEED).
    """

    def __init__(self, rng: random.Random) -> None:
        super().__init__(
            rng,
            printable=_SAFE_CHARS,
            nonwhitespace=_SAFE_CHARS,
            nondigits=string.ascii_letters,
            nonword="-.",
            whitespace=" ",
        )
        cases = dict(self._cases)
        cases["any"] = lambda _: self._random.choice(_SAFE_CHARS)
        cases["not_literal"] = lambda x: self._random.choice(_SAFE_CHARS.replace(chr(x), ""))
        self._cases = cases

    def xeger(self, string_or_regex: str | re.Pattern[str]) -> str:
        pattern = string_or_regex if isinstance(string_or_regex, str) else string_or_regex.pattern
        result = self._build_string(_parsed_regex(pattern))
        self._cache.clear()
        return result

    def _handle_in(self, value: Any) -> Any:
        candidates = list(chain(*(self._handle_state(i) for i in value)))
        if candidates and candidates[0] is False:
            candidates = sorted(set(_SAFE_CHARS).difference(candidates[1:]))
        return self._random.choice(candidates)

    def _handle_repeat(self, start_range: int, end_range: int, value: Any) -> str:
        times = self._random.randint(start_range, min(end_range, start_range + DRAWN_REPEATS))
        return "".join("".join(self._handle_state(i) for i in value) for _ in range(times))


@lru_cache(maxsize=512)
def _parsed_regex(pattern: str) -> Any:
    """Regex parse trees, reused: parsing costs more than generating from the tree."""
    return sre_parse.parse(pattern)


_twins = threading.local()


def unweighted_twin(faker: Faker) -> Faker:
    """A uniform-choice twin of the caller's Faker, reseeded from it on every call.

    Faker's frequency-weighted picks (first names, cities, companies) cost five to
    ten times more than uniform ones and dominate seeding time. The twin draws
    from the same locale data; its seed comes from the caller's Faker, so the
    caller's seed still decides every value. Multi-locale Fakers are used as is.

    The twin handed out is the single-locale Faker's own ``Generator``: the proxy
    forwards every call to it anyway, through an ``AttributeError`` per lookup that
    costs more than most draws. The caller's last Faker is remembered (per
    thread), so its locales and generator are looked up once, not per call.
    """
    last: tuple[Faker, Any, Faker | None] | None = getattr(_twins, "last", None)
    if last is None or last[0] is not faker:
        last = _twins.last = (faker, *_twin_of(faker))
    _, source, twin = last
    if twin is None:
        return faker
    twin.seed_instance(source.random.getrandbits(64))
    return twin


def _twin_of(faker: Faker) -> tuple[Any, Faker | None]:
    """(where the twin's seed is drawn from, the twin), or (faker, None) to use it as is."""
    try:
        faker.random  # noqa: B018 - raises for a multi-locale Faker
    except NotImplementedError:
        return faker, None
    key = tuple(faker.locales)
    cache: dict[tuple[str, ...], Faker] = _twins.__dict__.setdefault("by_locales", {})
    twin = cache.get(key)
    if twin is None:
        twin = cache[key] = Faker(list(key), use_weighting=False)
    return _single_generator(faker), _single_generator(twin)


def _single_generator(faker: Faker) -> Faker:
    """A single-locale proxy's one ``Generator`` (same methods, same random), else itself."""
    factories = faker.__dict__.get("_factories") if isinstance(faker, Faker) else None
    if factories is not None and len(factories) == 1 and isinstance(factories[0], Generator):
        return cast(Faker, factories[0])
    return faker

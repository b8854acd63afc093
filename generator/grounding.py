"""Grounding: is a value the assistant passed actually in the words it was given?

A call argument is *grounded* when the user's request (or an earlier tool result,
for chained values) states it. Text and values are compared after normalisation:

* text: Unicode NFKC, case-folded, curly quotes made straight, runs of white
  space collapsed to one space, and matched as whole words at its ends.
  ``"New  York"`` is grounded by "new york"; ``"DE"`` is not grounded by
  "destination".
* integers: as digits, with or without thousands separators, not inside a longer
  number. ``1500`` is grounded by "1500" or "1,500", not by "15000" or "1500.5".
* floats: as written with their own digits, or with two decimals, or without
  ``.0`` when integral. ``12.5`` is grounded by "12.5" or "12.50".
* ISO dates ``YYYY-MM-DD``: verbatim, or spelt out as "March 5, 2026",
  "5 March 2026" (month names or their three-letter forms, ordinals allowed):
  people and models write dates both ways, and both name one day.
* ISO date-times: verbatim, or their date grounded as above and their time
  grounded as ``HH:MM``.
* booleans and null: not checked; no string match can tell "don't include
  archived" from "include archived".

Objects and arrays are grounded when every scalar leaf is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from functools import lru_cache
from typing import Any

from callforge.generator.schema import scalar_leaves

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_SPACES = re.compile(r"\s+")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ISO_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[t ](\d{2}:\d{2})(:\d{2}(\.\d+)?)?(z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]


@lru_cache(maxsize=256)
def normalise(text: str) -> str:
    r"""NFKC, quotes straightened, case-folded, white space runs made one space, stripped.

    ``" ".join(t.split())`` is ``re.sub(r"\s+", " ", t).strip()``: both split on
    exactly the characters ``str.isspace`` accepts. ASCII text skips the Unicode
    steps, which leave it as it is (and ``casefold`` is ``lower`` on ASCII). Cached:
    a user request is normalised by the conversation check, its category's check
    and the dedup key.
    """
    if text.isascii():
        return " ".join(text.lower().split())
    return " ".join(unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold().split())


def normalise_parts(texts: Iterable[str]) -> list[str]:
    r"""Each text normalised, empty ones left out.

    ``" ".join`` of them is ``normalise("\n".join(texts))``: normalising never reaches
    across a line break. A caller can add texts one at a time this way, without
    normalising the earlier ones again.
    """
    return [part for part in map(normalise, texts) if part]


class GroundingText:
    """Normalised text that values are looked up in."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.text = normalise("\n".join(texts))

    @classmethod
    def of_parts(cls, parts: Iterable[str]) -> GroundingText:
        """The grounding text of texts already split by ``normalise_parts``."""
        grounding = cls.__new__(cls)
        grounding.text = " ".join(parts)
        return grounding

    def contains(self, value: Any) -> bool:
        """True if ``value`` (any JSON value) is stated in this text."""
        return all(self._contains_scalar(leaf) for leaf in scalar_values(value))

    def missing(self, value: Any) -> list[tuple[str, Any]]:
        """The (JSON path, leaf) pairs of ``value`` this text does not state."""
        # Paths are only spelt out for the leaves that are missing (usually none).
        absent = [
            index
            for index, leaf in enumerate(scalar_values(value))
            if not self._contains_scalar(leaf)
        ]
        if not absent:
            return []
        leaves = list(scalar_leaves(value))
        return [leaves[index] for index in absent]

    def _contains_scalar(self, value: Any) -> bool:
        if value is None or isinstance(value, bool):
            return True
        if isinstance(value, int | float):
            return _contains_number(self.text, _number_forms(value))
        text = _normalised_value(str(value))
        if _contains_phrase(self.text, text):
            return True
        return any(_contains_phrase(self.text, form) for form in _date_variants(text))


def scalar_values(value: Any) -> Iterator[Any]:
    """The leaves ``scalar_leaves`` yields, in its order, without their paths."""
    if type(value) in _SCALARS:
        yield value
    elif isinstance(value, Mapping):
        for child in value.values():
            yield from scalar_values(child)
    elif isinstance(value, list | tuple):
        for child in value:
            yield from scalar_values(child)
    else:
        yield value


_SCALARS = frozenset({str, int, float, bool, type(None)})
_normalised_value = lru_cache(maxsize=65536)(normalise.__wrapped__)


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _contains_phrase(haystack: str, phrase: str) -> bool:
    """``phrase`` as a whole word or phrase: "de" is not stated by "destination".

    A plain ``find`` loop with boundary checks: values are mostly distinct, so a
    compiled regular expression per value would cost more than it saves.
    """
    if not phrase:
        return True
    guard_start, guard_end = _is_word(phrase[0]), _is_word(phrase[-1])
    start = haystack.find(phrase)
    while start != -1:
        end = start + len(phrase)
        if not (guard_start and start > 0 and _is_word(haystack[start - 1])) and not (
            guard_end and end < len(haystack) and _is_word(haystack[end])
        ):
            return True
        start = haystack.find(phrase, start + 1)
    return False


@lru_cache(maxsize=65536)
def _number_forms(value: int | float) -> tuple[str, ...]:
    """How ``value`` may be written: its digits, with thousands separators, two decimals.

    Cached like the regular expression it replaces (``1`` and ``1.0`` share an
    entry, the first one asked for wins), so lookups stay exactly as they were.
    """
    forms: set[str] = set()
    if isinstance(value, float) and not value.is_integer():
        forms |= {repr(value), f"{value:.2f}", f"{value:,.2f}"}
    else:
        whole = int(value)
        forms |= {str(whole), f"{whole:,}"}
        if isinstance(value, float):
            forms |= {f"{whole}.0", f"{value:.2f}"}
    return tuple(sorted(forms, key=len, reverse=True))


def _contains_number(haystack: str, forms: tuple[str, ...]) -> bool:
    r"""Whether a form stands in ``haystack`` as a number of its own.

    The same test as ``(?<![\d.,])(?:form|...)(?![\d]|[.,]\d)``, without compiling
    a regular expression per value: not right after a digit, '.' or ',', and not
    followed by a digit or by '.'/',' and a digit (``\d`` is ``str.isdecimal``).
    """
    size = len(haystack)
    for form in forms:
        start = haystack.find(form)
        while start != -1:
            end = start + len(form)
            before = haystack[start - 1] if start else ""
            if not (before.isdecimal() or before in (".", ",")):
                after = haystack[end] if end < size else ""
                if not after.isdecimal() and not (
                    after in (".", ",") and end + 1 < size and haystack[end + 1].isdecimal()
                ):
                    return True
            start = haystack.find(form, start + 1)
    return False


@lru_cache(maxsize=65536)
def _date_variants(text: str) -> tuple[str, ...]:
    datetime_match = _ISO_DATETIME.match(text)
    if datetime_match:
        day, clock = datetime_match.group(1), datetime_match.group(2)
        return tuple(
            f"{form}{separator}{clock}"
            for form in (day, *_date_variants(day))
            for separator in (" at ", " ", ", ", "t")
        )
    match = _ISO_DATE.match(text)
    if not match:
        return ()
    try:
        parsed = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return ()
    variants = []
    for month in (_MONTHS[parsed.month - 1], _MONTHS[parsed.month - 1][:3]):
        for day in (str(parsed.day), _ordinal(parsed.day)):
            variants += [f"{month} {day}, {parsed.year}", f"{day} {month} {parsed.year}"]
    return tuple(variants)


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"

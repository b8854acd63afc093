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
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from typing import Any

from generator.schema import scalar_leaves

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


def normalise(text: str) -> str:
    return _SPACES.sub(
        " ", unicodedata.normalize("NFKC", text).translate(_QUOTES).casefold()
    ).strip()


class GroundingText:
    """Normalised text that values are looked up in."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.text = normalise("\n".join(texts))

    def contains(self, value: Any) -> bool:
        """True if ``value`` (any JSON value) is stated in this text."""
        return all(self._contains_scalar(leaf) for _, leaf in scalar_leaves(value))

    def missing(self, value: Any) -> list[tuple[str, Any]]:
        """The (JSON path, leaf) pairs of ``value`` this text does not state."""
        return [
            (path, leaf) for path, leaf in scalar_leaves(value) if not self._contains_scalar(leaf)
        ]

    def _contains_scalar(self, value: Any) -> bool:
        if value is None or isinstance(value, bool):
            return True
        if isinstance(value, int | float):
            return _number_pattern(value).search(self.text) is not None
        text = normalise(str(value))
        forms = (text, *_date_variants(text))
        return any(_contains_phrase(self.text, form) for form in forms)


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
def _number_pattern(value: int | float) -> re.Pattern[str]:
    forms: set[str] = set()
    if isinstance(value, float) and not value.is_integer():
        forms |= {repr(value), f"{value:.2f}", f"{value:,.2f}"}
    else:
        whole = int(value)
        forms |= {str(whole), f"{whole:,}"}
        if isinstance(value, float):
            forms |= {f"{whole}.0", f"{value:.2f}"}
    alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<![\d.,])(?:{alternatives})(?![\d]|[.,]\d)")


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

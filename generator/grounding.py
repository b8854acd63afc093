"""Grounding: is a value the assistant passed actually in the words it was given?

A call argument is *grounded* when the user's request (or an earlier tool result,
for chained values) states it. People state values the way they talk, not the way
a form stores them, so a value is looked for in every form that names it, and
only there. Text and values are compared after normalisation:

* text: Unicode NFKC, case-folded, curly quotes made straight, runs of white
  space collapsed to one space, and matched as whole words at its ends.
  ``"New  York"`` is grounded by "new york"; ``"DE"`` is not grounded by
  "destination". A name-like value (``premium_economy``, ``no-preference``,
  ``premiumEconomy``) is also grounded by its words: "premium economy".
* integers: as digits, with or without thousands separators, not inside a longer
  number; 0-99 also as words. ``1500`` is grounded by "1500" or "1,500", not by
  "15000" or "1500.5"; ``3`` by "three", ``25`` by "twenty-five".
* floats: as written with their own digits, or with two decimals, or without
  ``.0`` when integral. ``12.5`` is grounded by "12.50", not by "12.55".
* ISO dates ``YYYY-MM-DD``: verbatim, or spelt out with or without the year:
  "March 5, 2026", "5th of March", "Mar 5th", "2026/03/05", and "05/03/2026"
  only when it cannot be read as another day (the day is past 12, or day and
  month agree). A form without the year does not count where a different year
  follows it ("March 5, 2027" does not ground 2026-03-05). Against the
  example's *today*, relative forms too: "today", "tomorrow", "the day after
  tomorrow", "yesterday", "in 3 days", "in a week", "on Friday" / "this Friday"
  (the next 6 days), "next Friday" (the coming one or the one in the week after;
  people use it for both) and "Friday next week", "last Friday".
* ISO date-times: their date grounded as above and, anywhere in the text, their
  time: "14:30", "2:30 pm", "2:30pm", "2 pm" on the hour, "noon", "midnight".
  "Tomorrow at 2 pm" grounds ``<tomorrow>T14:00:00``. Times (``HH:MM[:SS]``)
  alone the same way.
* booleans, by intent where it can be decided: a flag whose name the text
  mentions ("notify customer", "express") is grounded when the words around it
  agree with the value: "don't notify the customer", "without express",
  "express: no", "express turned off" say false; a plain mention, "yes", "on",
  "enabled" say true. A flag the text never names cannot be decided and is not
  checked, nor is null.

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
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ISO_DATETIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[t ](\d{2}):(\d{2})(:\d{2}(\.\d+)?)?(z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
_ISO_TIME = re.compile(r"^(\d{2}):(\d{2})(:\d{2}(\.\d+)?)?(z|[+-]\d{2}:?\d{2})?$", re.IGNORECASE)
_FOLLOWING_YEAR = re.compile(r"^(?:,\s*|\s+)(?:of\s+)?(\d{4})\b")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NAME_LIKE = re.compile(r"^[\w]+(?:[-_][\w]+)+$|^[a-z]+(?:[A-Z][a-z0-9]+)+$")
MONTHS = [
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
"""Month names, lower-case: the one list grounding, phrasing, answers and mistakes share."""
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_NEGATIONS = frozenset(
    {"no", "not", "don't", "dont", "never", "without", "skip", "exclude", "disable", "n't"}
)
_OFF_WORDS = frozenset({"off", "disabled", "no", "false", "not", "none"})
_ON_WORDS = frozenset({"on", "enabled", "yes", "true"})
_FLAG_PREFIXES = ("is ", "has ", "enable ", "use ", "should ")
_CLAUSE_END = re.compile(r"[,.;!?\n]| but | and | or ")


def humanise(name: str) -> str:
    """``departure_date`` / ``departureDate`` -> ``departure date``: a name as people say it."""
    return " ".join(_CAMEL.sub(" ", name).replace("_", " ").replace("-", " ").split()).lower()


def number_words(value: int) -> tuple[str, ...]:
    """0-99 in words ("twenty-five", "twenty five"); nothing for other numbers."""
    if not 0 <= value < 100:
        return ()
    if value < 20:
        return (_UNITS[value],)
    tens, unit = divmod(value, 10)
    if not unit:
        return (_TENS[tens],)
    return (f"{_TENS[tens]}-{_UNITS[unit]}", f"{_TENS[tens]} {_UNITS[unit]}")


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
    """Normalised text that values are looked up in; ``today`` resolves relative dates."""

    def __init__(self, texts: Iterable[str], today: date | None = None) -> None:
        self.text = normalise("\n".join(texts))
        self.today = today

    @classmethod
    def of_parts(cls, parts: Iterable[str], today: date | None = None) -> GroundingText:
        """The grounding text of texts already split by ``normalise_parts``."""
        grounding = cls.__new__(cls)
        grounding.text = " ".join(parts)
        grounding.today = today
        return grounding

    def contains(self, value: Any) -> bool:
        """True if ``value`` (any JSON value) is stated in this text."""
        return not self.missing(value)

    def missing(
        self, value: Any, rivals: Mapping[str, Iterable[str]] | None = None
    ) -> list[tuple[str, Any]]:
        """The (JSON path, leaf) pairs of ``value`` this text does not state.

        ``rivals`` maps a top-level key to the other options of its enum: "premium
        economy" in the text states ``premium_economy``, so it does not state
        ``economy`` too, though the word is there.
        """
        # Paths are only spelt out for the leaves that are missing (usually none), for
        # flags, whose name says what to look for, and for options with rivals.
        leaves = list(scalar_values(value))
        absent = [
            index
            for index, leaf in enumerate(leaves)
            if type(leaf) is not bool and not self._contains_scalar(leaf)
        ]
        outshone = self._outshone(value, rivals) if rivals and isinstance(value, Mapping) else ()
        if bool not in map(type, leaves) and not absent and not outshone:
            return []
        pairs = list(scalar_leaves(value))
        return [
            (path, leaf)
            for index, (path, leaf) in enumerate(pairs)
            if index in absent
            or path in outshone
            or (type(leaf) is bool and not self._states_flag(path, leaf))
        ]

    def _outshone(self, value: Mapping[str, Any], rivals: Mapping[str, Iterable[str]]) -> set[str]:
        """Top-level keys whose option is stated only inside a longer rival option."""
        outshone = set()
        for key, leaf in value.items():
            if not isinstance(leaf, str) or key not in rivals:
                continue
            words = humanise(leaf)
            covering = {
                form
                for rival in rivals[key]
                for form in (normalise(rival), humanise(rival))
                if words in form and form != words
            }
            if covering:
                text = self.text
                for form in sorted(covering, key=len, reverse=True):
                    text = text.replace(form, " \u00a4 ")
                if not GroundingText.of_parts([text], self.today)._contains_scalar(leaf):
                    outshone.add(key)
        return outshone

    def _contains_scalar(self, value: Any) -> bool:
        if value is None or isinstance(value, bool):
            return True
        if isinstance(value, int | float):
            if _contains_number(self.text, _number_forms(value)):
                return True
            words = number_words(value) if isinstance(value, int) else ()
            return any(_contains_number_word(self.text, word) for word in words)
        text = _normalised_value(str(value))
        if _contains_phrase(self.text, text):
            return True
        return self._contains_natural(str(value), text)

    def _contains_natural(self, raw: str, text: str) -> bool:
        """The forms people use for a date, a time or a name-like value."""
        datetime_match = _ISO_DATETIME.match(text)
        if datetime_match:
            day = datetime_match.group(1)
            clock = (int(datetime_match.group(2)), int(datetime_match.group(3)))
            return self._contains_date(day) and self._contains_time(clock)
        if _ISO_DATE.match(text):
            return self._contains_date(text)
        time_match = _ISO_TIME.match(text)
        if time_match:
            return self._contains_time((int(time_match.group(1)), int(time_match.group(2))))
        if _NAME_LIKE.match(raw):
            return _contains_phrase(self.text, humanise(raw))
        return False

    def _contains_date(self, iso: str) -> bool:
        parsed = _parse_date(iso)
        if parsed is None:
            return _contains_phrase(self.text, iso)
        if _contains_phrase(self.text, iso) or (
            f"{iso}t" in self.text and re.search(rf"(?<!\w){iso}t\d", self.text)
        ):  # the day of a date-time: 2026-03-05t14:30:00z
            return True
        if any(_contains_phrase(self.text, form) for form in _date_forms(parsed)):
            return True
        if any(self._contains_yearless(form, parsed.year) for form in _yearless_forms(parsed)):
            return True
        if self.today is not None:
            return any(
                _contains_phrase(self.text, form) for form in _relative_forms(parsed, self.today)
            )
        return False

    def _contains_yearless(self, form: str, year: int) -> bool:
        """``form`` stated without a year, or followed by this very year."""
        start = self.text.find(form)
        while start != -1:
            end = start + len(form)
            if (start == 0 or not _is_word(self.text[start - 1])) and (
                end == len(self.text) or not _is_word(self.text[end])
            ):
                following = _FOLLOWING_YEAR.match(self.text[end : end + 12])
                if following is None or int(following.group(1)) == year:
                    return True
            start = self.text.find(form, start + 1)
        return False

    def _contains_time(self, clock: tuple[int, int]) -> bool:
        return any(_contains_phrase(self.text, form) for form in _time_forms(clock))

    def _states_flag(self, path: str, value: bool) -> bool:
        """False only where the text names the flag and its words say the opposite."""
        name = re.split(r"[.\[]", path)[-1] if path else ""
        label = humanise(name)
        labels = {label, *(label[len(p) :] for p in _FLAG_PREFIXES if label.startswith(p))}
        intents = [
            intent
            for candidate in labels
            if candidate
            for intent in _flag_intents(self.text, candidate)
        ]
        return not intents or value in intents


def _flag_intents(text: str, label: str) -> Iterator[bool]:
    """What each mention of ``label`` in ``text`` says: on (True) or off (False)."""
    for match in _label_pattern(label).finditer(text):
        start, end = match.span()
        before = [
            word.strip("()[]\"'")
            for word in _CLAUSE_END.split(text[max(0, start - 40) : start])[-1].split()[-4:]
        ]
        after = _CLAUSE_END.split(text[end : end + 20].lstrip(" :=-"))[0].split()[:2]
        if any(word in _NEGATIONS or word.endswith("n't") for word in before) or any(
            word.strip(".,!") in _OFF_WORDS for word in after
        ):
            yield False
        else:
            yield True


@lru_cache(maxsize=1024)
def _label_pattern(label: str) -> re.Pattern[str]:
    """A flag's words, allowing an article or pronoun between them: "notify the customer"."""
    filler = r"(?:\s+(?:the|a|an|my|our|their|his|her|its|your))?\s+"
    return re.compile(r"(?<!\w)" + filler.join(map(re.escape, label.split())) + r"(?!\w)")


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


_LONGER_NUMBER_BEFORE = re.compile(
    r"(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)[- ]$"
)
_LONGER_NUMBER_AFTER = re.compile(
    r"^[- ](?:one|two|three|four|five|six|seven|eight|nine|hundred|thousand|million)\b"
)


def _contains_number_word(haystack: str, word: str) -> bool:
    """A number in words, standing alone: "five" is not in "twenty-five" or "five hundred"."""
    start = haystack.find(word)
    while start != -1:
        end = start + len(word)
        if (
            (start == 0 or not _is_word(haystack[start - 1]))
            and (end == len(haystack) or not _is_word(haystack[end]))
            and not _LONGER_NUMBER_BEFORE.search(haystack[max(0, start - 8) : start])
            and not _LONGER_NUMBER_AFTER.match(haystack[end : end + 10])
        ):
            return True
        start = haystack.find(word, start + 1)
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
def _parse_date(iso: str) -> date | None:
    match = _ISO_DATE.match(iso)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def _date_forms(day: date) -> tuple[str, ...]:
    """A day spelt out with its year: "march 5, 2026", "5th of mar 2026", "2026/03/05"."""
    forms = [f"{day.year}/{day.month:02d}/{day.day:02d}"]
    if day.day > 12 or day.day == day.month:  # cannot be read as another day
        forms += [f"{day.day:02d}/{day.month:02d}/{day.year}", f"{day.day}/{day.month}/{day.year}"]
        forms += [f"{day.month:02d}/{day.day:02d}/{day.year}", f"{day.month}/{day.day}/{day.year}"]
    for yearless in _yearless_forms(day):
        forms += [f"{yearless}, {day.year}", f"{yearless} {day.year}"]
    return tuple(forms)


@lru_cache(maxsize=65536)
def _yearless_forms(day: date) -> tuple[str, ...]:
    """ "march 5", "march 5th", "5 march", "5th of march", "mar 5" and the like."""
    forms = []
    for month in (MONTHS[day.month - 1], MONTHS[day.month - 1][:3]):
        for number in (str(day.day), _ordinal(day.day)):
            forms += [f"{month} {number}", f"{number} {month}", f"{number} of {month}"]
    return tuple(forms)


@lru_cache(maxsize=4096)
def _relative_forms(day: date, today: date) -> tuple[str, ...]:
    """How a person says ``day`` on ``today``: "tomorrow", "next friday", "in 3 days"."""
    delta = (day - today).days
    forms: list[str] = []
    forms += {0: ["today", "tonight"], 1: ["tomorrow"], -1: ["yesterday"]}.get(delta, [])
    forms += ["the day after tomorrow"] if delta == 2 else []
    if 1 <= delta <= 60:
        forms += [f"in {count} days" for count in (str(delta), *number_words(delta))]
        if delta % 7 == 0:
            weeks = delta // 7
            forms += ["in a week", "a week from today"] if weeks == 1 else []
            forms += [f"in {count} weeks" for count in (str(weeks), *number_words(weeks))]
    weekday = WEEKDAYS[day.weekday()]
    if 1 <= delta <= 6:
        forms += [f"on {weekday}", f"this {weekday}", f"coming {weekday}", f"next {weekday}"]
    if 7 <= delta <= 13:
        forms += [f"next {weekday}", f"{weekday} next week", f"{weekday} of next week"]
    if -7 <= delta <= -1:
        forms += [f"last {weekday}"]
    return tuple(forms)


@lru_cache(maxsize=4096)
def _time_forms(clock: tuple[int, int]) -> tuple[str, ...]:
    """ "14:30", "2:30 pm", "2:30pm", "2 pm" on the hour, "noon", "midnight"."""
    hour, minute = clock
    half = "am" if hour < 12 else "pm"
    twelve = hour % 12 or 12
    forms = [f"{hour:02d}:{minute:02d}", f"{hour}:{minute:02d}"]
    for suffix in (half, f"{half[0]}.m."):
        forms += [f"{twelve}:{minute:02d} {suffix}", f"{twelve}:{minute:02d}{suffix}"]
        if minute == 0:
            forms += [f"{twelve} {suffix}", f"{twelve}{suffix}"]
    if minute == 0:
        forms += {12: ["noon", "midday"], 0: ["midnight"]}.get(hour, [])
    return tuple(forms)


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"

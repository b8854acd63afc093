"""What a final answer owes the tool results: their data, and nothing else.

A final answer is faithful when

* every number, date, time and name it states is found in the user's request or
  in a tool result (a count of a result's list, or a result's number rounded the
  way people round it, counts as found): "The flight costs 412.50 EUR" where no
  result says 412.50 is an invented fact;
* it reports something the results say that the user did not: when the results
  hold data (see ``informative_leaves``), the answer states at least one of those
  values, rather than reading back an id, a status or the request.

Both the offline teacher (which writes answers from ``informative_leaves``) and the
validator (stage ``answer``) read this module, so what the teacher writes and what
the validator demands cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from callforge.generator.grounding import (
    MONTHS,
    WEEKDAYS,
    GroundingText,
    humanise,
    normalise,
    number_words,
)
from callforge.generator.results import is_bookkeeping_key
from callforge.generator.schema import scalar_leaves

_LONGEST_FACT = 80
"""A longer text (a body, a description) is data, but not one an answer repeats verbatim."""

_ISO_DATE_TIME = re.compile(
    r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"
)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_SPELT_DATE = re.compile(
    rf"\b(?:{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\.?(?:,?\s+\d{{4}})?)\b",
    re.IGNORECASE,
)
_CLOCK = re.compile(
    r"\b(\d{1,2})(?::(\d{2})(?::\d{2})?(?:\s*([ap])(?:\.m\.|m\b))?|\s*([ap])(?:\.m\.|m\b))",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"(?<![\w.,-])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\w]|[.,]\d)")
_SENTENCE_BREAK = re.compile(r"[.!?:;\n]\s+|^\s*[-*•]\s+|\n|\(|\"", re.MULTILINE)
_CAPITALISED = re.compile(r"(?<![\w'])(?:[A-Z][\w'\u2019&-]*\.?)(?:\s+[A-Z][\w'\u2019&-]*\.?)*")
_CODE_LIKE = re.compile(
    r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)+"
)
_NUMBER_COMPOUND = re.compile(r"\b(\d+(?:\.\d+)?)-([a-z]+)\b")
_ORDINARY_CAPITALS = frozenset(
    [
        "i",
        "the",
        "a",
        "an",
        "your",
        "my",
        "our",
        "it",
        "its",
        "this",
        "that",
        "there",
        "here",
        "we",
        "you",
        "i'm",
        "i've",
        "i'll",
        "i'd",
        "ok",
        "okay",
        "am",
        "pm",
        "a.m",
        "p.m",
        "utc",
        "gmt",
        "id",
        "api",
        "url",
        "faq",
        "eta",
        "n/a",
        "mr",
        "mrs",
        "ms",
        "dr",
        "today",
        "tomorrow",
        "yesterday",
        *WEEKDAYS,
        *MONTHS,
        *(month[:3] for month in MONTHS),
        "sept",
    ]
)


@dataclass(frozen=True)
class Fact:
    """One informative value of a result: where it is and what to call it."""

    path: str
    label: str
    value: Any


def informative_leaves(result: Any, echoed: Iterable[Any] = ()) -> list[Fact]:
    """The values of a result worth telling the user, in the result's order.

    Left out: ids, status, bookkeeping timestamps and paging (by key, the rule
    ``results.is_bookkeeping_key`` owns: ``id``, ``order_id``, ``status``,
    ``created_at``...), booleans and nulls, empty text, texts too long
    to repeat, and values the call was given (``echoed``): an answer that reads
    those back tells the user nothing new.
    """
    echoes = {_echo_key(value) for value in echoed}
    facts = []
    for path, value in scalar_leaves(result):
        if value is None or isinstance(value, bool) or _echo_key(value) in echoes:
            continue
        if isinstance(value, str) and not 0 < len(value.strip()) <= _LONGEST_FACT:
            continue
        key = _last_key(path)
        if not key or is_bookkeeping_key(key):
            continue
        facts.append(Fact(path, _label(path), value))
    return facts


def record_lists(result: Any, path: str = "") -> Iterator[tuple[str, list[Any]]]:
    """(path, list) for every non-empty list in a result: the matches a search returns."""
    if isinstance(result, Mapping):
        for key, child in result.items():
            yield from record_lists(child, f"{path}.{key}" if path else str(key))
    elif isinstance(result, list) and result:
        yield path, result
        for index, child in enumerate(result):
            yield from record_lists(child, f"{path}[{index}]")


def mentions(text: GroundingText, value: Any) -> bool:
    """Whether an answer states ``value``, allowing the rounding people do (0.8485 as 0.85)."""
    if text.contains(value):
        return True
    if isinstance(value, float):
        return any(text.contains(round(value, places)) for places in (2, 1, 0))
    return False


def unsupported_claim(answer: str, evidence: GroundingText, results: Iterable[Any]) -> str | None:
    """The first number, date, time or name in ``answer`` that ``evidence`` does not hold.

    ``evidence`` is the user's words and the tool results; ``results`` are the parsed
    results, whose list lengths and rounded numbers also count as stated.
    """
    results = list(results)
    rest = answer
    for pattern, check in (
        (_ISO_DATE_TIME, lambda token: evidence.contains(token.group(0))),
        (_SPELT_DATE, lambda token: _spelt_date_found(token.group(0), evidence)),
        (_CLOCK, lambda token: _clock_found(token, evidence)),
    ):
        for token in pattern.finditer(rest):
            if not check(token):
                return f"'{token.group(0)}' is in neither the request nor the tool results"
        rest = pattern.sub(" ", rest)
    words = _evidence_words(evidence.text)
    rest = _NUMBER_COMPOUND.sub(r"\1 \2", rest)  # "a 3-second wait": the number is 3
    for token in _CODE_LIKE.finditer(rest):
        if not _name_found(token.group(0), evidence, words):
            return f"'{token.group(0)}' is in neither the request nor the tool results"
    rest = _CODE_LIKE.sub(" ", rest)
    numbers = _result_numbers(results)
    for token in _NUMBER.finditer(rest):
        if not _number_found(token.group(0), evidence, numbers):
            return f"the number {token.group(0)} is in neither the request nor the tool results"
    for name in _names(rest):
        if not _name_found(name, evidence, words):
            return f"the name '{name}' is in neither the request nor the tool results"
    return None


def ignored_results(answer: GroundingText, facts: list[Fact]) -> str | None:
    """Why an answer ignores results that hold data, or None if it reports some."""
    if not facts or any(mentions(answer, fact.value) for fact in facts):
        return None
    shown = ", ".join(f"{fact.label} {fact.value!r}" for fact in facts[:3])
    return f"the final answer ignores the results: it states none of their data ({shown})"


# -- details -------------------------------------------------------------------------


def _echo_key(value: Any) -> Any:
    if isinstance(value, str):
        return normalise(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return repr(value)


def _last_key(path: str) -> str:
    """``results[0].price`` -> ``price``; ``tags[1]`` -> ``tags``."""
    return re.sub(r"\[\d+\]$", "", path).rsplit(".", 1)[-1].split("[")[0]


def _label(path: str) -> str:
    """What to call a leaf: its key in words, with its parent's for generic keys."""
    parts = [p for p in re.split(r"\.|\[\d+\]", path) if p]
    label = humanise(parts[-1]) if parts else "value"
    if label in ("value", "amount", "name", "total", "text", "min", "max") and len(parts) > 1:
        return f"{humanise(parts[-2])} {label}"
    return label


def _result_numbers(results: list[Any]) -> list[float]:
    numbers: list[float] = []
    for result in results:
        for _, leaf in scalar_leaves(result):
            if isinstance(leaf, int | float) and not isinstance(leaf, bool):
                numbers.append(float(leaf))
        numbers += [float(len(items)) for _, items in record_lists(result)]
    return numbers


def _number_found(token: str, evidence: GroundingText, numbers: list[float]) -> bool:
    try:
        exact = Decimal(token.replace(",", ""))
    except InvalidOperation:
        return True
    value: int | float = int(exact) if exact == exact.to_integral_value() else float(exact)
    if evidence.contains(value):
        return True
    exponent = exact.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    tolerance = 0.5 * 10**-places + 1e-9
    return any(abs(number - float(exact)) <= tolerance for number in numbers)


def _spelt_date_found(token: str, evidence: GroundingText) -> bool:
    """A spelt-out date in the answer: the same day spelt any way in the evidence."""
    if evidence.contains(token):  # as written
        return True
    match = re.search(r"\d{4}", token)
    day = int(re.findall(r"\d{1,2}(?!\d)", re.sub(r"\d{4}", "", token))[0])
    month = _month_number(token)
    if match:
        return evidence.contains(f"{match.group(0)}-{month:02d}-{day:02d}")
    return re.search(rf"\d{{4}}-{month:02d}-{day:02d}", evidence.text) is not None or any(
        evidence.contains(f"{year}-{month:02d}-{day:02d}")
        for year in {int(y) for y in re.findall(r"\b(20\d\d)\b", evidence.text)}
    )


def _month_number(token: str) -> int:
    lowered = token.lower()
    names = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    return next(index + 1 for index, name in enumerate(names) if name in lowered)


def _clock_found(token: re.Match[str], evidence: GroundingText) -> bool:
    hour, minute = int(token.group(1)), int(token.group(2) or 0)
    half = token.group(3) or token.group(4)
    if half:
        hour = hour % 12 + (12 if half.lower() == "p" else 0)
    clock = f"{hour:02d}:{minute:02d}"
    # a result's date-time holds its clock right after a "t": 2026-03-05t14:30:00z
    return evidence.contains(clock) or re.search(rf"(?<![\d:]){clock}", evidence.text) is not None


def _names(text: str) -> Iterator[str]:
    """Capitalised phrases, except a sentence's first word."""
    for sentence in _SENTENCE_BREAK.split(text):
        for match in _CAPITALISED.finditer(sentence):
            words = match.group(0).split()
            if match.start() == len(sentence) - len(sentence.lstrip()) and len(words) == 1:
                continue  # a sentence's first word is capitalised anyway
            name = " ".join(words).strip(".'\u2019")
            if name and not all(_ordinary(word) for word in words):
                yield re.sub(r"['\u2019]s$", "", name)


def _ordinary(word: str) -> bool:
    return normalise(word).strip(".,'\u2019") in _ORDINARY_CAPITALS


def _evidence_words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[\w'\u2019&-]+", text.replace("_", " ")))


def _name_found(name: str, evidence: GroundingText, words: frozenset[str]) -> bool:
    if evidence.contains(name) or normalise(name).replace(" ", "_") in evidence.text:
        return True
    return all(
        _ordinary(word) or normalise(word).strip(".,'\u2019") in words
        for word in name.split()
        if word.strip(".,'\u2019")
    )


def count_words(count: int) -> str:
    """A count as an answer says it: words up to ten, digits beyond."""
    return number_words(count)[0] if 0 <= count <= 10 else str(count)

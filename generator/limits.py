"""Limits on data callforge does not trust: tool files, endpoint replies.

Tool files, endpoint answers and journals are data, not code (the README's
Security section): a few hundred bytes can ask for gigabytes (a YAML "billion
laughs"), a nesting deeper than Python's recursion, or numbers that no JSON
reader downstream accepts (``NaN``, ``1e400``, an integer of 5,000 digits).
Each limit below is far above what real tool sets use; each is stated in the
README's Limits section, and going over one is a one-line ``InputError``.

The schema-size limits (enum length, ``minLength``, ``minItems``, property
counts) are checked where schemas are checked, in ``generator.schema``.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from re import _constants as sre_constants  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import regex

from callforge.generator.errors import InputError

MAX_TOOL_FILE_BYTES = 64 * 2**20
"""A tool file is read up to this size (64 MiB; the largest public OpenAPI specs are ~15)."""
MAX_NESTING = 64
"""Objects and arrays nested in one another (a schema nests two per level: ~30 levels)."""
MAX_VALUES = 1_000_000
"""Values in one document, counting every use of a YAML alias in full."""
MAX_INTEGER_DIGITS = 20
"""Digits of an integer literal (an unsigned 64-bit integer has 20)."""
_INTEGER_BOUND = 10**MAX_INTEGER_DIGITS
MAX_ENUM_VALUES = 10_000
MAX_MIN_LENGTH = 10_000
"""The largest ``minLength`` (a seeded string is at least that long)."""
MAX_MIN_ITEMS = 1_000
"""The largest ``minItems`` / ``minProperties`` (a seeded value holds at least that many)."""
MAX_PROPERTIES = 1_000
"""Properties (and ``required`` names) of one object schema."""
PATTERN_SECONDS = 0.1
"""The longest one ``pattern`` from a tool file may take on one value (a linear pattern
takes microseconds; ``^(\\w+\\s?)*!$`` on a sentence would take hours)."""
MAX_PATTERN_SIZE = 100_000
"""A pattern written out, each repeated piece counted as often as it may repeat (the
``regex`` engine writes ``(?:a{1000}){1000}`` out to a million nodes when it compiles it)."""
MAX_REPLY_BYTES = 4 * 2**20
"""An endpoint's reply is read up to this size (4 MiB; a draft is a few KiB)."""
MAX_REASK_BYTES = 64 * 2**10
"""A draft that does not fit is sent back for a re-ask only up to this size (64 KiB)."""


def integer_literal(text: str, *, source: str) -> int:
    """``json.loads``' ``parse_int``: an integer of at most ``MAX_INTEGER_DIGITS`` digits."""
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise too_many_digits(source)
    return int(text)


def float_literal(text: str, *, source: str) -> float:
    """``json.loads``' ``parse_float``: ``1e400`` is refused, not read as infinity."""
    value = float(text)
    if not math.isfinite(value):
        raise not_finite(text, source)
    return value


def no_constant(text: str, *, source: str) -> Any:
    """``json.loads``' ``parse_constant``: ``NaN`` and ``Infinity`` are not JSON."""
    raise not_finite(text, source)


def too_many_digits(source: str) -> InputError:
    return InputError(
        f"an integer has more than {MAX_INTEGER_DIGITS} digits (the limit)", source=source
    )


def not_finite(text: str, source: str) -> InputError:
    return InputError(f"a number is not finite ({text}); JSON numbers must be", source=source)


def too_deep(source: str) -> InputError:
    return InputError(
        f"objects and arrays are nested deeper than {MAX_NESTING} levels (the limit)",
        source=source,
    )


def check_document(data: Any, *, source: str) -> None:
    """Refuse a parsed document that breaks a limit: nesting, value count, numbers.

    Iterative, and it stops at the first value over ``MAX_VALUES``, so a document
    built of aliases to aliases costs at most that many steps to refuse.
    """
    stack: list[tuple[Any, int]] = [(data, 0)]
    seen = 0
    while stack:
        value, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise InputError(
                f"holds more than {MAX_VALUES:,} values (YAML aliases counted in full; the limit)",
                source=source,
            )
        if isinstance(value, Mapping | list):
            if depth >= MAX_NESTING:
                raise too_deep(source)
            children = value.values() if isinstance(value, Mapping) else value
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(value, float) and not math.isfinite(value):
            raise not_finite(repr(value), source)
        elif isinstance(value, int) and abs(value) >= _INTEGER_BOUND:
            raise too_many_digits(source)


class SlowPattern(Exception):
    """A data ``pattern`` took over ``PATTERN_SECONDS`` on one value: it backtracks."""

    def __init__(self, pattern: str, length: int) -> None:
        super().__init__(
            f"pattern {pattern!r} took over {PATTERN_SECONDS:g}s to match a {length:,}-character "
            "value (a nested repetition that backtracks?); simplify the pattern"
        )


class UnusablePattern(Exception):
    """A data ``pattern`` that does not parse, or is over ``MAX_PATTERN_SIZE`` written out."""


class DataPattern:
    """A pattern from data (a tool file's ``pattern`` or ``patternProperties``), bounded in time.

    Python's ``re`` cannot be interrupted, so the ``regex`` engine (the same syntax)
    runs it, with its timeout; each match raises ``SlowPattern`` when time runs out.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self._compiled = regex.compile(pattern)

    def search(self, text: str) -> bool:
        """``re.search(pattern, text) is not None``, within ``PATTERN_SECONDS``."""
        try:
            return self._compiled.search(text, timeout=PATTERN_SECONDS) is not None
        except TimeoutError:
            raise SlowPattern(self.pattern, len(text)) from None

    def fullmatch(self, text: str) -> bool:
        """``re.fullmatch(pattern, text) is not None``, within ``PATTERN_SECONDS``."""
        try:
            return self._compiled.fullmatch(text, timeout=PATTERN_SECONDS) is not None
        except TimeoutError:
            raise SlowPattern(self.pattern, len(text)) from None


@functools.lru_cache(maxsize=1024)
def data_pattern(pattern: str) -> DataPattern:
    """The one way a pattern from data is compiled: parsed, sized, then bounded in time.

    Raises ``UnusablePattern`` for a pattern Python's ``re`` cannot parse (the syntax
    JSON Schema validators accept) or one over ``MAX_PATTERN_SIZE`` written out,
    which would take the engine minutes and gigabytes to compile.
    """
    try:
        parsed = sre_parse.parse(pattern)
        size = written_out_size(parsed)
    except (re.error, RecursionError, OverflowError) as error:
        raise UnusablePattern(f"pattern {pattern!r} is not a usable regex: {error}") from None
    if size > MAX_PATTERN_SIZE:
        raise UnusablePattern(
            f"pattern {pattern!r} is over {MAX_PATTERN_SIZE:,} pieces once its repetitions are "
            "written out (the limit); use a smaller repeat count"
        )
    try:
        return DataPattern(pattern)
    except regex.error as error:
        raise UnusablePattern(f"pattern {pattern!r} is not a usable regex: {error}") from None


DRAWN_REPEATS = 6
"""Seeding draws a repetition ``{m,n}`` at most ``min(n, m + 6)`` times (``PatternText``)."""


def written_out_size(parsed: Any, groups: dict[int, int] | None = None) -> int:
    """Pieces of a parsed pattern written out: an upper bound on its compiled size and on
    the length of a string drawn from it (``{m,n}`` counts ``min(n, m + 6)`` copies)."""
    groups = {} if groups is None else groups
    total = 0
    for op, av in parsed:
        if op is sre_constants.BRANCH:
            total += max((written_out_size(branch, groups) for branch in av[1]), default=0)
        elif op is sre_constants.SUBPATTERN:
            size = written_out_size(av[3], groups)
            if av[0] is not None:
                groups[av[0]] = size
            total += size
        elif op in (
            sre_constants.MAX_REPEAT,
            sre_constants.MIN_REPEAT,
            getattr(sre_constants, "POSSESSIVE_REPEAT", sre_constants.MAX_REPEAT),
        ):
            low, high, item = av
            total += min(high, low + DRAWN_REPEATS) * written_out_size(item, groups)
        elif op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            total += written_out_size(av[1], groups)
        elif op is getattr(sre_constants, "ATOMIC_GROUP", None):
            total += written_out_size(av, groups)
        elif op is sre_constants.GROUPREF_EXISTS:
            total += max(written_out_size(branch, groups) for branch in av[1:] if branch)
        elif op is sre_constants.GROUPREF:
            total += groups.get(av, 1)
        else:
            total += 1
        if total > MAX_PATTERN_SIZE:
            return total  # already over: the rest need not be counted
    return total

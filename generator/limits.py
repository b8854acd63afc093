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

import math
from collections.abc import Mapping
from typing import Any

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

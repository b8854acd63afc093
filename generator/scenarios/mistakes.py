"""The mistakes models really make in tool calls, each a labelled failure kind.

Reading real failed calls, most mistakes are not type swaps (``"to_currency": 17``)
but near misses of the right value:

* ``wrong_format``: a date or number written the way people write it, not the
  way the schema wants it: ``"03/05/2026"`` or ``"March 5, 2026"`` for a
  ``format: date``, ``"2:30 PM"`` for a time, ``"1,500"`` or ``"3 passengers"``
  for a number;
* ``enum_value``: an option in the wrong case or spelling, or a synonym:
  ``"Premium Economy"`` or ``"premium-economy"`` for ``premium_economy``,
  ``"celsius"`` for ``metric``;
* ``invented_parameter``: a parameter the tool does not have, usually the right
  value under a guessed name (``departureDate``, ``date``, ``passenger_count``);
* ``unknown_id``: an id mistyped (two characters swapped) or off by one
  (``ORD-1235`` for ``ORD-1234``): valid, but naming nothing;
* ``missing_argument``: a required argument left out;
* ``invalid_argument``: anything else the schema rejects (a bound, a pattern,
  now and then a wrong type), the fallback when none of the above applies.

Each maker returns ``(bad_arguments, failure)`` or None when the tool offers no
chance for that mistake; every one but ``unknown_id`` breaks the schema, so the
validator can confirm the call really fails.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from typing import Any

from callforge.generator.grounding import MONTHS
from callforge.generator.scenarios.base import PlannedFailure
from callforge.generator.schema import instance_is_valid, resolved_properties
from callforge.generator.templating import load_yaml
from callforge.generator.tool_kinds import names_a_record, singular
from callforge.generator.tools import ToolSpec

Arguments = dict[str, Any]
Mistake = tuple[Arguments, PlannedFailure]
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
_ISO_CLOCK = re.compile(r"[T ](\d{2}):(\d{2})")


def wrong_format(tool: ToolSpec, good: Arguments, rng: random.Random) -> Mistake | None:
    """A date, time or number in a human format instead of the schema's."""
    properties = _properties(tool)
    candidates = []
    for name, value in good.items():
        schema = properties.get(name, {})
        written = _human_format(name, value, schema, good, rng)
        if written is not None:
            candidates.append((name, written[0], written[1]))
    rng.shuffle(candidates)
    for name, bad_value, wanted in candidates:
        bad = {**good, name: bad_value}
        if not instance_is_valid(tool.parameters, bad):
            detail = f"'{name}' must be {wanted}, got '{bad_value}'"
            return bad, _failure("wrong_format", detail, name)
    return None


def enum_value(tool: ToolSpec, good: Arguments, rng: random.Random) -> Mistake | None:
    """An option in the wrong case or spelling, or a synonym the tool does not know."""
    properties = _properties(tool)
    names = [
        name
        for name, value in good.items()
        if isinstance(value, str) and value in properties.get(name, {}).get("enum", ())
    ]
    rng.shuffle(names)
    for name in names:
        allowed = properties[name]["enum"]
        variants = [v for v in _option_variants(good[name]) if v not in allowed]
        if not variants:
            continue
        bad_value = rng.choice(variants)
        bad = {**good, name: bad_value}
        if not instance_is_valid(tool.parameters, bad):
            shown = ", ".join(f"'{option}'" for option in allowed[:6])
            detail = f"'{name}' must be one of {shown}, got '{bad_value}'"
            return bad, _failure("enum_value", detail, name)
    return None


def invented_parameter(tool: ToolSpec, good: Arguments, rng: random.Random) -> Mistake | None:
    """The right value under a parameter name the tool does not have."""
    names = list(good)
    rng.shuffle(names)
    known = set(_properties(tool))
    for name in names:
        guesses = [guess for guess in _guessed_names(name) if guess not in known]
        if not guesses:
            continue
        guess = rng.choice(guesses)
        bad = {(guess if key == name else key): value for key, value in good.items()}
        if not instance_is_valid(tool.parameters, bad):
            detail = f"unknown parameter '{guess}'"  # an API names what it got, not what it wanted
            return bad, _failure("invented_parameter", detail, guess)
    return None


def unknown_id(tool: ToolSpec, good: Arguments, rng: random.Random) -> Mistake | None:
    """An id with two characters swapped or a digit off by one: valid, naming nothing."""
    properties = _properties(tool)
    names = [
        name
        for name, value in good.items()
        if isinstance(value, str)
        and len(value) >= 4
        and names_a_record(name)
        and not {"enum", "const", "format", "pattern"} & set(properties.get(name, {}))
    ]
    if not names:
        return None
    name = rng.choice(names)
    value = good[name]
    typos = [t for t in (_off_by_one(value), _swapped(value, rng)) if t is not None]
    rng.shuffle(typos)
    for typo in typos:
        if typo.casefold() == value.casefold():
            continue
        bad = {**good, name: typo}
        if instance_is_valid(tool.parameters, bad):
            detail = f"no record found for {name} '{typo}'"
            return bad, _failure("unknown_id", detail, name)
    return None


def missing_argument(tool: ToolSpec, good: Arguments, rng: random.Random) -> Mistake | None:
    """A required argument left out."""
    required = [name for name in tool.parameters.get("required", ()) if name in good]
    if not required:
        return None
    name = rng.choice(required)
    bad = {key: value for key, value in good.items() if key != name}
    if instance_is_valid(tool.parameters, bad):
        return None
    return bad, _failure("missing_argument", f"missing required argument '{name}'", name)


MISTAKES: dict[
    str, tuple[float, Callable[[ToolSpec, Arguments, random.Random], Mistake | None]]
] = {
    "wrong_format": (2.0, wrong_format),
    "enum_value": (2.0, enum_value),
    "invented_parameter": (1.5, invented_parameter),
    "unknown_id": (2.0, unknown_id),
    "missing_argument": (1.5, missing_argument),
}
"""Each mistake with how often a model makes it, relative to the others."""


def make_mistake(tool: ToolSpec, good: Arguments, rng: random.Random) -> Mistake | None:
    """One of the mistakes this tool allows, drawn by weight; None if it allows none."""
    remaining = dict(MISTAKES)
    while remaining:
        names = list(remaining)
        name = rng.choices(names, weights=[remaining[n][0] for n in names])[0]
        found = remaining.pop(name)[1](tool, dict(good), rng)
        if found is not None:
            return found
    return None


# -- details -------------------------------------------------------------------------


def _failure(kind: str, detail: str, argument: str) -> PlannedFailure:
    return PlannedFailure(kind=kind, detail=detail, assistant_mistake=True, argument=argument)


def _properties(tool: ToolSpec) -> dict[str, dict[str, Any]]:
    """Resolved top-level properties, worked out once per tool definition."""
    known = _PROPERTIES.get(tool.content_hash)
    if known is None:
        if len(_PROPERTIES) >= 1024:
            _PROPERTIES.clear()
        known = _PROPERTIES[tool.content_hash] = resolved_properties(
            tool.parameters, tool=tool.name
        )
    return known


_PROPERTIES: dict[str, dict[str, dict[str, Any]]] = {}


def _human_format(
    name: str, value: Any, schema: Mapping[str, Any], good: Arguments, rng: random.Random
) -> tuple[Any, str] | None:
    """(the value as a person writes it, what the schema wants), or None."""
    fmt = schema.get("format")
    if isinstance(value, str) and fmt in ("date", "date-time"):
        day = _ISO_DATE.match(value)
        if not day:
            return None
        year, month, number = day.group(1), int(day.group(2)), int(day.group(3))
        spelt = f"{MONTHS[month - 1].capitalize()} {number}, {year}"
        written = [f"{month:02d}/{number:02d}/{year}", spelt, f"{number:02d}.{month:02d}.{year}"]
        clock = _ISO_CLOCK.search(value)
        if fmt == "date-time" and clock:
            hour, minute = int(clock.group(1)), clock.group(2)
            twelve = f"{hour % 12 or 12}:{minute} {'AM' if hour < 12 else 'PM'}"
            written = [f"{w} {twelve}" for w in written]
            wanted = "an ISO 8601 date-time (YYYY-MM-DDTHH:MM:SS)"
        else:
            wanted = "a date in YYYY-MM-DD format"
        return rng.choice(written), wanted
    if isinstance(value, str) and fmt == "time":
        clock = re.match(r"^(\d{2}):(\d{2})", value)
        if clock:
            hour = int(clock.group(1))
            return f"{hour % 12 or 12}:{clock.group(2)} {'AM' if hour < 12 else 'PM'}", "HH:MM:SS"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    currency = next(
        (v for v in good.values() if isinstance(v, str) and re.fullmatch(r"[A-Z]{3}", v)), None
    )
    wanted = "a number" if schema.get("type") == "number" else "an integer"
    if isinstance(value, float) and currency:
        return f"{value:,.2f} {currency}", wanted
    if abs(value) >= 1000:
        return f"{value:,}", wanted
    if isinstance(value, int):
        return f"{value} {name.replace('_', ' ')}", wanted
    return None


def _option_variants(value: str) -> list[str]:
    """Ways a model miswrites an option: case, separators, known synonyms."""
    words = re.split(r"[_\-\s]+", value)
    variants = [
        value.upper(),
        value.capitalize(),
        " ".join(word.capitalize() for word in words),
        " ".join(words),
        "-".join(words),
    ]
    synonyms = load_yaml("mistakes.yaml")["option_synonyms"].get(value.casefold(), [])
    return list(dict.fromkeys(v for v in [*synonyms, *variants] if v != value))


def _guessed_names(name: str) -> list[str]:
    """Names a model guesses for a parameter: ``departureDate``, ``date``, ``num_passengers``."""
    words = [w for w in re.split(r"_|-|(?<=[a-z0-9])(?=[A-Z])", name) if w]
    lower = [w.lower() for w in words]
    guesses = []
    if len(lower) > 1:
        guesses.append(lower[0] + "".join(w.capitalize() for w in lower[1:]))  # camelCase
        guesses.append(lower[-1])  # the last word alone
    else:  # one word: the other grammatical number, "attendee" for "attendees"
        word = lower[0]
        guesses.append(singular(word) if singular(word) != word else f"{word}s")
    synonyms = load_yaml("mistakes.yaml")["parameter_synonyms"]
    guesses += synonyms.get(name.lower(), [])
    return [guess for guess in dict.fromkeys(guesses) if guess and guess != name]


def _off_by_one(value: str) -> str | None:
    """The last digit one up (or down from 9): ``ORD-1234`` -> ``ORD-1235``."""
    digits = [index for index, char in enumerate(value) if char.isdigit()]
    if not digits:
        return None
    last = digits[-1]
    digit = int(value[last])
    return value[:last] + str(digit + 1 if digit < 9 else digit - 1) + value[last + 1 :]


def _swapped(value: str, rng: random.Random) -> str | None:
    """Two neighbouring characters swapped, where that changes the value."""
    for offset in range(len(value) - 1):
        position = (rng.randrange(len(value) - 1) + offset) % (len(value) - 1)
        chars = list(value)
        chars[position], chars[position + 1] = chars[position + 1], chars[position]
        typo = "".join(chars)
        if typo.casefold() != value.casefold():
            return typo
    return None

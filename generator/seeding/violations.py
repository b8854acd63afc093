"""Violations: one wrong or missing argument, described the way a tool would.

Negative examples need arguments that really fail the schema (and, for OpenAPI
``nullable``, fail it read either way) with a message naming what is wrong.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from faker import Faker

from callforge.generator.errors import UnsupportedSchemaError
from callforge.generator.schema import (
    ROOT_PATH,
    schema_types,
)
from callforge.generator.seeding.planner import Plan, plan_for
from callforge.generator.seeding.randomness import Draw, unweighted_twin

_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def violate_argument(
    schema: Mapping[str, Any],
    arguments: Mapping[str, Any],
    rng: random.Random,
    faker: Faker,
    *,
    tool: str = "",
) -> tuple[dict[str, Any], str, str]:
    """Break valid ``arguments`` in one way, for negative examples.

    Returns ``(bad_arguments, kind, detail)`` where kind is ``invalid_argument``
    (one property gets a value its schema rejects) or ``missing_argument`` (one
    required property removed); ``bad_arguments`` always fails validation.
    """
    plan = plan_for(schema, tool)
    draw = Draw(rng, unweighted_twin(faker), 0.0)
    present_required = [name for name in plan.required if name in arguments]
    kinds = ["invalid_argument", "missing_argument"] if present_required else ["invalid_argument"]
    first = rng.choice(kinds)
    for kind in (first, *(k for k in kinds if k != first)):
        if kind == "missing_argument":
            found = _without_required(plan, arguments, rng, present_required)
        else:
            found = _with_invalid_value(plan, arguments, draw)
        if found is not None:
            return found[0], kind, found[1]
    raise UnsupportedSchemaError(
        "could not build arguments that break this schema (it accepts almost anything)",
        path=ROOT_PATH,
        tool=tool or None,
    )


def _breaks(plan: Plan, arguments: Mapping[str, Any]) -> bool:
    """Invalid as plain JSON Schema and, if the schema uses ``nullable``, as OpenAPI too."""
    if plan.strict_valid(arguments):
        return False
    return plan.lenient_valid is None or not plan.lenient_valid(arguments)


def _without_required(
    plan: Plan, arguments: Mapping[str, Any], rng: random.Random, names: list[str]
) -> tuple[dict[str, Any], str] | None:
    name = rng.choice(names)
    bad = {key: value for key, value in arguments.items() if key != name}
    return (bad, f"missing required argument '{name}'") if _breaks(plan, bad) else None


def _with_invalid_value(
    plan: Plan, arguments: Mapping[str, Any], draw: Draw
) -> tuple[dict[str, Any], str] | None:
    present = [name for name in plan.properties if name in arguments]
    absent = [name for name in plan.properties if name not in arguments]
    draw.rng.shuffle(present)
    draw.rng.shuffle(absent)
    for name in present + absent:
        resolved = plan.resolved_property(name)
        if resolved is None:
            continue
        for value, detail in _bad_values(plan, name, resolved, arguments.get(name), draw):
            if plan.property_checks[name](value):
                continue
            bad = {**arguments, name: value}
            if _breaks(plan, bad):
                return bad, detail
    return _with_unexpected_key(plan, arguments, draw)


def _with_unexpected_key(
    plan: Plan, arguments: Mapping[str, Any], draw: Draw
) -> tuple[dict[str, Any], str] | None:
    key = f"{draw.faker.word()}_option"
    bad = {**arguments, key: "yes"}
    return (bad, f"unexpected argument '{key}'") if _breaks(plan, bad) else None


Bad = tuple[Any, str]
_ARTICLES = {"integer": "an integer", "array": "an array", "object": "an object", "null": "null"}
_BAD_FORMATS: dict[str, Callable[[Any], str]] = {
    "email": lambda v: (
        v.replace("@", " at ") if isinstance(v, str) and "@" in v else "john at mail"
    ),
    "idn-email": lambda v: "john at mail",
    "date": lambda v: _us_date(v),
    "date-time": lambda v: f"{_us_date(v)} at 2:30 PM",
    "time": lambda v: "2:30 PM",
    "duration": lambda v: "90 minutes",
    "uuid": lambda v: v[:-4] if isinstance(v, str) and len(v) > 8 else "not-a-uuid",
    "ipv4": lambda v: "300.12.4.1",
    "ipv6": lambda v: "2001:db8::zz",
    "hostname": lambda v: "my_host!.example",
    "idn-hostname": lambda v: "my host.example",
    "uri": lambda v: "www.example.com/page",
    "iri": lambda v: "www.example.com/page",
}


def _us_date(value: Any) -> str:
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}", value):
        return f"{value[5:7]}/{value[8:10]}/{value[:4]}"
    return "03/15/2024"


def _show(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else json.dumps(value)


def _bad_values(plan: Plan, name: str, s: Mapping[str, Any], current: Any, draw: Draw) -> list[Bad]:
    """Candidate wrong values for one property, in random order; the caller keeps the first
    that the property's schema really rejects."""
    candidates = [
        *_wrong_types(name, _expected_types(plan, s), current, draw),
        *_out_of_choices(name, s, draw),
        *_out_of_bounds(name, s, current),
        *_out_of_shape(name, s, current, draw),
    ]
    fmt = s.get("format")
    if fmt in _BAD_FORMATS:
        value = _BAD_FORMATS[fmt](current)
        candidates.append((value, f"'{name}' must be a valid {fmt}, got {_show(value)}"))
    draw.rng.shuffle(candidates)
    return candidates


def _expected_types(plan: Plan, s: Mapping[str, Any]) -> tuple[str, ...]:
    """The JSON types a property accepts; empty when it accepts any type."""
    types = schema_types(s)
    if types:
        return types
    branches = s.get("anyOf") or s.get("oneOf")
    if branches:
        found: list[str] = []
        for branch in branches:
            try:
                resolved, _ = plan.doc.resolve(branch, path=ROOT_PATH)
            except UnsupportedSchemaError:
                continue
            branch_types = _expected_types(plan, resolved)
            if not branch_types:
                return ()
            found += branch_types
        return tuple(dict.fromkeys(found))
    return ()


def _wrong_types(name: str, types: tuple[str, ...], current: Any, draw: Draw) -> list[Bad]:
    if not types:
        return []
    expected = " or ".join(_ARTICLES.get(t, f"a {t}") for t in types)
    numeric = "integer" in types or "number" in types
    values: list[Any] = []
    if numeric and "string" not in types:
        count = current if isinstance(current, int) and not isinstance(current, bool) else 3
        values.append(_NUMBER_WORDS[count] if 0 <= count < 10 else f"about {count}")
    if "string" in types and not numeric:
        values.append(draw.rng.randint(10, 99))
    if "boolean" in types and "string" not in types:
        values.append("yes")
    if ("array" in types or "object" in types) and "string" not in types:
        values.append("none")
    return [(value, f"'{name}' must be {expected}, got {_show(value)}") for value in values]


def _out_of_choices(name: str, s: Mapping[str, Any], draw: Draw) -> list[Bad]:
    allowed = list(s["enum"]) if "enum" in s else [s["const"]] if "const" in s else None
    if allowed is None:
        return []
    value: Any = draw.faker.word()
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in allowed):
        value = max(allowed) + 1
    shown = ", ".join(_show(v) for v in allowed[:5]) + (", ..." if len(allowed) > 5 else "")
    return [(value, f"'{name}' must be one of {shown}, got {_show(value)}")]


def _out_of_bounds(name: str, s: Mapping[str, Any], current: Any) -> list[Bad]:
    rules = (
        ("minimum", -1, "at least"),
        ("exclusiveMinimum", 0, "greater than"),
        ("maximum", 1, "at most"),
        ("exclusiveMaximum", 0, "less than"),
    )
    out: list[Bad] = []
    for keyword, shift, wording in rules:
        bound = s.get(keyword)
        if isinstance(bound, int | float) and not isinstance(bound, bool):
            value = bound + shift
            out.append((value, f"'{name}' must be {wording} {bound}, got {_show(value)}"))
    multiple = s.get("multipleOf")
    if isinstance(current, int | float) and not isinstance(current, bool) and multiple:
        exact = Fraction(str(current)) + Fraction(str(multiple)) / 2
        value = int(exact) if exact.denominator == 1 else float(exact)
        out.append((value, f"'{name}' must be a multiple of {multiple}, got {_show(value)}"))
    return out


_LARGEST_OVERSHOOT = 1_000
"""Too long a string or array is a mistake made only below this bound: a call 10,000,000
characters long is no mistake a model makes, and building it would take minutes."""


def _out_of_shape(name: str, s: Mapping[str, Any], current: Any, draw: Draw) -> list[Bad]:
    """Too long, too short, off-pattern strings and too short or long arrays."""
    out: list[Bad] = []
    text = current if isinstance(current, str) else draw.faker.word()
    if isinstance(s.get("maxLength"), int) and s["maxLength"] <= _LARGEST_OVERSHOOT:
        words = [text] if text else []
        length = len(text)
        while length <= s["maxLength"]:  # linear: the words are joined once
            word = draw.faker.word()
            length += len(word) + bool(words)
            words.append(word)
        longer = " ".join(words)
        out.append(
            (longer, f"'{name}' must be at most {s['maxLength']} characters, got {_show(longer)}")
        )
    if s.get("minLength", 0) > 0:
        shorter = text[: s["minLength"] - 1]
        out.append(
            (
                shorter,
                f"'{name}' must be at least {s['minLength']} characters, got {_show(shorter)}",
            )
        )
    if "pattern" in s:
        off = f"{draw.faker.word()} {draw.faker.word()}!"
        out.append((off, f"'{name}' must match pattern '{s['pattern']}', got {_show(off)}"))
    items = current if isinstance(current, list) else []
    if s.get("minItems", 0) > 0:
        fewer = items[: s["minItems"] - 1]
        out.append((fewer, f"'{name}' must have at least {s['minItems']} items, got {len(fewer)}"))
    if "maxItems" in s and items and s["maxItems"] <= _LARGEST_OVERSHOOT:
        more = (items * (s["maxItems"] + 1))[: s["maxItems"] + 1]
        out.append((more, f"'{name}' must have at most {s['maxItems']} items, got {len(more)}"))
    return out

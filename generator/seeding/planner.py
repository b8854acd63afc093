"""Compiling a tool's parameters schema into a plan, once, and drawing arguments from it.

The planner resolves ``$ref``/``allOf``, picks a node per schema location and
finds the sibling relations (places, units, ranges) of each object. Plans are
cached per schema, so seeding a tool again only walks its plan.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

from faker import Faker
from jsonschema.protocols import Validator

from callforge.generator.errors import UnsupportedSchemaError
from callforge.generator.limits import UnusablePattern, data_pattern
from callforge.generator.schema import (
    FORMAT_CHECKER,
    ROOT_PATH,
    Check,
    SchemaDocument,
    compiled_validator,
    iter_subschemas,
    object_properties,
    schema_types,
    validity_check,
)
from callforge.generator.seeding.nodes import (
    AnyOf,
    Array,
    Boolean,
    Const,
    Default,
    Enum,
    Grid,
    Node,
    Nullable,
    OneOf,
    Property,
    Text,
    grid_value,
    passes_multiple_of,
)
from callforge.generator.seeding.objects import (
    ENDPOINT_WORDS,
    PAIR_WORDS,
    Object,
    PlaceGroup,
    RangePair,
    UnitLink,
    day_count,
    twin_pairs,
)
from callforge.generator.seeding.places import PLACE_ROLES, PLACES
from callforge.generator.seeding.randomness import REFERENCE_TODAY, Draw, unweighted_twin
from callforge.generator.seeding.realism import (
    DEFAULT_RANGE,
    FORMAT_MAKERS,
    Range,
    described_range,
    format_maker,
    number_range,
    place_role,
    string_maker,
    words_of,
)

# Keywords we cannot honour while generating; seen on a required path they are an
# error, on an optional property or anyOf branch that branch is simply left out.
UNSUPPORTED_KEYWORDS = (
    "not",
    "if",
    "contains",
    "prefixItems",
    "dependentSchemas",
    "dependencies",
    "unevaluatedProperties",
    "unevaluatedItems",
    "$dynamicRef",
    "$recursiveRef",
)
# Keywords the plan honours by construction (plus annotations). A schema using only
# these skips the final jsonschema check, which would otherwise cost a third of
# the time; anything else is checked after every draw.
EXACT_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "minItems",
        "maxItems", "uniqueItems", "minProperties", "maxProperties", "dependentRequired",
        "enum", "const", "default", "minimum", "maximum", "exclusiveMinimum",
        "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern", "format",
        "anyOf", "oneOf", "allOf", "$ref", "$defs", "definitions", "nullable",
        "description", "title", "examples", "$comment", "$id", "$schema", "deprecated",
        "readOnly", "writeOnly", "contentMediaType", "contentEncoding",
        # Per-value enum descriptions and editor hints: annotations, like any "x-..." key.
        "enumDescriptions", "markdownEnumDescriptions", "enumNames", "markdownDescription",
    }
)  # fmt: skip
_EXACT_DRAFTS = ("", "2020-12", "2019-09", "draft-07", "draft-06")


_FEW = 5  # a number grid with fewer points than this tries a finer step
_CENT = Fraction(1, 100)


# ---------------------------------------------------------------------------
# Compiling a schema into a plan.


@dataclass
class Plan:
    """Everything drawing and breaking arguments needs, compiled once per schema."""

    root: Node
    doc: SchemaDocument
    properties: dict[str, Any]
    required: tuple[str, ...]
    strict: Validator
    lenient: Validator | None  # only when OpenAPI nullable makes it differ from strict
    exact: bool
    strict_valid: Check  # ``strict.is_valid``, compiled to plain Python where it can be
    lenient_valid: Check | None  # the same for ``lenient``
    property_checks: dict[str, Check] = field(default_factory=dict)
    free_text: dict[str, str] = field(default_factory=dict)  # top-level property -> its kind
    _resolved: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    def resolved_property(self, name: str) -> dict[str, Any] | None:
        """A property's schema with $ref and allOf merged, or None if it cannot be."""
        if name not in self._resolved:
            try:
                self._resolved[name] = self.doc.resolve(self.properties[name], path=ROOT_PATH)[0]
            except UnsupportedSchemaError:
                self._resolved[name] = None
        return self._resolved[name]


class _Planner:
    """Turns one tool's parameters schema into a tree of generator nodes."""

    def __init__(self, root: Mapping[str, Any], tool: str) -> None:
        self.doc = SchemaDocument(root, tool=tool)
        self.tool = tool
        self.root = root
        self.validator = compiled_validator(root, openapi=False)

    def check(self, s: Any) -> Check:
        """``is_valid`` against ``s``, a subschema read within this document."""
        return validity_check(self.validator.evolve(schema=s), root=self.root)

    def error(self, message: str, path: str) -> UnsupportedSchemaError:
        return self.doc.error(message, path)

    def node(self, schema: Any, path: str, refs: tuple[str, ...], name: str) -> Node:
        resolved, refs = self.doc.resolve(schema, path=path, refs=refs)
        return self.resolved(resolved, path, refs, name)

    def resolved(self, s: dict[str, Any], path: str, refs: tuple[str, ...], name: str) -> Node:
        for keyword in UNSUPPORTED_KEYWORDS:
            if keyword in s:
                raise self.error(f"'{keyword}' is not supported for seeding arguments", path)
        if "anyOf" in s:
            return AnyOf(tuple(self._branches(s, "anyOf", path, refs, name)))
        if "oneOf" in s:
            checks = tuple(self.check(b) for b in s["oneOf"])
            branches = tuple(self._branches(s, "oneOf", path, refs, name))
            return _described_enum(branches, checks) or OneOf(branches, checks, path, self.tool)
        node = self._typed(s, path, refs, name)
        default = s.get("default")
        if "default" in s and "const" not in s and self._accepts(s, default):
            return Default(default, node)
        return node

    def _branches(
        self, s: dict[str, Any], keyword: str, path: str, refs: tuple[str, ...], name: str
    ) -> list[Node]:
        """One node per satisfiable branch, each merged with the schema's other keywords."""
        base = {k: v for k, v in s.items() if k != keyword}
        nodes, errors = [], []
        for index, branch in enumerate(s[keyword]):
            where = f"{path}.{keyword}.{index}"
            try:
                resolved, branch_refs = self.doc.resolve(branch, path=where, refs=refs)
                merged = self.doc.merge(base, resolved, path=where)
                nodes.append(self.resolved(merged, where, branch_refs, name))
            except UnsupportedSchemaError as error:
                errors.append(error)
        if not nodes:
            raise (
                errors[0]
                if len(errors) == 1
                else self.error(
                    f"no {keyword} branch can be seeded; first problem: {errors[0].message}", path
                )
            )
        return nodes

    def _accepts(self, s: Mapping[str, Any], value: Any) -> bool:
        return bool(self.validator.evolve(schema=s).is_valid(value))

    def _typed(self, s: dict[str, Any], path: str, refs: tuple[str, ...], name: str) -> Node:
        if "const" in s:
            if not self._accepts(s, s["const"]):
                raise self.error(f"const {s['const']!r} breaks the schema's other keywords", path)
            return Const(s["const"])
        if "enum" in s:
            # Each value is in the enum; checked against the other keywords only, so the
            # check is linear in the enum's length (with it, each check scans the enum).
            others = self.validator.evolve(schema={k: v for k, v in s.items() if k != "enum"})
            choices = tuple(v for v in s["enum"] if others.is_valid(v))
            if not choices:
                raise self.error("no enum value satisfies the schema's other keywords", path)
            return Enum(choices)
        types = schema_types(s, nullable=False) or (_implied_type(s),)
        nodes, errors = [], []
        for type_ in dict.fromkeys(t for t in types if t != "null"):
            try:
                nodes.append(self._of_type(type_, s, path, refs, name))
            except UnsupportedSchemaError as error:
                errors.append(error)
        if not nodes:
            if "null" in types:
                return Const(None)
            raise errors[0] if errors else self.error("no JSON type is allowed here", path)
        node: Node = nodes[0] if len(nodes) == 1 else AnyOf(tuple(nodes))
        return Nullable(node) if "null" in types else node

    def _of_type(
        self, type_: str, s: dict[str, Any], path: str, refs: tuple[str, ...], name: str
    ) -> Node:
        if type_ == "object":
            return self._object(s, path, refs)
        if type_ == "array":
            return self._array(s, path, refs, name)
        if type_ == "string":
            return self._string(s, path, name)
        if type_ in ("integer", "number"):
            return self._number(s, path, name, integer=type_ == "integer")
        if type_ == "boolean":
            return Boolean()
        raise self.error(f"unknown type {type_!r}", path)

    def _string(self, s: dict[str, Any], path: str, name: str) -> Text:
        low, high = s.get("minLength", 0), s.get("maxLength")
        if high is not None and low > high:
            raise self.error(f"minLength {low} is greater than maxLength {high}", path)
        fmt = s["format"] if isinstance(s.get("format"), str) else ""
        checked = fmt in FORMAT_CHECKER.checkers
        if checked and fmt not in FORMAT_MAKERS:
            raise self.error(f"format '{fmt}' is not supported for seeding arguments", path)
        description = s.get("description") or ""
        maker, free_text = string_maker(name, description, self.tool)
        return Text(
            provider=maker,
            format_maker=format_maker(fmt, name, description) if checked else None,
            pattern=self._pattern(s, path),
            min_length=low,
            max_length=high,
            format=fmt if checked else None,
            name=words_of(name),
            path=path,
            tool=self.tool,
            free_text=free_text,
        )

    def _pattern(self, s: Mapping[str, Any], path: str) -> str | None:
        if "pattern" not in s:
            return None
        try:
            return data_pattern(s["pattern"]).pattern
        except UnusablePattern as unusable:
            raise self.error(str(unusable), path) from None

    def _number(
        self,
        s: dict[str, Any],
        path: str,
        name: str,
        *,
        integer: bool,
        human: Range | None = None,
    ) -> Grid:
        """Numbers on the coarsest readable grid that still offers a few choices.

        ``confidence`` between 0 and 1 gets 0.37, not always 1: a grid of whole
        numbers with under ``_FEW`` points gives way to a finer one.
        """
        if human is None:
            description = s.get("description") or ""
            human = described_range(description) or (
                number_range(name, description) if name else DEFAULT_RANGE
            )
        multiple = s.get("multipleOf")
        steps = _steps(human.step, multiple, integer=integer)
        low, high = _bounds(s)
        if low is not None and high is not None and low[0] > high[0]:
            raise self.error(f"minimum {low[0]} is greater than maximum {high[0]}", path)
        as_float = multiple if isinstance(multiple, float) else None
        found: list[Grid] = []
        for step in steps:
            grid = _grid(low, high, human, step)
            if grid is None:
                continue
            if as_float is None or grid[1] - grid[0] > 1000:
                found.append(Grid(grid[0], grid[1], step, as_float, path, self.tool))
            else:
                values = (grid_value(k, step) for k in range(grid[0], grid[1] + 1))
                passing = tuple(v for v in values if passes_multiple_of(v, as_float))
                if passing:
                    found.append(Grid(grid[0], grid[1], step, as_float, path, self.tool, passing))
            if found and _choices(found[-1]) >= _FEW:
                return found[-1]
        if found:
            return max(found, key=_choices)
        if human is not DEFAULT_RANGE:
            # The name's usual range (a "confidence" in 0..1) cannot meet this schema
            # (multipleOf 2): the schema wins, the name's hint is dropped.
            return self._number(s, path, name, integer=integer, human=DEFAULT_RANGE)
        kind = "integer" if integer else "number"
        raise self.error(f"no {kind} satisfies the bounds and multipleOf together", path)

    def _array(self, s: dict[str, Any], path: str, refs: tuple[str, ...], name: str) -> Array:
        low, high = s.get("minItems", 0), s.get("maxItems")
        if high is not None and low > high:
            raise self.error(f"minItems {low} is greater than maxItems {high}", path)
        items = s.get("items", True)
        if isinstance(items, list):
            raise self.error("tuple-form 'items' (a list) is not supported", path)
        if (
            isinstance(items, dict)
            and "description" in s
            and not {"description", "$ref"} & items.keys()
        ):
            # "Email addresses of the people to invite" describes the items too.
            items = {**items, "description": s["description"]}
        item: Node | None = None
        if items is not False and high != 0:
            try:
                item = self.node(items, f"{path}.items", refs, name)
            except UnsupportedSchemaError:
                if low > 0:
                    raise
        if item is None and low > 0:
            raise self.error(f"minItems {low} but items accept no value", path)
        ordered = bool(_INTERVAL.search(words_of(name)))
        return Array(item, low, high, bool(s.get("uniqueItems")), path, self.tool, ordered)

    def _object(self, s: dict[str, Any], path: str, refs: tuple[str, ...]) -> Object:
        additional = s.get("additionalProperties", True)
        dependent: Mapping[str, Sequence[str]] = s.get("dependentRequired") or {}
        declared = object_properties(s)
        required = {n for n, _, needed in declared if needed}
        names = [n for n, _, _ in declared]
        names += [d for ds in dependent.values() for d in ds if d not in names]
        schemas = {n: sub for n, sub, _ in declared}
        nodes: dict[str, Node] = {}
        for prop in dict.fromkeys(names):
            sub = schemas.get(prop, True)
            if sub is True and prop not in (s.get("properties") or {}):
                sub = additional
            where = f"{path}.properties.{prop}"
            try:
                if sub is False:
                    raise self.error(f"'{prop}' is needed but additionalProperties is false", where)
                nodes[prop] = self.node(sub, where, refs, prop)
            except UnsupportedSchemaError:
                if prop in _closure(required, dependent):
                    raise
        return self._object_plan(s, path, refs, nodes, required, dependent)

    def _object_plan(
        self,
        s: dict[str, Any],
        path: str,
        refs: tuple[str, ...],
        nodes: dict[str, Node],
        required: set[str],
        dependent: Mapping[str, Sequence[str]],
    ) -> Object:
        base = _closure(required, dependent)
        optional = []
        for name in nodes:
            needs = _closure({name}, dependent) - base
            if name not in base and needs <= nodes.keys():
                optional.append(Property(name, nodes[name], frozenset(needs)))
        low, high = s.get("minProperties", 0), s.get("maxProperties")
        if high is not None and len(base) > high:
            raise self.error(
                f"{len(base)} properties are required but maxProperties is {high}", path
            )
        additional = s.get("additionalProperties", True)
        extra = None
        if additional is not False and len(nodes) < low:
            extra = self.node(additional, f"{path}.additionalProperties", refs, "")
        if extra is None and len(nodes) < low:
            raise self.error(f"minProperties {low} but only {len(nodes)} properties allowed", path)
        declared = self._declared(s, path, refs, nodes)
        length = day_count(list(nodes))
        pairs = tuple(
            RangePair(a, b, self.check(declared[a][0]), self.check(declared[b][0]), length)
            for a, b in twin_pairs(list(nodes), PAIR_WORDS)
            if a in declared and b in declared
        )
        return Object(
            required=tuple(Property(n, nodes[n], frozenset({n})) for n in nodes if n in base),
            optional=tuple(optional),
            order=tuple(nodes),
            extra=extra,
            min_properties=low,
            max_properties=high,
            ordered_pairs=pairs,
            path=path,
            tool=self.tool,
            place=self._place_group(declared),
            unit_links=self._unit_links(declared, path),
            distinct_pairs=tuple(twin_pairs(list(nodes), ENDPOINT_WORDS)),
        )

    def _declared(
        self, s: dict[str, Any], path: str, refs: tuple[str, ...], nodes: Mapping[str, Node]
    ) -> dict[str, tuple[Any, dict[str, Any]]]:
        """``(raw, resolved)`` schema of each declared property that has a node."""
        out = {}
        for name, sub in (s.get("properties") or {}).items():
            if name in nodes:
                try:
                    resolved, _ = self.doc.resolve(sub, path=f"{path}.properties.{name}", refs=refs)
                except UnsupportedSchemaError:
                    continue
                out[name] = (sub, resolved)
        return out

    def _place_group(self, declared: Mapping[str, tuple[Any, dict[str, Any]]]) -> PlaceGroup | None:
        """City, country, code, timezone... of one object, kept to places their schemas accept."""
        by_role: dict[str, list[str]] = {}
        for name, (_, resolved) in declared.items():
            role = place_role(name, str(resolved.get("description") or ""))
            if role:
                by_role.setdefault(role, []).append(name)
        fields: list[tuple[str, str]] = []
        fitting = PLACES
        for role in PLACE_ROLES:
            names = by_role.get(role, [])
            if len(names) != 1:  # origin and destination cities are two places
                continue
            if role == "currency" and not {"country", "country_code"} & {r for _, r in fields}:
                continue
            check = self.validator.evolve(schema=declared[names[0]][0])
            fits = tuple(
                place
                for place in fitting
                if (value := getattr(place, role)) is not None and check.is_valid(value)
            )
            if fits:
                fields.append((names[0], role))
                fitting = fits
        if len(fields) < 2:
            return None
        street = next(
            (
                name
                for name, (_, resolved) in declared.items()
                if _STREET.match(name)
                and resolved.get("type") == "string"
                and not _CHOICE_KEYWORDS & resolved.keys()
                and not {"pattern", "format"} & resolved.keys()
            ),
            None,
        )
        return PlaceGroup(tuple(fields), fitting, street)

    def _unit_links(
        self, declared: Mapping[str, tuple[Any, dict[str, Any]]], path: str
    ) -> tuple[UnitLink, ...]:
        """Number siblings of a unit enum, with a range per unit (temperature and "units")."""
        units = [
            (name, resolved)
            for name, (_, resolved) in declared.items()
            if _UNIT_NAME.search(words_of(name)) and isinstance(resolved.get("enum"), list)
        ]
        if len(units) != 1:
            return ()
        unit, unit_schema = units[0]
        links = []
        for name, (_, resolved) in declared.items():
            numeric = [t for t in schema_types(resolved, nullable=False) or () if t != "null"]
            if numeric not in (["number"], ["integer"]) or _CHOICE_KEYWORDS & resolved.keys():
                continue
            description = str(resolved.get("description") or "")
            base = number_range(name, description)
            by_unit: dict[str, Node] = {}
            for value in unit_schema["enum"]:
                hint = _UNIT_HINTS.get(str(value).lower())
                human = number_range(name, f"{description} {hint}") if hint else base
                if human is base:
                    continue
                where = f"{path}.properties.{name}"
                try:
                    grid = self._number(
                        resolved, where, name, integer=numeric == ["integer"], human=human
                    )
                except UnsupportedSchemaError:
                    continue
                by_unit[str(value).lower()] = grid
            if by_unit:
                links.append(UnitLink(unit, name, by_unit, unit_schema.get("default")))
        return tuple(links)


_STREET = re.compile(r"^(street|street_?address|address(_?line)?_?1?|line_?1)$", re.I)
_INTERVAL = re.compile(r"\b(interval|range|bounds|span|limits|window|period)\b")
_UNIT_NAME = re.compile(r"\b(unit|units|scale|system)\b")
_CHOICE_KEYWORDS = frozenset({"enum", "const", "anyOf", "oneOf"})
_METRIC = "in celsius, kilograms, kilometers"
_IMPERIAL = "in fahrenheit, pounds, miles"
# What a unit enum value means for a sibling number, in the words NUMBER_RANGES read.
_UNIT_HINTS = {
    "metric": _METRIC,
    "si": _METRIC,
    "imperial": _IMPERIAL,
    "us": _IMPERIAL,
    **dict.fromkeys(("celsius", "c", "°c"), "in celsius"),
    **dict.fromkeys(("fahrenheit", "f", "°f"), "in fahrenheit"),
    **dict.fromkeys(("kelvin", "k"), "in kelvin"),
    **dict.fromkeys(("kg", "kilograms"), "in kilograms"),
    **dict.fromkeys(("g", "grams"), "in grams"),
    **dict.fromkeys(("lb", "lbs", "pounds"), "in pounds"),
    **dict.fromkeys(("m", "meters", "metres"), "in meters"),
    **dict.fromkeys(("km", "kilometers", "kilometres", "mi", "miles"), "in km"),
    **dict.fromkeys(("ms", "milliseconds"), "in milliseconds"),
    **dict.fromkeys(("s", "sec", "seconds"), "in seconds"),
    **dict.fromkeys(("min", "minutes"), "in minutes"),
    **dict.fromkeys(("h", "hours"), "in hours"),
    **dict.fromkeys(("d", "days"), "in days"),
}


def _described_enum(branches: Sequence[Node], checks: Sequence[Check]) -> Enum | None:
    """``oneOf`` of ``const`` branches (an enum with a description per value) as an enum.

    Keeps the values that match exactly one branch, so drawing needs no check.
    """
    if not all(isinstance(branch, Const) for branch in branches):
        return None
    values = [branch.value for branch in branches]  # type: ignore[attr-defined]
    choices = tuple(v for v in values if sum(check(v) for check in checks) == 1)
    return Enum(choices) if choices else None


def _choices(grid: Grid) -> int:
    return len(grid.passing) if grid.passing else grid.high - grid.low + 1


def _closure(names: set[str], dependent: Mapping[str, Sequence[str]]) -> set[str]:
    """``names`` plus everything dependentRequired makes them bring along."""
    out, todo = set(names), list(names)
    while todo:
        for needed in dependent.get(todo.pop(), ()):
            if needed not in out:
                out.add(needed)
                todo.append(needed)
    return out


def _implied_type(s: Mapping[str, Any]) -> str:
    """The type a schema without ``type`` most plausibly means (any value would pass)."""
    hints = (
        ("object", ("properties", "required", "additionalProperties", "minProperties")),
        ("array", ("items", "minItems", "maxItems", "uniqueItems")),
        ("number", ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")),
    )
    for type_, keywords in hints:
        if any(k in s for k in keywords):
            return type_
    return "string"


Bound = tuple[Fraction, bool]  # (value, exclusive)


def _bounds(s: Mapping[str, Any]) -> tuple[Bound | None, Bound | None]:
    """The tightest lower and upper bound, each with whether it is exclusive."""
    lows = [
        (Fraction(str(s[k])), k.startswith("exclusive"))
        for k in ("minimum", "exclusiveMinimum")
        if isinstance(s.get(k), int | float) and not isinstance(s.get(k), bool)
    ]
    highs = [
        (Fraction(str(s[k])), k.startswith("exclusive"))
        for k in ("maximum", "exclusiveMaximum")
        if isinstance(s.get(k), int | float) and not isinstance(s.get(k), bool)
    ]
    low = max(lows, key=lambda b: (b[0], b[1]), default=None)
    high = min(highs, key=lambda b: (b[0], not b[1]), default=None)
    return low, high


def _steps(preferred: Fraction, multiple: Any, *, integer: bool) -> list[Fraction]:
    """Grid steps to try, coarsest (most readable) first; all honour multipleOf."""
    base = [preferred, _CENT] if not integer else [Fraction(1)]
    if not integer:
        base += [Fraction(1, 10**n) for n in range(3, 7)]
    if multiple is None:
        return list(dict.fromkeys(base))
    m = Fraction(str(multiple))
    lcms = [_lcm(m, step) for step in base]
    return list(dict.fromkeys(lcms if integer else [*lcms, m]))


def _lcm(a: Fraction, b: Fraction) -> Fraction:
    return Fraction(math.lcm(a.numerator, b.numerator), math.gcd(a.denominator, b.denominator))


def _grid(
    low: Bound | None, high: Bound | None, human: Range, step: Fraction
) -> tuple[int, int] | None:
    """The ``k`` range of ``k * step`` inside the bounds, preferring the human range.

    The human range wins unless the bounds squeeze it below ``_FEW`` points.
    """
    span = human.high - human.low
    lo_v = low[0] if low else None
    hi_v = high[0] if high else None
    preferred = (
        human.low if lo_v is None else max(lo_v, human.low),
        human.high if hi_v is None else min(hi_v, human.high),
    )
    candidates = [preferred]
    if lo_v is not None or hi_v is not None:
        candidates.append(
            (
                lo_v if lo_v is not None else hi_v - span,  # type: ignore[operator]
                hi_v if hi_v is not None else lo_v + span,  # type: ignore[operator]
            )
        )
    found: list[tuple[int, int]] = []
    for wanted_lo, wanted_hi in candidates:
        k_lo, k_hi = -((-wanted_lo) // step), wanted_hi // step
        if low and low[1] and k_lo * step <= low[0]:
            k_lo = low[0] // step + 1
        if high and high[1] and k_hi * step >= high[0]:
            k_hi = -((-high[0]) // step) - 1
        if k_lo <= k_hi:
            found.append((int(k_lo), int(k_hi)))
            if k_hi - k_lo + 1 >= _FEW:
                break
    # The human range squeezed to a point by the bounds gives way to the bounds.
    return max(found, key=lambda k: k[1] - k[0]) if found else None


_PLAN_CACHE_SIZE = 512
_plans: dict[tuple[str, str], Plan] = {}
_plans_by_id: dict[tuple[int, str], tuple[Mapping[str, Any], Plan]] = {}


def seed_arguments(
    schema: Mapping[str, Any],
    rng: random.Random,
    faker: Faker,
    *,
    optional_rate: float = 0.5,
    tool: str = "",
    today: date | None = None,
    given: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Realistic arguments for a tool's ``parameters`` schema that always validate.

    Required properties are always present, optional ones with probability
    ``optional_rate``. Dates are placed around ``today`` (the example's, from its
    seed; ``REFERENCE_TODAY`` when None): bookings after it, birth dates before.
    ``given`` fixes top-level values; their siblings are drawn to agree with them
    (a city given, its country and timezone follow; a start given, the end is after it).
    Raises UnsupportedSchemaError (naming ``tool`` and the JSON path) for schema
    features that cannot be satisfied.
    """
    if not 0.0 <= optional_rate <= 1.0:
        raise ValueError(f"optional_rate must be between 0 and 1, got {optional_rate}")
    plan = plan_for(schema, tool)
    draw = Draw(rng, unweighted_twin(faker), optional_rate, today or REFERENCE_TODAY)
    if given:
        draw.given = given
    arguments: dict[str, Any] = {}
    for _ in range(3):
        arguments = plan.root.generate(draw)
        if plan.exact or plan.strict_valid(arguments):
            return arguments
    error = next(iter(plan.strict.iter_errors(arguments)))
    where = ".".join([ROOT_PATH, *map(str, error.absolute_schema_path)])
    raise UnsupportedSchemaError(
        f"could not draw arguments that satisfy this schema ({error.message})",
        path=where,
        tool=tool or None,
    )


def _uses_nullable(schema: Mapping[str, Any]) -> bool:
    return any("nullable" in sub for sub in iter_subschemas(schema))


def _is_exact(schema: Mapping[str, Any]) -> bool:
    """Whether every keyword in the document is one the plan honours by construction."""
    draft = str(schema.get("$schema", ""))
    if not any(name in draft for name in _EXACT_DRAFTS[1:]) and draft:
        return False
    return all(
        keyword in EXACT_KEYWORDS or keyword.startswith("x-")
        for sub in iter_subschemas(schema)
        for keyword in sub
    )


def plan_for(schema: Mapping[str, Any], tool: str) -> Plan:
    """The compiled plan for a schema, built once per distinct schema and tool.

    The same schema object (a tool's ``parameters``, seeded once per attempt) is
    found by identity first, which skips serialising it; the cache keeps the
    object alive, so its id cannot be reused while it is cached. Schemas are not
    edited in place once seeded.
    """
    known = _plans_by_id.get((id(schema), tool))
    if known is not None and known[0] is schema:
        return known[1]
    key = (json.dumps(schema, default=str), tool)
    plan = _plans.get(key)
    if plan is None:
        plan = _compile(schema, tool)
        if len(_plans) >= _PLAN_CACHE_SIZE:
            _plans.pop(next(iter(_plans)))
        _plans[key] = plan
    if len(_plans_by_id) >= _PLAN_CACHE_SIZE:
        _plans_by_id.pop(next(iter(_plans_by_id)))
    _plans_by_id[(id(schema), tool)] = (schema, plan)
    return plan


def _compile(schema: Mapping[str, Any], tool: str) -> Plan:
    planner = _Planner(schema, tool)
    top, refs = planner.doc.resolve(schema, path=ROOT_PATH)
    types = schema_types(top, nullable=False)
    if types is not None and "object" not in types:
        raise planner.error("parameters must describe an object", ROOT_PATH)
    top = {**top, "type": "object"}
    declared = object_properties(top)
    properties = {name: sub for name, sub, _ in declared}
    root = planner.resolved(top, ROOT_PATH, refs, "")
    lenient = compiled_validator(schema) if _uses_nullable(schema) else None
    return Plan(
        root=root,
        doc=planner.doc,
        properties=properties,
        required=tuple(name for name, _, needed in declared if needed),
        strict=planner.validator,
        lenient=lenient,
        exact=_is_exact(schema),
        property_checks={n: planner.check(s) for n, s in properties.items()},
        strict_valid=validity_check(planner.validator, root=schema),
        lenient_valid=None if lenient is None else validity_check(lenient, root=lenient.schema),
        free_text=_free_text_of(root),
    )


def _free_text_of(root: Node) -> dict[str, str]:
    """The top-level string properties that are free text, with their kind."""
    if not isinstance(root, Object):
        return {}
    out = {}
    for name, node in root.nodes.items():
        while isinstance(node, Default | Nullable):
            node = node.inner
        if isinstance(node, Text) and node.free_text:
            out[name] = node.free_text
    return out


def free_text_arguments(schema: Mapping[str, Any], tool: str = "") -> dict[str, str]:
    """Which top-level arguments of a tool are free text (a subject, a body, a query, SQL).

    Maps each to its kind (``free_text.KINDS``). A plan marks these so an LLM
    teacher writes them, under the schema's constraints, instead of the seeder.
    """
    return dict(plan_for(schema, tool).free_text)

"""fast_check: the plain-Python validity checks give jsonschema's verdict, or none at all.

``generator.schema.fast_check`` compiles a schema into predicates that must answer
exactly what ``Draft202012Validator(schema, format_checker=FORMAT_CHECKER).is_valid``
answers, and must decline (return None) where it cannot promise that. The property
test draws schemas from the keywords it covers and instances both at random and
close to the schema (its own consts, enums, bounds, formats and patterns, so that a
good share are valid), and compares the verdicts; the examples below it pin the
cases where a plain-Python reading of JSON Schema usually goes wrong.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator, Draft202012Validator

from callforge.generator.schema import (
    FORMAT_CHECKER,
    fast_check,
    instance_is_valid,
    validate_instance,
)


def jsonschema_validator(schema: Any) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=FORMAT_CHECKER)


def outcome(check: Callable[[Any], Any], instance: Any) -> Any:
    """``check(instance)``, or the name of the exception it raised (NaN, huge ints)."""
    try:
        return bool(check(instance))
    except (ValueError, OverflowError) as error:
        return type(error).__name__


def assert_same_verdicts(schema: Any, instances: list[Any]) -> None:
    """fast_check (when it gives a predicate) and validate_instance agree with jsonschema.

    Where jsonschema raises instead of answering (NaN against a float ``multipleOf``
    is ``int(nan)``), there is no verdict to agree with: whether jsonschema raises
    or answers depends on whether it met an earlier failing keyword first (``anyOf``
    reads every keyword of a branch, most others stop at the first failure), and the
    fast check may stop sooner or later than it does.
    """
    validator = jsonschema_validator(schema)
    check = fast_check(validator, root=schema)
    for instance in instances:
        valid = outcome(validator.is_valid, instance)
        if not isinstance(valid, bool):
            continue
        if check is not None:
            assert outcome(check, instance) is valid, (schema, instance)
        if isinstance(schema, dict):
            # Listing every error may meet what is_valid stopped before (NaN again) and
            # raise as jsonschema does; so may instance_is_valid where it lists them.
            listed = outcome(lambda value: validate_instance(schema, value) == [], instance)
            assert listed is valid or isinstance(listed, str), (schema, instance)
            judged = outcome(lambda value: instance_is_valid(schema, value), instance)
            assert judged is valid or (check is None and isinstance(judged, str)), (
                schema,
                instance,
            )


# ---------------------------------------------------------------------------
# Values the schemas and the instances are made of.

NAMES = ["id", "name", "qty", "tags", "note", "x-extra", "ä", ""]
# Each pattern with strings around it; Python's ``re`` reads \d and \w as Unicode.
PATTERNS = {
    r"^[A-Z]{3}-\d{4}$": ["ABC-1234", "abc-1234", "ABC-١٢٣٤", "ABC-12345"],
    r"^\w+$": ["café", "naïve_1", "two words", ""],
    r"é": ["résumé", "resume", "re\u0301sume\u0301"],
    r"^[^\x00-\x7f]+$": ["日本語", "日本go", "😀"],
    r"^.{2,3}$": ["😀😀", "ab", "a", "abcd", "e\u0301"],
    r"colou?r": ["color", "my colour", "COLOR"],
    r"^$": ["", " "],
}
# patternProperties / propertyNames patterns, with property names around them.
NAME_PATTERNS = {r"^x-": ["x-extra", "x-", "y-x"], r"^\d+$": ["1", "42", "٣", "a1"]}
FORMATS = {
    "date": ["2024-02-29", "2023-02-29", "2024-1-05", "20240105"],
    "date-time": ["2024-05-01T12:30:00Z", "2024-05-01T12:30:00+02:00", "2024-05-01 12:30"],
    "time": ["12:30:00Z", "12:30:00", "24:00:00Z"],
    "email": ["ada@example.com", "ada.example.com", "@example.com", "ädä@exämple.com"],
    "uri": ["https://example.com/a?b=c", "example.com", "mailto:ada@example.com"],
    "uuid": [
        "123e4567-e89b-12d3-a456-426614174000",
        "123E4567-E89B-12D3-A456-426614174000",
        "123e4567e89b12d3a456426614174000",
        "not-a-uuid",
    ],
    "ipv4": ["192.168.0.1", "256.1.1.1", "1.2.3"],
    "hostname": ["example.com", "-bad-.com", "a" * 64 + ".com"],
    "duration": ["P1D", "PT1H30M", "P1H", "1 day"],
    "regex": ["^a+$", "(", "[a-"],
    "no-such-format": ["anything"],
}
STRINGS = ["", "a", "ab", "abc", "café", "😀", "٣", " ", "null", "1", "true"]
NUMBERS: list[Any] = [0, 1, 2, 3, 10, -1, -2.5, 0.5, 1.0, 2.5, 0.1, 1e-3, 1e20, 10**20]
STEPS: list[Any] = [1, 2, 3, 0.5, 0.1, 0.01, 1.5, 1e-3, 10**20]
# Values jsonschema treats in its own way: 1 == 1.0, True is not 1, NaN is not NaN.
ODD_NUMBERS: list[Any] = [
    True,
    False,
    -0.0,
    float("nan"),
    float("inf"),
    -float("inf"),
    2**53 + 1,
    10**400,
    1e308,
    0.1 + 0.2,
    0.07,
]
CONSTS: list[Any] = [0, 1, 1.0, True, False, None, "a", "", [1], [1.0, "a"], {"a": 1}, 0.1]
# Keywords fast_check leaves to jsonschema; a few drawn schemas carry one.
NOT_COVERED = [
    {"prefixItems": [{"type": "string"}]},
    {"unevaluatedProperties": False},
    {"unevaluatedItems": {"type": "null"}},
]
NOT_KEYS = [key for keywords in NOT_COVERED for key in keywords]

# ---------------------------------------------------------------------------
# Schemas.


small = st.integers(0, 3)
name_lists = st.lists(st.sampled_from(NAMES), max_size=3, unique=True)
number_keywords = st.fixed_dictionaries(
    {},
    optional={
        "minimum": st.sampled_from(NUMBERS),
        "maximum": st.sampled_from(NUMBERS),
        "exclusiveMinimum": st.sampled_from(NUMBERS),
        "exclusiveMaximum": st.sampled_from(NUMBERS),
        "multipleOf": st.sampled_from(STEPS),
    },
)
string_keywords = st.fixed_dictionaries(
    {},
    optional={
        "minLength": small,
        "maxLength": small,
        "pattern": st.sampled_from(sorted(PATTERNS)),
        "format": st.sampled_from(sorted(FORMATS)),
    },
)
type_names = st.lists(
    st.sampled_from(["string", "integer", "number", "boolean", "null", "object", "array"]),
    min_size=1,
    max_size=3,
    unique=True,
)


@st.composite
def typed_schemas(draw: st.DrawFn) -> dict[str, Any]:
    """A ``type`` (a name or a list of names) with the keywords of those types.

    Sometimes the ``type`` itself is left out: the keywords then apply to values of
    their own type and let every other value through.
    """
    types = draw(type_names)
    schema: dict[str, Any] = {}
    if draw(st.integers(0, 4)):
        schema["type"] = types[0] if len(types) == 1 and draw(st.booleans()) else types
    if {"integer", "number"} & set(types):
        schema |= draw(number_keywords)
    if "string" in types:
        schema |= draw(string_keywords)
    return schema


leaf_schemas = st.one_of(
    st.booleans(),
    st.just({}),
    typed_schemas(),
    st.sampled_from(CONSTS).map(lambda value: {"const": value}),
    st.lists(st.sampled_from(CONSTS + STRINGS), min_size=1, max_size=4).map(lambda v: {"enum": v}),
    st.sampled_from(["#/$defs/Code", "#/$defs/Tree", "#/$defs/odd~1name~0"]).map(
        lambda ref: {"$ref": ref}
    ),
    # A reference to the root only where it descends into the instance, so it ends.
    st.just({"type": "array", "items": {"$ref": "#"}, "maxItems": 2}),
    st.just({"properties": {"next": {"$ref": "#"}}}),
)


def object_schemas(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "type": st.just("object"),
            "properties": st.dictionaries(st.sampled_from(NAMES), children, max_size=3),
            "required": name_lists,
            "additionalProperties": st.booleans() | children,
            "patternProperties": st.dictionaries(
                st.sampled_from(sorted(NAME_PATTERNS)), children, max_size=1
            ),
            "propertyNames": st.sampled_from(
                [{"maxLength": 2}, {"pattern": r"^\d+$"}, {"not": {"const": "id"}}]
            ),
            "minProperties": small,
            "maxProperties": small,
            "dependentRequired": st.dictionaries(st.sampled_from(NAMES), name_lists, max_size=2),
            "dependentSchemas": st.dictionaries(st.sampled_from(NAMES), children, max_size=1),
        },
    )


def array_schemas(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "type": st.just("array"),
            "items": children,
            "minItems": small,
            "maxItems": small,
            "uniqueItems": st.booleans(),
            "contains": children,
            "minContains": small,
            "maxContains": small,
        },
    )


def logic_schemas(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    branches = st.lists(children, min_size=1, max_size=3)
    return st.one_of(
        branches.map(lambda b: {"anyOf": b}),
        branches.map(lambda b: {"oneOf": b}),
        branches.map(lambda b: {"allOf": b}),
        children.map(lambda c: {"not": c}),
        st.fixed_dictionaries({"if": children}, optional={"then": children, "else": children}),
        # Keywords beside a combinator or a reference apply too.
        st.tuples(typed_schemas(), branches).map(lambda p: {**p[0], "anyOf": p[1]}),
        typed_schemas().map(lambda schema: {**schema, "$ref": "#/$defs/Code"}),
    )


def nested(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Leaves, or objects, arrays and combinators of ``children``, a quarter each.

    (``st.one_of`` would flatten the nested one_ofs and pick among all their branches.)
    """
    kinds = [leaf_schemas, object_schemas(children), array_schemas(children)]
    return st.sampled_from([*kinds, logic_schemas(children)]).flatmap(lambda kind: kind)


# Three levels deep at most: objects of arrays of leaves, a not of an anyOf of objects...
schema_bodies = nested(nested(leaf_schemas))

TREE = {
    "type": "object",
    "properties": {"label": {"type": "string"}, "children": {"items": {"$ref": "#/$defs/Tree"}}},
    "required": ["label"],
}


@st.composite
def documents(draw: st.DrawFn) -> Any:
    """A schema with the ``$defs`` its references point at (or a bare boolean schema)."""
    body = draw(schema_bodies)
    if isinstance(body, bool):
        return body
    # $defs hold no references of their own but Tree's, which descends as it recurses.
    defs = {"Code": draw(typed_schemas()), "Tree": TREE, "odd/name~": draw(leaf_schemas)}
    if "$ref" in str(defs["odd/name~"]):
        defs["odd/name~"] = {"const": "odd"}
    body = {**body, **draw(st.sampled_from([{}] * 19 + NOT_COVERED))}
    return {**body, "$defs": defs}


# ---------------------------------------------------------------------------
# Instances: random JSON, and values built from a schema's own keywords.
#
# They come from a ``random.Random`` with a seed hypothesis draws: a dozen
# instances per schema cost little that way, while the schemas themselves are
# hypothesis strategies and shrink.


def random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(9 if depth < 2 else 6)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.randint(-(2**70), 2**70) if rng.random() < 0.2 else rng.randint(-5, 20)
    if kind == 2:
        return rng.choice([rng.uniform(-1e6, 1e6), rng.randint(-5, 5) / 4, 1e300, 5e-324])
    if kind == 3:
        return rng.choice(NUMBERS + ODD_NUMBERS)
    if kind in (4, 5):
        return rng.choice(STRINGS + NAMES + [s for samples in PATTERNS.values() for s in samples])
    if kind in (6, 7):
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(NAMES): random_json(rng, depth + 1) for _ in range(rng.randrange(4))}


def twins(value: Any) -> list[Any]:
    """``value`` and values jsonschema may or may not count as equal to it."""
    if isinstance(value, bool):
        return [value, int(value), float(value)]
    if (isinstance(value, int) and abs(value) < 2**1000) or isinstance(value, float):
        if not math.isfinite(value):
            return [value]
        return [value, float(value), value + 1, -value, *([int(value)] if value == 0 else [])]
    if isinstance(value, list):
        return [value, [twins(item)[-1] for item in value], value * 2]
    if isinstance(value, dict):
        return [value, {key: twins(item)[-1] for key, item in value.items()}, {**value, "z": 1}]
    return [value]


def numbers_near(schema: dict[str, Any]) -> list[Any]:
    bounds = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"]
    near: list[Any] = []
    for key in bounds:
        if key in schema:
            bound = schema[key]
            near += [bound, bound - 1, bound + 1, bound - 0.5, bound + 0.5, float(bound)]
    step = schema.get("multipleOf")
    if step is not None:
        near += [step * k for k in (-1, 0, 1, 3, 7)] + [step / 2, round(step * 3, 10)]
    return near + NUMBERS + ODD_NUMBERS


def strings_near(schema: dict[str, Any]) -> list[str]:
    near = list(STRINGS)
    near += PATTERNS.get(schema.get("pattern", ""), [])
    near += FORMATS.get(schema.get("format", ""), [])
    for key in ("minLength", "maxLength"):
        if key in schema:
            near += ["é" * max(schema[key] - 1, 0), "é" * schema[key], "é" * (schema[key] + 1)]
    return near


def resolve(ref: str, root: Any) -> Any:
    target = root
    for segment in ref[1:].split("/")[1:]:
        target = target[segment.replace("~1", "/").replace("~0", "~")]
    return target


def near(rng: random.Random, schema: Any, root: Any, depth: int = 0) -> Any:
    """A value built from ``schema``'s own keywords: often valid, often just not."""
    if not isinstance(schema, dict) or depth > 3 or rng.random() < 0.1:
        return random_json(rng, depth)
    options = [key for key in ("$ref", "const", "enum", "anyOf", "oneOf", "allOf") if key in schema]
    options += [key for key in ("if", "then", "else", "not") if key in schema]
    key = rng.choice([*options, "type", "type"])
    if key == "$ref":
        return near(rng, resolve(schema["$ref"], root), root, depth + 1)
    if key == "const":
        return rng.choice(twins(schema["const"]))
    if key == "enum":
        return rng.choice(twins(rng.choice(schema["enum"])))
    if key in ("anyOf", "oneOf", "allOf"):
        return near(rng, rng.choice(schema[key]), root, depth + 1)
    if key in ("if", "then", "else", "not"):
        return near(rng, schema[key], root, depth + 1)
    declared = schema.get("type", ["string", "integer", "number", "object", "array", "null"])
    kind = declared if isinstance(declared, str) else rng.choice(declared)
    return typed_near(rng, kind, schema, root, depth)


def typed_near(rng: random.Random, kind: str, schema: dict[str, Any], root: Any, depth: int) -> Any:
    if kind == "null":
        return None
    if kind == "boolean":
        return rng.choice([True, False])
    if kind in ("integer", "number"):
        return rng.choice(numbers_near(schema))
    if kind == "string":
        return rng.choice(strings_near(schema))
    if kind == "array":
        low = schema.get("minItems", 0)
        high = max(low, min(schema.get("maxItems", 4), 4))
        size = rng.randint(max(low - 1, 0), high + 1)
        item = schema.get("contains") if rng.random() < 0.5 else schema.get("items", True)
        values = [near(rng, item, root, depth + 1) for _ in range(size)]
        if values and rng.random() < 0.5:  # a repeat, maybe as a twin (1 and 1.0, 0 and False)
            values.append(rng.choice(twins(values[0])))
        return values
    properties = schema.get("properties", {})
    names = [*properties, *schema.get("required", [])]
    names += [*schema.get("dependentRequired", {}), *schema.get("dependentSchemas", {})]
    for pattern in schema.get("patternProperties", {}):
        names += NAME_PATTERNS[pattern]
    chosen = rng.sample(names, min(len(names), rng.randrange(5))) if names else []
    if rng.random() < 0.3:
        chosen.append(rng.choice(NAMES))
    return {name: near(rng, properties.get(name, True), root, depth + 1) for name in chosen}


@settings(
    max_examples=180,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(schema=documents(), seed=st.integers(0, 2**32 - 1))
def test_fast_check_gives_jsonschemas_verdict(schema: Any, seed: int) -> None:
    rng = random.Random(seed)
    values = [random_json(rng) for _ in range(3)] + [near(rng, schema, schema) for _ in range(9)]
    validator = jsonschema_validator(schema)
    # Every keyword the strategy draws is covered, except the ones marked as not.
    covered = not (isinstance(schema, dict) and any(keyword in schema for keyword in NOT_KEYS))
    assert (fast_check(validator, root=schema) is not None) is covered, schema
    assert_same_verdicts(schema, values)
    # A subschema checked on its own, its references resolved in the root, as seeding does.
    if isinstance(schema, dict):
        for sub in (schema["$defs"]["Code"], schema["$defs"]["odd/name~"]):
            evolved = validator.evolve(schema=sub)
            sub_check = fast_check(evolved, root=schema)
            assert sub_check is not None, sub
            for instance in values:
                valid = outcome(evolved.is_valid, instance)
                if isinstance(valid, bool):
                    assert outcome(sub_check, instance) is valid, (sub, instance)


# ---------------------------------------------------------------------------
# Cases where a plain-Python reading of JSON Schema usually goes wrong.

NAN = float("nan")

EXAMPLES: list[tuple[Any, Any]] = [
    # 1, 1.0 and True: integers may be written as floats, booleans are not numbers.
    ({"type": "integer"}, 1.0),
    ({"type": "integer"}, True),
    ({"type": "integer"}, 1.5),
    ({"type": "integer"}, 10**400),
    ({"type": "integer"}, float("inf")),
    ({"type": "number"}, False),
    ({"type": ["integer", "null"]}, 2.0),
    ({"enum": [1]}, 1.0),
    ({"enum": [1]}, True),
    ({"enum": [True]}, 1),
    ({"enum": [0, "a"]}, False),
    ({"enum": ["a", "b"]}, "a"),
    ({"enum": ["1"]}, 1),
    ({"const": 0}, False),
    ({"const": 0}, -0.0),
    ({"const": [1, {"a": 1}]}, [1.0, {"a": 1.0}]),
    ({"const": [1, {"a": 1}]}, [True, {"a": 1}]),
    ({"const": {"a": 1}}, {"a": 1, "b": 2}),
    ({"minimum": 1}, True),
    ({"maximum": 0}, False),
    ({"uniqueItems": True}, [1, True]),
    ({"uniqueItems": True}, [0, False]),
    ({"uniqueItems": True}, [1, 1.0]),
    ({"uniqueItems": True}, [[1], [True]]),
    ({"uniqueItems": True}, [{"a": 1}, {"a": 1.0}]),
    ({"uniqueItems": True}, [{"a": 1}, {"a": True}]),
    ({"uniqueItems": True}, ["1", 1, [1], {"1": 1}]),
    # NaN: every comparison is false, and it equals only itself (the same object).
    ({"type": "number"}, NAN),
    ({"type": "integer"}, NAN),
    ({"minimum": 0}, NAN),
    ({"exclusiveMaximum": 0}, NAN),
    ({"multipleOf": 2}, NAN),
    ({"multipleOf": 0.5}, NAN),
    ({"const": NAN}, NAN),
    ({"const": NAN}, float("nan")),
    ({"enum": [NAN]}, NAN),
    ({"uniqueItems": True}, [NAN, NAN]),
    # multipleOf with float steps: float division, then exact fractions on overflow.
    ({"multipleOf": 0.1}, 10**300),
    ({"multipleOf": 0.1}, 10**308),
    ({"multipleOf": 0.1}, 10**400),
    ({"multipleOf": 0.1}, float("inf")),
    ({"multipleOf": 0.01}, 0.07),
    ({"multipleOf": 0.01}, 19.99),
    ({"multipleOf": 3}, 9.0),
    ({"multipleOf": 3}, True),
    ({"multipleOf": 10**20}, 10**40 + 1),
    ({"multipleOf": 1e-3}, 2**60),
    # Patterns search (not match) with Unicode \d and \w; lengths count code points.
    ({"pattern": r"^\d+$"}, "١٢٣"),
    ({"pattern": r"^\w+$"}, "naïve"),
    ({"pattern": "é"}, "re\u0301sume\u0301"),
    ({"pattern": "b"}, "abc"),
    ({"pattern": "^.$"}, "😀"),
    ({"pattern": "^a"}, 5),
    ({"maxLength": 1}, "😀"),
    ({"maxLength": 1}, "e\u0301"),
    ({"minLength": 2}, ["a"]),
    # Formats check strings only; an unknown format checks nothing.
    ({"format": "date"}, "2023-02-29"),
    ({"format": "date"}, 20230228),
    ({"format": "email"}, "ädä@exämple.com"),
    ({"format": "uuid"}, "123e4567e89b12d3a456426614174000"),
    ({"format": "no-such-format"}, "anything"),
    # Empty, true and false schemas, also as subschemas.
    ({}, {"any": ["thing"]}),
    (True, NAN),
    (False, None),
    ({"properties": {"a": False}}, {"b": 1}),
    ({"properties": {"a": False}}, {"a": None}),
    ({"items": False}, []),
    ({"items": False}, [None]),
    ({"additionalProperties": False, "patternProperties": {"^x-": {}}}, {"x-1": 1}),
    ({"additionalProperties": False, "patternProperties": {"^x-": {}}}, {"y": 1}),
    ({"contains": {"type": "null"}, "minContains": 0}, []),
    ({"contains": {"type": "null"}, "maxContains": 1}, [None, None]),
    ({"propertyNames": {"maxLength": 1}}, {"ab": 1}),
    ({"dependentSchemas": {"a": {"required": ["b"]}}}, {"a": 1}),
    ({"dependentRequired": {"a": ["b"]}}, {"b": 1}),
    ({"if": {"type": "string"}, "else": False}, 1),
    ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, 1),
    ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, 1.5),
    ({"not": {}}, None),
    # References: to $defs, escaped names, the root, alongside other keywords.
    ({"$defs": {"a/b~": {"type": "string"}}, "$ref": "#/$defs/a~1b~0"}, 1),
    ({"$defs": {"n": {"minimum": 3}}, "$ref": "#/$defs/n", "maximum": 2}, 2),
    ({"items": {"$ref": "#"}, "maxItems": 1}, [[[]]]),
    ({"items": {"$ref": "#"}, "maxItems": 1}, [[[], []]]),
    (
        {
            "$defs": {"t": {"properties": {"n": {"$ref": "#/$defs/t"}}, "required": ["v"]}},
            "$ref": "#/$defs/t",
        },
        {"v": 1, "n": {"v": 2, "n": {}}},
    ),
]


@pytest.mark.parametrize(("schema", "instance"), EXAMPLES)
def test_edge_cases_give_jsonschemas_verdict(schema: Any, instance: Any) -> None:
    assert fast_check(jsonschema_validator(schema), root=schema) is not None
    assert_same_verdicts(schema, [instance])


def test_empty_true_and_false_schemas() -> None:
    for schema, verdict in (({}, True), (True, True), (False, False)):
        check = fast_check(jsonschema_validator(schema), root=schema)
        assert check is not None
        assert [check(value) for value in (None, 0, "a", [], {})] == [verdict] * 5


UNSUPPORTED_SCHEMAS: list[Any] = [
    {"prefixItems": [{"type": "string"}], "items": {"type": "integer"}},
    {"properties": {"a": {}}, "unevaluatedProperties": False},
    {"unevaluatedItems": False},
    {"$id": "https://example.com/s", "type": "string"},
    {"$defs": {"a": {"$anchor": "here", "type": "string"}}, "$ref": "#here"},
    {"$dynamicAnchor": "node", "$dynamicRef": "#node"},
    {"$ref": "other.json#/$defs/a"},
    {"$defs": {"a b": {"type": "string"}}, "$ref": "#/$defs/a%20b"},
    {"properties": {"a": {"$schema": "http://json-schema.org/draft-07/schema#"}}},
    {"type": "int"},
    {"multipleOf": 0},
    {"minLength": "2"},
    {"enum": "abc"},
]


@pytest.mark.parametrize("schema", UNSUPPORTED_SCHEMAS)
def test_unusual_schemas_are_left_to_jsonschema(schema: Any) -> None:
    assert fast_check(jsonschema_validator(schema), root=schema) is None


def test_other_drafts_are_left_to_jsonschema() -> None:
    schema = {"type": "integer"}
    assert fast_check(Draft7Validator(schema), root=schema) is None


@pytest.mark.parametrize("instance", ["a", 1, [1, "a"], {"a": 1}])
def test_unusual_schemas_still_give_jsonschemas_verdict(instance: Any) -> None:
    for schema in UNSUPPORTED_SCHEMAS[:3]:
        assert_same_verdicts(schema, [instance])

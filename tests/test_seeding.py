"""Seeding: any schema in, valid and realistic arguments out; violations always fail."""

from __future__ import annotations

import json
import random
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from faker import Faker
from faker.providers.address.en_US import Provider as Address
from faker.providers.currency import Provider as Currency
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from callforge.generator.errors import InputError, UnsupportedSchemaError
from callforge.generator.importers import load_tools
from callforge.generator.schema import check_parameters_schema, scalar_leaves, validate_instance
from callforge.generator.seeding import (
    PLACES,
    free_text_arguments,
    seed_arguments,
    violate_argument,
)
from callforge.generator.templating import EXAMPLE_TOOLS, TEMPLATES_DIR
from tests.conftest import read_jsonl, run_cli


def strict_validator(schema: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def seeded(seed: int) -> tuple[random.Random, Faker]:
    faker = Faker()
    faker.seed_instance(seed)
    return random.Random(seed), faker


# ---------------------------------------------------------------------------
# A strategy for satisfiable JSON Schemas using every keyword seeding supports.

FORMATS = ["date", "time", "date-time", "duration", "email", "hostname", "ipv4", "ipv6", "uri"]
FORMATS.append("uuid")
PATTERNS = [
    r"^[A-Z]{3}-\d{5}$",
    r"^\d{5}(-\d{4})?$",
    r"^[a-z0-9_]{3,16}$",
    r"^\+?[0-9]{7,12}$",
    r"^#[0-9a-fA-F]{6}$",
    r"^[A-Z]{2}$",
    r"^(low|medium|high)$",
]
NAMES = [
    "email",
    "city",
    "order_id",
    "start_date",
    "end_date",
    "quantity",
    "price",
    "query",
    "country_code",
    "currency",
    "name",
    "note",
    "sku",
    "tags",
    "limit",
    "year",
    "status",
    "min_price",
    "max_price",
    "created_at",
    "website",
    "phone",
    "country",
    "state",
    "timezone",
    "latitude",
    "longitude",
    "check_in",
    "check_out",
    "nights",
    "origin",
    "destination",
    "unit",
    "temperature",
    "amount_cents",
    "confidence",
]
DEFS = {
    "Money": {
        "type": "object",
        "properties": {
            "amount": {"type": "number", "minimum": 0, "multipleOf": 0.01},
            "currency": {"type": "string", "description": "ISO 4217 currency code"},
        },
        "required": ["amount", "currency"],
        "additionalProperties": False,
    },
    "Node": {
        "type": "object",
        "properties": {
            "label": {"type": "string", "maxLength": 30},
            "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}, "maxItems": 2},
            "parent": {"$ref": "#/$defs/Node"},
        },
        "required": ["label"],
    },
}


@st.composite
def string_schemas(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    kind = draw(st.sampled_from(["plain", "format", "pattern", "length"]))
    if kind == "format":
        schema["format"] = draw(st.sampled_from(FORMATS))
    elif kind == "pattern":
        schema["pattern"] = draw(st.sampled_from(PATTERNS))
    elif kind == "length":
        low = draw(st.integers(0, 6))
        schema |= {"minLength": low, "maxLength": low + draw(st.integers(0, 20))}
    return schema


@st.composite
def integer_schemas(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer"}
    step = draw(st.sampled_from([None, 2, 5, 10]))
    low = draw(st.one_of(st.none(), st.integers(-50, 50)))
    if step:
        schema["multipleOf"] = step
    if low is not None:
        key = draw(st.sampled_from(["minimum", "exclusiveMinimum"]))
        schema[key] = low
        if draw(st.booleans()):
            width = draw(st.integers(2 * (step or 1) + 2, 100))
            schema[draw(st.sampled_from(["maximum", "exclusiveMaximum"]))] = low + width
    if draw(st.booleans()) and low is None and not step:
        schema |= {"minimum": 1, "maximum": 10, "default": 5}
    return schema


@st.composite
def number_schemas(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "number"}
    step = draw(st.sampled_from([None, 0.5, 0.25, 0.1, 0.01]))
    if step:
        schema["multipleOf"] = step
    if draw(st.booleans()):
        low = draw(st.integers(-1000, 1000)) / 100
        schema[draw(st.sampled_from(["minimum", "exclusiveMinimum"]))] = low
        schema[draw(st.sampled_from(["maximum", "exclusiveMaximum"]))] = low + draw(
            st.integers(2, 500)
        )
    return schema


def scalar_schemas() -> st.SearchStrategy[dict[str, Any]]:
    refs = ["#/$defs/Money", "#/$defs/Node", "#/$defs/Custom"]
    return st.one_of(plain_scalar_schemas(), st.sampled_from(refs).map(lambda r: {"$ref": r}))


def plain_scalar_schemas() -> st.SearchStrategy[dict[str, Any]]:
    words = st.sampled_from(
        [
            "low",
            "medium",
            "high",
            "urgent",
            "express",
            "standard",
            "celsius",
            "fahrenheit",
            "imperial",
        ]
    )
    return st.one_of(
        string_schemas(),
        integer_schemas(),
        number_schemas(),
        st.just({"type": "boolean"}),
        st.just({"type": "null"}),
        st.lists(words, min_size=1, max_size=4, unique=True).map(lambda v: {"enum": v}),
        st.sampled_from([{"const": "v1"}, {"const": 3}, {"type": "string", "const": "fixed"}]),
        string_schemas().map(lambda s: {**s, "type": ["string", "null"]}),
        integer_schemas().map(lambda s: {**s, "nullable": True}),
    )


@st.composite
def object_schemas(draw: st.DrawFn, children: st.SearchStrategy[Any]) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True))
    properties = {name: draw(children) for name in names}
    required = draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names)))
    schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
    closed = draw(st.sampled_from([None, False, True]))
    if closed is not None:
        schema["additionalProperties"] = closed
    if draw(st.booleans()):
        schema["minProperties"] = draw(st.integers(0, len(names) + (closed is not False)))
    if len(names) > 1 and draw(st.booleans()):
        schema["dependentRequired"] = {names[0]: [names[1]]}
    return schema


def array_schemas(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda items, low, extra, unique: {
            "type": "array",
            "items": items,
            "minItems": 0 if unique else low,
            "maxItems": low + extra,
            "uniqueItems": unique,
        },
        children,
        st.integers(0, 2),
        st.integers(0, 3),
        st.booleans(),
    )


def combined_schemas(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    tagged = st.tuples(object_schemas(children), object_schemas(children)).map(
        lambda pair: {
            "oneOf": [
                {**pair[0], "properties": {**pair[0]["properties"], "kind": {"const": "a"}}},
                {**pair[1], "properties": {**pair[1]["properties"], "kind": {"const": "b"}}},
            ]
        }
    )
    return st.one_of(
        st.lists(children, min_size=1, max_size=3).map(lambda c: {"anyOf": c}),
        tagged.map(_require_kind),
        st.tuples(string_schemas(), integer_schemas()).map(lambda p: {"oneOf": list(p)}),
        st.tuples(object_schemas(children), object_schemas(children)).map(_all_of_objects),
        integer_schemas().map(lambda s: {"allOf": [s, {"type": "integer"}]}),
    )


def _require_kind(schema: dict[str, Any]) -> dict[str, Any]:
    for branch in schema["oneOf"]:
        branch["required"] = [*branch["required"], "kind"]
        branch.pop("additionalProperties", None)
        branch.pop("minProperties", None)
    return schema


def _all_of_objects(pair: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    """allOf of two open objects: keeps the test clear of the additionalProperties trap."""
    left, right = ({k: v for k, v in s.items() if k != "additionalProperties"} for s in pair)
    shared = left["properties"].keys() & right["properties"].keys()
    right["properties"] = {k: v for k, v in right["properties"].items() if k not in shared}
    right["required"] = [name for name in right["required"] if name not in shared]
    right.pop("dependentRequired", None)
    return {"allOf": [left, right]}


schemas = st.recursive(
    scalar_schemas(),
    lambda children: st.one_of(
        object_schemas(children), array_schemas(children), combined_schemas(children)
    ),
    max_leaves=8,
)


@st.composite
def tool_schemas(draw: st.DrawFn) -> dict[str, Any]:
    """A tool's parameters: an object with one plain required argument, plus $defs."""
    body = draw(object_schemas(schemas))
    body.pop("additionalProperties", None)
    body["properties"]["count"] = {"type": "integer", "minimum": 1, "maximum": 20}
    body["required"] = [*body["required"], "count"]
    custom = draw(plain_scalar_schemas())
    return {**body, "$defs": {**DEFS, "Custom": custom}}


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(schema=tool_schemas(), seed=st.integers(0, 2**32 - 1))
def test_seeded_arguments_validate_and_violations_fail(schema: dict[str, Any], seed: int) -> None:
    validator = strict_validator(schema)
    validator.check_schema(schema)
    rng, faker = seeded(seed)
    for _ in range(3):
        arguments = seed_arguments(schema, rng, faker, tool="prop_tool")
        assert validator.is_valid(arguments), validate_instance(schema, arguments)
        bad, kind, detail = violate_argument(schema, arguments, rng, faker, tool="prop_tool")
        assert kind in ("invalid_argument", "missing_argument")
        assert detail
        assert not validator.is_valid(bad), (kind, detail, bad)


# ---------------------------------------------------------------------------
# Reproducibility.

ORDER_TOOL = {
    "type": "object",
    "properties": {
        "customer_email": {"type": "string", "format": "email"},
        "city": {"type": "string"},
        "order_id": {"type": "string"},
        "quantity": {"type": "integer", "minimum": 1},
        "amount": {"type": "number"},
        "currency": {"type": "string", "description": "ISO 4217 currency code"},
        "start_date": {"type": "string", "format": "date"},
        "end_date": {"type": "string", "format": "date"},
        "note": {"type": "string"},
    },
    "required": ["customer_email", "city", "order_id", "quantity", "amount", "currency"],
}


def draw_many(seed: int, count: int = 20) -> str:
    rng, faker = seeded(seed)
    return json.dumps([seed_arguments(ORDER_TOOL, rng, faker) for _ in range(count)])


def test_same_seed_gives_identical_arguments() -> None:
    assert draw_many(7) == draw_many(7)


def test_different_seeds_give_different_arguments() -> None:
    assert draw_many(7) != draw_many(8)


def test_violations_are_reproducible() -> None:
    def violate(seed: int) -> str:
        rng, faker = seeded(seed)
        arguments = seed_arguments(ORDER_TOOL, rng, faker)
        return json.dumps(violate_argument(ORDER_TOOL, arguments, rng, faker))

    assert violate(3) == violate(3)


# ---------------------------------------------------------------------------
# Realistic, text-friendly values.


def is_faker_city(city: str) -> bool:
    """en_US Faker cities are a prefix ("North ...") or a suffix ("...ton", "...land")."""
    return city.split()[0] in Address.city_prefixes or city.endswith(Address.city_suffixes)


REAL_CITIES = {place.city for place in PLACES}


def test_values_are_realistic() -> None:
    rng, faker = seeded(11)
    for _ in range(50):
        arguments = seed_arguments(ORDER_TOOL, rng, faker, optional_rate=1.0)
        assert re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]+", arguments["customer_email"])
        assert arguments["city"] in REAL_CITIES, arguments["city"]
        assert re.fullmatch(r"ORD-\d{5}", arguments["order_id"])
        assert 1 <= arguments["quantity"] <= 100
        assert round(arguments["amount"], 2) == arguments["amount"]
        assert re.fullmatch(r"[A-Z]{3}", arguments["currency"])
        assert arguments["start_date"] <= arguments["end_date"]
        assert 3 <= len(arguments["note"].split()) <= 12


def test_description_picks_the_provider_when_the_name_is_vague() -> None:
    schema = {
        "type": "object",
        "properties": {
            "ccy": {"type": "string", "description": "ISO 4217 currency code"},
            "lang": {"type": "string", "description": "ISO 639-1 language code"},
            "where": {"type": "string", "description": "The city to search in"},
            "temp": {"type": "number", "description": "Target temperature in Fahrenheit"},
        },
        "required": ["ccy", "lang", "where", "temp"],
    }
    rng, faker = seeded(9)
    currencies = {code for code, _ in Currency.currencies}
    for _ in range(50):
        arguments = seed_arguments(schema, rng, faker)
        assert arguments["ccy"] in currencies
        assert re.fullmatch(r"[a-z]{2}", arguments["lang"])
        assert arguments["where"] in REAL_CITIES, arguments["where"]
        assert 14 <= arguments["temp"] <= 95


def test_values_are_text_friendly() -> None:
    rng, faker = seeded(5)
    for _ in range(200):
        for path, leaf in scalar_leaves(seed_arguments(ORDER_TOOL, rng, faker)):
            if isinstance(leaf, str):
                assert leaf == leaf.strip() and '"' not in leaf and "\n" not in leaf, path
            if isinstance(leaf, float):
                assert round(leaf, 2) == leaf, path


def test_start_before_end_for_numbers_and_pattern_wins_over_provider() -> None:
    schema = {
        "type": "object",
        "properties": {
            "min_price": {"type": "number", "minimum": 0},
            "max_price": {"type": "number", "minimum": 0},
            "city": {"type": "string", "maxLength": 3, "pattern": "^[A-Z]{3}$"},
            "email": {"type": "string", "maxLength": 5},
        },
        "required": ["min_price", "max_price", "city", "email"],
    }
    rng, faker = seeded(2)
    for _ in range(100):
        arguments = seed_arguments(schema, rng, faker)
        assert arguments["min_price"] <= arguments["max_price"]
        assert re.fullmatch("[A-Z]{3}", arguments["city"])
        assert len(arguments["email"]) <= 5


def test_recursive_ref_is_bounded() -> None:
    schema = {"$defs": DEFS, **DEFS["Node"]}
    rng, faker = seeded(1)
    for _ in range(50):
        arguments = seed_arguments(schema, rng, faker, optional_rate=1.0)
        assert strict_validator(schema).is_valid(arguments)
        assert len(json.dumps(arguments)) < 5000


def test_one_of_value_matches_exactly_one_branch() -> None:
    schema = {
        "type": "object",
        "properties": {
            "target": {
                "oneOf": [
                    {"type": "string", "format": "email"},
                    {"type": "string", "pattern": "^\\+[0-9]{10}$"},
                ]
            }
        },
        "required": ["target"],
    }
    rng, faker = seeded(4)
    validator = strict_validator(schema)
    for _ in range(50):
        assert validator.is_valid(seed_arguments(schema, rng, faker))


def test_missing_argument_detail() -> None:
    schema = {
        "type": "object",
        "properties": {"email": {"type": "string", "format": "email"}},
        "required": ["email"],
        "additionalProperties": False,
    }
    rng, faker = seeded(0)
    kinds = set()
    for _ in range(30):
        arguments = seed_arguments(schema, rng, faker)
        bad, kind, detail = violate_argument(schema, arguments, rng, faker)
        kinds.add(kind)
        if kind == "missing_argument":
            assert bad == {} and detail == "missing required argument 'email'"
    assert kinds == {"invalid_argument", "missing_argument"}


def test_invalid_argument_detail_names_property() -> None:
    schema = {
        "type": "object",
        "properties": {"quantity": {"type": "integer", "minimum": 1, "maximum": 9}},
    }
    rng, faker = seeded(0)
    bad, kind, detail = violate_argument(schema, {"quantity": 3}, rng, faker)
    assert kind == "invalid_argument"
    assert detail.startswith("'quantity' must be")
    assert validate_instance(schema, bad)


# ---------------------------------------------------------------------------
# Values that make sense together: one place, units, enums described per value.

COUNTRY_OF = {place.city: place.country_code for place in PLACES}
COMMON_CURRENCIES = {
    "USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "CNY", "INR", "MXN", "BRL", "SEK",
    "NOK", "DKK", "PLN", "SGD", "HKD", "NZD", "ZAR", "KRW", "AED", "TRY", "CZK", "THB",
}  # fmt: skip


def draws(schema: dict[str, Any], seed: int, count: int = 60) -> list[dict[str, Any]]:
    rng, faker = seeded(seed)
    validator = strict_validator(schema)
    out = [seed_arguments(schema, rng, faker, optional_rate=1.0) for _ in range(count)]
    for arguments in out:
        assert validator.is_valid(arguments), validate_instance(schema, arguments)
    return out


def test_place_table_is_real_data() -> None:
    currencies = {code for code, _ in Currency.currencies}
    for place in PLACES:
        assert ZoneInfo(place.timezone), place
        assert place.currency in currencies, place
        assert re.fullmatch(r"[A-Z]{2}", place.country_code), place
        assert -90 <= place.latitude <= 90 and -180 <= place.longitude <= 180, place


def test_city_agrees_with_its_country_state_timezone_and_currency() -> None:
    address = {
        "type": "object",
        "properties": {
            "street": {"type": "string"},
            "city": {"type": "string"},
            "state": {"type": "string"},
            "country": {"type": "string", "description": "ISO 3166-1 alpha-2 country code"},
            "timezone": {"type": "string"},
            "currency": {"type": "string", "description": "ISO 4217 currency code"},
        },
        "required": ["street", "city", "state", "country", "timezone", "currency"],
    }
    seen = set()
    for arguments in draws(address, 3):
        place = next(p for p in PLACES if p.city == arguments["city"])
        assert arguments["country"] == place.country_code
        assert arguments["state"] == place.state
        assert arguments["timezone"] == place.timezone
        assert arguments["currency"] == place.currency
        seen.add(place.country_code)
    assert len(seen) > 3


def test_the_schema_narrows_the_place_and_a_lone_city_stays_varied() -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "country_code": {"type": "string", "enum": ["FR", "DE"]},
            "postal_code": {"type": "string", "pattern": "^[0-9]{5}$"},
        },
        "required": ["city"],
    }
    for arguments in draws(schema, 4):
        if "country_code" in arguments:
            assert COUNTRY_OF[arguments["city"]] == arguments["country_code"]
    rng, faker = seeded(4)
    alone = [seed_arguments(schema, rng, faker, optional_rate=0.0)["city"] for _ in range(30)]
    assert all(city in REAL_CITIES for city in alone), alone
    assert len(set(alone)) > 15


def test_latitude_and_longitude_are_one_real_place() -> None:
    schema = {
        "type": "object",
        "properties": {
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "lng": {"type": "number", "minimum": -180, "maximum": 180},
        },
        "required": ["lat", "lng"],
    }
    spots = {(place.latitude, place.longitude) for place in PLACES}
    for arguments in draws(schema, 5):
        assert (arguments["lat"], arguments["lng"]) in spots


@pytest.mark.parametrize(
    ("name", "prop", "low", "high"),
    [
        ("weight", {"type": "number", "description": "Parcel weight in kg"}, 0.5, 80),
        ("weight", {"type": "number", "description": "Weight in pounds"}, 1, 150),
        ("amount", {"type": "integer", "description": "Amount in cents"}, 100, 50000),
        ("timeout", {"type": "integer", "description": "Timeout in seconds"}, 5, 300),
        ("length", {"type": "integer", "description": "Length in minutes"}, 5, 120),
        ("off", {"type": "number", "description": "Discount percentage (0-100)"}, 0, 100),
        ("years", {"type": "integer", "description": "Number of years"}, 1, 30),
        ("term", {"type": "integer", "description": "Loan term in years"}, 1, 30),
        ("year", {"type": "integer", "description": "The calendar year"}, 1990, 2030),
        ("radius", {"type": "number", "description": "Search radius in meters"}, 100, 5000),
        ("temp", {"type": "number", "description": "Temperature in Fahrenheit"}, 14, 95),
    ],
)
def test_units_in_descriptions_set_the_range(
    name: str, prop: dict[str, Any], low: float, high: float
) -> None:
    schema = {"type": "object", "properties": {name: prop}, "required": [name]}
    values = [arguments[name] for arguments in draws(schema, 6)]
    assert all(low <= v <= high for v in values), values
    assert len(set(values)) > 20
    if prop["type"] == "integer":
        assert all(isinstance(v, int) for v in values)


def test_a_narrow_number_is_not_always_the_same_value() -> None:
    schema = {
        "type": "object",
        "properties": {"confidence": {"type": "number", "minimum": 0, "maximum": 1}},
        "required": ["confidence"],
    }
    values = {arguments["confidence"] for arguments in draws(schema, 7)}
    assert len(values) > 10 and all(0 <= v <= 1 for v in values)


def test_a_temperature_follows_its_unit() -> None:
    schema = {
        "type": "object",
        "properties": {
            "temperature": {"type": "number", "description": "Target temperature"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
        },
        "required": ["temperature"],
    }
    units = set()
    for arguments in draws(schema, 8, count=100):
        unit = arguments.get("unit", "celsius")
        low, high = (-10, 35) if unit == "celsius" else (14, 95)
        assert low <= arguments["temperature"] <= high, arguments
        units.add(unit)
    assert units == {"celsius", "fahrenheit"}


@pytest.mark.parametrize(
    "level",
    [
        {
            "oneOf": [
                {"const": "debug", "description": "Everything, for troubleshooting"},
                {"const": "info", "description": "Normal operation"},
                {"const": "error", "description": "Only failures"},
            ]
        },
        {
            "type": "string",
            "enum": ["debug", "info", "error"],
            "x-enumDescriptions": ["Everything", "Normal operation", "Only failures"],
        },
    ],
)
def test_enums_described_per_value_pick_a_valid_value(level: dict[str, Any]) -> None:
    schema = {"type": "object", "properties": {"level": level}, "required": ["level"]}
    values = {arguments["level"] for arguments in draws(schema, 9)}
    assert values == {"debug", "info", "error"}


def test_money_has_a_common_currency_and_two_decimals() -> None:
    schema = {
        "type": "object",
        "properties": {
            "amount": {"type": "number", "exclusiveMinimum": 0},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "fee_cents": {"type": "integer", "minimum": 0},
        },
        "required": ["amount", "currency", "fee_cents"],
    }
    for arguments in draws(schema, 10):
        amount = arguments["amount"]
        assert 5 <= amount <= 500 and round(amount, 2) == amount
        assert arguments["currency"] in COMMON_CURRENCIES
        assert isinstance(arguments["fee_cents"], int) and arguments["fee_cents"] >= 100


def test_a_stay_lasts_its_nights_and_a_trip_has_two_ends() -> None:
    schema = {
        "type": "object",
        "properties": {
            "check_in": {"type": "string", "format": "date"},
            "check_out": {"type": "string", "format": "date"},
            "nights": {"type": "integer", "minimum": 1, "maximum": 14},
            "origin": {"type": "string", "description": "IATA airport code"},
            "destination": {"type": "string", "description": "IATA airport code"},
            "from_currency": {"type": "string", "description": "ISO 4217 currency code"},
            "to_currency": {"type": "string", "description": "ISO 4217 currency code"},
        },
        "required": ["check_in", "check_out"],
    }
    for arguments in draws(schema, 11, count=100):
        assert nights_between(arguments) == arguments["nights"]
        assert re.fullmatch(r"[A-Z]{3}", arguments["origin"])
        assert arguments["origin"] != arguments["destination"]
        assert arguments["from_currency"] != arguments["to_currency"]
    rng, faker = seeded(11)
    for _ in range(30):
        assert 0 <= nights_between(seed_arguments(schema, rng, faker, optional_rate=0.0)) <= 30


def test_a_meeting_ends_within_hours_of_its_start() -> None:
    schema = {
        "type": "object",
        "properties": {
            "start_time": {"type": "string", "format": "date-time"},
            "end_time": {"type": "string", "format": "date-time"},
        },
        "required": ["start_time", "end_time"],
    }
    for arguments in draws(schema, 12):
        start, end = (datetime.fromisoformat(arguments[k]) for k in ("start_time", "end_time"))
        assert timedelta(0) <= end - start <= timedelta(hours=12), arguments


def nights_between(arguments: dict[str, Any]) -> int:
    check_in, check_out = (date.fromisoformat(arguments[k]) for k in ("check_in", "check_out"))
    return (check_out - check_in).days


# ---------------------------------------------------------------------------
# Unsupported input is an error naming the tool and the JSON path.


@pytest.mark.parametrize(
    ("properties", "path"),
    [
        ({"filter": {"not": {"type": "string"}}}, "parameters.properties.filter"),
        (
            {"price": {"type": "number", "minimum": 10, "maximum": 5}},
            "parameters.properties.price",
        ),
        (
            {
                "items": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "properties": {"sku": {"type": "string", "not": {"const": ""}}},
                        "required": ["sku"],
                    },
                }
            },
            "parameters.properties.items.items.properties.sku",
        ),
        (
            {"sku": {"type": "string", "minLength": 9, "maxLength": 3}},
            "parameters.properties.sku",
        ),
        (
            {"node": {"$ref": "#/$defs/Loop"}},
            "parameters.properties.node.properties.next.properties.next",
        ),
    ],
)
def test_unsupported_schema_names_tool_and_path(properties: dict[str, Any], path: str) -> None:
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "$defs": {
            "Loop": {
                "type": "object",
                "properties": {"next": {"$ref": "#/$defs/Loop"}},
                "required": ["next"],
            }
        },
    }
    rng, faker = seeded(0)
    with pytest.raises(UnsupportedSchemaError) as caught:
        seed_arguments(schema, rng, faker, tool="create_order")
    message = str(caught.value)
    assert "create_order" in message
    assert path in message


def test_unsupported_optional_property_is_left_out() -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "filter": {"not": {"type": "string"}}},
        "required": ["city"],
    }
    rng, faker = seeded(0)
    for _ in range(20):
        assert "filter" not in seed_arguments(schema, rng, faker, optional_rate=1.0)


# ---------------------------------------------------------------------------
# The schema module: checking parameters and validating instances.


def test_check_parameters_schema_accepts_an_object_schema() -> None:
    check_parameters_schema(ORDER_TOOL, tool="create_order")


@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        ({"type": "object", "properties": {"q": {"type": "strin"}}}, "not a valid JSON Schema"),
        ({"type": "array", "items": {"type": "string"}}, '"type": "object"'),
        ({"properties": {}}, '"type": "object"'),
        (["not", "a", "schema"], "must be a JSON Schema object"),
    ],
)
def test_check_parameters_schema_rejects(schema: Any, fragment: str) -> None:
    with pytest.raises(InputError) as caught:
        check_parameters_schema(schema, tool="search_web", source="tools.yaml")
    message = str(caught.value)
    assert message.startswith("tools.yaml") and "tool 'search_web'" in message
    assert fragment in message
    assert "\n" not in message


def test_validate_instance_reports_paths() -> None:
    schema = {
        "type": "object",
        "properties": {
            "email": {"type": "string", "format": "email"},
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"qty": {"type": "integer"}},
                    "required": ["qty"],
                },
            },
            "note": {"type": "string", "nullable": True},
        },
        "required": ["email"],
    }
    assert validate_instance(schema, {"email": "a@b.co", "items": [{"qty": 1}], "note": None}) == []
    errors = validate_instance(schema, {"email": "nope", "items": [{"qty": "one"}]})
    assert errors == [
        "$.email: 'nope' is not a 'email'",
        "$.items[0].qty: 'one' is not of type 'integer'",
    ]


def test_scalar_leaves_walks_nested_values() -> None:
    value = {"a": 1, "b": [{"c": "x"}, 2], "d": None}
    assert list(scalar_leaves(value)) == [("a", 1), ("b[0].c", "x"), ("b[1]", 2), ("d", None)]


def test_schema_wins_over_a_name_range_it_cannot_meet() -> None:
    """A "confidence" is usually 0..1, but multipleOf 2 above 0 needs 2, 4, ...: seed those."""
    schema = {
        "type": "object",
        "properties": {
            "confidence": {"type": "integer", "multipleOf": 2, "exclusiveMinimum": 0},
        },
        "required": ["confidence"],
    }
    for seed in range(20):
        rng, faker = seeded(seed)
        arguments = seed_arguments(schema, rng, faker, tool="t")
        assert strict_validator(schema).is_valid(arguments), arguments


# ---------------------------------------------------------------------------
# One "today" per example: bookings after it, birth dates before it.


def test_dates_lie_on_the_right_side_of_the_examples_today() -> None:
    schema = {
        "type": "object",
        "properties": {
            "departure_date": {"type": "string", "format": "date"},
            "meeting_start": {"type": "string", "description": "ISO 8601 date-time"},
            "deadline": {"type": "string"},
            "date_of_birth": {"type": "string", "format": "date"},
            "created_since": {"type": "string", "format": "date"},
            "date": {"type": "string", "format": "date"},
        },
        "required": [
            "departure_date", "meeting_start", "deadline", "date_of_birth", "created_since", "date",
        ],
    }  # fmt: skip
    for today in (date(2025, 3, 9), date(2026, 11, 30)):
        rng, faker = seeded(21)
        for _ in range(40):
            arguments = seed_arguments(schema, rng, faker, today=today)
            for name in ("departure_date", "deadline"):
                assert today < date.fromisoformat(arguments[name]) <= today + timedelta(120)
            assert datetime.fromisoformat(arguments["meeting_start"]).date() > today
            born = date.fromisoformat(arguments["date_of_birth"])
            assert today - timedelta(days=81 * 365) < born < today - timedelta(days=17 * 365)
            assert date.fromisoformat(arguments["created_since"]) < today
            assert abs((date.fromisoformat(arguments["date"]) - today).days) <= 45


def test_an_examples_today_comes_from_its_seed() -> None:
    from callforge.generator.scenarios.base import PlanContext

    def today_of(seed: int) -> date:
        return PlanContext(random.Random(seed), Faker(), attempt=0, seed=seed).today

    assert today_of(5) == today_of(5)
    assert len({today_of(seed) for seed in range(50)}) == 50
    assert all(date(2025, 1, 1) <= today_of(seed) < date(2027, 1, 1) for seed in range(50))


# ---------------------------------------------------------------------------
# Ranges are always in order, whatever kind of value and however the two ends differ.

RANGE_WORDS = [
    ("start", "end"), ("from", "to"), ("min", "max"), ("minimum", "maximum"), ("since", "until"),
    ("earliest", "latest"), ("check_in", "check_out"), ("departure", "return"), ("lower", "upper"),
    ("begin", "end"), ("after", "before"), ("start", "finish"), ("low", "high"),
]  # fmt: skip


def _end_schema(draw: st.DrawFn, kind: str, *, start: bool) -> dict[str, Any]:
    """One end of a range; the two ends differ in description, bounds and defaults.

    Number ends have any bounds for which every start has an end at or above it.
    """
    schema: dict[str, Any] = {"description": draw(st.sampled_from(["", "Inclusive", "The bound"]))}
    if kind in ("date", "date-time"):
        schema |= {"type": "string", "format": kind}
    elif kind == "time":
        schema |= {"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$"}
    elif kind == "day":
        schema |= {"type": "string", "pattern": r"^20\d\d-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])$"}
    else:
        low = draw(st.integers(0, 50))
        high = draw(st.integers(55, 300)) + (0 if start else 300)
        schema |= {"type": kind, "minimum": low, "maximum": high}
        if draw(st.booleans()):
            schema["default"] = low + (0 if start else 5)
    return schema


@st.composite
def range_schemas(draw: st.DrawFn) -> tuple[dict[str, Any], str, str]:
    first, second = draw(st.sampled_from(RANGE_WORDS))
    kind = draw(st.sampled_from(["date", "date-time", "time", "day", "integer", "number"]))
    noun = draw(st.sampled_from(["", "date", "time", "price", "value"]))
    camel = draw(st.booleans())

    def named(word: str) -> str:
        parts = [word, noun] if draw(st.booleans()) or not noun else [noun, word]
        parts = [p for p in parts if p]
        if camel:
            return parts[0] + "".join(p.title().replace("_", "") for p in parts[1:])
        return "_".join(parts)

    start, end = named(first), named(second)
    if start == end or start.lower() == end.lower():
        end = f"{end}_x" if end == start else end
    schema = {
        "type": "object",
        "properties": {
            start: _end_schema(draw, kind, start=True),
            end: _end_schema(draw, kind, start=False),
        },
        "required": draw(st.sampled_from([[start, end], [start], []])),
    }
    return schema, start, end


def _comparable(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", value):
        return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
    return value


@given(range_schemas(), st.integers(0, 2**16))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_ranges_are_always_in_order(case: tuple[dict[str, Any], str, str], seed: int) -> None:
    schema, start, end = case
    rng, faker = seeded(seed)
    for _ in range(15):
        arguments = seed_arguments(schema, rng, faker, optional_rate=0.9, today=date(2025, 12, 20))
        assert strict_validator(schema).is_valid(arguments)
        if start in arguments and end in arguments:
            assert _comparable(arguments[start]) <= _comparable(arguments[end]), arguments


def test_a_late_departure_still_returns_after_it() -> None:
    """The flight search of the example tools: no return before its departure, in 2,000 draws."""
    schema = {
        "type": "object",
        "properties": {
            "departure_date": {
                "type": "string",
                "format": "date",
                "description": "Day of departure",
            },
            "return_date": {"type": "string", "format": "date", "description": "Day of return"},
        },
        "required": ["departure_date"],
    }
    rng, faker = seeded(3)
    pairs = [seed_arguments(schema, rng, faker, optional_rate=1.0) for _ in range(2000)]
    assert all(a["departure_date"] <= a["return_date"] for a in pairs)


@pytest.mark.parametrize(
    ("description", "low", "high"),
    [("A level between 3 and 7", 3, 7), ("How many, up to 5", 1, 5), ("Priority (1-3)", 1, 3)],
)
def test_a_range_stated_in_the_description_is_kept(description: str, low: int, high: int) -> None:
    schema = {
        "type": "object",
        "properties": {"level": {"type": "integer", "description": description}},
    }
    values = {arguments["level"] for arguments in draws(schema, 8)}
    assert values == set(range(low, high + 1))


@pytest.mark.parametrize(
    ("description", "allowed"),
    [
        ("The numerical method: 'trapezoid' or 'simpson'.", {"trapezoid", "simpson"}),
        ("Sort order, one of 'asc', 'desc'", {"asc", "desc"}),
        ("Output format; possible values: json, csv, xml.", {"json", "csv", "xml"}),
        ("The default value is 'trapezoidal'.", {"trapezoidal"}),
        ("The unit of measure (defaults to 'units' if not specified)", {"units"}),
        ("The mathematical function, e.g. x**2 + 1", {"x**2 + 1"}),
    ],
)
def test_values_a_description_offers_are_the_values_used(
    description: str, allowed: set[str]
) -> None:
    schema = {
        "type": "object",
        "properties": {"method": {"type": "string", "description": description}},
    }
    values = {arguments["method"] for arguments in draws(schema, 9)}
    assert values == allowed


def test_an_example_does_not_replace_a_real_provider() -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name, e.g. Paris"}},
    }
    assert len({arguments["city"] for arguments in draws(schema, 9)}) > 15


def test_a_location_reads_the_way_its_description_asks() -> None:
    schema = {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "The city and state, e.g. Austin, TX"},
            "destination": {"type": "string", "description": "City and country, e.g. Rome, Italy"},
        },
    }
    for arguments in draws(schema, 10):
        city, region = arguments["location"].split(", ")
        assert city in REAL_CITIES and re.fullmatch(r"[A-Z]{2}", region)
        city, country = arguments["destination"].split(", ")
        assert next(p for p in PLACES if p.city == city).country == country


def test_an_optional_nullable_parameter_is_left_out_not_sent_as_null() -> None:
    """Python's ``max_price: float | None = None`` (as pydantic writes it)."""
    schema = {
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "max_price": {"anyOf": [{"type": "number"}, {"type": "null"}], "default": None},
            "tag": {"type": ["string", "null"]},
            "parent": {"type": ["string", "null"]},
        },
        "required": ["query", "parent"],
    }
    seen = draws(schema, 12, count=200)
    assert all(None not in (a.get("max_price", 0), a.get("tag", 0)) for a in seen)
    assert any("max_price" in a for a in seen) and any("tag" in a for a in seen)
    assert any(a["parent"] is None for a in seen)  # a required null is what the schema asks


# ---------------------------------------------------------------------------
# Free text that says something: drawn from templates/values/free_text.yaml, by kind.

FREE_TEXT = yaml.safe_load((TEMPLATES_DIR / "values" / "free_text.yaml").read_text())


def _template_regex(template: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{\w+\\\}", ".+?", re.escape(template)) + "$")


def _topics_matching(field: str, value: str) -> set[tuple[int, int]]:
    """(topic, variant) pairs whose template could have made ``value``."""
    return {
        (index, variant)
        for index, topic in enumerate(FREE_TEXT["topics"])
        for variant, template in enumerate(topic[field])
        if _template_regex(template).match(value)
    }


def test_an_emails_subject_and_body_come_from_one_topic() -> None:
    schema = {
        "type": "object",
        "properties": {
            "to": {"type": "string", "format": "email"},
            "subject": {"type": "string", "maxLength": 80},
            "body": {"type": "string", "description": "Plain-text message body"},
        },
        "required": ["to", "subject", "body"],
    }
    seen = set()
    for arguments in draws(schema, 31, count=80):
        subject, body = (
            _topics_matching("subject", arguments["subject"]),
            _topics_matching("body", arguments["body"]),
        )
        assert subject & body, arguments  # one topic, and its subject goes with its body
        seen |= {topic for topic, _ in subject}
    assert len(seen) > 8


def test_sql_reads_the_tables_its_description_names() -> None:
    schema = {
        "type": "object",
        "properties": {
            "sql": {"type": "string", "description": "SQL to run; tables: invoices, payments"},
        },
        "required": ["sql"],
    }
    values = [arguments["sql"] for arguments in draws(schema, 32)]
    assert all(re.match(r"SELECT .+ FROM (invoices|payments)\b", v) for v in values), values
    assert {"invoices", "payments"} <= {re.search(r"FROM (\w+)", v).group(1) for v in values}  # type: ignore[union-attr]


def test_a_search_query_fits_what_the_tool_searches() -> None:
    schema = {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}
    rng, faker = seeded(33)
    products = set(FREE_TEXT["queries"]["product"])
    for _ in range(40):
        arguments = seed_arguments(schema, rng, faker, tool="search_products")
        assert arguments["query"] in products


def test_a_short_subject_is_cut_at_a_word_not_replaced_by_noise() -> None:
    schema = {
        "type": "object",
        "properties": {"subject": {"type": "string", "maxLength": 18}},
        "required": ["subject"],
    }
    subjects = [t for topic in FREE_TEXT["topics"] for t in topic["subject"]]
    for arguments in draws(schema, 34):
        value = arguments["subject"]
        assert len(value) <= 18 and not value.endswith((",", ":", " "))
        prefixes = (" ".join(t.split()[:k]).rstrip(",:;-") for t in subjects for k in range(1, 12))
        assert any(_template_regex(prefix).match(value) for prefix in prefixes), value


def test_the_plan_knows_which_arguments_are_free_text() -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": 60},
            "notes": {"type": ["string", "null"]},
            "start_time": {"type": "string", "format": "date-time"},
            "room": {"type": "string", "enum": ["A", "B"]},
            "query": {"type": "string", "description": "SQL query over the `orders` table"},
        },
    }
    assert free_text_arguments(schema, "schedule_meeting") == {
        "title": "title",
        "notes": "note",
        "query": "sql",
    }


def test_an_interval_list_has_two_ends_in_order() -> None:
    """BFCL's ``interval``: an array of floats "from the start to the end point"."""
    schema = {
        "type": "object",
        "properties": {"interval": {"type": "array", "items": {"type": "number"}}},
        "required": ["interval"],
    }
    for arguments in draws(schema, 35):
        start, end = arguments["interval"]
        assert start <= end


def test_people_described_as_email_addresses_get_email_addresses() -> None:
    schema = {
        "type": "object",
        "properties": {
            "attendees": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Email addresses of the people to invite",
            },
            "passenger": {"type": "string", "description": "Full name, as on the passport"},
        },
        "required": ["attendees", "passenger"],
    }
    for arguments in draws(schema, 36):
        assert all(re.fullmatch(r"[^@\s]+@[^@\s]+", a) for a in arguments["attendees"])
        assert re.fullmatch(r"[A-Z][a-z'-]+ [A-Z][\w'-]+", arguments["passenger"]), arguments


def test_given_values_are_kept_and_their_siblings_agree_with_them() -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "country_code": {"type": "string", "pattern": "^[A-Z]{2}$"},
            "start_date": {"type": "string", "format": "date"},
            "end_date": {"type": "string", "format": "date", "description": "Last day"},
        },
        "required": ["city"],
    }
    rng, faker = seeded(37)
    for city, code in (("Lyon", "FR"), ("Osaka", "JP"), ("Austin", "US")):
        for _ in range(20):
            given = {"city": city, "end_date": "2025-03-01"}
            arguments = seed_arguments(schema, rng, faker, optional_rate=1.0, given=given)
            assert arguments["city"] == city and arguments["country_code"] == code
            assert arguments["end_date"] == "2025-03-01" >= arguments["start_date"]


def test_personal_topics_stay_out_of_work_tools() -> None:
    """No "Birthday party planning" meeting in a room; a personal reminder may have one."""
    schema = {
        "type": "object",
        "properties": {"title": {"type": "string"}, "note": {"type": "string"}},
        "required": ["title", "note"],
    }
    personal = {t for topic in FREE_TEXT["topics"] if topic.get("personal") for t in topic["title"]}
    assert {"Birthday party planning", "Dentist appointment"} <= personal

    def titles(tool: str) -> set[str]:
        rng, faker = seeded(35)
        drawn = (seed_arguments(schema, rng, faker, tool=tool)["title"] for _ in range(150))
        return {re.sub(r"\b[A-Z][a-z]+$", "{name}", t) for t in drawn}

    assert not titles("schedule_meeting") & personal
    assert titles("add_personal_reminder") & personal


def test_the_free_text_vocabulary_can_be_overridden_with_templates(tmp_path: Path) -> None:
    """``--templates DIR`` replaces templates/values/free_text.yaml like every other file."""
    folder = tmp_path / "mine" / "values"
    folder.mkdir(parents=True)
    vocabulary = dict(FREE_TEXT)
    vocabulary["topics"] = [
        {
            "title": ["Zebra crossing audit"],
            "subject": ["Zebra crossing audit on {day}"],
            "body": ["Hi {name}, the zebra crossing audit is on {day}."],
            "note": ["Count the zebra crossings"],
            "query": ["zebra crossing rules"],
        }
    ]
    (folder / "free_text.yaml").write_text(yaml.safe_dump(vocabulary), encoding="utf-8")
    db, out = tmp_path / "x.duckdb", tmp_path / "data"
    tools = ("--tools", EXAMPLE_TOOLS, "--per-tool", "4", "--seed", "3", "--db", db)
    done = run_cli("generate", *tools, "--templates", tmp_path / "mine")
    assert done.returncode == 0, done.stderr
    assert run_cli("export", "--db", db, "--out", out).returncode == 0
    calls = [
        json.loads(call["function"]["arguments"])
        for row in read_jsonl(out / "train.jsonl") + read_jsonl(out / "eval.jsonl")
        for message in row["messages"]
        for call in message.get("tool_calls") or ()
    ]
    titled = [c for c in calls if "title" in c or "subject" in c]
    assert titled
    assert all("Zebra crossing" in (c.get("title") or c.get("subject")) for c in titled)


def test_a_street_is_written_the_way_its_country_writes_it() -> None:
    """ "Havnegade 87, Copenhagen", not Faker's American "4495 Adriana Cliff, Copenhagen"."""
    tool = load_tools(EXAMPLE_TOOLS)["create_order"]
    rng, faker = seeded(36)
    house_first = re.compile(r"^\d+ [A-Z]")  # "4495 Adriana Cliff"
    seen: dict[str, int] = {}
    for _ in range(200):
        address = seed_arguments(tool.parameters, rng, faker, tool=tool.name)["shipping_address"]
        country, street = address["country"], address["street"]
        if country in {"DE", "NL", "SE", "DK", "CH", "AT", "NO", "IT", "ES", "FR", "BE"}:
            assert not house_first.match(street), address
            seen[country] = seen.get(country, 0) + 1
    assert len(seen) >= 5, seen


def test_a_local_street_is_one_clean_line() -> None:
    from callforge.generator.seeding.places import PLACES, local_street

    rng = random.Random(37)
    for place in PLACES:
        for _ in range(10):
            street = local_street(place, rng)
            assert street is None or street == " ".join(street.split()), (place.city, street)


def test_street_fakers_are_made_one_step_at_a_time_and_then_reused() -> None:
    """An LLM run warms them up between its first replies; after that a street costs no
    new Faker."""
    from callforge.generator.seeding import places

    places._street_faker.cache_clear()
    steps = places.street_fakers()
    next(steps)
    assert places._street_faker.cache_info().currsize == 1  # one locale per step
    for _ in steps:
        pass
    warmed = places._street_faker.cache_info()
    assert warmed.currsize == len(set(places._STREET_LOCALES.values()))
    berlin = places.place_named("Berlin")
    assert berlin is not None
    assert places.local_street(berlin, random.Random(3))
    assert places._street_faker.cache_info().misses == warmed.misses

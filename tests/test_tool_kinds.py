"""tool_kinds: a tool's verb and entity, against hand labels."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from faker import Faker

from callforge.generator.importers import load_tools
from callforge.generator.results import is_bookkeeping_key
from callforge.generator.scenarios.mistakes import unknown_id
from callforge.generator.seeding import seed_arguments
from callforge.generator.templating import EXAMPLE_TOOLS
from callforge.generator.tool_kinds import Verb, classify, record_noun, tool_kind
from callforge.generator.tools import ToolSpec

# (name, description, verb, entity), labelled by hand.
LABELLED = [
    ("search_flights", "Search for available flights between two airports.", Verb.SEARCH, "flight"),
    ("get_customer", "Look up a customer account by email address.", Verb.LOOKUP, "customer"),
    ("create_order", "Place an order for a customer.", Verb.CREATE, "order"),
    ("send_email", "Send an email message.", Verb.SEND, "email"),
    ("get_weather_forecast", "Get the weather forecast for a city.", Verb.FORECAST, "forecast"),
    ("schedule_meeting", "Schedule a meeting and invite attendees.", Verb.SCHEDULE, "meeting"),
    ("convert_currency", "Convert an amount of money.", Verb.CONVERT, "currency"),
    ("book_flight", "Book a seat on a flight.", Verb.BOOK, "flight"),
    ("list_orders", "List a customer's orders, newest first.", Verb.SEARCH, "order"),
    ("cancel_order", "Cancel an order that has not shipped yet.", Verb.CANCEL, "order"),
    ("getCustomerByEmail", "", Verb.LOOKUP, "customer"),
    ("get_orders", "", Verb.SEARCH, "order"),
    ("get_pets_petId", "", Verb.LOOKUP, "pet"),
    ("list_companies", "", Verb.SEARCH, "company"),
    ("delete_user", "", Verb.CANCEL, "user"),
    ("update_address", "", Verb.UPDATE, "address"),
    ("calculate_average", "", Verb.COMPUTE, "average"),
    ("math_factorial", "Calculates the factorial of a number.", Verb.COMPUTE, "factorial"),
    ("reserve_table", "", Verb.BOOK, "table"),
    ("frobnicate", "Does something.", Verb.OTHER, "frobnicate"),
]


@pytest.mark.parametrize(("name", "description", "verb", "entity"), LABELLED)
def test_verb_and_entity_match_the_hand_labels(
    name: str, description: str, verb: Verb, entity: str
) -> None:
    kind = classify(name, description)
    assert (kind.verb, kind.entity) == (verb, entity)


def test_which_kinds_must_return_data() -> None:
    data = {v for v in Verb if classify(_name_for(v)).returns_data}
    assert data == {Verb.LOOKUP, Verb.SEARCH, Verb.CONVERT, Verb.COMPUTE, Verb.FORECAST}


def test_every_example_tool_has_a_known_verb() -> None:
    tools = load_tools(EXAMPLE_TOOLS)
    assert all(tool_kind(tool).verb is not Verb.OTHER for tool in tools)


def _name_for(verb: Verb) -> str:
    return {
        Verb.LOOKUP: "get_customer",
        Verb.SEARCH: "search_flights",
        Verb.CONVERT: "convert_currency",
        Verb.COMPUTE: "calculate_sum",
        Verb.FORECAST: "forecast_sales",
        Verb.CREATE: "create_order",
        Verb.SEND: "send_sms",
        Verb.SCHEDULE: "schedule_call",
        Verb.BOOK: "book_room",
        Verb.CANCEL: "cancel_order",
        Verb.UPDATE: "update_order",
        Verb.OTHER: "frobnicate",
    }[verb]


# Names labelled by hand: does the parameter or result key name a record's id?
RECORD_IDS = ["order_id", "orderId", "petId", "sku", "booking_reference", "tracking_number"]
NOT_RECORD_IDS = ["coupon_code", "api_key", "phone_number", "paid", "country_code"]


def _tool_taking(tmp_path: Path, name: str) -> ToolSpec:
    parameters = {"type": "object", "properties": {name: {"type": "string"}}, "required": [name]}
    path = tmp_path / f"{name}.json"
    function = {"name": "lookup_thing", "description": "Look up a thing.", "parameters": parameters}
    path.write_text(json.dumps([{"type": "function", "function": function}]))
    return load_tools(path)["lookup_thing"]


@pytest.mark.parametrize("name", RECORD_IDS + NOT_RECORD_IDS)
def test_seeding_mistakes_and_results_agree_on_what_names_a_record(
    tmp_path: Path, name: str
) -> None:
    """One rule, three readers: a record id is seeded as one (``ORD-48213``), mistyped
    as a mistake ("no record found"), and is bookkeeping in a result, not data.

    (Mistakes used to miss camelCase ids and mistype coupon codes and API keys; results
    counted a SKU or a booking reference as data.)"""
    expected = name in RECORD_IDS
    tool = _tool_taking(tmp_path, name)
    rng = random.Random(3)
    faker = Faker()
    faker.seed_instance(3)
    value = seed_arguments(tool.parameters, rng, faker, tool=tool.name)[name]
    assert bool(re.fullmatch(r"[A-Z]{2,3}-\d{5}", value)) == expected, value
    assert is_bookkeeping_key(name) == expected
    mistake = unknown_id(tool, {name: "ORD-48213"}, random.Random(3))
    assert (mistake is not None) == expected
    if mistake is not None:
        bad, failure = mistake
        assert failure.kind == "unknown_id" and failure.argument == name
        assert bad[name] != "ORD-48213" and len(bad[name]) == len("ORD-48213")


def test_a_username_is_mistyped_but_seeded_as_a_username(tmp_path: Path) -> None:
    tool = _tool_taking(tmp_path, "username")
    faker = Faker()
    faker.seed_instance(3)
    value = seed_arguments(tool.parameters, random.Random(3), faker, tool=tool.name)["username"]
    assert re.fullmatch(r"[a-z0-9._]+", value) and not is_bookkeeping_key("username")
    assert unknown_id(tool, {"username": "heidi88"}, random.Random(3)) is not None


@pytest.mark.parametrize(
    ("name", "noun"),
    [("cartId", "cart"), ("order_number", "order"), ("username", "user"), ("sku", ""), ("id", "")],
)
def test_the_record_a_name_identifies(name: str, noun: str) -> None:
    assert record_noun(name) == noun

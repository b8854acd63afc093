"""tool_kinds: a tool's verb and entity, against hand labels."""

from __future__ import annotations

import pytest

from callforge.generator.importers import load_tools
from callforge.generator.templating import EXAMPLE_TOOLS
from callforge.generator.tool_kinds import Verb, classify, tool_kind

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

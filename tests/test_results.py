"""Offline results with data: shaped like the tool's result, tied to the call, dated from today."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from faker import Faker
from jsonschema import Draft202012Validator

from callforge.generator.importers import load_tools
from callforge.generator.results import place_values, successful_result
from callforge.generator.seeding import seed_arguments
from callforge.generator.templating import EXAMPLE_TOOLS
from callforge.generator.tools import ToolSet, ToolSpec, parse_tools

TOOLS = load_tools(EXAMPLE_TOOLS)
TODAY = date(2026, 3, 10)


def _result(
    tool: ToolSpec, arguments: dict[str, Any], seed: int = 1, **extra: Any
) -> dict[str, Any]:
    faker = Faker()
    faker.seed_instance(seed)
    return successful_result(
        tool, arguments, rng=random.Random(seed), faker=faker, today=TODAY, **extra
    )


def _seeded_calls(tools: ToolSet, n: int) -> list[tuple[ToolSpec, dict[str, Any], int]]:
    rng, faker = random.Random(5), Faker()
    faker.seed_instance(5)
    return [
        (tool, seed_arguments(tool.parameters, rng, faker, tool=tool.name), seed)
        for tool in tools
        for seed in range(n)
    ]


def _without_output_schemas(tools: ToolSet) -> ToolSet:
    return parse_tools(
        [{"name": t.name, "description": t.description, "parameters": t.parameters} for t in tools]
    )


@pytest.mark.parametrize(("tool", "arguments", "seed"), _seeded_calls(TOOLS, 8))
def test_results_fit_the_declared_output_schema(
    tool: ToolSpec, arguments: dict[str, Any], seed: int
) -> None:
    result = _result(tool, arguments, seed)
    assert tool.output_schema is not None
    validator = Draft202012Validator(
        tool.output_schema, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    assert list(validator.iter_errors(result)) == []


def test_a_lookup_by_email_returns_that_email_and_a_whole_record() -> None:
    result = _result(TOOLS["get_customer"], {"email": "ana.silva@example.com"})
    assert result["email"] == "ana.silva@example.com"
    assert {"customer_id", "name", "city", "country"} <= result.keys()
    assert "recent_orders" not in result  # include_orders was not asked for
    with_orders = _result(TOOLS["get_customer"], {"email": "a@example.com", "include_orders": True})
    assert with_orders["recent_orders"]


def test_a_search_returns_records_matching_its_filters() -> None:
    arguments = {"customer_id": "CUS-1234", "status": "shipped", "limit": 1}
    for seed in range(6):
        result = _result(TOOLS["list_orders"], arguments, seed)
        assert result["customer_id"] == "CUS-1234"
        assert len(result["orders"]) == 1
        assert {order["status"] for order in result["orders"]} == {"shipped"}
    flights = _result(
        TOOLS["search_flights"],
        {"origin": "LIS", "destination": "FRA", "departure_date": "2026-04-02", "passengers": 2},
    )["flights"]
    for flight in flights:
        assert (flight["origin"], flight["destination"]) == ("LIS", "FRA")
        assert flight["departure_time"].startswith("2026-04-02T")
        assert flight["arrival_time"] > flight["departure_time"]
        assert flight["airline"] and flight["price"] > 0


def test_a_forecast_has_one_entry_per_day_asked_from_today() -> None:
    for days in (1, 5, 7):
        result = _result(TOOLS["get_weather_forecast"], {"city": "Lisbon", "days": days})
        assert result["city"] == "Lisbon"
        assert [d["date"] for d in result["days"]] == [
            (TODAY + timedelta(days=i)).isoformat() for i in range(days)
        ]
        assert all(d["low"] <= d["high"] for d in result["days"])
    default = _result(TOOLS["get_weather_forecast"], {"city": "Lisbon"})
    assert len(default["days"]) == 3  # the parameter's default
    assert default["units"] == "metric"


def test_a_conversion_holds_the_converted_amount_at_a_plausible_rate() -> None:
    arguments = {"amount": 200.0, "from_currency": "EUR", "to_currency": "JPY"}
    result = _result(TOOLS["convert_currency"], arguments)
    assert 140 < result["rate"] < 190  # yen per euro
    assert result["converted_amount"] == pytest.approx(200.0 * result["rate"], abs=0.01)


def test_made_things_hold_their_new_id_and_agree_with_the_call() -> None:
    meeting = _result(
        TOOLS["schedule_meeting"],
        {
            "title": "Quarterly review",
            "start_time": "2026-03-12T09:30:00Z",
            "duration_minutes": 45,
            "attendees": ["a@example.com", "b@example.com"],
        },
    )
    assert meeting["meeting_id"] and meeting["end_time"] == "2026-03-12T10:15:00Z"
    assert [a["email"] for a in meeting["attendees"]] == ["a@example.com", "b@example.com"]
    assert "room" not in meeting  # the call booked no room
    order = _result(
        TOOLS["create_order"],
        {
            "customer_id": "CUS-1",
            "items": [{"sku": "A-1", "quantity": 2}, {"sku": "B-2", "quantity": 1}],
            "shipping_address": {"street": "1 Main St", "city": "Porto", "country": "PT"},
        },
    )
    assert [(i["sku"], i["quantity"]) for i in order["items"]] == [("A-1", 2), ("B-2", 1)]
    lines = sum(i["quantity"] * i["unit_price"] for i in order["items"])
    assert order["total"] == pytest.approx(lines, abs=0.01)
    assert order["created_at"].startswith(TODAY.isoformat())  # made now
    assert order["estimated_delivery"] > TODAY.isoformat()
    cancelled = _result(TOOLS["cancel_order"], {"order_id": "ORD-9", "reason": "other"})
    assert (cancelled["order_id"], cancelled["status"]) == ("ORD-9", "cancelled")


@pytest.mark.parametrize(("tool", "arguments", "seed"), _seeded_calls(TOOLS, 3))
def test_found_records_are_dated_before_today(
    tool: ToolSpec, arguments: dict[str, Any], seed: int
) -> None:
    result = _result(tool, arguments, seed)
    for key, value in _leaves(result):
        if key in ("placed_at", "member_since") or (key.endswith("_at") and key in result):
            assert value[:10] <= TODAY.isoformat(), (key, value)


def test_without_an_output_schema_the_shape_follows_what_the_tool_does() -> None:
    bare = _without_output_schemas(TOOLS)
    customer = _result(bare["get_customer"], {"email": "x@example.com"})
    assert customer["email"] == "x@example.com" and {"name", "city"} <= customer.keys()
    orders = _result(bare["list_orders"], {"customer_id": "CUS-7", "status": "pending"})
    assert orders["orders"] and all(o["status"] == "pending" for o in orders["orders"])
    rate = _result(
        bare["convert_currency"], {"amount": 10, "from_currency": "USD", "to_currency": "EUR"}
    )
    assert rate["converted_amount"] == pytest.approx(10 * rate["rate"], abs=0.01)
    forecast = _result(bare["get_weather_forecast"], {"city": "Oslo", "days": 4})
    assert len(forecast["days"]) == 4 and {"high", "low", "condition"} <= forecast["days"][0].keys()
    booking = _result(bare["book_flight"], {"flight_id": "FL-1", "passenger_name": "Ana Silva"})
    assert booking["booking_id"] and booking["status"] == "confirmed"
    assert booking["flight_id"] == "FL-1"
    cancelled = _result(bare["cancel_order"], {"order_id": "ORD-1", "reason": "other"})
    assert cancelled["status"] == "cancelled" and cancelled["previous_status"]


def test_known_computations_return_their_true_value() -> None:
    tools = parse_tools(
        [
            {
                "name": "calculate_average",
                "description": "Average of a list of numbers.",
                "parameters": {
                    "type": "object",
                    "properties": {"numbers": {"type": "array", "items": {"type": "number"}}},
                    "required": ["numbers"],
                },
            },
            {
                "name": "math_gcd",
                "description": "Greatest common divisor.",
                "parameters": {
                    "type": "object",
                    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                    "required": ["a", "b"],
                },
            },
        ]
    )
    assert _result(tools["calculate_average"], {"numbers": [2, 4, 9]}) == {"average": 5.0}
    assert _result(tools["math_gcd"], {"a": 84, "b": 36}) == {"gcd": 12}


def test_must_return_values_land_at_their_dotted_paths() -> None:
    result = _result(
        TOOLS["search_flights"],
        {"origin": "LIS", "destination": "FRA", "departure_date": "2026-04-02", "passengers": 1},
        must_return={"flights.2.flight_id": "FL-777", "meta.source": "gds", "top": 1},
    )
    assert result["flights"][2]["flight_id"] == "FL-777"
    assert result["meta"] == {"source": "gds"} and result["top"] == 1
    made: dict[str, Any] = {}
    place_values(made, {"customer.orders.0.id": "ORD-1"})
    assert made == {"customer": {"orders": [{"id": "ORD-1"}]}}


def test_the_same_seed_gives_the_same_result() -> None:
    arguments = {"city": "Lisbon", "days": 3}
    tool = TOOLS["get_weather_forecast"]
    assert _result(tool, arguments, 4) == _result(tool, arguments, 4)
    assert _result(tool, arguments, 4) != _result(tool, arguments, 5)


def _leaves(value: Any, key: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, k)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v, key)]
    return [(key, value)] if isinstance(value, str) and _is_time(value) else []


def _is_time(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def test_a_loosely_declared_result_gets_records_of_the_tools_entity() -> None:
    """``-> list[dict[str, str]]`` lets seeding draw ``[{}]``; the records get fields."""
    tool = parse_tools(
        [
            {
                "name": "search_products",
                "description": "Search the product catalogue.",
                "parameters": {
                    "type": "object",
                    "properties": {"query": {"type": "string"}},
                    "required": ["query"],
                },
                "x-output-schema": {
                    "type": "array",
                    "items": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            }
        ]
    )["search_products"]
    for seed in range(5):
        records = _result(tool, {"query": "red shoes"}, seed)["result"]
        assert records and all({"product_id", "title", "price"} <= r.keys() for r in records)
        assert all(isinstance(v, str) for r in records for v in r.values())
        assert all("query" not in r for r in records)  # what a search is asked, not found


def test_an_argument_fills_the_field_its_name_ends_with() -> None:
    tool = parse_tools(
        [
            {
                "name": "search_hotels",
                "description": "Find hotels in a city.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "destination_city": {"type": "string"},
                        "guest_name": {"type": "string"},
                    },
                    "required": ["destination_city", "guest_name"],
                },
            }
        ]
    )["search_hotels"]
    hotels = _result(tool, {"destination_city": "Porto", "guest_name": "Ana Silva"})["hotels"]
    assert hotels and all(h["city"] == "Porto" for h in hotels)
    assert all(h["name"] != "Ana Silva" for h in hotels)  # "name" is too generic to tie

"""The data-flow graph: edges from output schemas and naming, the editable file, the CLI.

Expected edges are written by hand from what the tools mean, never read back
from the graph code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from callforge.generator.dataflow import (
    graph_json,
    graph_of,
    infer_graph,
    load_graph,
    parse_graph,
    with_graph,
)
from callforge.generator.errors import InputError
from callforge.generator.importers import load_tools
from callforge.generator.templating import EXAMPLE_TOOLS
from callforge.generator.tools import ToolSet, parse_tools
from tests.conftest import run_cli


def tool(
    name: str,
    properties: dict[str, Any],
    output: dict[str, Any] | None = None,
    description: str = "",
) -> dict[str, Any]:
    function: dict[str, Any] = {
        "name": name,
        "description": description,
        "parameters": {"type": "object", "properties": properties},
    }
    if output is not None:
        function["x-output-schema"] = output
    return {"type": "function", "function": function}


STRING = {"type": "string"}
EMAIL = {"type": "string", "format": "email"}


def declared_tools() -> ToolSet:
    """Tools that declare what they return, with decoys that share a type and nothing else."""
    return parse_tools(
        [
            tool(
                "find_customer",
                {"name": STRING},
                {
                    "type": "object",
                    "properties": {
                        "customer": {
                            "type": "object",
                            "properties": {"id": STRING, "email": EMAIL, "note": STRING},
                        }
                    },
                },
            ),
            tool(
                "search_flights",
                {"origin": STRING, "destination": STRING},
                {
                    "type": "object",
                    "properties": {
                        "results": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "flight_id": STRING,
                                    "carrier": STRING,
                                    "seats_left": {"type": "integer"},
                                },
                            },
                        }
                    },
                },
            ),
            tool(
                "get_weather",
                {"city": STRING},
                {"type": "object", "properties": {"summary": STRING, "city": STRING}},
            ),
            tool("create_order", {"customer_id": STRING, "note": STRING}),
            tool("send_email", {"to": EMAIL, "subject": STRING, "body": STRING}),
            tool(
                "book_flight",
                {"flight_id": STRING, "passenger_name": STRING},
                description="Book a seat.",
            ),
            tool("cancel_order", {"order_id": STRING, "passengers": {"type": "integer"}}),
        ]
    )


def triples(tools: ToolSet) -> set[tuple[str, str, str, str]]:
    return {(e.from_tool, e.field, e.to_tool, e.parameter) for e in infer_graph(tools).edges}


def test_declared_output_schemas_give_edges_by_entity_id_name_and_format() -> None:
    assert triples(declared_tools()) == {
        # the id of a customer feeds a customer_id, wherever the record sits
        ("find_customer", "customer.id", "create_order", "customer_id"),
        # both format email
        ("find_customer", "customer.email", "send_email", "to"),
        # the same identifying name, in a list item
        ("search_flights", "results[].flight_id", "book_flight", "flight_id"),
        # create_order declares nothing: by its name it returns the new order's id
        ("create_order", "order_id", "cancel_order", "order_id"),
    }
    # Not edges: get_weather's city echoes its own argument; a customer's note is free
    # text, not an identifier; seats_left is an integer but 'passengers' names no seats.


def test_the_kind_of_a_tool_gives_edges_where_no_output_schema_is_declared() -> None:
    """A customer lookup yields the customer's id and city, a list of orders their ids."""
    tools = parse_tools(
        [
            tool("get_customer", {"email": EMAIL}),
            tool("list_orders", {"customer_id": STRING}),
            tool("cancel_order", {"order_id": STRING, "reason": {"enum": ["a", "b"]}}),
            tool("get_weather_forecast", {"city": STRING}),
            tool("send_email", {"to": EMAIL, "subject": STRING}),
        ]
    )
    assert triples(tools) == {
        ("get_customer", "customer_id", "list_orders", "customer_id"),
        ("list_orders", "orders[].order_id", "cancel_order", "order_id"),
        ("get_customer", "city", "get_weather_forecast", "city"),
        # no get_customer -> send_email.to: the customer's email is the one the user gave
    }


def test_a_price_with_its_currency_feeds_a_conversion() -> None:
    """A total a result sums from its own items is not a value a plan can set."""
    money = {"type": "number"}
    tools = parse_tools(
        [
            tool(
                "book_hotel",
                {"hotel": STRING},
                {"type": "object", "properties": {"total_price": money, "currency": STRING}},
            ),
            tool(
                "create_invoice",
                {"client": STRING},
                {
                    "type": "object",
                    "properties": {
                        "items": {
                            "type": "array",
                            "items": {"type": "object", "properties": {"price": money}},
                        },
                        "total": money,
                        "currency": STRING,
                    },
                },
            ),
            tool(
                "convert_currency",
                {"amount": money, "from_currency": STRING, "to_currency": STRING},
            ),
        ]
    )
    assert triples(tools) == {
        ("book_hotel", "total_price", "convert_currency", "amount"),
        ("book_hotel", "currency", "convert_currency", "from_currency"),
    }


def test_a_field_of_the_wrong_type_feeds_nothing() -> None:
    tools = parse_tools(
        [
            tool(
                "create_order",
                {"sku": STRING},
                {"type": "object", "properties": {"order_id": {"type": "integer"}}},
            ),
            tool("cancel_order", {"order_id": {"type": "string"}}),
            tool("track_order", {"order_id": {"type": "number"}}),
        ]
    )
    assert triples(tools) == {("create_order", "order_id", "track_order", "order_id")}


def test_the_example_tool_set_links_what_really_flows() -> None:
    """Hand-written: the flows the example tool set was extended for (with or without
    declared output schemas, these must be there)."""
    tools = load_tools(EXAMPLE_TOOLS)
    links = {(e.from_tool, e.to_tool, e.parameter) for e in infer_graph(tools).edges}
    assert {
        ("search_flights", "book_flight", "flight_id"),
        ("get_customer", "create_order", "customer_id"),
        ("get_customer", "list_orders", "customer_id"),
        ("list_orders", "cancel_order", "order_id"),
    } <= links
    assert not {link for link in links if link[2] in ("subject", "body", "title", "passengers")}


def test_a_flag_a_field_needs_is_read_from_its_description() -> None:
    from callforge.generator.dataflow import flags_for

    customer = load_tools(EXAMPLE_TOOLS)["get_customer"]
    assert flags_for(customer, "recent_orders[].order_id") == ["include_orders"]
    assert flags_for(customer, "customer_id") == []


def test_the_graph_file_round_trips_and_a_given_graph_wins() -> None:
    tools = load_tools(EXAMPLE_TOOLS)
    inferred = infer_graph(tools)
    data = json.loads(json.dumps(graph_json(inferred, tools)))
    assert parse_graph(data, tools) == inferred
    kept = [e for e in data["edges"] if e["to"] == "book_flight"]
    edited = with_graph(tools, parse_graph({"edges": kept}, tools))
    assert [e.to_tool for e in graph_of(edited).edges] == ["book_flight"]
    assert graph_of(tools) == inferred
    assert graph_of(edited.subset(["search_flights", "book_flight"])) == graph_of(edited)


@pytest.mark.parametrize(
    ("edges", "message"),
    [
        ('{"edges": [', "not a JSON graph file"),
        ('{"links": []}', 'expected an object {"edges": [...]}'),
        ('{"edges": [{"from": "search_flights"}]}', 'edge #1 needs string "from", "field"'),
        (
            '{"edges": [{"from": "nope", "field": "id", "to": "book_flight", '
            '"parameter": "flight_id"}]}',
            "edge #1: unknown tool 'nope'",
        ),
        (
            '{"edges": [{"from": "search_flights", "field": "id", "to": "book_flight", '
            '"parameter": "seat"}]}',
            "edge #1: 'seat' is not a string, integer or number parameter of 'book_flight'",
        ),
        (
            '{"edges": [{"from": "search_flights", "field": "id", "to": "book_flight", '
            '"parameter": "seat_preference"}]}',
            "'seat_preference' is not a string, integer or number parameter",
        ),
        (
            '{"edges": [{"from": "book_flight", "field": "id", "to": "book_flight", '
            '"parameter": "flight_id"}]}',
            "a tool cannot feed itself",
        ),
        (
            '{"edges": [{"from": "search_flights", "field": "results[]", "to": "book_flight", '
            '"parameter": "flight_id"}]}',
            "bad field path 'results[]'",
        ),
    ],
)
def test_a_bad_graph_file_is_one_clear_error(tmp_path: Path, edges: str, message: str) -> None:
    path = tmp_path / "graph.json"
    path.write_text(edges)
    with pytest.raises(InputError) as caught:
        load_graph(path, load_tools(EXAMPLE_TOOLS))
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_field_a_declared_schema_lacks_is_refused() -> None:
    tools = declared_tools()
    edge = {"from": "search_flights", "field": "results[].id", "to": "book_flight"}
    with pytest.raises(InputError, match="'search_flights' declares no scalar result field"):
        parse_graph({"edges": [{**edge, "parameter": "flight_id"}]}, tools)


def test_cli_shows_and_writes_the_graph(tmp_path: Path) -> None:
    out = tmp_path / "graph.json"
    result = run_cli("tools", "graph", "--tools", EXAMPLE_TOOLS, "--out", out)
    assert result.returncode == 0, result.stderr
    assert "search_flights" in result.stdout and "book_flight" in result.stdout
    assert "no multi_step (nothing feeds them):" in result.stdout
    written = json.loads(out.read_text())
    assert {"from", "field", "to", "parameter", "score", "evidence"} <= set(written["edges"][0])
    assert f"wrote {len(written['edges'])} edges to {out}" in result.stderr


def test_cli_shows_text_from_tool_files_as_written(tmp_path: Path) -> None:
    """Rich markup in a field name is shown, not interpreted."""
    weird = {"type": "string", "description": "[bold red]x[/]"}
    tools = [
        tool(
            "create_ticket",
            {"title": STRING},
            {"type": "object", "properties": {"[b]_code": weird}},
        ),
        tool("close_ticket", {"[b]_code": STRING}),
    ]
    path = tmp_path / "tools.json"
    path.write_text(json.dumps(tools))
    result = run_cli("tools", "graph", "--tools", path)
    assert result.returncode == 0, result.stderr
    # the field, the parameter, and the evidence naming them
    assert result.stdout.count("[b]_code") == 3


def test_generate_with_a_bad_graph_is_exit_2_and_leaves_nothing(tmp_path: Path) -> None:
    graph = tmp_path / "graph.json"
    graph.write_text(
        '{"edges": [{"from": "search_flights", "field": "results[].id", '
        '"to": "book_flight", "parameter": "flight"}]}'
    )
    db = tmp_path / "out.duckdb"
    result = run_cli(
        "generate", "--tools", EXAMPLE_TOOLS, "--per-tool", "2", "--graph", graph, "--db", db
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {graph}: edge #1: 'flight' is not a string")
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.json"]


def test_generate_chains_along_an_edited_graph(tmp_path: Path) -> None:
    """The user drops every edge but search_flights -> book_flight: only book_flight chains."""
    graph = tmp_path / "graph.json"
    assert run_cli("tools", "graph", "--tools", EXAMPLE_TOOLS, "--out", graph).returncode == 0
    data = json.loads(graph.read_text())
    data["edges"] = [e for e in data["edges"] if e["to"] == "book_flight"]
    graph.write_text(json.dumps(data))
    db = tmp_path / "s.duckdb"
    result = run_cli(
        "generate", "--tools", EXAMPLE_TOOLS, "--per-tool", "4", "--mix", "multi_step=1",
        "--seed", "3", "--graph", graph, "--db", db,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    stats = json.loads(run_cli("stats", "--json", "--db", db).stdout)
    filled = {row["tool"]: row["accepted"] for row in stats["cells"] if row["accepted"]}
    assert filled == {"book_flight": 4}


def test_proposing_links_needs_an_llm_teacher(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    result = run_cli("generate", "--tools", EXAMPLE_TOOLS, "--propose-links", "--db", db)
    assert result.returncode == 2
    assert result.stderr == "error: --propose-links needs --teacher openai\n"
    assert not db.exists()


def test_a_graph_file_that_cannot_be_written_is_one_clear_error(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "graph.json"
    result = run_cli("tools", "graph", "--tools", EXAMPLE_TOOLS, "--out", out)
    assert result.returncode == 2
    assert result.stderr == (
        f"error: {out}: cannot write the graph file: No such file or directory\n"
    )

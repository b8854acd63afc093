"""Declared result schemas: importers read them, the store keeps them, exports leave them out."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from callforge.generator.errors import InputError
from callforge.generator.importers import load_tools
from callforge.generator.pipeline import GenerateConfig, generate
from callforge.generator.teachers.offline import OfflineTeacher
from callforge.generator.tools import OUTPUT_SCHEMA_KEY, parse_tools
from callforge.store import Store
from tests.conftest import read_jsonl, run_cli

PARAMETERS = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}


def _write(path: Path, content: Any) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _error(path: str | Path) -> str:
    with pytest.raises(InputError) as caught:
        load_tools(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------------
# OpenAI tools JSON: x-output-schema


def test_x_output_schema_is_read_and_a_non_object_result_is_wrapped() -> None:
    tools = parse_tools(
        [
            {"name": "a", "parameters": PARAMETERS, OUTPUT_SCHEMA_KEY: {"type": "object"}},
            {"name": "b", "parameters": PARAMETERS, OUTPUT_SCHEMA_KEY: {"type": "number"}},
            {"name": "c", "parameters": PARAMETERS},
        ]
    )
    assert tools["a"].output_schema == {"type": "object"}
    assert tools["b"].output_schema == {
        "type": "object",
        "properties": {"result": {"type": "number"}},
        "required": ["result"],
    }
    assert tools["c"].output_schema is None
    assert OUTPUT_SCHEMA_KEY not in json.dumps(tools.definitions())


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ([1], "tool 'a': \"x-output-schema\" must be a JSON Schema object"),
        ({"type": "objekt"}, "tool 'a': output schema is not a valid JSON Schema at output_schema"),
    ],
)
def test_an_invalid_output_schema_is_one_line_naming_the_tool(
    tmp_path: Path, schema: Any, expected: str
) -> None:
    path = _write(
        tmp_path / "tools.json",
        [{"name": "a", "parameters": PARAMETERS, OUTPUT_SCHEMA_KEY: schema}],
    )
    assert expected in _error(path)
    result = run_cli("generate", "--tools", path, "--db", tmp_path / "x.duckdb")
    assert result.returncode == 2
    assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.duckdb").exists()


# ---------------------------------------------------------------------------
# MCP outputSchema


def test_mcp_output_schema_becomes_the_result_schema(tmp_path: Path) -> None:
    output = {
        "type": "object",
        "properties": {"temperature": {"type": "number"}, "conditions": {"type": "string"}},
        "required": ["temperature"],
    }
    path = _write(
        tmp_path / "mcp.json",
        {
            "tools": [
                {"name": "get_weather", "inputSchema": PARAMETERS, "outputSchema": output},
                {"name": "ping", "inputSchema": PARAMETERS},
            ]
        },
    )
    tools = load_tools(path)
    assert tools["get_weather"].output_schema == output
    assert tools["ping"].output_schema is None


# ---------------------------------------------------------------------------
# OpenAPI 2xx responses

SHOP = """
openapi: 3.0.3
info: {title: shop, version: "1"}
paths:
  /orders/{orderId}:
    get:
      operationId: getOrder
      parameters:
        - {name: orderId, in: path, required: true, schema: {type: string}}
      responses:
        "404": {description: missing}
        "200":
          description: the order
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Order"}
    delete:
      operationId: deleteOrder
      parameters:
        - {name: orderId, in: path, required: true, schema: {type: string}}
      responses:
        "204": {description: gone}
  /orders:
    post:
      operationId: createOrder
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Order"}
      responses:
        "2XX":
          description: any success
          content:
            application/json:
              schema: {type: object, properties: {wrong: {type: string}}}
        "201":
          description: created
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Order"}
    get:
      operationId: listOrders
      responses:
        "200":
          $ref: "#/components/responses/OrderList"
components:
  responses:
    OrderList:
      description: orders
      content:
        application/json:
          schema: {type: array, items: {$ref: "#/components/schemas/Order"}}
  schemas:
    Order:
      type: object
      required: [id, total]
      properties:
        id: {type: string, readOnly: true}
        total: {type: number, nullable: true}
        card_number: {type: string, writeOnly: true}
"""


def test_openapi_first_2xx_json_response_becomes_the_result_schema(tmp_path: Path) -> None:
    tools = load_tools(_write(tmp_path / "shop.yaml", SHOP))
    order = {
        "type": "object",
        "required": ["id", "total"],
        "properties": {"id": {"type": "string"}, "total": {"type": ["number", "null"]}},
    }
    assert tools["getOrder"].output_schema == order  # readOnly kept, writeOnly dropped
    assert tools["createOrder"].output_schema == order  # 201 before 2XX
    assert "id" not in tools["createOrder"].parameters["properties"]  # a request: no readOnly
    assert tools["listOrders"].output_schema == {
        "type": "object",
        "properties": {"result": {"type": "array", "items": order}},
        "required": ["result"],
    }
    assert tools["deleteOrder"].output_schema is None  # 204: no body


# ---------------------------------------------------------------------------
# Python return annotations

PYTHON = '''
from dataclasses import dataclass
from typing import Any

from typing_extensions import TypedDict

from pydantic import BaseModel


class Customer(TypedDict):
    id: str
    email: str


@dataclass
class Flight:
    flight_id: str
    price: float


class Rate(BaseModel):
    rate: float
    converted_amount: float


def get_customer(email: str) -> Customer:
    """Look up a customer."""


def search_flights(origin: str) -> list[Flight]:
    """Search flights."""


def convert_currency(amount: float) -> Rate:
    """Convert money."""


def average(values: list[float]) -> float:
    """Average of values."""


def notify(to: str) -> None:
    """Send a note."""


def anything(x: str) -> Any:
    """Returns anything."""


def untyped(x: str):
    """No return annotation."""
'''


def test_python_return_annotations_become_result_schemas(tmp_path: Path) -> None:
    tools = load_tools(_write(tmp_path / "pytools.py", PYTHON))
    assert tools["get_customer"].output_schema == {
        "type": "object",
        "properties": {"id": {"type": "string"}, "email": {"type": "string"}},
        "required": ["id", "email"],
    }
    flights = tools["search_flights"].output_schema
    assert flights is not None and flights["required"] == ["result"]
    assert flights["properties"]["result"]["type"] == "array"
    flight = flights["$defs"]["Flight"]  # $defs moved up, so the $ref still resolves
    assert flights["properties"]["result"]["items"] == {"$ref": "#/$defs/Flight"}
    assert flight["required"] == ["flight_id", "price"]
    rate = tools["convert_currency"].output_schema
    assert rate is not None and set(rate["properties"]) == {"rate", "converted_amount"}
    assert tools["average"].output_schema == {
        "type": "object",
        "properties": {"result": {"type": "number"}},
        "required": ["result"],
    }
    for name in ("notify", "anything", "untyped"):
        assert tools[name].output_schema is None, name


def test_a_return_annotation_without_a_schema_is_one_line_naming_the_tool(
    tmp_path: Path,
) -> None:
    path = _write(
        tmp_path / "bad.py",
        'class Opaque:\n    pass\n\n\ndef get_thing(x: str) -> Opaque:\n    """Get."""\n',
    )
    message = _error(path)
    assert "tool 'get_thing'" in message and "return annotation" in message


# ---------------------------------------------------------------------------
# The store keeps them; exports never show them


def test_the_store_keeps_result_schemas_and_exports_leave_them_out(tmp_path: Path) -> None:
    tools_path = _write(
        tmp_path / "tools.json",
        [
            {
                "name": "get_customer",
                "description": "Look up a customer by email.",
                "parameters": {
                    "type": "object",
                    "properties": {"email": {"type": "string", "format": "email"}},
                    "required": ["email"],
                },
                OUTPUT_SCHEMA_KEY: {
                    "type": "object",
                    "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
                    "required": ["id", "name"],
                },
            }
        ],
    )
    tools = load_tools(tools_path)
    db = tmp_path / "x.duckdb"
    with Store(db) as store:
        asyncio.run(generate(store, tools, OfflineTeacher(), GenerateConfig(per_tool=2, seed=1)))
    with Store(db) as store:
        assert parse_tools(store.current_tool_definitions()).tools == tools.tools
        [(_, tool_hash, definition)] = store.current_tools()
        assert tool_hash == tools["get_customer"].content_hash
        assert OUTPUT_SCHEMA_KEY not in json.dumps(definition)
        rebuilt = parse_tools([store.tool_versions([tool_hash])[tool_hash]]).tools[0]
        assert rebuilt.output_schema == tools["get_customer"].output_schema
    out = tmp_path / "out"
    assert run_cli("export", "--db", db, "--out", out, "--seed", "1").returncode == 0
    lines = read_jsonl(out / "train.jsonl") + read_jsonl(out / "eval.jsonl")
    assert lines and all(OUTPUT_SCHEMA_KEY not in json.dumps(line["tools"]) for line in lines)
    assert all("output_schema" not in json.dumps(line["tools"]) for line in lines)

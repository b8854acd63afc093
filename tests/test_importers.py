"""Tool importers: MCP, OpenAPI, Python and BFCL files become checked tool sets.

Each format is loaded the way ``--tools FILE`` loads it (``load_tools``), its
tools are compared with what the source says, their seeded arguments must
validate, and the CLI must generate and export a valid dataset from it.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from faker import Faker

from callforge.generator.errors import InputError
from callforge.generator.importers import detect_format, load_tool_file, load_tools
from callforge.generator.importers.detect import read_document
from callforge.generator.importers.docstrings import parse_docstring
from callforge.generator.schema import validate_instance
from callforge.generator.seeding import seed_arguments
from callforge.generator.templating import EXAMPLE_TOOLS
from callforge.generator.tools import ToolSet, function_name, parse_tools
from callforge.generator.validate import check_conversation
from tests.conftest import REPO, read_jsonl, run_cli
from tests.openai_format import format_errors

DATA = Path(__file__).resolve().parent / "data"
PETSTORE = DATA / "petstore.yaml"
PETSTORE_EXPANDED = DATA / "petstore-expanded.yaml"
MCP_FILESYSTEM = DATA / "mcp_filesystem.json"
PYTHON_TOOLS = DATA / "python_tools.py"
BFCL = DATA / "bfcl_simple.jsonl"


def _write(path: Path, content: Any) -> Path:
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def _props(tools: ToolSet, name: str) -> dict[str, Any]:
    return tools[name].parameters["properties"]


def _required(tools: ToolSet, name: str) -> list[str]:
    return tools[name].parameters.get("required", [])


def _error(path: str | Path, **options: Any) -> str:
    with pytest.raises(InputError) as caught:
        load_tools(path, **options)
    message = str(caught.value)
    assert "\n" not in message
    return message


# ---------------------------------------------------------------------------
# Detection


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (PETSTORE, "openapi"),
        (MCP_FILESYSTEM, "mcp"),
        (BFCL, "bfcl"),
        (EXAMPLE_TOOLS, "openai"),
    ],
)
def test_format_is_detected_from_content(path: Path, expected: str) -> None:
    assert detect_format(read_document(path, str(path))) == expected


def test_plain_openai_tools_load_as_before() -> None:
    tools = load_tools(EXAMPLE_TOOLS)
    assert tools == parse_tools(json.loads(EXAMPLE_TOOLS.read_text()), source=str(EXAMPLE_TOOLS))
    assert all(tool.original_name is None for tool in tools)


def test_unknown_format() -> None:
    assert _error(PETSTORE, format="raml") == (
        f"{PETSTORE}: unknown tool format 'raml' (known: openai, mcp, openapi, python, bfcl)"
    )


def test_missing_file(tmp_path: Path) -> None:
    for missing in (tmp_path / "tools.yaml", tmp_path / "tools.json", tmp_path / "tools.py"):
        assert _error(missing) == f"{missing}: cannot read tool file: No such file or directory"


def test_forced_format_reads_yaml_mcp(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "tools.yml",
        "- name: ping\n  description: Check a host answers.\n"
        "  inputSchema:\n    type: object\n    properties:\n      host: {type: string}\n",
    )
    assert load_tools(path, format="mcp").names == ["ping"]
    assert load_tools(path).names == ["ping"]  # detected too


def test_function_names_fit_the_openai_rule() -> None:
    assert function_name("math.factorial") == "math_factorial"
    assert function_name("get /pets/{petId}") == "get_pets_petId"
    assert function_name("find pet by id") == "find_pet_by_id"
    long = function_name("x" * 80)
    assert len(long) == 64 and long != function_name("x" * 81)


# ---------------------------------------------------------------------------
# OpenAPI


def test_petstore_becomes_one_tool_per_operation() -> None:
    tools = load_tools(PETSTORE)
    assert tools.names == ["listPets", "createPets", "showPetById"]
    assert tools["listPets"].description == "List all pets"
    assert _props(tools, "listPets") == {
        "limit": {
            "type": "integer",
            "maximum": 100,
            "format": "int32",
            "description": "How many items to return at one time (max 100)",
        }
    }
    assert _required(tools, "listPets") == []
    # the request body's $ref to Pet is inlined and its properties merged in
    assert {n: s["type"] for n, s in _props(tools, "createPets").items()} == {
        "id": "integer",
        "name": "string",
        "tag": "string",
    }
    assert _required(tools, "createPets") == ["id", "name"]
    assert _props(tools, "showPetById")["petId"]["description"] == "The id of the pet to retrieve"
    assert _required(tools, "showPetById") == ["petId"]
    assert "$ref" not in json.dumps(tools.definitions())


def test_petstore_expanded_merges_all_of_and_renames_operation_ids() -> None:
    tools = load_tools(PETSTORE_EXPANDED)
    assert tools.names == ["findPets", "addPet", "find_pet_by_id", "deletePet"]
    assert tools["find_pet_by_id"].original_name == "find pet by id"
    assert tools["findPets"].description.startswith("Returns all pets from the system")
    assert _props(tools, "findPets")["tags"] == {
        "type": "array",
        "items": {"type": "string"},
        "description": "tags to filter by",
    }
    assert set(_props(tools, "addPet")) == {"name", "tag"}
    assert _required(tools, "addPet") == ["name"]
    assert _props(tools, "deletePet")["id"]["type"] == "integer"


@pytest.mark.parametrize(
    ("include", "exclude", "expected"),
    [
        (["pets"], [], ["listPets", "createPets", "showPetById"]),  # tag
        (["/pets/*"], [], ["showPetById"]),  # path glob
        (["/pets"], [], ["listPets", "createPets"]),
        ([], ["createPets"], ["listPets", "showPetById"]),  # operationId
        (["list*", "show*"], ["/pets/*"], ["listPets"]),
    ],
)
def test_openapi_include_exclude(
    include: list[str], exclude: list[str], expected: list[str]
) -> None:
    assert load_tools(PETSTORE, include=include, exclude=exclude).names == expected


def test_openapi_filter_that_keeps_nothing_lists_tags_and_paths() -> None:
    assert _error(PETSTORE, include=["store"]) == (
        f"{PETSTORE}: no operation matches the patterns (include store); "
        "tags: pets; paths: /pets, /pets/{petId}"
    )


def _shop(version: str = "3.0.3", **overrides: Any) -> dict[str, Any]:
    """A small OpenAPI document using the features petstore does not."""
    document: dict[str, Any] = {
        "openapi": version,
        "info": {"title": "Shop", "version": "1"},
        "paths": {
            "/orders/{id}": {
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "verbose", "in": "query", "schema": {"type": "boolean"}},
                ],
                "put": {
                    "tags": ["orders"],
                    "summary": "Replace an order",
                    "description": "Replaces every field of the order.",
                    "parameters": [
                        {
                            "name": "verbose",
                            "in": "query",
                            "description": "Verbosity level",
                            "schema": {"type": "integer", "minimum": 0, "maximum": 3},
                        },
                        {"name": "X-Request-ID", "in": "header", "schema": {"type": "string"}},
                        {"name": "Authorization", "in": "header", "schema": {"type": "string"}},
                        {"name": "session", "in": "cookie", "schema": {"type": "string"}},
                    ],
                    "requestBody": {"$ref": "#/components/requestBodies/Order"},
                },
            },
            "/orders": {
                "post": {
                    "tags": ["orders"],
                    "requestBody": {
                        "required": True,
                        "description": "The orders to place",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Order"},
                                }
                            }
                        },
                    },
                }
            },
            "/categories": {
                "get": {
                    "operationId": "categories.tree",
                    "tags": ["catalog"],
                    "parameters": [
                        {
                            "name": "root",
                            "in": "query",
                            "required": True,
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Category"}
                                }
                            },
                        }
                    ],
                }
            },
        },
        "components": {
            "requestBodies": {
                "Order": {
                    "required": True,
                    "content": {
                        "application/vnd.api+json": {
                            "schema": {"$ref": "#/components/schemas/Order"}
                        }
                    },
                }
            },
            "schemas": {
                "Order": {
                    "type": "object",
                    "required": ["number", "id", "items"],
                    "discriminator": {"propertyName": "kind"},
                    "xml": {"name": "order"},
                    "properties": {
                        "number": {"type": "string", "readOnly": True},
                        "id": {"type": "string", "description": "Order id in the body"},
                        "kind": {"type": "string", "enum": ["retail", "wholesale"]},
                        "note": {"type": "string", "nullable": True, "example": "at the door"},
                        "discount": {
                            "type": "number",
                            "minimum": 0,
                            "exclusiveMinimum": True,
                            "maximum": 50,
                        },
                        "items": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"$ref": "#/components/schemas/Item"},
                        },
                        "coupon": {"$ref": "#/components/schemas/Coupon", "nullable": True},
                    },
                },
                "Item": {
                    "type": "object",
                    "required": ["sku"],
                    "properties": {
                        "sku": {"type": "string", "x-internal": True},
                        "quantity": {"type": "integer", "minimum": 1},
                    },
                },
                "Coupon": {"type": "string", "pattern": "^[A-Z]{4}$"},
                "Category": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string"},
                        "children": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Category"},
                        },
                    },
                },
            },
        },
    }
    document.update(overrides)
    return document


@pytest.fixture
def shop(tmp_path: Path) -> ToolSet:
    return load_tools(_write(tmp_path / "shop.json", _shop()))


def test_openapi_parameters_merge_and_override(shop: ToolSet) -> None:
    assert shop.names == ["put_orders_id", "post_orders", "categories_tree"]
    assert shop["put_orders_id"].original_name == "put /orders/{id}"
    assert shop["categories_tree"].original_name == "categories.tree"
    assert shop["put_orders_id"].description == (
        "Replace an order\n\nReplaces every field of the order."
    )
    assert shop["post_orders"].description == "POST /orders"
    props = _props(shop, "put_orders_id")
    # path-level 'verbose' is overridden by the operation's; Authorization and cookies are left out
    assert list(props)[:3] == ["id", "verbose", "X-Request-ID"]
    assert props["verbose"] == {
        "type": "integer",
        "minimum": 0,
        "maximum": 3,
        "description": "Verbosity level",
    }
    assert "Authorization" not in props and "session" not in props


def test_openapi_body_schema_becomes_plain_json_schema(shop: ToolSet) -> None:
    props = _props(shop, "put_orders_id")
    # the body's 'id' collides with the path parameter, so it is renamed
    assert props["body_id"] == {"type": "string", "description": "Order id in the body"}
    assert "number" not in props  # readOnly: a request never sends it
    assert _required(shop, "put_orders_id") == ["id", "body_id", "items"]
    assert props["kind"] == {"type": "string", "enum": ["retail", "wholesale"]}
    assert props["note"] == {"type": ["string", "null"]}  # nullable; example dropped
    assert props["discount"] == {"type": "number", "exclusiveMinimum": 0, "maximum": 50}
    assert props["items"]["items"]["properties"]["sku"] == {"type": "string"}  # x- dropped
    assert props["coupon"] == {"type": ["string", "null"], "pattern": "^[A-Z]{4}$"}
    dumped = json.dumps(shop.definitions())
    for keyword in ("discriminator", "xml", "example", "readOnly", "nullable", "x-internal"):
        assert f'"{keyword}"' not in dumped


def test_openapi_non_object_body_and_recursive_refs(shop: ToolSet) -> None:
    body = _props(shop, "post_orders")["body"]
    assert body["type"] == "array" and body["description"] == "The orders to place"
    assert body["items"]["required"] == ["id", "items"]
    assert _required(shop, "post_orders") == ["body"]
    tree = shop["categories_tree"].parameters
    assert tree["properties"]["root"]["properties"]["children"]["items"] == {
        "$ref": "#/$defs/Category"
    }
    assert tree["$defs"]["Category"]["properties"]["children"]["items"] == {
        "$ref": "#/$defs/Category"
    }


def test_openapi_31_type_lists_and_ref_siblings(tmp_path: Path) -> None:
    document = _shop("3.1.0")
    order = document["components"]["schemas"]["Order"]["properties"]
    order["note"] = {"type": ["string", "null"], "examples": ["at the door"]}
    order["coupon"] = {"$ref": "#/components/schemas/Coupon", "description": "A coupon code"}
    tools = load_tools(_write(tmp_path / "shop31.json", document))
    props = _props(tools, "put_orders_id")
    assert props["note"] == {"type": ["string", "null"], "examples": ["at the door"]}
    assert props["coupon"] == {
        "type": "string",
        "pattern": "^[A-Z]{4}$",
        "description": "A coupon code",
    }


def test_openapi_errors(tmp_path: Path) -> None:
    swagger = _write(tmp_path / "swagger.json", {"swagger": "2.0", "paths": {}})
    assert _error(swagger) == (
        f"{swagger}: Swagger 2.0 is not supported; convert to OpenAPI 3 "
        "(e.g. with swagger2openapi or editor.swagger.io)"
    )

    broken = _shop()
    broken["components"]["schemas"]["Item"]["properties"]["sku"] = {
        "$ref": "#/components/schemas/Sku"
    }
    path = _write(tmp_path / "broken.json", broken)
    assert _error(path, include=["orders"]) == (
        f"{path}: tool 'put /orders/{{id}}': at components.schemas.Item.properties.sku: "
        "$ref '#/components/schemas/Sku' points at nothing in this document"
    )

    external = _shop()
    external["components"]["schemas"]["Coupon"] = {"$ref": "common.yaml#/Coupon"}
    message = _error(_write(tmp_path / "external.json", external))
    assert "external $ref 'common.yaml#/Coupon' is not supported; bundle the document" in message

    upload = _shop()
    upload["paths"]["/uploads"] = {
        "post": {
            "operationId": "upload",
            "requestBody": {
                "required": True,
                "content": {"multipart/form-data": {"schema": {"type": "object"}}},
            },
        }
    }
    path = _write(tmp_path / "upload.json", upload)
    assert _error(path) == (
        f"{path}: tool 'upload': at paths./uploads.post.requestBody: the required request "
        "body has no JSON media type (multipart/form-data); leave this operation out with "
        "an exclude pattern"
    )
    assert "upload" not in load_tools(path, exclude=["upload"])

    old = _write(tmp_path / "old.json", _shop("2.1"))
    assert _error(old) == f"{old}: unsupported OpenAPI version '2.1'; expected 3.0 or 3.1"


# ---------------------------------------------------------------------------
# MCP


def test_mcp_filesystem_tools_list_response() -> None:
    tools = load_tools(MCP_FILESYSTEM)
    assert tools.names == [
        "read_text_file",
        "read_multiple_files",
        "write_file",
        "edit_file",
        "create_directory",
        "list_directory",
        "list_directory_with_sizes",
        "move_file",
        "search_files",
        "get_file_info",
    ]
    assert tools["write_file"].description.startswith("Create a new file or completely overwrite")
    assert _required(tools, "edit_file") == ["path", "edits"]
    edit = _props(tools, "edit_file")["edits"]["items"]
    assert edit["properties"]["oldText"]["description"] == "Text to search for - must match exactly"
    assert _props(tools, "list_directory_with_sizes")["sortBy"]["enum"] == ["name", "size"]
    assert "annotations" not in json.dumps(tools.definitions())


@pytest.mark.parametrize("wrap", ["list", "result", "jsonrpc"])
def test_mcp_shapes(tmp_path: Path, wrap: str) -> None:
    tool = {
        "name": "github.create_issue",
        "title": "Create issue",
        "inputSchema": {
            "type": "object",
            "properties": {"title": {"type": "string"}},
            "required": ["title"],
        },
    }
    data: Any = {
        "list": [tool],
        "result": {"tools": [tool], "nextCursor": "abc"},
        "jsonrpc": {"jsonrpc": "2.0", "id": 1, "result": {"tools": [tool]}},
    }[wrap]
    tools = load_tools(_write(tmp_path / "mcp.json", data))
    assert tools.names == ["github_create_issue"]
    assert tools["github_create_issue"].original_name == "github.create_issue"
    assert tools["github_create_issue"].description == "Create issue"


def test_mcp_errors(tmp_path: Path) -> None:
    path = _write(tmp_path / "mcp.json", [{"name": "ping", "description": "Ping a host."}])
    assert _error(path, format="mcp") == (
        f"{path}: tool 'ping': has no \"inputSchema\" (every MCP tool needs one)"
    )
    failed = {"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "Method not found"}}
    path = _write(tmp_path / "failed.json", failed)
    assert _error(path, format="mcp") == (
        f"{path}: the JSON-RPC response is an error: Method not found"
    )
    bad = {"tools": [{"name": "ping", "inputSchema": {"type": "object", "properties": 3}}]}
    path = _write(tmp_path / "bad.json", bad)
    assert "tool 'ping': parameters is not a valid JSON Schema at parameters.properties" in (
        _error(path)
    )


# ---------------------------------------------------------------------------
# Python


def test_python_module_functions_and_models() -> None:
    tools = load_tools(PYTHON_TOOLS)
    assert tools.names == [
        "address",
        "create_ticket",
        "search_products",
        "ship_order",
        "book_meeting",
    ]  # not _format_receipt, not the Priority enum, not the imported date or Field
    search = tools["search_products"]
    assert search.description == "Search the product catalogue."
    assert search.parameters["required"] == ["query"]
    assert search.parameters["additionalProperties"] is False
    props = search.parameters["properties"]
    assert props["query"] == {
        "type": "string",
        "description": "Words to look for in product names.",
    }
    assert props["category"] == {
        "anyOf": [{"enum": ["books", "music", "games"], "type": "string"}, {"type": "null"}],
        "default": None,
        "description": "Only return products of this category.",
    }
    assert props["max_results"]["description"] == "How many products to return at most."
    assert props["max_results"]["default"] == 10
    # Pydantic's generated titles are dropped; a parameter called "title" is kept
    assert '"title": "' not in json.dumps(tools.definitions())
    assert "title" in tools["book_meeting"].parameters["properties"]


def test_python_models_become_defs_and_tools() -> None:
    tools = load_tools(PYTHON_TOOLS)
    ship = tools["ship_order"].parameters
    assert ship["properties"]["address"] == {
        "$ref": "#/$defs/Address",
        "description": "Where to deliver the parcel.",  # reST :param Address address:
    }
    assert ship["$defs"]["Address"]["required"] == ["street", "city", "country"]
    assert ship["$defs"]["Address"]["properties"]["country"]["pattern"] == "^[A-Z]{2}$"
    meeting = tools["book_meeting"].parameters["properties"]  # NumPy style
    assert meeting["day"] == {
        "format": "date",
        "type": "string",
        "description": "The day of the meeting.",
    }
    assert meeting["priority"]["$ref"] == "#/$defs/Priority"
    assert meeting["attendees"]["description"] == "Email addresses of the people to invite."
    ticket = tools["create_ticket"]
    assert ticket.description == "Open a support ticket for a customer."
    assert ticket.parameters["required"] == ["subject", "customer_email"]
    assert ticket.parameters["properties"]["subject"] == {
        "maxLength": 80,
        "type": "string",
        "description": "One-line summary of the problem.",
    }


def test_python_single_object_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_tools(f"{PYTHON_TOOLS}:CreateTicket").names == ["create_ticket"]
    monkeypatch.chdir(REPO)
    assert load_tools("tests.data.python_tools:ship_order").names == ["ship_order"]
    assert load_tools("tests.data.python_tools").names == load_tools(PYTHON_TOOLS).names


def test_python_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = _write(
        tmp_path / "untyped.py",
        "def lookup(query, limit: int = 5) -> str:\n    'Look something up.'\n    return query\n",
    )
    assert _error(module) == (
        f"{module}: tool 'lookup': parameter 'query' has no type hint; "
        "annotate it (e.g. 'query: str')"
    )
    spec = f"{PYTHON_TOOLS}:missing"
    assert _error(spec) == f"{spec}: module has no function or model 'missing'"
    spec = f"{PYTHON_TOOLS}:Priority"
    assert _error(spec) == f"{spec}: tool 'Priority': is neither a function nor a Pydantic model"
    crashing = _write(tmp_path / "crashing.py", "raise RuntimeError('no database')\n")
    assert _error(crashing) == f"{crashing}: importing it failed: RuntimeError: no database"
    monkeypatch.chdir(tmp_path)
    assert _error("no_such_module:lookup") == (
        "no_such_module:lookup: no such file, and no module 'no_such_module' importable "
        "from the current directory"
    )
    empty = _write(tmp_path / "empty.py", "import json\n")
    assert _error(empty) == (
        f"{empty}: no public functions or Pydantic models are defined in this module"
    )


def test_docstring_styles() -> None:
    google = parse_docstring(
        """Find a user.

        Longer text that is not the description.

        Args:
            name (str): The user's
                full name.
            *aliases: Other names.

        Returns:
            The user.
        """
    )
    assert google.summary == "Find a user."
    assert google.params == {"name": "The user's full name.", "aliases": "Other names."}
    rest = parse_docstring(
        "Find a user\nby name.\n:param str name: The user's name.\n:returns: The user."
    )
    assert rest.summary == "Find a user by name."
    assert rest.params == {"name": "The user's name."}
    numpy = parse_docstring("Find.\n\nParameters\n----------\nx, y : int\n    Coordinates.\n")
    assert numpy.params == {"x": "Coordinates.", "y": "Coordinates."}


# ---------------------------------------------------------------------------
# BFCL dialect


def test_bfcl_jsonl_types_and_dotted_names() -> None:
    tools = load_tools(BFCL)
    assert tools.names == [
        "calculate_triangle_area",
        "math_factorial",
        "math_hypot",
        "calculate_area_under_curve",
        "calculate_derivative",
        "math_gcd",
        "calculate_final_velocity",
        "maps_route_planner",
        "hotel_book",
    ]
    assert tools["math_factorial"].original_name == "math.factorial"
    # math.gcd is defined twice with different wording: the first definition wins
    assert tools["math_gcd"].description == "Compute the greatest common divisor of two numbers"
    assert all(tool.parameters["type"] == "object" for tool in tools)
    assert _props(tools, "calculate_derivative")["x_value"]["type"] == "number"
    assert _props(tools, "calculate_area_under_curve")["interval"]["items"] == {"type": "number"}
    route = _props(tools, "maps_route_planner")
    assert route["origin"]["type"] == "string"
    assert route["waypoint"] == {
        "type": "array",
        "items": {"type": "number"},
        "description": "Optional latitude and longitude to pass through.",
    }
    assert route["options"]["type"] == "object"
    assert route["options"]["properties"]["avoid_tolls"]["type"] == "boolean"
    assert route["options"]["properties"]["max_stops"]["type"] == "integer"
    hotel = _props(tools, "hotel_book")
    assert hotel["guests"] == {
        "type": "array",
        "items": {"type": "string"},
        "description": "Names of the guests.",
    }
    assert hotel["extras"]["additionalProperties"] == {}  # "any": no type constraint


def test_bfcl_json_array_and_name_collisions(tmp_path: Path) -> None:
    def function(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "description": "Greatest common divisor.",
            "parameters": {
                "type": "dict",
                "properties": {"a": {"type": "int"}, "b": {"type": "int"}},
                "required": ["a", "b"],
            },
        }

    shipped_as_json = _write(tmp_path / "BFCL_v4_simple_python.json", BFCL.read_text())
    assert load_tools(shipped_as_json).names == load_tools(BFCL).names  # JSON Lines inside
    path = _write(tmp_path / "bfcl.json", [function("math.gcd")])
    assert load_tools(path).names == ["math_gcd"]
    assert load_tools(path, format="bfcl").names == ["math_gcd"]
    path = _write(tmp_path / "clash.json", [function("math.gcd"), function("math_gcd")])
    assert _error(path) == (
        f"{path}: tool 'math_gcd': duplicate tool name (from 'math.gcd' and 'math_gcd')"
    )
    path = _write(tmp_path / "bad.jsonl", json.dumps(function("a")) + "\n{oops\n")
    assert _error(path) == (
        f"{path}: line 2 is not valid JSON "
        "(column 2: Expecting property name enclosed in double quotes)"
    )


def test_include_exclude_by_name_for_every_format() -> None:
    assert load_tools(BFCL, include=["math.*"]).names == [
        "math_factorial",
        "math_hypot",
        "math_gcd",
    ]
    assert load_tools(MCP_FILESYSTEM, include=["*directory*"], exclude=["*sizes"]).names == [
        "create_directory",
        "list_directory",
    ]
    assert load_tools(PYTHON_TOOLS, exclude=["address", "create_*"]).names == [
        "search_products",
        "ship_order",
        "book_meeting",
    ]
    assert load_tools(EXAMPLE_TOOLS, include=["send_email"]).names == ["send_email"]
    assert _error(BFCL, include=["stats.*"]).startswith(
        f"{BFCL}: no tool matches the patterns (include stats.*); the file has 9: "
        "calculate_triangle_area, math.factorial,"
    )


# ---------------------------------------------------------------------------
# Every imported tool set seeds arguments that validate, and generates end to end


@pytest.mark.parametrize(
    "path", [PETSTORE, PETSTORE_EXPANDED, MCP_FILESYSTEM, PYTHON_TOOLS, BFCL], ids=lambda p: p.name
)
def test_seeded_arguments_validate(path: Path) -> None:
    _assert_seeds_validate(load_tools(path))


def test_seeded_arguments_validate_on_converted_openapi(shop: ToolSet) -> None:
    _assert_seeds_validate(shop)


def _assert_seeds_validate(tools: ToolSet) -> None:
    rng, faker = random.Random(7), Faker()
    faker.seed_instance(7)
    for tool in tools:
        for optional_rate in (0.0, 0.5, 1.0):
            for _ in range(4):
                arguments = seed_arguments(
                    tool.parameters, rng, faker, optional_rate=optional_rate, tool=tool.name
                )
                assert validate_instance(tool.parameters, arguments) == [], (tool.name, arguments)


def _generate_and_export(tools: str | Path, tmp_path: Path, per_tool: int = 4) -> list[dict]:
    db, out = tmp_path / "x.duckdb", tmp_path / "out"
    result = run_cli(
        "generate", "--tools", tools, "--per-tool", per_tool, "--seed", "1", "--db", db, cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    result = run_cli("export", "--db", db, "--out", out, "--seed", "1")
    assert result.returncode == 0, result.stderr
    return read_jsonl(out / "train.jsonl") + read_jsonl(out / "eval.jsonl")


@pytest.mark.parametrize(
    "tools",
    [
        PETSTORE,
        MCP_FILESYSTEM,
        PYTHON_TOOLS,
        "tests.data.python_tools:search_products",
        BFCL,
    ],
    ids=["openapi", "mcp", "python", "python-spec", "bfcl"],
)
def test_cli_generates_and_exports_every_format(tools: str | Path, tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        expected = load_tools(tools)
    records = _generate_and_export(tools, tmp_path)
    assert len(records) == 4 * len(expected)
    for record in records:
        assert format_errors(record) == []
        # the whole set, in an order shuffled per example
        assert sorted(t["function"]["name"] for t in record["tools"]) == sorted(expected.names)
        schemas = {t["function"]["name"]: t["function"]["parameters"] for t in record["tools"]}
        assert check_conversation(record["messages"], schemas) is None


def test_cli_reports_import_errors_in_one_line(tmp_path: Path) -> None:
    swagger = _write(tmp_path / "swagger.yaml", "swagger: '2.0'\npaths: {}\n")
    result = run_cli("generate", "--tools", swagger, "--db", tmp_path / "x.duckdb")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {swagger}: Swagger 2.0 is not supported; convert to OpenAPI 3 "
        "(e.g. with swagger2openapi or editor.swagger.io)"
    )
    assert not (tmp_path / "x.duckdb").exists()


def test_sixty_tools_load_and_generate(tmp_path: Path) -> None:
    kinds = [
        {"type": "string", "description": "City name"},
        {"type": "integer", "minimum": 1, "maximum": 500},
        {"type": "string", "enum": ["low", "medium", "high"]},
        {"type": "string", "format": "date"},
        {"type": "number", "minimum": 0, "maximum": 1000},
    ]
    tools = [
        {
            "name": f"service{i // 10}.action_{i}",
            "description": f"Run action {i} of service {i // 10}.",
            "inputSchema": {
                "type": "object",
                "properties": {f"field_{j}": kinds[(i + j) % len(kinds)] for j in range(3)},
                "required": ["field_0", "field_1"],
            },
        }
        for i in range(60)
    ]
    path = _write(tmp_path / "sixty.json", {"tools": tools})
    loaded = load_tool_file(path)
    assert len(loaded) == 60 and loaded.names[0] == "service0_action_0"
    records = _generate_and_export(path, tmp_path, per_tool=2)
    assert len(records) == 120
    assert {
        call["function"]["name"]
        for r in records
        for m in r["messages"]
        for call in m.get("tool_calls", [])
    } == set(loaded.names)


# ---------------------------------------------------------------------------
# The `callforge tools` commands.


def test_tools_import_writes_openai_tools_that_load_back(tmp_path: Path) -> None:
    out = tmp_path / "tools.json"
    result = run_cli("tools", "import", DATA / "petstore.yaml", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "3 tools from" in result.stderr
    tools = load_tools(out)
    assert tools.names == ["listPets", "createPets", "showPetById"]
    assert detect_format(json.loads(out.read_text())) == "openai"
    assert tools.tools == load_tools(DATA / "petstore.yaml").tools  # result schemas kept
    assert tools["showPetById"].output_schema is not None


def test_tools_import_filters_and_errors(tmp_path: Path) -> None:
    result = run_cli("tools", "import", DATA / "petstore.yaml", "--exclude", "create*")
    assert result.returncode == 0, result.stderr
    assert [t["function"]["name"] for t in json.loads(result.stdout)] == [
        "listPets",
        "showPetById",
    ]
    missing = run_cli("tools", "import", tmp_path / "nope.json")
    assert missing.returncode == 2
    assert len(missing.stderr.strip().splitlines()) == 1
    assert missing.stderr.startswith("error: ") and "nope.json" in missing.stderr


def test_tools_list_shows_the_store_tool_set(small_store: Path, tools_data: list) -> None:
    result = run_cli("tools", "list", "--db", small_store)
    assert result.returncode == 0, result.stderr
    for tool in tools_data:
        assert tool["function"]["name"] in result.stdout

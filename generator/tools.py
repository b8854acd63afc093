"""Tool loading: turn a user's tool file into normalised, hashed tool definitions.

``importers.load_tools`` reads any supported format (OpenAI ``tools`` JSON, MCP tool lists,
OpenAPI 3, Python functions and Pydantic models, BFCL files; see
``generator.importers``) and ends here, in ``parse_tools``, which accepts the
OpenAI ``tools`` shapes:

* a JSON array of ``{"type": "function", "function": {...}}``;
* a JSON array of bare function objects ``{"name", "description", "parameters"}``;
* an object ``{"tools": [...]}`` holding either of the above.

Every tool's ``parameters`` must be a valid JSON Schema whose top level is an
object. A tool's hash covers its whole canonical definition, so editing any part
of a schema makes the examples built from the old one stale.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from callforge.generator.errors import InputError
from callforge.generator.limits import check_document
from callforge.generator.records import OUTPUT_SCHEMA_KEY
from callforge.generator.schema import (
    check_output_schema,
    check_parameters_schema,
    schema_types,
)

if TYPE_CHECKING:
    from callforge.generator.dataflow import DataFlowGraph

RESULT_KEY = "result"
"""A declared result that is not a JSON object (a list, a number) is returned under this key."""

# OpenAI's rule for function names; other formats' names are rewritten to fit it.
FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_NAME_MAX = 64


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the form every hash in callforge is taken of."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ToolSpec:
    """One function a model may call, as the OpenAI ``tools`` list describes it."""

    name: str
    description: str
    parameters: dict[str, Any]
    # The name in the source file when it broke the OpenAI rule (e.g. BFCL's
    # "math.factorial" for "math_factorial"); not exported and not hashed.
    original_name: str | None = field(default=None, compare=False)
    # What a successful call returns, as a JSON Schema, where the source declares it
    # (MCP ``outputSchema``, OpenAPI 2xx responses, Python return annotations, or the
    # ``x-output-schema`` key of an OpenAI tools entry). Hashed, never exported: trainers
    # see ``definition``.
    output_schema: dict[str, Any] | None = None

    @property
    def definition(self) -> dict[str, Any]:
        """The tool as an OpenAI ``tools`` entry, exactly as exports write it."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }

    @cached_property
    def content_hash(self) -> str:
        hashed = self.definition
        if self.output_schema is not None:
            hashed = {**hashed, OUTPUT_SCHEMA_KEY: self.output_schema}
        return sha256_hex(canonical_json(hashed))[:16]


@dataclass(frozen=True)
class ToolSet:
    """An ordered, name-unique collection of tools loaded from one source."""

    tools: tuple[ToolSpec, ...]
    source: str = "<memory>"
    dataflow: DataFlowGraph | None = field(default=None, compare=False)
    """The user's data-flow graph (``generate --graph``); None: inferred from the tools."""
    _by_name: dict[str, ToolSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {tool.name: tool for tool in self.tools})

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter(self.tools)

    def __len__(self) -> int:
        return len(self.tools)

    def __getitem__(self, name: str) -> ToolSpec:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def names(self) -> list[str]:
        return [tool.name for tool in self.tools]

    @cached_property
    def parameter_schemas(self) -> dict[str, dict[str, Any]]:
        """Each tool's parameters schema by name, built once (validation looks every call
        up in it, once per attempt)."""
        return {tool.name: tool.parameters for tool in self.tools}

    @cached_property
    def content_hash(self) -> str:
        """The tools' content hashes in order, hashed: one key for what the set holds,
        worked out once (a run with 10,000 tools asks for it once per tool)."""
        return sha256_hex(" ".join(tool.content_hash for tool in self.tools))

    def definitions(self) -> list[dict[str, Any]]:
        return [tool.definition for tool in self.tools]

    def subset(self, names: Sequence[str]) -> ToolSet:
        """The named tools, in that order, keeping the source and the data-flow graph."""
        return ToolSet(tuple(self[name] for name in names), self.source, self.dataflow)


def function_name(raw: str) -> str:
    """``raw`` rewritten to fit OpenAI's function-name rule ``^[a-zA-Z0-9_-]{1,64}$``.

    Runs of other characters become one ``_`` ("math.factorial" -> "math_factorial",
    "get /pets/{petId}" -> "get_pets_petId"); a name longer than 64 keeps its start
    and ends with a short hash of the whole, so long names stay distinct.
    """
    name = re.sub(r"[^a-zA-Z0-9_-]+", "_", raw).strip("_")
    if len(name) > _NAME_MAX:
        name = f"{name[: _NAME_MAX - 9]}_{sha256_hex(raw)[:8]}"
    return name


def parse_tools(data: Any, *, source: str = "<memory>", rename_invalid: bool = False) -> ToolSet:
    """Normalise already-parsed tool JSON into a checked ``ToolSet``.

    With ``rename_invalid`` a name breaking OpenAI's rule is rewritten by
    ``function_name`` and the original kept in ``ToolSpec.original_name``.
    """
    check_document(data, source=source)  # a Python module's schemas too, not only files
    entries = _tool_entries(data, source)
    if not entries:
        raise InputError("no tools found (the tool list is empty)", source=source)
    tools: list[ToolSpec] = []
    seen: dict[str, ToolSpec] = {}
    for index, entry in enumerate(entries):
        tool = _parse_entry(entry, index, source, rename_invalid=rename_invalid)
        if tool.name in seen:
            origins = [t.original_name or t.name for t in (seen[tool.name], tool)]
            detail = f" (from '{origins[0]}' and '{origins[1]}')" if len(set(origins)) > 1 else ""
            raise InputError(f"duplicate tool name{detail}", source=source, tool=tool.name)
        seen[tool.name] = tool
        tools.append(tool)
    return ToolSet(tuple(tools), source=source)


def _tool_entries(data: Any, source: str) -> Sequence[Any]:
    if isinstance(data, Mapping) and "tools" in data:
        data = data["tools"]
    if not isinstance(data, list):
        raise InputError(
            'expected a JSON array of tools or an object {"tools": [...]}', source=source
        )
    return data


def _parse_entry(entry: Any, index: int, source: str, *, rename_invalid: bool) -> ToolSpec:
    where = f"tool #{index + 1}"
    if not isinstance(entry, Mapping):
        raise InputError(f"{where} is not a JSON object", source=source)
    function = entry.get("function") if entry.get("type") == "function" else entry
    if not isinstance(function, Mapping):
        raise InputError(f'{where} has "type": "function" but no "function" object', source=source)
    name = function.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f'{where} has no "name"', source=source)
    original = None
    if rename_invalid and not FUNCTION_NAME.match(name):
        name, original = function_name(name), name
        if not name:
            raise InputError(
                "name has no letters, digits, '_' or '-' to build a function name from",
                source=source,
                tool=original,
            )
    description = function.get("description", "")
    if not isinstance(description, str):
        raise InputError('"description" must be a string', source=source, tool=name)
    parameters = function.get("parameters", {"type": "object", "properties": {}})
    if not isinstance(parameters, Mapping):
        raise InputError('"parameters" must be a JSON Schema object', source=source, tool=name)
    check_parameters_schema(parameters, tool=name, source=source)
    output_schema = function.get(OUTPUT_SCHEMA_KEY)
    if output_schema is not None:
        if not isinstance(output_schema, Mapping):
            raise InputError(
                f'"{OUTPUT_SCHEMA_KEY}" must be a JSON Schema object', source=source, tool=name
            )
        check_output_schema(output_schema, tool=name, source=source)
        output_schema = result_object_schema(output_schema)
    return ToolSpec(
        name=name,
        description=description.strip(),
        parameters=dict(parameters),
        original_name=original,
        output_schema=output_schema,
    )


def result_object_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A declared result schema as the schema of a JSON object, which every tool result is.

    An object schema stays as it is; any other (``list[Flight]``, ``float``) is
    wrapped as ``{"result": ...}``, as MCP servers wrap a non-object structured
    result. ``$defs`` move to the top so their ``$ref``s still resolve.
    """
    if _describes_object(schema):
        return dict(schema)
    inner = dict(schema)
    defs: dict[str, Any] = {k: inner.pop(k) for k in ("$defs", "definitions") if k in inner}
    return {"type": "object", "properties": {RESULT_KEY: inner}, "required": [RESULT_KEY], **defs}


def _describes_object(schema: Mapping[str, Any]) -> bool:
    types = schema_types(schema)
    if types is not None:
        return "object" in types
    if "properties" in schema or "additionalProperties" in schema:
        return True
    parts = schema.get("allOf") or schema.get("anyOf") or schema.get("oneOf")
    return (
        isinstance(parts, list)
        and bool(parts)
        and all(isinstance(part, Mapping) and _describes_object(part) for part in parts)
    )


def stored_definition(tool: ToolSpec) -> dict[str, Any]:
    """The tool as an OpenAI ``tools`` entry with its result schema under ``x-output-schema``.

    The form ``parse_tools`` reads back: what to keep where the tool is to be rebuilt,
    never what to export (``ToolSpec.definition`` is that).
    """
    definition = tool.definition
    if tool.output_schema is not None:
        definition["function"][OUTPUT_SCHEMA_KEY] = tool.output_schema
    return definition

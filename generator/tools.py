"""Tool loading: turn a user's tool file into normalised, hashed tool definitions.

Accepted shapes (OpenAI ``tools`` format first):

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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from generator.errors import InputError
from generator.schema import check_parameters_schema


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
        return sha256_hex(canonical_json(self.definition))[:16]


@dataclass(frozen=True)
class ToolSet:
    """An ordered, name-unique collection of tools loaded from one source."""

    tools: tuple[ToolSpec, ...]
    source: str = "<memory>"
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

    def definitions(self) -> list[dict[str, Any]]:
        return [tool.definition for tool in self.tools]


def load_tools(path: str | Path) -> ToolSet:
    """Read and check a tool file; every problem is an ``InputError`` naming the file."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read tool file: {exc.strerror or exc}", source=source) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", source=source
        ) from exc
    return parse_tools(data, source=source)


def parse_tools(data: Any, *, source: str = "<memory>") -> ToolSet:
    """Normalise already-parsed tool JSON into a checked ``ToolSet``."""
    entries = _tool_entries(data, source)
    if not entries:
        raise InputError("no tools found (the tool list is empty)", source=source)
    tools: list[ToolSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        tool = _parse_entry(entry, index, source)
        if tool.name in seen:
            raise InputError("duplicate tool name", source=source, tool=tool.name)
        seen.add(tool.name)
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


def _parse_entry(entry: Any, index: int, source: str) -> ToolSpec:
    where = f"tool #{index + 1}"
    if not isinstance(entry, Mapping):
        raise InputError(f"{where} is not a JSON object", source=source)
    function = entry.get("function") if entry.get("type") == "function" else entry
    if not isinstance(function, Mapping):
        raise InputError(f'{where} has "type": "function" but no "function" object', source=source)
    name = function.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f'{where} has no "name"', source=source)
    description = function.get("description", "")
    if not isinstance(description, str):
        raise InputError('"description" must be a string', source=source, tool=name)
    parameters = function.get("parameters", {"type": "object", "properties": {}})
    if not isinstance(parameters, Mapping):
        raise InputError('"parameters" must be a JSON Schema object', source=source, tool=name)
    check_parameters_schema(parameters, tool=name, source=source)
    return ToolSpec(name=name, description=description.strip(), parameters=dict(parameters))

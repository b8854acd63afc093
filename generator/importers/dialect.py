"""The BFCL / Gorilla function dialect -> OpenAI function objects.

BFCL (the Berkeley Function-Calling Leaderboard) ships functions whose schemas
use Python-ish type names: ``"dict"`` for object, ``"float"`` for number,
``"tuple"`` and ``"list"`` for array, ``"int"``, ``"bool"``, ``"str"`` and
``"any"`` (no type constraint). They appear at every level (properties, items,
additionalProperties, anyOf...) and are rewritten there into JSON Schema types;
capitalised spellings (``"String"``) are read the same way.

Its files are JSON Lines, one test entry per line, each entry holding the
functions it offers as a list: ``{"id", "question", "function": [{...}, ...]}``.
Bare function objects per line, a JSON array of either, and ``{"tools": [...]}``
are accepted too.

Names: BFCL names often contain dots (``math.factorial``), which OpenAI's
function-name rule forbids. ``parse_tools`` rewrites them (``math_factorial``)
and keeps the original in ``ToolSpec.original_name``; descriptions are left as
written. The same function appears in many entries, sometimes with different
wording; the first definition of each name wins.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

from callforge.generator.errors import InputError
from callforge.generator.schema import JSON_TYPES, iter_subschemas

# Dialect type name (lowercased) -> JSON Schema type; None means "any value".
DIALECT_TYPES: dict[str, str | None] = {
    "dict": "object",
    "float": "number",
    "tuple": "array",
    "list": "array",
    "int": "integer",
    "bool": "boolean",
    "str": "string",
    "any": None,
    **{name: name for name in JSON_TYPES},
}


def uses_dialect(data: Any) -> bool:
    """Whether tool data is in the BFCL dialect: its own types, or entries listing functions."""
    for entry in _entries(data):
        if isinstance(entry, Mapping) and isinstance(entry.get("function"), list):
            return True
        for function in _functions_of(entry):
            parameters = function.get("parameters")
            if isinstance(parameters, Mapping) and any(
                _is_dialect_type(sub.get("type")) for sub in iter_subschemas(parameters)
            ):
                return True
    return False


def dialect_functions(data: Any, *, source: str) -> list[dict[str, Any]]:
    """One OpenAI function object per distinct function name, schemas in JSON Schema."""
    entries = _entries(data)
    if not entries and not isinstance(data, list):
        raise InputError(
            "expected BFCL entries (JSON Lines or a JSON array) or function objects",
            source=source,
        )
    functions: dict[str, dict[str, Any]] = {}
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise InputError(f"entry #{index + 1} is not a JSON object", source=source)
        for function in _functions_of(entry):
            name = function.get("name")
            if not isinstance(name, str) or not name.strip():
                raise InputError(f'entry #{index + 1} has a function with no "name"', source=source)
            if name not in functions:
                functions[name] = _normalised(function)
    return list(functions.values())


def normalise_schema(schema: Any) -> Any:
    """A copy of ``schema`` with every dialect type rewritten into JSON Schema."""
    out = copy.deepcopy(schema)
    for sub in iter_subschemas(out):
        if isinstance(sub, dict) and "type" in sub:
            _rewrite_type(sub)
    return out


def _normalised(function: Mapping[str, Any]) -> dict[str, Any]:
    out = {key: function[key] for key in ("name", "description") if key in function}
    parameters = function.get("parameters", {"type": "object", "properties": {}})
    out["parameters"] = normalise_schema(parameters)
    return out


def _rewrite_type(schema: dict[str, Any]) -> None:
    declared = schema["type"]
    names = [declared] if isinstance(declared, str) else declared
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return  # not a type we can read; the schema check reports it
    types = [DIALECT_TYPES.get(name.lower(), name) for name in names]
    if None in types:
        del schema["type"]
        return
    unique = list(dict.fromkeys(t for t in types if t is not None))
    schema["type"] = unique[0] if len(unique) == 1 else unique


def _is_dialect_type(declared: Any) -> bool:
    names = [declared] if isinstance(declared, str) else declared
    if not isinstance(names, list):
        return False
    return any(
        isinstance(name, str) and name not in JSON_TYPES and name.lower() in DIALECT_TYPES
        for name in names
    )


def _entries(data: Any) -> list[Any]:
    if isinstance(data, Mapping) and isinstance(data.get("tools"), list):
        return list(data["tools"])
    if isinstance(data, list):
        return data
    return [data] if isinstance(data, Mapping) else []


def _functions_of(entry: Any) -> Iterator[Mapping[str, Any]]:
    """The function objects in one entry: a BFCL test entry, an OpenAI tool or a bare function."""
    if not isinstance(entry, Mapping):
        return
    inner = entry.get("function")
    if isinstance(inner, list):
        yield from (f for f in inner if isinstance(f, Mapping))
    elif isinstance(inner, Mapping):
        yield inner
    else:
        yield entry

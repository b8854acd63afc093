"""Which format a tool file is in, and loading it through that format's importer.

Detection, first match wins (``format=`` forces one of ``FORMATS`` instead):

1. ``python``: a ``.py`` file, or a value that is not a file and reads as
   ``module:object``, ``file.py:object`` or a dotted module name (``pkg.tools``).
2. The file is read by extension: ``.yaml``/``.yml`` as YAML, ``.jsonl`` as JSON
   Lines, ``.json`` as JSON (or JSON Lines when it holds one value per line),
   anything else as JSON, then JSON Lines, then YAML.
3. ``openapi``: an object with an ``openapi`` key, or a ``swagger`` key (Swagger
   2.0, which the importer refuses with a hint to convert).
4. ``mcp``: a tool list (bare, ``{"tools": [...]}`` or a JSON-RPC response) with
   an ``inputSchema`` in any entry.
5. ``bfcl``: a BFCL dialect type (``dict``, ``float``, ``tuple``, ``any``...)
   anywhere in a ``parameters`` schema, or entries whose ``function`` is a list.
6. ``openai``: everything else.

Whatever the format, the result goes through ``parse_tools``, which checks every
schema and rewrites names that break OpenAI's rule (keeping the original).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from callforge.generator.errors import InputError
from callforge.generator.importers.dialect import dialect_functions, uses_dialect
from callforge.generator.importers.mcp import mcp_functions, tool_entries
from callforge.generator.importers.openapi import openapi_functions
from callforge.generator.importers.python import (
    looks_like_python,
    no_such_module,
    python_functions,
    shaped_like_module,
)
from callforge.generator.importers.selection import describe_patterns, selected
from callforge.generator.limits import (
    MAX_INTEGER_DIGITS,
    MAX_TOOL_FILE_BYTES,
    MAX_VALUES,
    check_document,
    float_literal,
    integer_literal,
    no_constant,
    too_deep,
)
from callforge.generator.tools import ToolSet, function_name, parse_tools

FORMATS = ("openai", "mcp", "openapi", "python", "bfcl")


def load_tool_file(
    path: str | Path,
    *,
    format: str | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> ToolSet:
    """Read a tool file (or Python spec) in any supported format into a checked ``ToolSet``.

    ``include``/``exclude`` are globs on tool names (and OpenAPI tags and paths);
    see ``generator.importers.selection``.
    """
    source = str(path)
    if format is not None and format not in FORMATS:
        raise InputError(
            f"unknown tool format '{format}' (known: {', '.join(FORMATS)})", source=source
        )
    if format == "python" or (format is None and looks_like_python(source)):
        functions = python_functions(source, source=source)
    else:
        if format is None and shaped_like_module(source) and not Path(path).exists():
            raise no_such_module(source, source)  # found neither way; nothing was imported
        data = read_document(Path(path), source)
        chosen = format or detect_format(data, source=source)
        if chosen == "openapi":
            functions = openapi_functions(data, source=source, include=include, exclude=exclude)
            include = exclude = ()  # applied above, with tags and paths
        elif chosen == "mcp":
            functions = mcp_functions(data, source=source)
        elif chosen == "bfcl":
            functions = dialect_functions(data, source=source)
        else:
            return _filtered_openai(data, source, include, exclude)
    return parse_tools(
        _filtered(functions, source, include, exclude), source=source, rename_invalid=True
    )


def detect_format(data: Any, *, source: str = "<memory>") -> str:
    """The format of already-parsed tool data (steps 3-6 of the module docstring)."""
    if isinstance(data, Mapping) and ("openapi" in data or "swagger" in data):
        return "openapi"
    entries = tool_entries(data, source=source)
    if entries and any(isinstance(e, Mapping) and "inputSchema" in e for e in entries):
        return "mcp"
    if uses_dialect(data):
        return "bfcl"
    return "openai"


def read_document(path: Path, source: str) -> Any:
    """The parsed content of a JSON, JSON Lines or YAML file, within ``generator.limits``."""
    data = _parse(_read_text(path, source), path.suffix.lower(), source)
    check_document(data, source=source)
    return data


def _read_text(path: Path, source: str) -> str:
    """The file's text, read up to ``MAX_TOOL_FILE_BYTES`` (``/dev/zero`` ends there)."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_TOOL_FILE_BYTES + 1)
    except OSError as error:
        raise InputError(
            f"cannot read tool file: {error.strerror or error}", source=source
        ) from error
    if len(raw) > MAX_TOOL_FILE_BYTES:
        raise InputError(
            f"cannot read tool file: larger than {MAX_TOOL_FILE_BYTES // 2**20} MiB (the limit)",
            source=source,
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("cannot read tool file: it is not UTF-8 text", source=source) from None


def _parse(text: str, suffix: str, source: str) -> Any:
    if suffix in (".yaml", ".yml"):
        return _yaml(text, source)
    if suffix == ".jsonl":
        return _json_lines(text, source)
    try:
        return _json(text, source)
    except json.JSONDecodeError as error:
        json_error = InputError(
            f"not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})",
            source=source,
        )
        return _fallback(text, suffix, source, json_error)


def _json(text: str, source: str) -> Any:
    """``json.loads`` within the limits: no NaN, no infinity, no 5,000-digit integers."""
    try:
        return json.loads(
            text,
            parse_int=functools.partial(integer_literal, source=source),
            parse_float=functools.partial(float_literal, source=source),
            parse_constant=functools.partial(no_constant, source=source),
        )
    except RecursionError:
        raise too_deep(source) from None


def _fallback(text: str, suffix: str, source: str, json_error: InputError) -> Any:
    """JSON Lines for a ``.json`` file holding one value per line; YAML for unknown suffixes."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 1:
        try:
            return _json_lines(text, source)
        except InputError:
            pass
    if suffix != ".json":
        try:
            data = _yaml(text, source)
        except InputError:
            data = None
        if isinstance(data, Mapping | list):
            return data
    raise json_error


def _json_lines(text: str, source: str) -> list[Any]:
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append(_json(line, source))
        except json.JSONDecodeError as error:
            raise InputError(
                f"line {number} is not valid JSON (column {error.colno}: {error.msg})",
                source=source,
            ) from None
    return entries


class _JsonYamlLoader(yaml.SafeLoader):
    """YAML read as JSON would be: dates stay strings, keys become strings; within limits.

    Aliases are counted in full before anything is built: a "billion laughs"
    document of a few hundred bytes is refused in microseconds.
    """

    source = "<yaml>"

    def construct_document(self, node: yaml.Node) -> Any:
        _check_expanded_size(node, self.source)
        return super().construct_document(node)


_JsonYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _bounded_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    digits = str(node.value).lstrip("+-").replace("_", "")
    if len(digits) > MAX_INTEGER_DIGITS + 2:  # room for a 0x / 0o prefix
        raise yaml.constructor.ConstructorError(
            None, None, f"an integer has more than {MAX_INTEGER_DIGITS} digits", node.start_mark
        )
    return loader.construct_yaml_int(node)


_JsonYamlLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)


def _check_expanded_size(root: yaml.Node, source: str) -> None:
    """Refuse a node graph that expands past ``MAX_VALUES`` values or refers to itself."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        children = _children(node)
        if not children_done:
            if id(node) in sizes:
                if sizes[id(node)] < 0:
                    raise InputError("not valid YAML (an alias refers to itself)", source=source)
                continue
            sizes[id(node)] = -1  # in progress: meeting it again below is a cycle
            stack.append((node, True))
            stack.extend((child, False) for child in children)
            continue
        size = 1 + sum(sizes[id(child)] for child in children)
        if size > MAX_VALUES:
            raise InputError(
                f"holds more than {MAX_VALUES:,} values (YAML aliases counted in full; the limit)",
                source=source,
            )
        sizes[id(node)] = size


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _yaml(text: str, source: str) -> Any:
    loader = _JsonYamlLoader(text)  # a SafeLoader: no arbitrary objects
    loader.source = source
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise InputError(f"not valid YAML ({where}{problem})", source=source) from None
    except RecursionError:
        raise too_deep(source) from None
    finally:
        loader.dispose()
    check_document(data, source=source)  # before _string_keys copies it
    return _string_keys(data)


def _string_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _string_keys(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_string_keys(child) for child in value]
    return value


def _filtered(
    functions: list[Any], source: str, include: Sequence[str], exclude: Sequence[str]
) -> list[Any]:
    if not include and not exclude:
        return functions
    kept = [f for f in functions if selected(_names(f), include, exclude)]
    if functions and not kept:
        names = [name for f in functions for name in _names(f)[:1]]
        shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
        raise InputError(
            f"no tool matches the patterns ({describe_patterns(include, exclude)}); "
            f"the file has {len(functions)}: {shown}",
            source=source,
        )
    return kept


def _filtered_openai(
    data: Any, source: str, include: Sequence[str], exclude: Sequence[str]
) -> ToolSet:
    entries = data["tools"] if isinstance(data, Mapping) and "tools" in data else data
    if isinstance(entries, list):
        entries = _filtered(entries, source, include, exclude)
        return parse_tools(entries, source=source, rename_invalid=True)
    return parse_tools(data, source=source, rename_invalid=True)  # reports the shape


def _names(entry: Any) -> list[str]:
    """A tool entry's name as written and as an OpenAI function name."""
    if not isinstance(entry, Mapping):
        return []
    function = entry.get("function") if entry.get("type") == "function" else entry
    name = function.get("name") if isinstance(function, Mapping) else None
    return [name, function_name(name)] if isinstance(name, str) else []

"""The data-flow graph of a tool set: which result field can feed which parameter.

An *edge* says that a field of one tool's result (``search_flights`` ->
``results[].flight_id``) is a plausible value for a parameter of another tool
(``book_flight.flight_id``). ``multi_step`` chains calls only along edges, and its
check rejects a chain link that is not one.

Edges come from what the tools say about themselves:

* **declared output schemas** (``ToolSpec.output_schema``): every scalar field of
  the result, with its name, type, format and description;
* **what the tool's kind implies** where it declares none: the shape the offline
  teacher gives its result (``results.inferred_schema``): ``get_customer`` yields
  a customer (``customer_id``, ``email``, ``city``, ...), ``search_flights`` a list
  of flights (``flights[].flight_id``), ``create_order`` the new ``order_id``.

A field feeds a parameter when the two name the same thing, in this order of
confidence: the id of the same entity (``id`` of a customer, or ``customer_id``,
into ``customer_id``); the same identifying name (``flight_id``, ``city``,
``country_code``); the same identifying format (``email`` into ``to``, both
``format: email``). The types must fit, the parameter must be a top-level
string, integer or number that is not an enum (a value to pass on, not a
choice), and a parameter's description naming the earlier tool ("as returned by
search_flights") adds confidence. A field that echoes one of its own tool's
parameters is no edge: ``get_customer(email)`` returning that ``email``, or
``schedule_meeting(attendees)`` its ``attendees[].email``, gives the user's own
words back, and a chain must pass on a value the user never stated.

Inference looks at two tools at a time, so the graph of a subset of a tool set
is the full graph restricted to that subset. ``callforge tools graph`` writes
the graph as JSON (``graph_json``) for a user to edit and pass back with
``generate --graph`` (``load_graph``); a tool set carrying such a graph
(``ToolSet.dataflow``) uses it instead of the inferred one (``graph_of``).

Field paths use ``[]`` for "an item of this list" (``results[].flight_id``); a
plan puts the value at a concrete path (``results.0.flight_id``, see
``PlannedStep.must_return``).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from callforge.generator.errors import InputError, UnsupportedSchemaError
from callforge.generator.results import inferred_schema
from callforge.generator.schema import SchemaDocument, resolved_properties, schema_types
from callforge.generator.tool_kinds import singular, tool_kind
from callforge.generator.tools import ToolSet, ToolSpec

GRAPH_VERSION = 1
_MAX_DEPTH = 4
_LIST_ITEM = "[]"

_GENERIC_CONTAINERS = frozenset(
    {"results", "result", "items", "data", "records", "entries", "hits", "list", "rows"}
)
# Names that identify a thing, so two fields of the same name carry the same value.
_IDENTIFYING = re.compile(
    r"(^|_)(id|code|sku|number|ref|key|email|url|uri|iata|currency|city|country|phone|airport)$",
    re.I,
)
_MONEY = re.compile(r"(^|_)(price|total|amount|cost|fare|fee)$", re.I)
_AMOUNT_PARAMETER = re.compile(r"(^|_)amount$", re.I)
_FROM_PARAMETER = re.compile(r"^(from|source|base)_(?P<what>.+)$", re.I)
_ID_PARAMETER = re.compile(r"^(?P<entity>[a-z0-9_]+?)_?(id|Id|ID)$")
_IDENTIFYING_FORMATS = frozenset({"email", "uri", "url", "uuid", "phone", "hostname", "ipv4"})
_CHAINABLE_TYPES = frozenset({"string", "integer", "number"})
_TYPES_FED = {"string": {"string"}, "integer": {"integer", "number"}, "number": {"number"}}

# Scores: how sure the naming is. A user's edited graph may use any score.
SAME_ENTITY_ID = 0.9
SAME_NAME = 0.8
SAME_NAME_ATTRIBUTE = 0.6
SAME_FORMAT = 0.6
NAMED_IN_DESCRIPTION = 0.1


@dataclass(frozen=True)
class Edge:
    """A field of ``from_tool``'s result that can feed ``to_tool``'s ``parameter``."""

    from_tool: str
    field: str
    to_tool: str
    parameter: str
    score: float = 1.0
    evidence: str = ""

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.from_tool, self.field, self.to_tool, self.parameter)

    def result_path(self, index: int = 0) -> str:
        """The concrete dotted path of the field: list items at ``index``."""
        return self.field.replace(_LIST_ITEM, f".{index}")

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.from_tool,
            "field": self.field,
            "to": self.to_tool,
            "parameter": self.parameter,
            "score": self.score,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class DataFlowGraph:
    """The edges of one tool set, strongest first."""

    edges: tuple[Edge, ...]

    @cached_property
    def _keys(self) -> frozenset[tuple[str, str, str, str]]:
        return frozenset(edge.key for edge in self.edges)

    @cached_property
    def _into(self) -> dict[str, tuple[Edge, ...]]:
        into: dict[str, list[Edge]] = {}
        for edge in self.edges:
            into.setdefault(edge.to_tool, []).append(edge)
        return {name: tuple(edges) for name, edges in into.items()}

    def edges_into(self, tool: str) -> tuple[Edge, ...]:
        return self._into.get(tool, ())

    def has(self, from_tool: str, field: str, to_tool: str, parameter: str) -> bool:
        return (from_tool, field, to_tool, parameter) in self._keys


def field_of_path(path: str) -> str:
    """A concrete result path as a graph field: ``results.0.id`` -> ``results[].id``."""
    return re.sub(r"\.\d+(?=\.|$)", _LIST_ITEM, path)


# -- inference -----------------------------------------------------------------


@dataclass(frozen=True)
class OutputField:
    """One scalar field a tool's result holds."""

    path: str
    name: str
    schema: Mapping[str, Any]
    entity: str
    """What the record holding the field describes (``customer`` for ``get_customer``'s ``id``)."""
    notes: str = ""
    """The descriptions of the field and of the lists and objects holding it."""

    @property
    def entity_id(self) -> str | None:
        """The entity this field identifies: ``id`` of a customer or ``customer_id``."""
        if self.name.lower() == "id":
            return self.entity
        match = _ID_PARAMETER.match(self.name)
        return singular(match.group("entity")) if match else None


def infer_graph(tools: ToolSet) -> DataFlowGraph:
    """The edges that output schemas and naming support, strongest first.

    Every (source, target) pair is a candidate, but only the fields an index of the
    sources' fields offers a parameter are scored (``_FieldIndex``): linear in the
    tools, not quadratic, with the same edges in the same order as scoring every pair.
    """
    sources = [_Source(tool) for tool in tools]
    index = _FieldIndex(sources)
    found: list[tuple[float, int, int, int, Edge]] = []
    for target_at, target in enumerate(tools):
        for parameter_at, (parameter, schema) in enumerate(chainable_parameters(target).items()):
            wanted = _parameter_entity(parameter, target)
            by_source: dict[int, set[int]] = {}
            for source_at, field_at in index.candidates(parameter, schema, wanted):
                if source_at != target_at:
                    by_source.setdefault(source_at, set()).add(field_at)
            for source_at, field_ats in by_source.items():
                edge = sources[source_at].edge_into(target, parameter, schema, sorted(field_ats))
                if edge is not None:
                    found.append((-edge.score, source_at, target_at, parameter_at, edge))
    found.sort(key=lambda entry: entry[:4])
    return DataFlowGraph(tuple(entry[4] for entry in found))


def graph_of(tools: ToolSet) -> DataFlowGraph:
    """The graph a tool set chains along: the user's (``ToolSet.dataflow``) or the inferred one."""
    given = tools.dataflow
    if isinstance(given, DataFlowGraph):
        return given
    key = tools.content_hash
    graph = _inferred.get(key)
    if graph is None:
        if len(_inferred) >= 256:
            _inferred.pop(next(iter(_inferred)))
        graph = _inferred[key] = infer_graph(tools)
    return graph


_inferred: dict[str, DataFlowGraph] = {}


def chainable_parameters(tool: ToolSpec) -> dict[str, dict[str, Any]]:
    """Top-level parameters a passed-on value can fill: strings, integers, numbers, no enums.

    Read through ``$ref`` and ``allOf``.
    """
    return {
        name: schema
        for name, schema in resolved_properties(tool.parameters, tool=tool.name).items()
        if _scalar_type(schema) in _CHAINABLE_TYPES and not {"enum", "const"} & set(schema)
    }


def output_fields(tool: ToolSpec) -> tuple[OutputField, ...]:
    """The scalar fields of a tool's result: declared, or else the shape the offline
    teacher gives it (``results.inferred_schema``, from the tool's kind and entity).

    Worked out once per tool definition (plans ask for it every time they chain).
    """
    key = (tool.name, tool.content_hash)
    fields = _fields.get(key)
    if fields is None:
        schema = tool.output_schema or inferred_schema(tool)
        doc = SchemaDocument(schema, tool=tool.name)
        fields = tuple(_schema_fields(doc, schema, "", tool_kind(tool).entity, 0))
        if len(_fields) >= 1024:
            _fields.pop(next(iter(_fields)))
        _fields[key] = fields
    return fields


_fields: dict[tuple[str, str], tuple[OutputField, ...]] = {}


def flags_for(tool: ToolSpec, field: str) -> list[str]:
    """Boolean parameters the result needs set to hold ``field``.

    ``get_customer``'s ``recent_orders`` is "Present when include_orders is true":
    a chain reading ``recent_orders[].order_id`` calls it with ``include_orders``.
    """
    found = next((f for f in output_fields(tool) if f.path == field), None)
    if found is None or not found.notes:
        return []
    properties = resolved_properties(tool.parameters, tool=tool.name)
    return [
        name
        for name, schema in properties.items()
        if _scalar_type(schema) == "boolean" and re.search(rf"\b{re.escape(name)}\b", found.notes)
    ]


def _scalar_type(schema: Mapping[str, Any]) -> str | None:
    types = [t for t in schema_types(schema) or () if t != "null"]
    return types[0] if len(types) == 1 else None


def _schema_fields(
    doc: SchemaDocument, schema: Any, path: str, entity: str, depth: int, notes: str = ""
) -> Iterator[OutputField]:
    """The scalar fields under ``path``; ``entity`` is what the record holding them describes
    (a property ``customer`` holds a customer, a generic ``results`` keeps the tool's)."""
    try:
        resolved, _ = doc.resolve(schema, path=path or "output")
    except UnsupportedSchemaError:
        return
    kind = _scalar_type(resolved)
    name = path.rsplit(".", 1)[-1].removesuffix(_LIST_ITEM)
    notes = " ".join(filter(None, (notes, str(resolved.get("description") or ""))))
    if kind in _CHAINABLE_TYPES and path:
        yield OutputField(path, name, resolved, entity, notes)
        return
    if depth >= _MAX_DEPTH:
        return
    if path and name.lower() not in _GENERIC_CONTAINERS:
        entity = singular(name.lower())
    if kind == "array" and path:
        items = resolved.get("items", True)
        yield from _schema_fields(doc, items, path + _LIST_ITEM, entity, depth + 1, notes)
    elif kind == "object" or "properties" in resolved:
        for key, sub in (resolved.get("properties") or {}).items():
            inner = f"{path}.{key}" if path else key
            yield from _schema_fields(doc, sub, inner, entity, depth + 1, notes)


class _Source:
    """What a tool offers as a source, worked out once: its fields, the names that would
    echo its own arguments, and its money fields."""

    def __init__(self, tool: ToolSpec) -> None:
        self.tool = tool
        self.fields = output_fields(tool)
        self.priced = _priced(self.fields)
        echoes = _echoed_names(tool)
        self.passed_on = [at for at, f in enumerate(self.fields) if not _echoes(f, echoes)]
        """The fields that do not give the tool's own arguments back."""

    def edge_into(
        self, target: ToolSpec, parameter: str, schema: Mapping[str, Any], field_ats: list[int]
    ) -> Edge | None:
        """The edge from the best of the fields at ``field_ats`` (in field order, the first
        of equal scores) into ``target``'s ``parameter``, if any matches."""
        best: tuple[float, OutputField, str] | None = None
        for at in field_ats:
            output = self.fields[at]
            match = _match(output, parameter, schema, target, self.priced)
            if match and (best is None or match[0] > best[0]):
                best = (match[0], output, match[1])
        if best is None:
            return None
        score, output, evidence = best
        name = self.tool.name
        if name in str(schema.get("description", "")):
            score = min(1.0, score + NAMED_IN_DESCRIPTION)
            evidence += f"; its description names {name}"
        return Edge(name, output.path, target.name, parameter, round(score, 2), evidence)


_Candidate = tuple[int, int]
"""A field as (index of its tool, index of the field in ``output_fields``)."""


class _FieldIndex:
    """The passed-on fields of all sources by what ``_match`` compares, so a parameter is
    scored only against the fields that could match it.

    Each of ``_match``'s ways to match needs one of: the entity the field identifies
    (same entity id), its lower-cased name (same name, ``country``/``country_code``,
    ``from_currency``/``currency``), being priced (an ``amount``), or its identifying
    format; ``candidates`` looks up exactly the keys a parameter could meet.
    """

    def __init__(self, sources: list[_Source]) -> None:
        self.by_entity: dict[str, list[_Candidate]] = {}
        self.by_name: dict[str, list[_Candidate]] = {}
        self.by_format: dict[str, list[_Candidate]] = {}
        self.priced: list[_Candidate] = []
        for source_at, source in enumerate(sources):
            for at in source.passed_on:
                output, candidate = source.fields[at], (source_at, at)
                if output.entity_id:
                    self.by_entity.setdefault(output.entity_id, []).append(candidate)
                self.by_name.setdefault(output.name.lower(), []).append(candidate)
                if output.path in source.priced:
                    self.priced.append(candidate)
                field_format = output.schema.get("format")
                if isinstance(field_format, str) and field_format in _IDENTIFYING_FORMATS:
                    self.by_format.setdefault(field_format, []).append(candidate)

    def candidates(
        self, parameter: str, schema: Mapping[str, Any], wanted: str | None
    ) -> Iterator[_Candidate]:
        """The fields ``_match`` could match with ``parameter`` (possibly twice), others never."""
        name = parameter.lower()
        if wanted:
            yield from self.by_entity.get(wanted, ())
        if _IDENTIFYING.search(parameter):
            yield from self.by_name.get(name, ())
        yield from self.by_name.get(name + "_code", ())
        if name.endswith("_code"):
            yield from self.by_name.get(name.removesuffix("_code"), ())
        source = _FROM_PARAMETER.match(parameter)
        if source:
            yield from self.by_name.get(source["what"].lower(), ())
        if _AMOUNT_PARAMETER.search(parameter):
            yield from self.priced
        parameter_format = schema.get("format")
        if isinstance(parameter_format, str) and parameter_format in _IDENTIFYING_FORMATS:
            yield from self.by_format.get(parameter_format, ())


def _echoes(output: OutputField, echoed: set[str]) -> bool:
    """The field gives an argument back: it, or a list or object holding it, is named like
    a parameter (``attendees[].email`` of a call given ``attendees``)."""
    parts = {part.removesuffix(_LIST_ITEM).lower() for part in output.path.split(".")}
    return bool(parts & echoed) or (output.entity_id or "") in echoed


def _echoed_names(tool: ToolSpec) -> set[str]:
    """Field names that would give a tool's own arguments back: its parameters' names,
    and the entity a ``customer_id`` parameter names."""
    names = set()
    for parameter in tool.parameters.get("properties") or {}:
        names.add(parameter.lower())
        match = _ID_PARAMETER.match(parameter)
        if match:
            names.add(singular(match.group("entity")))
    return names


def _priced(fields: tuple[OutputField, ...]) -> set[str]:
    """Money a chain can pass on as an amount: a number named like a price (``price``,
    ``total_price``, ``refund_amount``) next to a ``currency``, unless its record holds a
    list (a total over items is the result's own arithmetic, not a value to set)."""
    records: dict[str, set[str]] = {}
    for field in fields:
        record, _, name = field.path.rpartition(".")
        records.setdefault(record, set()).add(name.lower())
    listing = {f.path.rpartition(".")[0].rpartition(_LIST_ITEM)[0] for f in fields}
    return {
        field.path
        for field in fields
        if _scalar_type(field.schema) in ("number", "integer")
        and _MONEY.search(field.name)
        and "currency" in records[field.path.rpartition(".")[0]]
        and not any(
            path.startswith(_record_prefix(field.path)) and path != field.path.rpartition(".")[0]
            for path in listing
        )
    }


def _record_prefix(path: str) -> str:
    record = path.rpartition(".")[0]
    return f"{record}." if record else ""


def _match(
    output: OutputField,
    parameter: str,
    schema: Mapping[str, Any],
    target: ToolSpec,
    priced: frozenset[str] | set[str] = frozenset(),
) -> tuple[float, str] | None:
    field_type, parameter_type = _scalar_type(output.schema), _scalar_type(schema)
    if field_type is None or parameter_type not in _TYPES_FED.get(field_type, ()):
        return None
    wanted = _parameter_entity(parameter, target)
    if wanted and output.entity_id == wanted:
        return SAME_ENTITY_ID, f"both identify the {wanted}"
    if output.name.lower() == parameter.lower() and _IDENTIFYING.search(parameter):
        return SAME_NAME, f"both are named '{parameter}'"
    if _same_code(output.name, parameter) and _IDENTIFYING.search(output.name):
        return SAME_NAME_ATTRIBUTE, f"'{output.name}' is given as '{parameter}'"
    record = output.path.rpartition(".")[0]
    source = _FROM_PARAMETER.match(parameter)
    if (
        source
        and source["what"].lower() == output.name.lower()
        and any(path.rpartition(".")[0] == record for path in priced)
    ):
        return SAME_NAME_ATTRIBUTE, f"the {output.name} of a price, to convert from"
    if output.path in priced and _AMOUNT_PARAMETER.search(parameter):
        return SAME_NAME_ATTRIBUTE, f"'{output.name}' is an amount of money, with its currency"
    field_format, parameter_format = output.schema.get("format"), schema.get("format")
    if field_format and field_format == parameter_format and field_format in _IDENTIFYING_FORMATS:
        return SAME_FORMAT, f"both have format '{field_format}'"
    return None


def _same_code(field: str, parameter: str) -> bool:
    """``country`` and ``country_code`` name one thing (``currency``, ``currency_code``)."""
    one, other = field.lower(), parameter.lower()
    return one + "_code" == other or other + "_code" == one


def _parameter_entity(parameter: str, tool: ToolSpec) -> str | None:
    if parameter.lower() == "id":
        return tool_kind(tool).entity
    match = _ID_PARAMETER.match(parameter)
    return singular(match.group("entity")) if match else None


# -- the editable file ---------------------------------------------------------


def graph_json(graph: DataFlowGraph, tools: ToolSet) -> dict[str, Any]:
    """The graph as the JSON ``callforge tools graph --out`` writes and ``load_graph`` reads."""
    return {
        "version": GRAPH_VERSION,
        "tools": tools.source,
        "edges": [edge.as_json() for edge in graph.edges],
    }


def write_graph(graph: DataFlowGraph, tools: ToolSet, path: Path) -> None:
    """Write the graph file ``load_graph`` reads back (indented JSON, for editing by hand)."""
    text = json.dumps(graph_json(graph, tools), indent=2, ensure_ascii=False) + "\n"
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write the graph file: {exc.strerror}", source=str(path)) from None


def load_graph(path: Path, tools: ToolSet) -> DataFlowGraph:
    """Read a graph file a user may have edited; every problem is one ``InputError``."""
    source = str(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the graph file: {exc.strerror}", source=source) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not a JSON graph file: {exc}", source=source) from None
    return parse_graph(data, tools, source=source)


def parse_graph(data: Any, tools: ToolSet, *, source: str = "<graph>") -> DataFlowGraph:
    entries = data.get("edges") if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        raise InputError('expected an object {"edges": [...]}', source=source)
    edges = [_parse_edge(entry, index, tools, source) for index, entry in enumerate(entries)]
    edges = list({edge.key: edge for edge in edges}.values())
    edges.sort(key=lambda e: -e.score)
    return DataFlowGraph(tuple(edges))


_EDGE_KEYS = ("from", "field", "to", "parameter")


def _parse_edge(entry: Any, index: int, tools: ToolSet, source: str) -> Edge:
    where = f"edge #{index + 1}"
    if not isinstance(entry, Mapping) or not all(
        isinstance(entry.get(key), str) and entry[key] for key in _EDGE_KEYS
    ):
        raise InputError(
            f'{where} needs string "from", "field", "to" and "parameter"', source=source
        )
    from_tool, field, to_tool, parameter = (entry[key] for key in _EDGE_KEYS)
    for name in (from_tool, to_tool):
        if name not in tools:
            raise InputError(f"{where}: unknown tool '{name}'", source=source)
    if from_tool == to_tool:
        raise InputError(f"{where}: a tool cannot feed itself ('{from_tool}')", source=source)
    if parameter not in chainable_parameters(tools[to_tool]):
        raise InputError(
            f"{where}: '{parameter}' is not a string, integer or number parameter of "
            f"'{to_tool}' that takes a passed-on value",
            source=source,
        )
    if not re.fullmatch(r"[^.\[\]]+(\[\])?(\.[^.\[\]]+(\[\])?)*", field) or field.endswith(
        _LIST_ITEM
    ):
        raise InputError(
            f"{where}: bad field path '{field}' (e.g. results[].flight_id)", source=source
        )
    declared = tools[from_tool].output_schema is not None
    if declared and field not in {f.path for f in output_fields(tools[from_tool])}:
        raise InputError(
            f"{where}: '{from_tool}' declares no scalar result field '{field}'", source=source
        )
    score = entry.get("score", 1.0)
    if not isinstance(score, int | float) or isinstance(score, bool):
        raise InputError(f"{where}: score must be a number", source=source)
    evidence = entry.get("evidence", "")
    return Edge(from_tool, field, to_tool, parameter, float(score), str(evidence))


PROPOSED = 0.5
"""The score of an edge the LLM teacher proposed (``generate --propose-links``)."""


def with_proposed_links(
    tools: ToolSet, proposals: list[Mapping[str, Any]]
) -> tuple[ToolSet, list[Edge]]:
    """``tools`` chaining along its graph plus the teacher's proposals that hold up.

    A proposal is kept when it would be a valid line of a graph file (known tools,
    a parameter that takes a passed-on value, a field the declared schema has) and
    its field does not echo the first tool's own arguments; it never replaces an
    edge the graph has for the same tools and parameter. Returns the new tool set
    and the edges it added.
    """
    graph = graph_of(tools)
    taken = {(e.from_tool, e.to_tool, e.parameter) for e in graph.edges}
    added: list[Edge] = []
    for index, proposal in enumerate(proposals):
        entry = {
            "from": proposal.get("from_tool"),
            "field": proposal.get("field"),
            "to": proposal.get("to_tool"),
            "parameter": proposal.get("parameter"),
            "score": PROPOSED,
            "evidence": f"proposed by the teacher: {proposal.get('reason') or 'no reason'}",
        }
        try:
            edge = _parse_edge(entry, index, tools, "<proposal>")
        except InputError:
            continue
        name = field_of_path(edge.field).rsplit(".", 1)[-1]
        field = OutputField(edge.field, name, {}, "")
        triple = (edge.from_tool, edge.to_tool, edge.parameter)
        if triple in taken or _echoes(field, _echoed_names(tools[edge.from_tool])):
            continue
        taken.add(triple)
        added.append(edge)
    return with_graph(tools, DataFlowGraph((*graph.edges, *added))), added


def with_graph(tools: ToolSet, graph: DataFlowGraph) -> ToolSet:
    """``tools`` chaining along ``graph`` instead of the inferred graph."""
    return dataclasses.replace(tools, dataflow=graph)

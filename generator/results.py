"""What a successful tool call returns: data shaped like the tool's result, tied to the call.

A model learns from tool results what answers are made of, so a result must
carry the data the call was for: a lookup returns the record, a search a list of
records that match its filters, a conversion the converted amount and the rate,
a forecast one entry per day asked for, a create/send/schedule/book the new thing
with its new id. A result of an invented id, a status and the echoed arguments
teaches a model to answer with ids.

``successful_result`` works in three steps:

1. **shape**: the tool's declared result schema (``ToolSpec.output_schema``), or
   where it has none a schema inferred from what the tool does
   (``inferred_schema``, from ``tool_kinds``);
2. **seed**: realistic values for that schema from the project's own seeding
   (``seed_arguments``: names, places, ids, money), so every value fits it;
3. **tie**: the values made to agree with the call and with each other: a field
   named like an argument holds the argument's value (a lookup by email returns
   that email, a search's records match its filters), a forecast has ``days``
   entries from today on, an arrival follows its departure, a total adds up its
   items, a conversion's amount is the amount times the rate, timestamps of what
   the call did are "today" and records found are older. A tie that would break
   the schema is not made.

The plan's ``must_return`` values are then placed at their dotted paths
(``"flights.0.flight_id"``) so a later call can use them.
"""

from __future__ import annotations

import ast
import copy
import itertools
import math
import random
import re
import statistics
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from faker import Faker

from callforge.generator.errors import UnsupportedSchemaError
from callforge.generator.schema import (
    SchemaDocument,
    instance_is_valid,
    resolved_properties,
    schema_types,
    validate_instance,
)
from callforge.generator.seeding import REFERENCE_TODAY, seed_arguments
from callforge.generator.seeding.places import flight_minutes, place_named, typical_temperature
from callforge.generator.tool_kinds import (
    ToolKind,
    Verb,
    identifies_record,
    name_words,
    tool_kind,
)
from callforge.generator.tools import ToolSpec

Json = Any
_ANY: dict[str, Any] = {}  # the schema of a value nothing is declared about (shared, never changed)

# -- inferred shapes -----------------------------------------------------------------

_STRING: dict[str, Any] = {"type": "string"}
_MONEY: dict[str, Any] = {"type": "number", "minimum": 1, "maximum": 2000}
_CURRENCY: dict[str, Any] = {"type": "string", "pattern": "^[A-Z]{3}$"}
_COUNTRY: dict[str, Any] = {"type": "string", "pattern": "^[A-Z]{2}$"}
_INSTANT: dict[str, Any] = {"type": "string", "format": "date-time"}
_DAY: dict[str, Any] = {"type": "string", "format": "date"}
_RATING: dict[str, Any] = {"type": "number", "minimum": 1, "maximum": 5}


def _int(low: int, high: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high}


def _enum(*values: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


def _nouns(words: str) -> frozenset[str]:
    return frozenset(words.split())


# The fields a record of each kind of entity has, by the entity's noun.
_ENTITY_FIELDS: list[tuple[frozenset[str], dict[str, dict[str, Any]]]] = [
    (
        _nouns(
            "customer user person employee contact account member patient student client "
            "profile owner author guest passenger driver"
        ),
        {
            "name": _STRING,
            "email": {"type": "string", "format": "email"},
            "phone": _STRING,
            "city": _STRING,
            "country": _COUNTRY,
            "member_since": _DAY,
        },
    ),
    (
        _nouns("order purchase invoice transaction payment refund shipment"),
        {
            "status": _enum("pending", "shipped", "delivered"),
            "total": _MONEY,
            "currency": _CURRENCY,
            "item_count": _int(1, 8),
            "placed_at": _INSTANT,
        },
    ),
    (
        _nouns("product item book movie article recipe game song album course"),
        {
            "title": _STRING,
            "price": _MONEY,
            "currency": _CURRENCY,
            "rating": _RATING,
            "in_stock": {"type": "boolean"},
        },
    ),
    (
        _nouns("flight"),
        {
            "airline": _STRING,
            "flight_number": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{3,4}$"},
            "departure_time": _INSTANT,
            "arrival_time": _INSTANT,
            "price": _MONEY,
            "currency": _CURRENCY,
        },
    ),
    (
        _nouns("hotel restaurant place venue property room listing apartment"),
        {
            "name": _STRING,
            "address": _STRING,
            "city": _STRING,
            "rating": _RATING,
            "price_per_night": _MONEY,
            "currency": _CURRENCY,
        },
    ),
    (
        _nouns("weather temperature condition conditions climate"),
        {
            "temperature": {"type": "number", "minimum": -10, "maximum": 35},
            "condition": _enum("sunny", "cloudy", "light rain", "rain"),
            "humidity": _int(20, 95),
            "wind_speed": {"type": "number", "minimum": 0, "maximum": 60},
        },
    ),
    (
        _nouns("file document directory folder attachment image photo"),
        {"path": _STRING, "size_bytes": _int(200, 5_000_000), "modified_at": _INSTANT},
    ),
    (
        _nouns("event meeting appointment reservation booking"),
        {"title": _STRING, "start_time": _INSTANT, "end_time": _INSTANT, "location": _STRING},
    ),
    (
        _nouns("stock quote share ticker"),
        {
            "symbol": {"type": "string", "pattern": "^[A-Z]{2,5}$"},
            "price": _MONEY,
            "currency": _CURRENCY,
            "change_percent": {"type": "number", "minimum": -8, "maximum": 8},
        },
    ),
]
_DEFAULT_FIELDS: dict[str, dict[str, Any]] = {
    "title": _STRING,
    "description": _STRING,
    "created_at": _INSTANT,
}
_DONE_STATUS = {
    Verb.CREATE: "created",
    Verb.SEND: "sent",
    Verb.SCHEDULE: "scheduled",
    Verb.BOOK: "confirmed",
    Verb.UPDATE: "updated",
}
# What the new thing is called where its entity's own id is an argument (book a *flight*).
_NEW_IDS = {Verb.BOOK: "booking_id", Verb.SEND: "message_id"}
_WEATHER = re.compile(r"weather|temperature|rain|snow|wind|climate", re.I)
_CONDITIONS = ["sunny", "partly cloudy", "cloudy", "light rain", "rain", "thunderstorms", "fog"]


def inferred_schema(tool: ToolSpec, kind: ToolKind | None = None) -> dict[str, Any]:
    """The result schema of a tool that declares none, from what it does.

    A lookup returns the record (its entity's fields plus the fields asked by);
    a search a list of such records; a conversion the converted amount and the
    rate; a computation the computed value; a forecast one entry per day; a
    create/send/schedule/book the new thing with its id, status and timestamp; a
    cancellation the thing and its new state.
    """
    kind = kind or tool_kind(tool)
    entity = kind.entity
    asked = _scalar_parameters(tool)
    record_id = f"{entity}_id"
    verb = kind.verb
    if verb is Verb.LOOKUP:
        return _record_schema(tool, kind)
    if verb is Verb.SEARCH:
        items = _record_schema(tool, kind)
        listing = {"type": "array", "minItems": 1, "maxItems": 4, "items": items}
        key = _plural(entity)
        return _object({key: listing, "total_count": _int(1, 40)}, [key, "total_count"])
    if verb is Verb.CONVERT:
        amount = next((n for n, s in asked.items() if s.get("type") == "number"), "amount")
        converted = f"converted_{amount}"
        rate = {"type": "number", "minimum": 0.01, "maximum": 200}
        fields = {**asked, "rate": rate, converted: {"type": "number"}, "rate_time": _INSTANT}
        return _object(fields, [*asked, "rate", converted])
    if verb is Verb.COMPUTE:
        key = entity if entity not in ("item", "result") else "value"
        return _object({key: {"type": "number"}, **_units(asked)}, [key])
    if verb is Verb.FORECAST:
        return _forecast_schema(tool, asked)
    if verb in _DONE_STATUS:
        new_id = _NEW_IDS.get(verb, record_id)
        if new_id in asked:
            new_id = f"new_{new_id}"
        stamp = f"{_DONE_STATUS[verb]}_at"
        made = {
            new_id: _STRING,
            "status": {"const": _DONE_STATUS[verb]},
            **_made_extras(verb, entity),
        }
        return _object({**made, **asked, stamp: _INSTANT}, [*made, stamp])
    if verb is Verb.CANCEL:
        fields = {
            record_id: _STRING,
            **asked,
            "status": {"const": "cancelled"},
            "previous_status": _enum("active", "pending", "confirmed"),
            "cancelled_at": _INSTANT,
        }
        return _object(fields, [k for k in fields if k not in asked])
    return _object({"status": {"const": "completed"}, **asked}, ["status"])


def _record_schema(tool: ToolSpec, kind: ToolKind) -> dict[str, Any]:
    """A record of the tool's entity: its id, the fields such an entity has, the fields asked by."""
    record_id = f"{kind.entity}_id"
    fields = _entity_fields(kind.entity)
    asked = {n: s for n, s in _scalar_parameters(tool).items() if n not in _SEARCH_WORDS}
    record = {record_id: _STRING, **fields, **asked}
    return _object(record, [record_id, *fields])


# What a search is asked with, not a field of what it finds.
_SEARCH_WORDS = frozenset(
    ["query", "q", "keyword", "keywords", "search", "term", "terms", "text", "prompt"]
)


def _forecast_schema(tool: ToolSpec, asked: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if _WEATHER.search(f"{tool.name} {tool.description}"):
        day = _object(
            {
                "date": _DAY,
                "condition": _enum(*_CONDITIONS),
                "high": {"type": "number"},
                "low": {"type": "number"},
                "precipitation_chance": _int(0, 100),
            },
            ["date", "condition", "high", "low", "precipitation_chance"],
        )
    else:
        day = _object(
            {"date": _DAY, "predicted": {"type": "number", "minimum": 0, "maximum": 10000}},
            ["date", "predicted"],
        )
    days = {"type": "array", "minItems": 1, "maxItems": 14, "items": day}
    fields = {**{n: s for n, s in asked.items() if n != "days"}, "days": days}
    return _object(fields, list(fields))


def _units(asked: Mapping[str, Any]) -> dict[str, Any]:
    return {name: schema for name, schema in asked.items() if "unit" in name}


# What is booked without a price: a meeting room is not paid for in CAD.
_FREE_BOOKINGS = _nouns("meeting appointment call slot room interview demo consultation")


def _made_extras(verb: Verb, entity: str = "") -> dict[str, dict[str, Any]]:
    if verb is Verb.BOOK and entity in _FREE_BOOKINGS:
        return {"confirmation_code": {"type": "string", "pattern": "^[A-Z0-9]{6}$"}}
    if verb is Verb.BOOK:
        code = {"type": "string", "pattern": "^[A-Z0-9]{6}$"}
        return {"confirmation_code": code, "total_price": _MONEY, "currency": _CURRENCY}
    return {}


def _object(properties: Mapping[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": dict(properties),
        "required": list(dict.fromkeys(n for n in required if n in properties)),
    }


def _entity_fields(entity: str) -> dict[str, dict[str, Any]]:
    return next((f for nouns, f in _ENTITY_FIELDS if entity in nouns), _DEFAULT_FIELDS)


def _scalar_parameters(tool: ToolSpec) -> dict[str, dict[str, Any]]:
    """The tool's top-level scalar parameters: a record found or made holds them."""
    try:
        properties = resolved_properties(tool.parameters, tool=tool.name)
    except UnsupportedSchemaError:
        return {}
    scalar = ("string", "integer", "number", "boolean")
    return {
        name: schema
        for name, schema in properties.items()
        if (schema_types(schema) or ("object",))[0] in scalar and not _is_flag(name, schema)
    }


def _is_flag(name: str, schema: Mapping[str, Any]) -> bool:
    """Request options (``include_orders``, ``limit``) are no part of what comes back."""
    return schema.get("type") == "boolean" or name in (*_LIMITS, "offset", "page")


def _plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + ("es" if re.search(r"(s|x|ch|sh)$", noun) else "s")


# -- the result ----------------------------------------------------------------------


class _ReadSchema:
    """One result schema, its subschemas resolved once (``$ref``, ``allOf``) and reused.

    Keyed by identity: the subschemas are the schema's own objects, kept alive by
    the cache, so an id is never reused while its entry exists.
    """

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.doc = SchemaDocument(root)
        self.defs = _defs(root)
        self._resolved: dict[int, tuple[Any, dict[str, Any]]] = {}
        self._checks: dict[int, tuple[Any, dict[str, Any]]] = {}

    def resolve(self, schema: Any) -> dict[str, Any]:
        known = self._resolved.get(id(schema))
        if known is not None and known[0] is schema:
            return known[1]
        try:
            resolved = self.doc.resolve(schema, path="result")[0]
        except UnsupportedSchemaError:
            resolved = {}
        self._resolved[id(schema)] = (schema, resolved)
        return resolved

    def check_schema(self, schema: Any) -> dict[str, Any]:
        """The subschema as a document of its own, to validate one value against."""
        known = self._checks.get(id(schema))
        if known is not None and known[0] is schema:
            return known[1]
        whole = {**self.defs, **self.resolve(schema)}
        self._checks[id(schema)] = (schema, whole)
        return whole


_CACHE_SIZE = 256
_read_schemas: dict[int, tuple[Mapping[str, Any], _ReadSchema]] = {}
_by_tool: dict[int, tuple[ToolSpec, dict[str, Any], dict[str, Any]]] = {}


def _read_schema(root: Mapping[str, Any]) -> _ReadSchema:
    known = _read_schemas.get(id(root))
    if known is None or known[0] is not root:
        if len(_read_schemas) >= _CACHE_SIZE:
            _read_schemas.pop(next(iter(_read_schemas)))
        known = _read_schemas[id(root)] = (root, _ReadSchema(root))
    return known[1]


def _tool_shapes(tool: ToolSpec, kind: ToolKind) -> tuple[dict[str, Any], dict[str, Any]]:
    """The tool's inferred result schema and its parameters' defaults, worked out once."""
    known = _by_tool.get(id(tool))
    if known is None or known[0] is not tool:
        if len(_by_tool) >= _CACHE_SIZE:
            _by_tool.pop(next(iter(_by_tool)))
        known = _by_tool[id(tool)] = (tool, inferred_schema(tool, kind), _parameter_defaults(tool))
    return known[1], known[2]


def successful_result(
    tool: ToolSpec,
    arguments: Mapping[str, Any],
    *,
    rng: random.Random,
    faker: Faker,
    today: date = REFERENCE_TODAY,
    must_return: Mapping[str, Any] | None = None,
    earlier: Sequence[Any] = (),
) -> dict[str, Any]:
    """A realistic result of a successful call of ``tool`` with ``arguments``.

    ``earlier`` holds the results of the example's calls before this one: a record
    one of them returned and this call acts on (the order to cancel, the flight to
    book) keeps its amounts, currency and state here, and what this call does
    happens after what they did.
    """
    kind = tool_kind(tool)
    inferred, defaults = _tool_shapes(tool, kind)
    schema = tool.output_schema or inferred
    try:
        seeded = seed_arguments(schema, rng, faker, optional_rate=1.0, tool=tool.name, today=today)
    except UnsupportedSchemaError:  # a declared schema seeding cannot fill
        schema = inferred
        seeded = seed_arguments(schema, rng, faker, optional_rate=1.0, tool=tool.name, today=today)
    _fill_open_objects(seeded, schema, tool, kind, rng, faker, today)
    result = copy.deepcopy(seeded)
    ties = _Ties(schema, arguments, defaults, kind, today, rng, earlier)
    ties.apply(result)
    if validate_instance(schema, result):  # a tie the schema refuses: keep the seeded values
        result = seeded
    place_values(result, must_return or {})
    ties.after_placing(result, must_return or {})
    return result


def _fill_open_objects(
    result: dict[str, Any],
    schema: Mapping[str, Any],
    tool: ToolSpec,
    kind: ToolKind,
    rng: random.Random,
    faker: Faker,
    today: date,
) -> None:
    """Give the empty objects of a loosely declared result (``list[dict[str, str]]``) data.

    Such a schema lets seeding draw ``[{}]``; each empty object gets the fields a
    record of the tool's entity has (the whole inferred result at the top), turned
    into what its ``additionalProperties`` allows. A fill the schema refuses is undone.
    """
    read = _read_schema(schema)
    for target, resolved, top in _open_objects(result, schema, read, top=True):
        shape = _tool_shapes(tool, kind)[0] if top else _record_schema(tool, kind)
        drawn = seed_arguments(shape, rng, faker, optional_rate=1.0, tool=tool.name, today=today)
        target.update(_as_allowed(drawn, resolved.get("additionalProperties", True)))
        if validate_instance(schema, result):
            target.clear()


def _open_objects(
    value: Any, schema: Any, read: _ReadSchema, *, top: bool = False
) -> Iterator[tuple[dict[str, Any], dict[str, Any], bool]]:
    resolved = read.resolve(schema)
    if isinstance(value, dict):
        extra = resolved.get("additionalProperties", True)
        if not value and not resolved.get("properties") and extra is not False:
            yield value, resolved, top
        properties = resolved.get("properties") or {}
        for key, child in value.items():
            yield from _open_objects(child, properties.get(key, _ANY), read)
    elif isinstance(value, list):
        for item in value:
            yield from _open_objects(item, resolved.get("items", _ANY), read)


def _as_allowed(drawn: dict[str, Any], extra: Any) -> dict[str, Any]:
    """The drawn fields an object's ``additionalProperties`` accepts, strings made where asked."""
    wanted = schema_types(extra) if isinstance(extra, Mapping) else None
    if not wanted:
        return drawn
    out: dict[str, Any] = {}
    for key, value in drawn.items():
        if isinstance(value, dict | list) or value is None:
            continue
        if "string" in wanted and not isinstance(value, str):
            value = str(value).lower() if isinstance(value, bool) else str(value)
        if instance_is_valid(extra, value):
            out[key] = value
    return out


def place_values(result: dict[str, Any], values: Mapping[str, Any]) -> None:
    """Put each value at its dotted path (``"flights.0.flight_id"``), making what is missing.

    A path part that is a number indexes a list (extended with copies of its last
    item, or empty objects); any other part is an object key.
    """
    for path, value in values.items():
        parts = path.split(".")
        node: Any = result
        for part, after in itertools.pairwise(parts):
            node = _child(node, part, list if after.isdigit() else dict)
        _set(node, parts[-1], value)


def value_at(result: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted path of a result (as ``place_values`` reads it), or ``default``.

    ``value_at({"flights": [{"flight_id": "F1"}]}, "flights.0.flight_id") == "F1"``.
    """
    node = result
    for part in path.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return default
    return node


def _child(node: Any, part: str, kind: type) -> Any:
    if isinstance(node, list) and part.isdigit():
        index = int(part)
        while len(node) <= index:
            node.append(copy.deepcopy(node[-1]) if node else kind())
        if not isinstance(node[index], kind):
            node[index] = kind()
        return node[index]
    if not isinstance(node.get(part), kind):
        node[part] = kind()
    return node[part]


def _set(node: Any, part: str, value: Any) -> None:
    if isinstance(node, list) and part.isdigit():
        index = int(part)
        while len(node) <= index:
            node.append(copy.deepcopy(node[-1]) if node else None)
        node[index] = value
    else:
        node[part] = value


# -- ties ----------------------------------------------------------------------------

_PAST = re.compile(
    r"(_at|_on|since|created|placed|sent|updated|modified|cancelled|canceled|issued|joined"
    r"|last_|rate_time|timestamp|birth|dob|ordered|paid|booked|registered)",
    re.I,
)
_RANGE_PAIRS = (
    ("start", "end"),
    ("departure", "arrival"),
    ("check_in", "check_out"),
    ("checkin", "checkout"),
    ("from", "to"),
    ("begin", "finish"),
)
_AIRLINES = [
    "Lufthansa",
    "Air France",
    "KLM",
    "British Airways",
    "Delta Air Lines",
    "United Airlines",
    "Emirates",
    "Qatar Airways",
    "Singapore Airlines",
    "Iberia",
    "Turkish Airlines",
    "Air Canada",
]
# Approximate units per US dollar, enough for a plausible rate between two currencies.
_PER_USD = {
    "USD": 1.0, "EUR": 0.92, "GBP": 0.79, "JPY": 151.0, "CHF": 0.88, "CAD": 1.36,
    "AUD": 1.52, "NZD": 1.65, "CNY": 7.2, "HKD": 7.82, "SGD": 1.34, "INR": 83.0,
    "SEK": 10.5, "NOK": 10.7, "DKK": 6.9, "PLN": 4.0, "CZK": 23.0, "MXN": 17.0,
    "BRL": 5.0, "ZAR": 18.5, "KRW": 1350.0, "TRY": 32.0, "AED": 3.67, "THB": 36.0,
}  # fmt: skip
_GENERIC_FIELDS = frozenset(
    ["id", "name", "type", "value", "date", "time", "title", "description", "kind", "code"]
)
_LIMITS = ("limit", "max_results", "top_k", "top_n", "count", "n", "size", "page_size")
_EVERYDAY_CURRENCIES = ("USD", "USD", "EUR", "EUR", "GBP", "CAD", "AUD", "CHF")
_GOODS = _nouns("product item listing")  # what a shop search finds, named by its maker
_BRANDS = ("Northwind", "Contoso", "Alpine", "Everline", "Harbor & Co", "Kestrel", "Lumen")
_ENTRY_NAMES = ("notes", "report", "drafts", "budget", "readme", "backup", "photos", "archive")
_PLACE = re.compile(r"city|location|place|where", re.I)
_SUMMARIES: dict[str, Callable[[list[float]], float]] = {
    "average": statistics.fmean,
    "mean": statistics.fmean,
    "avg": statistics.fmean,
    "median": statistics.median,
    "sum": math.fsum,
    "total": math.fsum,
    "max": max,
    "maximum": max,
    "min": min,
    "minimum": min,
}


class _Ties:
    """Makes a seeded result agree with its call, its day and itself, within its schema."""

    def __init__(
        self,
        schema: Mapping[str, Any],
        arguments: Mapping[str, Any],
        defaults: Mapping[str, Any],
        kind: ToolKind,
        today: date,
        rng: random.Random,
        earlier: Sequence[Any] = (),
    ) -> None:
        self.read = _read_schema(schema)
        self.earlier = earlier
        self.root = schema
        # What the call asked for: its arguments, and the defaults of the ones left out.
        self.arguments = {
            **{k: v for k, v in defaults.items() if v is not _NO_DEFAULT},
            **arguments,
        }
        self.parameters = set(defaults)
        self.flags = {n for n in self.parameters if n.startswith(("include_", "with_"))}
        self.kind = kind
        self.today = today
        self.rng = rng

    def apply(self, result: dict[str, Any]) -> None:
        for record, schema, depth in self._records(result, self.root, 0):
            self._echo(record, schema)
            self._lists(record, schema)
            self._drop_unasked(record, schema)
            self._times(record, schema, depth)
            self._numbers(record, schema)
            self._fares(record, schema)
            self._names(record, schema)
        self._verb(result)
        self._one_currency(result)
        self._acted_on(result)
        self._after_earlier(result)

    def after_placing(self, result: dict[str, Any], placed: Mapping[str, Any]) -> None:
        """A currency placed for a later call (``flights.0.currency``) is the result's one
        currency: a list of fares is not half in CNY and half in CHF."""
        currency = next((v for p, v in placed.items() if p.rpartition(".")[2] == "currency"), None)
        if not isinstance(currency, str):
            return
        for record, schema, _ in self._records(result, self.root, 0):
            if "currency" in record and record["currency"] != currency:
                self._put(record, schema, "currency", currency)

    # -- what earlier calls returned ----------------------------------------------------

    def _passed_in(self) -> dict[str, Any] | None:
        """The record an earlier result holds under the id this call was given."""
        ids = {
            (n, v) for n, v in self.arguments.items() if isinstance(v, str) and n.endswith("_id")
        }
        for earlier in reversed(self.earlier):
            for record, _, _ in self._records(earlier, _ANY, 0):
                if any(record.get(name) == value for name, value in ids):
                    return record
        return None

    def _acted_on(self, result: dict[str, Any]) -> None:
        """What this call does to a record it was passed keeps that record's figures: an
        order cancelled refunds its total in its currency and was in its status; a flight
        booked costs its fare per seat."""
        record = self._passed_in()
        if record is None:
            return
        schema = self._resolve(self.root)
        money = next(
            (record[k] for k in ("total", "total_price", "price") if _number(record.get(k))), None
        )
        if isinstance(record.get("currency"), str) and "currency" in result:
            self._put(result, schema, "currency", record["currency"])
        if isinstance(record.get("status"), str) and "previous_status" in result:
            self._put(result, schema, "previous_status", record["status"])
        if money is None:
            return
        for key in ("refund_amount", "refund", "amount_refunded"):
            if key in result:
                self._put(result, schema, key, money)
        seats = self.arguments.get("passengers", 1)
        if "total_price" in result and isinstance(seats, int) and "total" not in record:
            self._put(result, schema, "total_price", round(money * max(1, seats), 2))

    def _after_earlier(self, result: dict[str, Any]) -> None:
        """What this call did happened after what the calls before it did today."""
        done = [
            moment
            for earlier in self.earlier
            if isinstance(earlier, dict)
            for key, value in earlier.items()
            if _PAST.search(key)
            and "T" in str(value)
            and (moment := _instant(value)) is not None
            and moment.date() == self.today
        ]
        if not done:
            return
        latest = max(done)
        schema = self._resolve(self.root)
        for key, value in list(result.items()):
            moment = _instant(value) if "T" in str(value) else None
            if _PAST.search(key) and moment is not None and moment.date() == self.today:
                if moment > latest:
                    continue
                later = latest + timedelta(minutes=self.rng.randint(1, 8) * 5)
                self._put(result, schema, key, _instant_text(later))

    # -- walking ---------------------------------------------------------------------

    def _resolve(self, schema: Any) -> dict[str, Any]:
        return self.read.resolve(schema)

    def _records(
        self, value: Any, schema: Any, depth: int
    ) -> Iterator[tuple[dict[str, Any], dict[str, Any], int]]:
        """Every object in the result with its resolved schema, outermost first."""
        resolved = self._resolve(schema)
        if isinstance(value, dict):
            yield value, resolved, depth
            properties = resolved.get("properties") or {}
            for key in list(value):
                yield from self._records(value.get(key), properties.get(key, _ANY), depth + 1)
        elif isinstance(value, list):
            for item in value:
                yield from self._records(item, resolved.get("items", _ANY), depth + 1)

    def _fits(self, schema: Mapping[str, Any], key: str, value: Any) -> bool:
        sub = (schema.get("properties") or {}).get(key)
        if sub is None:  # an open object: what its additionalProperties allows
            sub = schema.get("additionalProperties", True) if "properties" not in schema else None
        if sub is None or sub is False:
            return False
        if sub is True:
            return True
        return instance_is_valid(self.read.check_schema(sub), value)

    def _put(self, record: dict[str, Any], schema: Mapping[str, Any], key: str, value: Any) -> None:
        if self._fits(schema, key, value):
            record[key] = value

    # -- arguments -------------------------------------------------------------------

    def _echo(self, record: dict[str, Any], schema: Mapping[str, Any]) -> None:
        """A field named like a scalar argument holds its value: the record that was asked for.

        "Named like" is the same name, or the argument's name ending in the field's
        (``customer_email`` fills ``email``, ``order_status`` fills ``status``), except
        for names too generic to tell whose they are (``id``, ``name``).
        """
        for key in list(record):
            value = self._argument_for(key)
            if value is not None and not isinstance(value, list | dict):
                self._put(record, schema, key, value)
        for key in list(record):
            date_value = self._argument_date(key)
            current = record[key]
            if date_value and isinstance(current, str) and "T" in current:
                self._put(record, schema, key, f"{date_value}{current[10:]}")

    def _argument_for(self, key: str) -> Any:
        if key in self.arguments:
            return self.arguments[key]
        if key in _GENERIC_FIELDS:
            return None
        return next((v for n, v in self.arguments.items() if n.endswith(f"_{key}")), None)

    def _argument_date(self, key: str) -> str | None:
        """``departure_time`` takes the day of the ``departure_date`` argument."""
        stem = _stem(key)
        for name, value in self.arguments.items():
            if name != key and _stem(name) == stem and stem and _is_day(value):
                return str(value)
        return None

    def _lists(self, record: dict[str, Any], schema: Mapping[str, Any]) -> None:
        """A list field named like a list argument has one entry per argument item."""
        for key, current in list(record.items()):
            given = self.arguments.get(key)
            if not isinstance(given, list) or not isinstance(current, list) or not given:
                continue
            if not current or not all(isinstance(item, dict) for item in current):
                self._put(record, schema, key, copy.deepcopy(given))
                continue
            item_schema = self._item_schema(schema, key)
            items = self._resized(current, len(given), item_schema)
            for item, source in zip(items, given, strict=True):
                if isinstance(source, dict):
                    item.update({k: v for k, v in source.items() if k in item})
                else:
                    first = next((k for k, v in item.items() if isinstance(v, str)), None)
                    if first is not None:
                        item[first] = source
            self._put(record, schema, key, items)

    def _item_schema(self, schema: Mapping[str, Any], key: str) -> dict[str, Any]:
        listed = self._resolve((schema.get("properties") or {}).get(key, _ANY))
        return self._resolve(listed.get("items", _ANY))

    def _resized(self, entries: list[Any], size: int, item_schema: Mapping[str, Any]) -> list[Any]:
        """``size`` entries: the seeded ones, then varied copies of them (not clones)."""
        out = [copy.deepcopy(entries[i % len(entries)]) for i in range(size)]
        for item in out[len(entries) :]:
            if isinstance(item, dict):
                self._vary(item, item_schema)
        return out

    def _vary(self, item: dict[str, Any], schema: Mapping[str, Any]) -> None:
        """A copied record made its own: other choices, nearby numbers, a new id."""
        for key, value in list(item.items()):
            sub = self._resolve((schema.get("properties") or {}).get(key, _ANY))
            if key in self.arguments:
                continue
            if isinstance(sub.get("enum"), list) and sub["enum"]:
                self._put(item, schema, key, self.rng.choice(sub["enum"]))
            elif _number(value):
                varied = value * self.rng.uniform(0.75, 1.3)
                self._put(
                    item, schema, key, round(varied) if isinstance(value, int) else round(varied, 2)
                )
            elif isinstance(value, str) and re.search(r"(^|_)id$", key):
                digits = re.sub(r"\d", lambda _: str(self.rng.randint(0, 9)), value)
                self._put(item, schema, key, digits)

    def _drop_unasked(self, record: dict[str, Any], schema: Mapping[str, Any]) -> None:
        """No room in the result of a meeting booked without one; no orders unless asked for."""
        required = set(schema.get("required") or ())
        for key in list(record):
            if key in required:
                continue
            flag = next((f for f in self.flags if _flag_covers(f, key)), None)
            if flag is not None:
                if self.arguments.get(flag) is not True:
                    del record[key]
            elif key in self.parameters and key not in self.arguments:
                del record[key]  # an option the call left out is not in what comes back

    # -- time ------------------------------------------------------------------------

    def _times(self, record: dict[str, Any], schema: Mapping[str, Any], depth: int) -> None:
        """Dates in step with today: what happened before it, what is planned after it."""
        properties = schema.get("properties") or {}
        days = [
            key
            for key, value in record.items()
            if self._format(properties.get(key)) in ("date", "date-time")
            or (key not in properties and _instant(value) is not None)
        ]
        for key in days:
            if key in self.arguments or self._argument_date(key):
                continue
            value = record[key]
            if not isinstance(value, str):
                continue
            self._put(record, schema, key, self._dated(key, value, depth))
        self._order_pairs(record, schema)

    def _dated(self, key: str, value: str, depth: int) -> str:
        with_time = "T" in value
        clock = value[10:] if with_time else ""
        made_now = depth == 0 and self.kind.verb not in (Verb.LOOKUP, Verb.SEARCH)
        if _PAST.search(key):
            offset = 0 if made_now else -self.rng.randint(1, 400)
            if "since" in key or "birth" in key or "joined" in key:
                offset = -self.rng.randint(200, 3000)
        else:
            offset = self.rng.randint(2, 60)
        day = self.today + timedelta(days=offset)
        return f"{day.isoformat()}{clock}" if with_time else day.isoformat()

    def _order_pairs(self, record: dict[str, Any], schema: Mapping[str, Any]) -> None:
        for first, second in _RANGE_PAIRS:
            start = next((k for k in record if _stem(k) == first), None)
            end = next((k for k in record if _stem(k) == second), None)
            if start is None or end is None:
                continue
            begins, ends = _instant(record[start]), _instant(record[end])
            if begins is None or ends is None:
                continue
            minutes = self._duration_minutes()
            if first == "departure":
                minutes = self._flight_minutes(record) or minutes
                if minutes is None and timedelta(0) < ends - begins <= timedelta(hours=20):
                    continue
            elif minutes is None and timedelta(0) < ends - begins <= timedelta(days=14):
                continue
            span = timedelta(minutes=minutes or self.rng.choice((75, 110, 150, 205, 290)))
            if "T" in str(record[end]):
                self._put(record, schema, end, _instant_text(begins + span))
            else:
                self._put(
                    record, schema, end, (begins + max(span, timedelta(days=1))).date().isoformat()
                )

    def _duration_minutes(self) -> int | None:
        for name, value in self.arguments.items():
            if "duration" in name and isinstance(value, int) and not isinstance(value, bool):
                return value * 60 if "hour" in name else value
        return None

    def _format(self, sub: Any) -> str | None:
        resolved = self._resolve(sub) if sub is not None else {}
        found = resolved.get("format")
        return found if isinstance(found, str) else None

    # -- numbers ---------------------------------------------------------------------

    def _numbers(self, record: dict[str, Any], schema: Mapping[str, Any]) -> None:
        self._temperatures(record, schema)
        self._low_high(record, schema)
        self._totals(record, schema)
        self._conversion(record, schema)
        if "total_count" in record:
            listed = max((len(v) for v in record.values() if isinstance(v, list)), default=0)
            if isinstance(record["total_count"], int) and record["total_count"] < listed:
                self._put(record, schema, "total_count", listed + self.rng.randint(0, 12))

    def _temperatures(self, record: dict[str, Any], schema: Mapping[str, Any]) -> None:
        if not ({"high", "low"} <= record.keys() or "temperature" in record):
            return
        imperial = (
            self.arguments.get("units") == "imperial"
            or "fahrenheit" in str(self.arguments.get("unit", "")).lower()
        )
        base = self._usual_temperature(record) + self.rng.uniform(-3, 3)
        spread = self.rng.uniform(3, 11)
        values = {"high": base + spread / 2, "low": base - spread / 2, "temperature": base}
        for key, celsius in values.items():
            if key in record:
                degrees = celsius * 9 / 5 + 32 if imperial else celsius
                self._put(record, schema, key, round(degrees))

    def _usual_temperature(self, record: Mapping[str, Any]) -> float:
        """What it is usually like in the place asked about, at today's time of year."""
        named = [record.get("city"), *(v for n, v in self.arguments.items() if _PLACE.search(n))]
        place = next((p for v in named if isinstance(v, str) and (p := place_named(v))), None)
        if place is None:
            return self.rng.uniform(5, 24)
        return typical_temperature(place.latitude, self.today)

    def _low_high(self, record: dict[str, Any], schema: Mapping[str, Any]) -> None:
        for low, high in (("low", "high"), ("min", "max"), ("minimum", "maximum")):
            a: Any = record.get(low)
            b: Any = record.get(high)
            if _number(a) and _number(b) and a > b:
                self._put(record, schema, low, b)
                self._put(record, schema, high, a)

    def _totals(self, record: dict[str, Any], schema: Mapping[str, Any]) -> None:
        """A total is the sum of its lines' quantity times unit price."""
        lines = record.get("items")
        if "total" not in record or not isinstance(lines, list) or not lines:
            return
        try:
            total = sum(line["quantity"] * line["unit_price"] for line in lines)
        except (KeyError, TypeError):
            return
        self._put(record, schema, "total", round(total, 2))

    def _conversion(self, record: dict[str, Any], schema: Mapping[str, Any]) -> None:
        """The converted amount is the amount times the rate, at a plausible rate."""
        converted = next((k for k in record if k.startswith("converted")), None)
        if converted is None or "rate" not in record:
            return
        amount = next(
            (v for k, v in self.arguments.items() if _number(v) and k in ("amount", "value")),
            next((v for v in self.arguments.values() if _number(v)), None),
        )
        if amount is None:
            return
        source, target = self._currencies()
        if source in _PER_USD and target in _PER_USD:
            rate = _PER_USD[target] / _PER_USD[source] * self.rng.uniform(0.99, 1.01)
        else:
            rate = self.rng.uniform(0.2, 5)
        rate = round(rate, 4 if rate < 10 else 2)
        self._put(record, schema, "rate", rate)
        self._put(record, schema, converted, round(amount * rate, 2))

    def _currencies(self) -> tuple[str | None, str | None]:
        source = target = None
        for name, value in self.arguments.items():
            if not isinstance(value, str):
                continue
            if name.startswith(("from", "source", "base")):
                source = value.upper()
            elif name.startswith(("to", "target", "quote")):
                target = value.upper()
        return source, target

    # -- words -----------------------------------------------------------------------

    def _fares(self, record: dict[str, Any], schema: Mapping[str, Any]) -> None:
        """A fare is one seat's price; a total for several passengers is several seats'."""
        seats = self.arguments.get("passengers")
        if not isinstance(seats, int) or isinstance(seats, bool) or seats < 1:
            return
        minutes = self._flight_minutes(record)
        low, high = (60, 400) if minutes is None or minutes < 240 else (350, 1400)
        fare = round(self.rng.uniform(low, high), 2)
        for key in ("price", "fare"):
            if _number(record.get(key)):
                self._put(record, schema, key, fare)
        if _number(record.get("total_price")):
            self._put(record, schema, "total_price", round(fare * seats, 2))

    def _flight_minutes(self, record: Mapping[str, Any]) -> int | None:
        origin = record.get("origin", self.arguments.get("origin"))
        destination = record.get("destination", self.arguments.get("destination"))
        if not isinstance(origin, str) or not isinstance(destination, str):
            return None
        stops = record.get("stops", 0)
        return flight_minutes(origin, destination, stops if isinstance(stops, int) else 0)

    def _names(self, record: dict[str, Any], schema: Mapping[str, Any]) -> None:
        if isinstance(record.get("airline"), str):
            self._put(record, schema, "airline", self.rng.choice(_AIRLINES))
        preference = self.arguments.get("seat_preference")
        seat = record.get("seat")
        if isinstance(seat, str) and preference in ("window", "aisle"):
            letters = "AF" if preference == "window" else "CD"
            row = self.rng.randint(3, 38)
            self._put(record, schema, "seat", f"{row}{self.rng.choice(letters)}")
        elif isinstance(seat, str) and re.fullmatch(r"\d+[A-K]", seat):  # a cabin has ~40 rows
            row = self.rng.randint(3, 38)
            self._put(record, schema, "seat", f"{row}{self.rng.choice('ABCDEF')}")

    # -- by verb ---------------------------------------------------------------------

    def _verb(self, result: dict[str, Any]) -> None:
        verb = self.kind.verb
        if verb is Verb.FORECAST:
            self._forecast_days(result)
        elif verb is Verb.COMPUTE:
            self._computed(result)
        elif verb is Verb.SEARCH:
            self._one_per_item_asked(result)
            self._titles_match_query(result)
            self._inside_the_folder(result)
            self._at_most_limit(result)
            self._newest_first(result)

    def _forecast_days(self, result: dict[str, Any]) -> None:
        """As many entries as days asked for, one per day from today."""
        key, entries = _first_list(result)
        if key is None or not entries:
            return
        wanted = next(
            (v for n, v in self.arguments.items() if n in ("days", "num_days", "periods")), None
        )
        if isinstance(wanted, int) and not isinstance(wanted, bool) and wanted > 0:
            fitted = self._resized(
                entries, wanted, self._item_schema(self._resolve(self.root), key)
            )
            candidate = {**result, key: fitted}
            if not validate_instance(self.root, candidate):
                entries = result[key] = fitted
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            for name in entry:
                if name in ("date", "day") and isinstance(entry[name], str):
                    entry[name] = (self.today + timedelta(days=index)).isoformat()
            self._weather_day(entry, index, entries)

    def _weather_day(self, entry: dict[str, Any], index: int, entries: list[Any]) -> None:
        """A day a few degrees off the day before, its sky, rain and wind agreeing."""
        if {"high", "low"} <= entry.keys() and index:
            before = entries[index - 1]
            drift = self.rng.randint(-2, 2)
            for bound in ("high", "low"):
                if _number(before.get(bound)):
                    entry[bound] = before[bound] + drift
        imperial = self.arguments.get("units") == "imperial"
        high: Any = entry.get("high")
        if entry.get("condition") == "snow" and _number(high) and high > (35 if imperial else 2):
            entry["condition"] = "rain"
        if "condition" in entry and "precipitation_chance" in entry:
            entry["precipitation_chance"] = _chance(entry["condition"], self.rng)
        if _number(entry.get("wind_speed")):
            entry["wind_speed"] = self.rng.randint(3, 22) if imperial else self.rng.randint(5, 35)

    def _computed(self, result: dict[str, Any]) -> None:
        """Where the computation is one callforge knows (a mean, a gcd, ...), its true value."""
        key = next((k for k, v in result.items() if _number(v) and k not in self.arguments), None)
        if key is None:
            return
        value = known_computation(self.kind.entity, self.arguments)
        if value is None:
            return
        candidate = {**result, key: round(value, 4) if isinstance(value, float) else value}
        if not validate_instance(self.root, candidate):
            result[key] = candidate[key]

    def _one_per_item_asked(self, result: dict[str, Any]) -> None:
        """Read three ``paths`` (``ids``, ``names``): one record each, holding its own."""
        key, entries = _first_list(result)
        if key is None or not entries or not all(isinstance(e, dict) for e in entries):
            return
        for name, given in self.arguments.items():
            field = name[:-1] if name.endswith("s") else None
            if not field or field not in entries[0] or not isinstance(given, list) or not given:
                continue
            if not all(isinstance(item, str) for item in given):
                continue
            fitted = self._resized(
                entries, len(given), self._item_schema(self._resolve(self.root), key)
            )
            for record, item in zip(fitted, given, strict=True):
                record[field] = item
            if _number(result.get("total_count")):
                result["total_count"] = len(given)
            candidate = {**result, key: fitted}
            if not validate_instance(self.root, candidate):
                result[key] = fitted
            return

    def _titles_match_query(self, result: dict[str, Any]) -> None:
        """What a search for "waterproof hiking jacket" finds is called like one."""
        query = next(
            (v for n, v in self.arguments.items() if n in _SEARCH_WORDS and isinstance(v, str)),
            None,
        )
        key, entries = _first_list(result)
        if not query or key is None or len(query.split()) > 6 or self.kind.entity not in _GOODS:
            return
        retitled = copy.deepcopy(entries)
        brands = self.rng.sample(_BRANDS, k=min(len(retitled), len(_BRANDS)))
        for entry, brand in zip(retitled, brands, strict=False):
            for field in ("title", "name"):
                if isinstance(entry, dict) and isinstance(entry.get(field), str):
                    entry[field] = f"{brand} {query}"
                    break
        if not validate_instance(self.root, {**result, key: retitled}):
            result[key] = retitled

    def _inside_the_folder(self, result: dict[str, Any]) -> None:
        """What a listing of a folder finds lies inside it: ``/docs/a.txt`` under ``/docs``."""
        folder = self.arguments.get("path")
        key, entries = _first_list(result)
        if not isinstance(folder, str) or key is None or "paths" in self.arguments:
            return
        pattern = self.arguments.get("pattern")
        matched = re.fullmatch(r"\*(\.\w+)", pattern) if isinstance(pattern, str) else None
        glob_suffix = matched.group(1) if matched else ".txt"  # found by "*.log": a .log file
        moved = copy.deepcopy(entries)
        names = self.rng.sample(_ENTRY_NAMES, k=min(len(moved), len(_ENTRY_NAMES)))
        for entry, name in zip(moved, names, strict=False):
            if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                suffix = "" if self.kind.entity in ("directory", "folder") else glob_suffix
                entry["path"] = f"{folder.rstrip('/')}/{name}{suffix}"
        if not validate_instance(self.root, {**result, key: moved}):
            result[key] = moved

    def _at_most_limit(self, result: dict[str, Any]) -> None:
        key, entries = _first_list(result)
        limit = next(
            (v for n, v in self.arguments.items() if n in _LIMITS and _number(v) and v > 0), None
        )
        if key is not None and isinstance(limit, int) and len(entries) > limit:
            candidate = {**result, key: entries[:limit]}
            if not validate_instance(self.root, candidate):
                result[key] = candidate[key]

    def _newest_first(self, result: dict[str, Any]) -> None:
        key, entries = _first_list(result)
        if key is None or not all(isinstance(e, dict) for e in entries):
            return
        stamp = next((k for k in entries[0] if _PAST.search(k)), None) if entries else None
        if stamp is None or not all(isinstance(e.get(stamp), str) for e in entries):
            return
        entries.sort(key=lambda e: e[stamp], reverse=True)

    def _one_currency(self, result: dict[str, Any]) -> None:
        """Every amount of one result is in one currency."""
        found = [(record, schema) for record, schema, _ in self._records(result, self.root, 0)]
        if not any("currency" in record for record, _ in found):
            return
        first = self.rng.choice(_EVERYDAY_CURRENCIES)
        for record, schema in found:
            if "currency" in record and "currency" not in self.arguments:
                self._put(record, schema, "currency", first)


_NO_DEFAULT = object()


def known_computation(entity: str, arguments: Mapping[str, Any]) -> float | int | None:
    """The value of a computation named by ``entity`` over ``arguments``, where it is known.

    A summary of a list of numbers (average, median, sum, max, min), a factorial,
    gcd/lcm, a hypotenuse, a triangle's area from base and height, a speed after a fall,
    a derivative at a point and the area under a curve of an expression of x.
    """
    numbers = [v for v in arguments.values() if _number(v)]
    listed = next(
        (v for v in arguments.values() if isinstance(v, list) and v and all(map(_number, v))),
        None,
    )
    integers = [v for v in numbers if isinstance(v, int)]
    if entity in _SUMMARIES and listed is not None:
        return _SUMMARIES[entity]([float(x) for x in listed])
    if entity == "factorial" and integers and 0 <= integers[0] <= 20:
        return math.factorial(integers[0])
    if entity in ("gcd", "lcm") and len(integers) >= 2:
        return (math.gcd if entity == "gcd" else math.lcm)(*integers)
    if entity in ("hypot", "hypotenuse") and numbers:
        return math.hypot(*numbers)
    base, height = arguments.get("base"), arguments.get("height")
    if entity == "area" and _number(base) and _number(height):
        return float(base) * float(height) / 2  # type: ignore[arg-type]
    if entity == "velocity" and _number(height):  # falling from a height, from a start speed
        start, g = arguments.get("initial_velocity", 0), arguments.get("gravity", 9.81)
        if not (_number(start) and _number(g)):
            return None
        return math.sqrt(float(start) ** 2 + 2 * float(g) * float(height))  # type: ignore[arg-type]
    return _calculus(entity, arguments)


def _calculus(entity: str, arguments: Mapping[str, Any]) -> float | None:
    """A derivative at a point, or the area under a curve over an interval, of a function
    given as an expression of x ("3*x**2 + 2*x - 1", "sin(x)"): numerically."""
    text = next((v for k, v in arguments.items() if "function" in k and isinstance(v, str)), None)
    f = expression_of_x(text) if text else None
    if f is None:
        return None
    try:
        if entity == "derivative":
            at = next((v for k, v in arguments.items() if _number(v) and "x" in k), None)
            if at is None:
                return None
            step = 1e-5 * max(1.0, abs(float(at)))
            return (f(float(at) + step) - f(float(at) - step)) / (2 * step)
        if entity in ("curve", "integral", "area"):
            bounds = next(
                (v for v in arguments.values() if isinstance(v, list) and len(v) == 2), None
            )
            if bounds is None or not all(map(_number, bounds)):
                return None
            low, high = float(bounds[0]), float(bounds[1])
            n = 200  # Simpson's rule
            width = (high - low) / n
            total = f(low) + f(high)
            total += sum((4 if i % 2 else 2) * f(low + i * width) for i in range(1, n))
            return total * width / 3
    except (ArithmeticError, ValueError, TypeError):
        return None
    return None


_MATH = {
    name: getattr(math, name)
    for name in ("sin", "cos", "tan", "exp", "log", "log10", "sqrt", "fabs", "atan", "asin", "acos")
} | {"abs": abs, "ln": math.log, "pi": math.pi, "e": math.e}


def expression_of_x(text: str) -> Callable[[float], float] | None:
    """``text`` as a function of x, if it is arithmetic on x with math functions (else None).

    Parsed with ``ast`` and walked by hand: nothing of the text is ever executed.
    """
    try:
        tree = ast.parse(
            text.replace("^", "**").replace("math.", "").replace("np.", ""), mode="eval"
        )
    except SyntaxError:
        return None
    operators: dict[type, Callable[..., float]] = {
        ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
        ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a**b,
        ast.USub: lambda a: -a, ast.UAdd: lambda a: a,
    }  # fmt: skip

    def value(node: ast.AST, x: float) -> float:
        if isinstance(node, ast.Expression):
            return value(node.body, x)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id == "x":
            return x
        if isinstance(node, ast.Name) and isinstance(_MATH.get(node.id), float):
            return float(_MATH[node.id])  # type: ignore[arg-type]
        if isinstance(node, ast.BinOp) and type(node.op) in operators:
            return float(operators[type(node.op)](value(node.left, x), value(node.right, x)))
        if isinstance(node, ast.UnaryOp) and type(node.op) in operators:
            return float(operators[type(node.op)](value(node.operand, x)))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and callable(_MATH.get(node.func.id))
            and len(node.args) == 1
        ):
            return float(_MATH[node.func.id](value(node.args[0], x)))  # type: ignore[operator]
        raise ValueError("not arithmetic on x")

    try:
        value(tree, 1.0)
    except (ValueError, ArithmeticError, TypeError):
        return None
    return lambda x: value(tree, x)


def _parameter_defaults(tool: ToolSpec) -> dict[str, Any]:
    """Each top-level parameter's default, or ``_NO_DEFAULT``."""
    try:
        properties = resolved_properties(tool.parameters, tool=tool.name)
    except UnsupportedSchemaError:
        properties = {}
    names = [*(tool.parameters.get("properties") or {})]
    return {name: properties.get(name, {}).get("default", _NO_DEFAULT) for name in names}


def _defs(root: Mapping[str, Any]) -> dict[str, Any]:
    return {key: root[key] for key in ("$defs", "definitions") if key in root}


@lru_cache(maxsize=4096)
def _stem(name: str) -> str:
    """``departure_time`` -> ``departure``, ``check_in_at`` -> ``check_in``."""
    words = [
        w for w in name_words(name) if w not in ("time", "date", "at", "on", "datetime", "day")
    ]
    return "_".join(words)


def _flag_covers(flag: str, key: str) -> bool:
    """``include_orders`` covers ``orders`` and ``recent_orders``."""
    subject = flag.split("_", 1)[1] if "_" in flag else flag
    return bool(subject) and subject in key


def _is_day(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time())
        return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        return None


def _instant_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _first_list(result: dict[str, Any]) -> tuple[str | None, list[Any]]:
    for key, value in result.items():
        if isinstance(value, list):
            return key, value
    return None, []


def _chance(condition: Any, rng: random.Random) -> int:
    text = str(condition).lower()
    if "thunder" in text or text == "rain" or "snow" in text:
        return rng.randint(70, 95)
    if "rain" in text or "shower" in text:
        return rng.randint(40, 70)
    if "cloud" in text or "fog" in text:
        return rng.randint(10, 35)
    return rng.randint(0, 10)


# -- what counts as data ---------------------------------------------------------------

_NOT_DATA_KEY = re.compile(  # besides the record ids ``tool_kinds.identifies_record`` names
    r"^(status|state|success|ok|message|msg"
    r"|detail|code|error|.*_at|timestamp|created|updated|count|total_count|total_results"
    r"|num_results|page|page_size|per_page|limit|offset|has_more|next_cursor|next_page)$"
)
_STATUS_WORDS = frozenset(["ok", "success", "succeeded", "completed", "done", "true", "found"])


def is_bookkeeping_key(key: str) -> bool:
    """A result key that holds bookkeeping, not data: an id, a status, a timestamp, paging.

    Shared with ``answers.py``: what a result's data is and what an answer reports
    are one rule.
    """
    return identifies_record(key) or _NOT_DATA_KEY.match(key) is not None


def is_hollow(result: Any, arguments: Mapping[str, Any]) -> bool:
    """Whether ``result`` holds no data beyond ids, status, timestamps and echoed ``arguments``.

    An echo is an argument's text anywhere, or its number under its own name: a
    triangle's ``area`` of 5 from ``base`` 5 and ``height`` 2 is data.
    """
    texts = {_comparable(v) for _, v in _leaves(arguments) if isinstance(v, str)}
    named = {(k, _comparable(v)) for k, v in _leaves(arguments)}
    return not any(
        _is_data(key, value)
        and _comparable(value) not in texts
        and (key, _comparable(value)) not in named
        for key, value in _leaves(result)
    )


def _leaves(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, Mapping):
        for child_key, child in value.items():
            yield from _leaves(child, str(child_key))
    elif isinstance(value, list):
        for child in value:
            yield from _leaves(child, key)
    else:
        yield key, value


def _is_data(key: str, value: Any) -> bool:
    if value is None or isinstance(value, bool) or is_bookkeeping_key(key):
        return False
    if isinstance(value, str):
        return bool(value.strip()) and value.lower() not in _STATUS_WORDS and not _is_time(value)
    return True


def _is_time(text: str) -> bool:
    try:
        if len(text) == 10:
            date.fromisoformat(text)
        else:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _comparable(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip().lower()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value

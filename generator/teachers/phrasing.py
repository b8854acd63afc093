"""How the offline teacher asks for a call: the words a person would write.

A request is built from what the tool *does* (``tool_kinds``: its verb and its
entity) and from what each value *is* (an origin, a date, a count, an option, a
flag), never from the tool's description: "find flights from LIS to MAD on March
5 for 3 passengers", not "search for available flights between two airports with
origin set to LIS". Every value is stated in a form grounding accepts
(``grounding.py``): dates spelt out, small counts in words, options in words,
flags by saying what the user wants.

All wording is in ``templates/offline/phrases.yaml`` (``request``); this module
only decides which phrase a value needs and fills it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from callforge.generator.grounding import MONTHS, humanise, number_words
from callforge.generator.schema import resolved_properties
from callforge.generator.tool_kinds import Verb, classify, name_words, singular, tool_kind
from callforge.generator.tools import ToolSpec

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ISO_DATE_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})")
_PREPOSITIONS = frozenset({"by", "for", "with", "from", "in", "of", "to", "on", "at", "and"})
# A flag whose name starts with a verb says what to do: "and include orders", not
# "with include orders turned on".
_FLAG_VERBS = frozenset(
    {"include", "exclude", "send", "notify", "show", "hide", "return", "add", "attach", "skip"}
    | {"use", "apply", "allow", "keep", "save", "ignore", "force", "enable", "disable"}
)
# Option values that are no adjective: "the order other reason" reads as nonsense.
_BARE_OPTIONS = frozenset({"other", "none", "any", "all", "unknown", "default", "auto", "n/a"})

# What a parameter is, read from its name's words (roles decide the phrase, the
# phrases themselves are in phrases.yaml).
_ROLE_WORDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("origin", frozenset({"origin", "from", "source", "departure"})),
    ("destination", frozenset({"destination", "to", "target", "arrival", "recipient"})),
    ("limit", frozenset({"limit", "max", "top", "maximum"})),
    ("place", frozenset({"city", "location", "country", "place", "region", "address"})),
    ("title", frozenset({"title", "subject", "name", "label", "caption"})),
    ("text", frozenset({"body", "message", "text", "content", "note", "notes", "comment"})),
    ("query", frozenset({"query", "q", "search", "keyword", "keywords", "term", "prompt"})),
    ("id", frozenset({"id", "sku", "code", "ref", "reference", "number", "key", "handle"})),
)
_DATE_STARTS = frozenset(
    {"start", "begin", "checkin", "since", "after", "depart", "departure", "from", "arrival"}
)
_DATE_ENDS = frozenset({"end", "return", "until", "checkout", "before", "deadline", "due", "to"})
_PEOPLE = frozenset(
    {"passenger", "guest", "customer", "user", "person", "attendee", "contact", "owner", "full"}
)
_UNITS = frozenset({"minutes", "hours", "days", "seconds", "nights", "weeks", "months", "years"})


@dataclass(frozen=True)
class Parameter:
    """One argument as the request needs to see it: its name, schema and role."""

    name: str
    label: str
    schema: Mapping[str, Any]
    role: str


class RequestPhrasing:
    """Turns one planned call into an ask: "find flights from LIS to MAD on March 5"."""

    def __init__(self, bank: Mapping[str, Any]) -> None:
        self.bank = bank
        self._properties: dict[str, dict[str, dict[str, Any]]] = {}

    def ask(self, tool: ToolSpec, arguments: Mapping[str, Any], rng: random.Random) -> str:
        """The imperative ask with every value stated: "book a flight for Ann Lee, FL-12"."""
        kind = tool_kind(tool)
        noun = entity_phrase(tool.original_name or tool.name, kind.entity)
        template = rng.choice(self.bank["asks"][kind.verb.value])
        ordered = self._ordered(tool, arguments)
        # The thing's own id names it in the ask: "book flight FL-12", not "book a
        # flight for flight FL-12".
        own = next(
            (
                (parameter, value)
                for parameter, value in ordered
                if parameter.role == "id" and parameter.label == noun and isinstance(value, str)
            ),
            None,
        )
        named = f"{noun} {own[1]}" if own else None
        ask = template.format(
            entity=named or noun,
            entities=plural(noun),
            a_entity=named or _with_article(noun),
            tool=humanise(tool.original_name or tool.name),
        )
        if own and named not in ask:
            own = None  # an ask that does not name the thing: the id keeps its clause
        clauses = [
            self._clause(parameter, value, kind.verb, rng)
            for parameter, value in ordered
            if value not in (None, "", [], {})  # nothing to say, and grounding asks nothing
            and (own is None or parameter is not own[0])
        ]
        # a clause form that needs a comma starts with one: ", shipping address: ..."
        return ask + "".join(c if c.startswith(",") else f" {c}" for c in clauses if c)

    def clauses(self, tool: ToolSpec, arguments: Mapping[str, Any], rng: random.Random) -> str:
        """Only the values of an ask, for a follow-up or a second ask: "for Porto in metric"."""
        verb = tool_kind(tool).verb
        clauses = [
            self._clause(parameter, value, verb, rng)
            for parameter, value in self._ordered(tool, arguments)
            if value not in (None, "", [], {})
        ]
        return "".join(c if c.startswith(",") else f" {c}" for c in clauses if c).strip(" ,")

    def _ordered(self, tool: ToolSpec, arguments: Mapping[str, Any]) -> list[tuple[Parameter, Any]]:
        properties = self._properties_of(tool)
        parameters = [
            (_parameter(name, properties.get(name, {}), value), value)
            for name, value in arguments.items()
        ]
        order = {role: index for index, role in enumerate(self.bank["clause_order"])}
        return sorted(parameters, key=lambda item: order.get(item[0].role, len(order)))

    def _properties_of(self, tool: ToolSpec) -> dict[str, dict[str, Any]]:
        known = self._properties.get(tool.content_hash)
        if known is None:
            known = self._properties[tool.content_hash] = resolved_properties(
                tool.parameters, tool=tool.name
            )
        return known

    def _clause(
        self,
        parameter: Parameter,
        value: Any,
        verb: Verb,
        rng: random.Random,
    ) -> str:
        """One value as a phrase: "from LIS", "for three passengers", "no to express"."""
        clauses = self.bank["clauses"]
        label = parameter.label
        if isinstance(value, bool):
            verb_led = " " in label and (
                classify(parameter.name).verb is not Verb.OTHER or label.split()[0] in _FLAG_VERBS
            )
            kind = ("action_" if verb_led else "flag_") + ("on" if value else "off")
            return str(rng.choice(clauses[kind])).format(label=label)
        spoken = self.spoken(value, parameter, rng)
        role = parameter.role
        if role == "amount" and verb is not Verb.CONVERT:
            role = "number"  # "convert 120 from EUR", but "a refund with amount 120"
        if role == "option" and label.split()[-1] in _PREPOSITIONS:
            role = "labelled"  # "with sort by name", not "name sort by"
        if role == "option" and (" " in spoken or spoken.casefold() in _BARE_OPTIONS):
            role = "long_option"  # "economy cabin class", but "(the reason is found cheaper)"
        form = rng.choice(clauses.get(role) or clauses["other"])
        unit = _unit_of(parameter)
        if spoken in ("1", "one"):  # "for 1 passenger", "for one day"
            label, unit = singular(label), singular(unit)
        return str(form).format(label=label, value=spoken, unit=unit)

    def spoken(self, value: Any, parameter: Parameter, rng: random.Random) -> str:
        """A value as a person writes it, in a form grounding accepts."""
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, int) and 0 <= value <= 12 and rng.random() < 0.4:
            return number_words(value)[0]
        if isinstance(value, str):
            if parameter.role == "option":
                return humanise(value) if re.search(r"[_-]", value) else value
            return spoken_date(value, rng) or value
        if isinstance(value, list):
            return _join([self.spoken(item, parameter, rng) for item in value])
        if isinstance(value, dict):
            return self._record(value, rng)
        return str(value)

    def _record(self, record: Mapping[str, Any], rng: random.Random) -> str:
        """A nested object: "3 of SKU-1", or its values in a row (an address)."""
        counts = [k for k, v in record.items() if isinstance(v, int) and not isinstance(v, bool)]
        rest = [k for k in record if k not in counts]
        if len(counts) == 1 and len(rest) == 1 and isinstance(record[rest[0]], str):
            return f"{record[counts[0]]} of {record[rest[0]]}"
        parts = []
        for key, value in record.items():
            parameter = _parameter(key, {}, value)
            text = self.spoken(value, parameter, rng)
            parts.append(text if isinstance(value, str) else f"{parameter.label} {text}")
        return ", ".join(parts)


def entity_phrase(name: str, entity: str) -> str:
    """The noun phrase a tool acts on, with its modifiers: ``get_weather_forecast`` ->
    "weather forecast", ``search_flights`` -> "flight"."""
    words = name_words(name)
    singulars = [singular(word) for word in words]
    if entity not in singulars:
        return entity
    end = singulars.index(entity)
    start = end
    while (
        start > 0
        and end - start < 2
        and words[start - 1] not in _PREPOSITIONS
        and classify(words[start - 1]).verb is Verb.OTHER
        and len(words[start - 1]) > 1
    ):
        start -= 1
    return " ".join([*words[start:end], entity])


def plural(noun: str) -> str:
    """``flight`` -> ``flights``, ``company`` -> ``companies``, ``address`` -> ``addresses``."""
    head, _, last = noun.rpartition(" ")
    if re.search(r"[^aeiou]y$", last):
        last = last[:-1] + "ies"
    elif re.search(r"(s|x|ch|sh)$", last):
        last += "es"
    else:
        last += "s"
    return f"{head} {last}".strip()


def spoken_date(value: str, rng: random.Random) -> str | None:
    """An ISO date or date-time as people write it: "March 5, 2026", "the 5th of March 2026"."""
    moment = _ISO_DATE_TIME.match(value)
    day_text = moment.group(1) if moment else value
    match = _ISO_DATE.match(day_text)
    if not match:
        return None
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    month = MONTHS[day.month - 1].capitalize()
    # Always with the year: an exported conversation does not say what day it is,
    # so "March 5" would teach the model to make the year up.
    forms = [
        f"{month} {day.day}, {day.year}",
        f"the {_ordinal(day.day)} of {month} {day.year}",
        f"{day.day} {month} {day.year}",
        day_text,
    ]
    spoken = rng.choice(forms)
    if moment:
        hour, minute = int(moment.group(2)), int(moment.group(3))
        half = "am" if hour < 12 else "pm"
        clock = rng.choice(
            [f"{hour:02d}:{minute:02d}", f"{hour % 12 or 12}:{minute:02d} {half}"]
            + ([f"{hour % 12 or 12} {half}"] if minute == 0 else [])
        )
        spoken = f"{spoken} at {clock}"
    return spoken


def _parameter(name: str, schema: Mapping[str, Any], value: Any) -> Parameter:
    role = _role(name, schema, value)
    label = humanise(name)
    if role == "id":  # "customer id" -> "customer": "for customer CUS-19090"
        label = " ".join(word for word in label.split() if word != "id") or label
    return Parameter(name, label, schema, role)


def _role(name: str, schema: Mapping[str, Any], value: Any) -> str:
    """What a value is for, from its schema and its name's words."""
    words = set(
        humanise(name).replace("check in", "checkin").replace("check out", "checkout").split()
    )
    if isinstance(value, bool):
        return "flag"
    if "enum" in schema and isinstance(value, str):
        return "option"
    if schema.get("format") == "email" or (
        isinstance(value, str) and "@" in value and " " not in value
    ):
        return "email" if not words & {"to", "recipient"} else "destination"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if words & _UNITS:
            return "duration"
        if words & {"limit", "max", "top", "maximum"}:
            return "limit"
        if words & {"amount", "price", "total", "sum", "value"}:
            return "amount"
        return "count" if isinstance(value, int) and humanise(name).endswith("s") else "number"
    if "name" in words and words & _PEOPLE:
        return "person"
    if words <= {"name", "full", "display"} and "name" in words and isinstance(value, str):
        return "name"
    if isinstance(value, str) and (_ISO_DATE.match(value) or _ISO_DATE_TIME.match(value)):
        if words & _DATE_STARTS:
            return "start"
        return "end" if words & _DATE_ENDS else "date"
    for role, role_words in _ROLE_WORDS:
        if words & role_words and isinstance(value, str):
            return role
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "address" if {"street", "city", "postal_code", "zip"} & set(value) else "record"
    return "other"


def _unit_of(parameter: Parameter) -> str:
    words = parameter.label.split()
    unit = next((word for word in words if word in _UNITS), "")
    return unit or parameter.label


def _with_article(noun: str) -> str:
    return f"an {noun}" if noun[:1] in "aeiou" else f"a {noun}"


def _join(items: list[str]) -> str:
    items = [item for item in items if item]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"

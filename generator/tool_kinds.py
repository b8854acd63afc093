"""What a tool does: its verb (look up, search, convert, book, ...) and the entity it acts on.

The one owner of this knowledge. Result shapes (``generator.results``), the
validator's hollow-result rule, chain planning and the offline teacher's words all
ask ``tool_kind(tool)`` instead of matching tool names themselves.

The verb is read from the tool's name first (``get_weather_forecast`` is a
forecast, ``search_flights`` a search, ``math.factorial`` is nothing yet), then
from the first words of its description ("Calculates the factorial of a number."
is a computation). A verb that says *what kind of data* comes back (forecast,
convert, compute) wins over a generic one (get), wherever it stands in the name.
A lookup verb on a plural entity (``get_orders``) lists, like a search.

The entity is the noun the name acts on, singular: ``get_customer_by_email`` ->
"customer", ``search_flights`` -> "flight", ``get_pets_petId`` -> "pet".

Also the one owner of which names identify a record (``identifies_record``): the
parameters seeding gives a record id (``ORD-48213``) and mistakes mistype, and the
result keys that are bookkeeping rather than data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from callforge.generator.tools import ToolSpec


class Verb(StrEnum):
    """What a call of the tool does, as far as its result is concerned."""

    LOOKUP = "lookup"  # one existing record: get, fetch, look up, retrieve
    SEARCH = "search"  # matching records: search, list, find, query, browse
    CONVERT = "convert"  # a value in another unit or currency
    COMPUTE = "compute"  # a computed value: calculate, compute, average
    FORECAST = "forecast"  # per-period predictions: forecast, predict
    CREATE = "create"  # a new record: create, add, place, register
    SEND = "send"  # a message sent: send, notify, email
    SCHEDULE = "schedule"  # an event in time: schedule, remind
    BOOK = "book"  # a reservation: book, reserve
    CANCEL = "cancel"  # a record ended or removed: cancel, delete, remove
    UPDATE = "update"  # a record changed: update, edit, set
    OTHER = "other"


_VERB_WORDS: dict[Verb, tuple[str, ...]] = {
    Verb.FORECAST: ("forecast", "predict", "project"),
    Verb.CONVERT: ("convert", "exchange", "transform", "translate"),
    Verb.COMPUTE: (
        "calculate",
        "compute",
        "calc",
        "average",
        "sum",
        "solve",
        "evaluate",
        "estimate",
        "count",
        "measure",
        "derive",
        "integrate",
        "differentiate",
        "math",
        "gcd",
        "lcm",
        "factorial",
        "hypot",
        "sqrt",
        "mean",
        "median",
    ),
    Verb.SEARCH: ("search", "list", "find", "query", "browse", "filter", "discover"),
    Verb.LOOKUP: (
        "get",
        "fetch",
        "lookup",
        "look",
        "retrieve",
        "read",
        "show",
        "describe",
        "check",
        "view",
        "load",
        "inspect",
        "verify",
        "validate",
    ),
    Verb.BOOK: ("book", "reserve"),
    Verb.SCHEDULE: ("schedule", "remind", "plan"),
    Verb.SEND: (
        "send",
        "email",
        "notify",
        "message",
        "reply",
        "forward",
        "publish",
        "text",
        "sms",
        "alert",
        "post",
    ),
    Verb.CREATE: (
        "create",
        "add",
        "place",
        "new",
        "insert",
        "register",
        "make",
        "submit",
        "open",
        "generate",
        "issue",
        "upload",
    ),
    Verb.CANCEL: (
        "cancel",
        "delete",
        "remove",
        "revoke",
        "unsubscribe",
        "drop",
        "void",
        "refund",
        "close",
    ),
    Verb.UPDATE: (
        "update",
        "edit",
        "modify",
        "change",
        "set",
        "patch",
        "put",
        "rename",
        "move",
        "assign",
        "replace",
        "enable",
        "disable",
    ),
}
_WORD_VERB = {word: verb for verb, words in _VERB_WORDS.items() for word in words}
# Verbs that name the kind of data returned: they win wherever they stand in a name.
_SPECIFIC = (Verb.FORECAST, Verb.CONVERT, Verb.COMPUTE)
# Words that are neither verb nor entity in a tool name.
_FILLER = frozenset(
    [
        "a",
        "an",
        "the",
        "all",
        "my",
        "new",
        "info",
        "information",
        "details",
        "detail",
        "data",
        "by",
        "for",
        "with",
        "from",
        "in",
        "of",
        "to",
        "on",
        "and",
        "or",
        "id",
        "ids",
        "api",
        "v1",
        "v2",
        "current",
        "latest",
        "recent",
    ]
)
_STOPS_ENTITY = frozenset({"by", "for", "with", "from", "in", "of", "to", "on"})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORD = re.compile(r"[A-Za-z]+")
# Nouns ending in "s" that are singular already.
_SINGULAR_S = ("ss", "us", "is", "news", "series", "species")


@dataclass(frozen=True)
class ToolKind:
    """A tool's verb and the entity it acts on."""

    verb: Verb
    entity: str

    @property
    def retrieves(self) -> bool:
        """It reads existing data without changing anything (lookup, search, forecast)."""
        return self.verb in (Verb.LOOKUP, Verb.SEARCH, Verb.FORECAST)

    @property
    def lists(self) -> bool:
        """Its result is a list of matching records."""
        return self.verb is Verb.SEARCH

    @property
    def returns_data(self) -> bool:
        """Its whole point is the data it returns: a result of only ids and status is hollow."""
        return self.verb in (Verb.LOOKUP, Verb.SEARCH, Verb.CONVERT, Verb.COMPUTE, Verb.FORECAST)

    @property
    def makes(self) -> bool:
        """It brings a new thing into being (an order, a message, a meeting, a booking)."""
        return self.verb in (Verb.CREATE, Verb.SEND, Verb.SCHEDULE, Verb.BOOK)


def tool_kind(tool: ToolSpec) -> ToolKind:
    """The kind of ``tool``, from its name and description."""
    return classify(tool.original_name or tool.name, tool.description)


@lru_cache(maxsize=4096)
def classify(name: str, description: str = "") -> ToolKind:
    """The kind of a tool called ``name`` described by ``description``.

    >>> classify("get_weather_forecast")
    ToolKind(verb=<Verb.FORECAST: 'forecast'>, entity='forecast')
    >>> classify("get_orders").verb
    <Verb.SEARCH: 'search'>
    >>> classify("factorial", "Calculates the factorial of a number.").verb
    <Verb.COMPUTE: 'compute'>
    """
    words = name_words(name)
    entity = _entity(words)
    verb = _verb_in(words) or _verb_in(_WORD.findall(description.lower())[:3]) or Verb.OTHER
    if verb is Verb.OTHER:
        verb = _specific_in(_WORD.findall(description.lower())) or Verb.OTHER
    if verb is Verb.LOOKUP and _is_plural(_last_noun(words)):
        verb = Verb.SEARCH
    return ToolKind(verb=verb, entity=singular(entity) if entity else "item")


def name_words(name: str) -> list[str]:
    """``getCustomerByEmail`` / ``get_customer.by-email`` -> ``[get, customer, by, email]``."""
    return [word.lower() for word in _WORD.findall(_CAMEL.sub(" ", name))]


def singular(noun: str) -> str:
    """``flights`` -> ``flight``, ``companies`` -> ``company``, ``addresses`` -> ``address``."""
    if not _is_plural(noun):
        return noun
    if noun.endswith("ies") and len(noun) > 4:
        return noun[:-3] + "y"
    if re.search(r"(ss|x|ch|sh)es$", noun):
        return noun[:-2]
    return noun[:-1]


def _verb_in(words: list[str]) -> Verb | None:
    verbs = [verb for word in words if (verb := _word_verb(word)) is not None]
    for verb in verbs:
        if verb in _SPECIFIC:
            return verb
    return verbs[0] if verbs else None


def _specific_in(words: list[str]) -> Verb | None:
    for word in words:
        verb = _word_verb(word)
        if verb in _SPECIFIC:
            return verb
    return None


def _word_verb(word: str) -> Verb | None:
    for form in (
        word,
        word[:-1] if word.endswith("s") else "",
        word[:-2] if word.endswith("es") else "",
    ):
        if form in _WORD_VERB:
            return _WORD_VERB[form]
    return None


def _entity(words: list[str]) -> str:
    """The last noun before a preposition: ``get customer by email`` -> ``customer``."""
    nouns = _nouns(words)
    if nouns:
        return nouns[-1]
    return next((w for w in words if w not in _FILLER and w not in _STOPS_ENTITY), "")


def _nouns(words: list[str]) -> list[str]:
    """The name's words after its leading verbs, up to a preposition, without filler.

    A verb-like last word is a noun (``send_email``, ``calculate_average``).
    """
    nouns: list[str] = []
    for index, word in enumerate(words):
        if word in _STOPS_ENTITY and nouns:
            break
        leading_verb = not nouns and _word_verb(word) is not None and index < len(words) - 1
        if word in _FILLER or leading_verb:
            continue
        nouns.append(word)
    return nouns


def _last_noun(words: list[str]) -> str:
    nouns = _nouns(words)
    return nouns[-1] if nouns else ""


def _is_plural(noun: str) -> bool:
    return len(noun) > 3 and noun.endswith("s") and not noun.endswith(_SINGULAR_S)


# -- names that identify a record ---------------------------------------------------

RECORD_ID_WORDS = (
    r"\b(id|ids|uuid|guid|sku|ref|reference)$"
    r"|\b(order|booking|tracking|invoice|confirmation|reservation) (number|no)\b"
)
"""A name, in lower-case words (``name_words`` joined by spaces), that identifies a
record: ``order id``, ``sku``, ``booking reference``, ``tracking number``. Seeding's
rule table matches it against its own words of a property name."""
ACCOUNT_WORDS = r"\b(user ?name|handle|login|screen name)\b"
"""A name, in words, of an account's handle: ``username``, ``user_name``, ``login``.
It names a record too (a user), but its value is a handle, not a record id."""
_RECORD_ID = re.compile(RECORD_ID_WORDS)
_ACCOUNT = re.compile(ACCOUNT_WORDS)


@lru_cache(maxsize=4096)
def identifies_record(name: str) -> bool:
    """Whether a parameter or result key names a record's id, in any spelling.

    Such a key in a result is bookkeeping, not data; such a parameter is seeded
    with a record id (``ORD-48213``).

    >>> [identifies_record(n) for n in ("order_id", "orderId", "sku", "trackingNumber")]
    [True, True, True, True]
    >>> [identifies_record(n) for n in ("paid", "phone_number", "coupon_code", "username")]
    [False, False, False, False]
    """
    return _RECORD_ID.search(" ".join(name_words(name))) is not None


def names_a_record(name: str) -> bool:
    """Whether a parameter's value names one existing record: a record id or an account's
    handle. A typo in it names nothing (a "not found" error), so mistakes mistype it."""
    return identifies_record(name) or _ACCOUNT.search(" ".join(name_words(name))) is not None


def record_noun(name: str) -> str:
    """The kind of record a name of ``names_a_record`` identifies, if the name says:
    ``cartId`` -> "cart", ``order_number`` -> "order", ``username`` -> "user";
    ``""`` for ``id`` or ``sku``."""
    words = name_words(name)
    if _ACCOUNT.search(" ".join(words)):
        return "user"
    nouns = [w for w in words[:-1] if w not in _FILLER]
    if not nouns or nouns[-1] in ("tracking", "confirmation") or not identifies_record(name):
        return ""  # a tracking number names a parcel, not a "tracking"
    return singular(nouns[-1])

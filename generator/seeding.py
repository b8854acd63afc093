"""Faker-seeded tool arguments that always validate against the tool's schema.

A teacher later writes a user sentence stating every argument verbatim and a
grounding check looks for each value in it, so values are realistic and easy to
say: a property called ``city`` gets a Faker city, an ``order_id`` gets
``ORD-48213``, money gets two decimals, free text is a short sentence, and
nothing has quotes, newlines or stray whitespace. Units in descriptions set the
range ("in cents", "in seconds", "in Fahrenheit"), and sibling properties agree:
a city, its country code and timezone come from one real place, a check-out
follows its check-in by ``nights``, origin and destination differ. The schema's
own constraints always win over realism: a provider value that breaks
``maxLength`` or ``pattern`` is replaced by a constrained generic one.

Each schema is compiled once into a plan (a tree of small generators); drawing
arguments then only walks the plan. All randomness comes from the caller's
``random.Random`` and seeded ``Faker``, so equal seeds give equal arguments.
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
import string
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from functools import cached_property, lru_cache
from itertools import chain
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, Protocol, cast

import rstr
from faker import Faker
from faker.generator import Generator
from jsonschema.protocols import Validator

from callforge.generator.errors import UnsupportedSchemaError
from callforge.generator.schema import (
    FORMAT_CHECKER,
    ROOT_PATH,
    Check,
    SchemaDocument,
    compiled_validator,
    iter_subschemas,
    object_properties,
    schema_types,
    validity_check,
)

# Keywords we cannot honour while generating; seen on a required path they are an
# error, on an optional property or anyOf branch that branch is simply left out.
UNSUPPORTED_KEYWORDS = (
    "not",
    "if",
    "contains",
    "prefixItems",
    "dependentSchemas",
    "dependencies",
    "unevaluatedProperties",
    "unevaluatedItems",
    "$dynamicRef",
    "$recursiveRef",
)
# Keywords the plan honours by construction (plus annotations). A schema using only
# these skips the final jsonschema check, which would otherwise cost a third of
# the time; anything else is checked after every draw.
EXACT_KEYWORDS = frozenset(
    {
        "type", "properties", "required", "additionalProperties", "items", "minItems",
        "maxItems", "uniqueItems", "minProperties", "maxProperties", "dependentRequired",
        "enum", "const", "default", "minimum", "maximum", "exclusiveMinimum",
        "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "pattern", "format",
        "anyOf", "oneOf", "allOf", "$ref", "$defs", "definitions", "nullable",
        "description", "title", "examples", "$comment", "$id", "$schema", "deprecated",
        "readOnly", "writeOnly", "contentMediaType", "contentEncoding",
        # Per-value enum descriptions and editor hints: annotations, like any "x-..." key.
        "enumDescriptions", "markdownEnumDescriptions", "enumNames", "markdownDescription",
    }
)  # fmt: skip
_EXACT_DRAFTS = ("", "2020-12", "2019-09", "draft-07", "draft-06")
_NULL_RATE = 0.1  # how often an explicitly nullable value is drawn as null
_DEFAULT_RATE = 0.5  # how often a value with a default is drawn as that default
_ATTEMPTS = 8
_FEW = 5  # a number grid with fewer points than this tries a finer step
_CENT = Fraction(1, 100)
_SAFE_CHARS = string.ascii_letters + string.digits + "-_."
_TICKERS = ("AAPL", "MSFT", "GOOGL", "AMZN", "TSLA", "NVDA", "META", "NFLX", "IBM", "ORCL")
_AIRPORTS = ("JFK", "LHR", "CDG", "SFO", "NRT", "DXB", "AMS", "FRA", "SIN", "LAX", "ORD", "MAD")
# Currencies people actually convert between, not Faker's every ISO 4217 code.
_CURRENCIES = (
    "USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "CNY", "INR", "MXN", "BRL", "SEK",
    "NOK", "DKK", "PLN", "SGD", "HKD", "NZD", "ZAR", "KRW", "AED", "TRY", "CZK", "THB",
)  # fmt: skip
_LANGUAGES = ("en", "fr", "de", "es", "it", "pt", "nl", "ja", "zh", "ko", "ar", "ru", "sv")
_DURATIONS = ("PT15M", "PT30M", "PT45M", "PT1H", "PT2H", "PT1H30M", "P1D", "P3D", "P1W", "P2W")
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


class _Node(Protocol):
    def generate(self, draw: _Draw) -> Any: ...


class _Draw:
    """The per-call sources of randomness a plan draws from."""

    __slots__ = ("_xeger", "faker", "optional_rate", "rng")

    def __init__(self, rng: random.Random, faker: Faker, optional_rate: float) -> None:
        self.rng = rng
        self.faker = faker
        self.optional_rate = optional_rate
        self._xeger: _PatternText | None = None

    def xeger(self, pattern: str) -> str:
        if self._xeger is None:
            self._xeger = _PatternText(self.rng)
        return self._xeger.xeger(pattern)


class _PatternText(rstr.Rstr):
    """rstr's regex-to-text, kept short, quote-free and independent of hash order.

    Stock rstr draws ``.`` and negated classes from ``string.printable`` (quotes,
    newlines) and picks from a ``set`` (order varies with PYTHONHASHSEED).
    """

    def __init__(self, rng: random.Random) -> None:
        super().__init__(
            rng,
            printable=_SAFE_CHARS,
            nonwhitespace=_SAFE_CHARS,
            nondigits=string.ascii_letters,
            nonword="-.",
            whitespace=" ",
        )
        cases = dict(self._cases)
        cases["any"] = lambda _: self._random.choice(_SAFE_CHARS)
        cases["not_literal"] = lambda x: self._random.choice(_SAFE_CHARS.replace(chr(x), ""))
        self._cases = cases

    def xeger(self, string_or_regex: str | re.Pattern[str]) -> str:
        pattern = string_or_regex if isinstance(string_or_regex, str) else string_or_regex.pattern
        result = self._build_string(_parsed_regex(pattern))
        self._cache.clear()
        return result

    def _handle_in(self, value: Any) -> Any:
        candidates = list(chain(*(self._handle_state(i) for i in value)))
        if candidates and candidates[0] is False:
            candidates = sorted(set(_SAFE_CHARS).difference(candidates[1:]))
        return self._random.choice(candidates)

    def _handle_repeat(self, start_range: int, end_range: int, value: Any) -> str:
        times = self._random.randint(start_range, min(end_range, start_range + 6))
        return "".join("".join(self._handle_state(i) for i in value) for _ in range(times))


@lru_cache(maxsize=512)
def _parsed_regex(pattern: str) -> Any:
    """Regex parse trees, reused: parsing costs more than generating from the tree."""
    return sre_parse.parse(pattern)


# ---------------------------------------------------------------------------
# Providers: which realistic value a property gets, from its name or description.


Make = Callable[[Faker, random.Random, str], Any]


@dataclass(frozen=True)
class _Provider:
    """Use ``make`` for a property whose name (or else description) matches.

    ``when`` narrows a rule to descriptions that also match it (e.g. a
    temperature "in Fahrenheit"), so rules are tried in table order. ``role``
    names the ``_Place`` field the property is, so sibling city, country and
    timezone properties can be drawn from one real place.
    """

    name: re.Pattern[str] | None
    description: re.Pattern[str] | None
    make: Make
    when: re.Pattern[str] | None = None
    role: str = ""


@dataclass(frozen=True)
class _Range:
    """A human range for a number property, e.g. years 1990..2030, money in cents."""

    name: re.Pattern[str] | None
    description: re.Pattern[str] | None
    low: Fraction
    high: Fraction
    step: Fraction = Fraction(1)
    when: re.Pattern[str] | None = None
    role: str = ""


def _rx(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern, re.IGNORECASE) if pattern else None


def _text(
    name: str | None, description: str | None, make: Make, when: str = "", role: str = ""
) -> _Provider:
    return _Provider(_rx(name), _rx(description), make, _rx(when), role)


def _span(
    name: str | None,
    description: str | None,
    low: float,
    high: float,
    *,
    step: str = "1",
    when: str = "",
    role: str = "",
) -> _Range:
    """A ``_Range`` from plain numbers; ``step`` is a decimal string such as ``"0.01"``."""
    return _Range(
        _rx(name),
        _rx(description),
        Fraction(str(low)),
        Fraction(str(high)),
        Fraction(step),
        _rx(when),
        role,
    )


def _sentence(faker: Faker, rng: random.Random, low: int, high: int) -> str:
    return faker.sentence(nb_words=rng.randint(low, high), variable_nb_words=False).rstrip(".")


def _words(faker: Faker, rng: random.Random, low: int, high: int) -> str:
    return " ".join(faker.words(rng.randint(low, high)))


def _record_id(faker: Faker, rng: random.Random, name: str) -> str:
    """``order id`` -> ``ORD-48213``: a prefix from the noun, then digits."""
    nouns = [w for w in name.split() if w not in ("id", "ids", "number", "no", "code", "ref")]
    prefix = (nouns[-1][:3] if nouns else "id").upper()
    return f"{prefix}-{rng.randint(10000, 99999)}"


def _calendar_date(rng: random.Random, first: date, days: int) -> str:
    return (first + timedelta(days=rng.randrange(days))).isoformat()


def _clock(rng: random.Random) -> tuple[int, int]:
    return rng.randint(7, 20), rng.choice((0, 15, 30, 45))


def _date(faker: Faker, rng: random.Random, name: str) -> str:
    return _calendar_date(rng, date(2024, 1, 1), 3 * 365)


def _birth_date(faker: Faker, rng: random.Random, name: str) -> str:
    return _calendar_date(rng, date(1950, 1, 1), 55 * 365)


def _time(faker: Faker, rng: random.Random, name: str) -> str:
    return "{:02d}:{:02d}".format(*_clock(rng))


def _rfc_time(faker: Faker, rng: random.Random, name: str) -> str:
    return "{:02d}:{:02d}:00Z".format(*_clock(rng))


def _date_time(faker: Faker, rng: random.Random, name: str) -> str:
    return f"{_date(faker, rng, name)}T{_rfc_time(faker, rng, name)}"


def _title(faker: Faker, rng: random.Random, name: str) -> str:
    return _sentence(faker, rng, 3, 6)


def _free_text(faker: Faker, rng: random.Random, name: str) -> str:
    return _sentence(faker, rng, 3, 12)


def _query(faker: Faker, rng: random.Random, name: str) -> str:
    return _words(faker, rng, 2, 4)


def _product(faker: Faker, rng: random.Random, name: str) -> str:
    return f"{faker.color_name()} {faker.word()}".capitalize()


def _coupon(faker: Faker, rng: random.Random, name: str) -> str:
    return f"{faker.word().upper()}{rng.choice((5, 10, 15, 20, 25))}"


def _meeting_room(faker: Faker, rng: random.Random, name: str) -> str:
    kind = rng.choice(("Room", "Conference Room", "Meeting Room"))
    return f"{kind} {rng.randint(1, 6)}{rng.choice('ABCD')}"


def _pick(options: Sequence[str]) -> Make:
    return lambda faker, rng, name: faker.random_element(options)


def _call(method: str, **kwargs: Any) -> Make:
    return lambda faker, rng, name: getattr(faker, method)(**kwargs)


_TRIP_END = r"\b(origin|destination|departure|arrival|from|to)\b"
_ID = r"\b(id|ids|sku|reference|ref)$|\b(order|booking|tracking|invoice|confirmation) (number|no)\b"
# Tried in order, first by property name, then by description alone.
STRING_PROVIDERS: tuple[_Provider, ...] = (
    _text(r"\b(uuid|guid)\b", r"\buuid\b", _call("uuid4")),
    _text(_ID, None, _record_id),
    _text(r"\be-?mail\b", r"\be-?mail address\b", _call("email")),
    _text(r"\b(user ?name|handle|login|screen name)\b", None, _call("user_name")),
    _text(r"\bpassword\b", None, _call("password", length=12, special_chars=False)),
    _text(r"\bfirst name\b|\bgiven name\b", None, _call("first_name")),
    _text(r"\blast name\b|\bsurname\b|\bfamily name\b", None, _call("last_name")),
    _text(r"\bfile ?name\b", None, _call("file_name")),
    _text(r"\b(coupon|promo|voucher|discount) ?(code)?\b", r"\b(coupon|promo) code\b", _coupon),
    _text(r"\b(meeting|conference) room\b", r"\b(meeting|conference) room\b", _meeting_room),
    _text(r"\b(file )?path\b|\bdirectory\b|\bfolder\b", None, _call("file_path", depth=2)),
    _text(
        r"\b(company|organi[sz]ation|employer|vendor|merchant|business)\b", None, _call("company")
    ),
    _text(
        r"\bcountry (code|iso)\b",
        r"\biso 3166|\bcountry code\b",
        _call("country_code"),
        role="country_code",
    ),
    _text(
        r"\bcountry\b",
        None,
        _call("country_code"),
        when=r"\bcode\b|\biso\b|alpha-?2",
        role="country_code",
    ),
    _text(r"\bcountry\b", r"\bcountry\b", _call("country"), role="country"),
    _text(
        r"\bcurrenc(y|ies)\b",
        r"\biso ?4217\b|\bcurrency code\b",
        _pick(_CURRENCIES),
        role="currency",
    ),
    _text(r"\blang(uage)?\b|\blocale\b", r"\biso ?639\b", _pick(_LANGUAGES), when=r"639|code"),
    _text(r"\blanguage\b", None, _call("language_name")),
    _text(r"\b(time ?zone|tz)\b", r"\btime ?zone\b|\biana\b", _call("timezone"), role="timezone"),
    _text(r"\b(ticker|stock|symbol)\b", r"\bticker\b|\bstock symbol\b", _pick(_TICKERS)),
    _text(r"\b(airport|iata)\b", r"\biata\b", _pick(_AIRPORTS)),
    _text(_TRIP_END, None, _pick(_AIRPORTS), when=r"\biata\b|\bairport\b"),
    _text(r"\b(city|town|location|destination|origin)\b", r"\bcity\b", _call("city"), role="city"),
    _text(
        r"\b(zip|postcode|postal code|zip code)\b",
        r"\b(zip|postal) code\b",
        _call("postcode"),
        role="postcode",
    ),
    _text(r"\b(state|province)\b", None, _call("state"), role="state"),
    _text(r"\b(street|address)\b", r"\bstreet address\b", _call("street_address")),
    _text(r"\b(phone|mobile|telephone|fax)\b", r"\bphone number\b", _call("basic_phone_number")),
    _text(r"\b(url|uri|link|website|homepage|webhook|endpoint)\b", r"\burl\b", _call("url")),
    _text(r"\b(domain|hostname|host)\b", r"\bdomain name\b", _call("domain_name")),
    _text(r"\bip( address)?\b|\bipv4\b", r"\bip address\b", _call("ipv4")),
    _text(r"\bcolou?r\b", None, _call("color_name")),
    _text(r"\b(job|occupation|profession|job title)\b", None, _call("job")),
    _text(r"\b(birth ?date|birthday|dob|date of birth)\b", r"\bdate of birth\b", _birth_date),
    _text(
        r"\b(datetime|timestamp)\b|\bat$", r"\bdate-?time\b|\btimestamp\b|\biso ?8601\b", _date_time
    ),
    _text(r"\b(date|day|deadline|due|checkin|checkout)\b|\bcheck (in|out)\b", r"\bdate\b", _date),
    _text(r"\btime\b", r"\btime of day\b", _time),
    _text(r"\b(query|q|search|keywords?|terms?|prompt|question|topic)\b", r"\bsearch\b", _query),
    _text(r"\b(title|subject|headline|caption)\b", None, _title),
    _text(
        r"\b(description|message|body|text|content|notes?|comment|reason|summary|details|"
        r"instructions|bio|feedback|review)\b",
        None,
        _free_text,
    ),
    _text(r"\b(product|item)( name)?\b", None, _product),
    _text(
        r"\b(full name|customer|recipient|person|contact|guest|passenger|author|attendee|"
        r"employee|patient|sender|owner|assignee|name)\b",
        r"\bfull name\b|\bperson's name\b",
        _call("name"),
    ),
    _text(r"\b(category|tag|genre|type|kind|label|status|mode)\b", None, _call("word")),
)

_MONEY = r"\b(price|amount|cost|total|balance|fee|salary|budget|payment|subtotal|tip)\b"
_CENTS = r"\bcents?\b|\bminor units?\b|\bsmallest currency unit\b"
_WEIGHT = r"\b(weight|mass|wt)\b"
_SPAN_OF_TIME = r"\b(duration|timeout|delay|interval|ttl|wait|length|period|expiry|expires in)\b"
_DISTANCE = r"\b(radius|distance)\b"
NUMBER_RANGES: tuple[_Range, ...] = (
    _span(r"\btemp", None, 14, 95, step="0.1", when=r"fahrenheit"),
    _span(r"\btemp", None, 263, 308, step="0.1", when=r"kelvin"),
    _span(None, r"\bfahrenheit\b", 14, 95),
    _span(r"\btemp(erature)?\b|\bcelsius\b", r"\bcelsius\b", -10, 35),
    _span(r"\byears?\b", r"\byear\b", 1990, 2030),
    _span(r"\bmonth\b", None, 1, 12),
    _span(r"\bday\b", None, 1, 28),
    # A span of time reads its unit from the description: "Timeout in seconds".
    _span(r"\b(ms|millis|milliseconds)\b", r"\bin (ms|milliseconds)\b", 100, 30000, step="100"),
    _span(_SPAN_OF_TIME, None, 100, 30000, step="100", when=r"\b(ms|milliseconds?)\b"),
    _span(r"\b(seconds|secs)\b", r"\bin seconds\b", 5, 300),
    _span(_SPAN_OF_TIME, None, 5, 300, when=r"\bseconds?\b|\bsecs?\b"),
    _span(_SPAN_OF_TIME, None, 1, 12, when=r"\bin hours\b"),
    _span(_SPAN_OF_TIME, None, 1, 14, when=r"\bin days\b"),
    _span(r"\bhours?\b", None, 0, 23),
    _span(r"\bminute\b", None, 0, 59),
    _span(r"\bage\b", None, 18, 90),
    _span(r"\b(rating|stars|score)\b", None, 1, 5),
    _span(r"\b(percent|percentage|pct|discount)\b", r"\bpercent", 1, 100),
    _span(
        r"\b(ratio|fraction|probability|confidence|likelihood)\b",
        r"\bbetween 0(\.0)? and 1(\.0)?\b|\b0(\.0)? ?(-|to) ?1(\.0)?\b|\bprobability\b",
        0,
        1,
        step="0.01",
    ),
    _span(r"\b(lat|latitude)\b", r"\blatitude\b", -60, 70, step="0.01", role="latitude"),
    _span(r"\b(lon|lng|longitude)\b", r"\blongitude\b", -170, 170, step="0.01", role="longitude"),
    # Money: two decimals, or whole cents when the description says so.
    _span(r"\b(cents?|minor units?)\b", _CENTS, 100, 50000),
    _span(_MONEY, None, 100, 50000, when=_CENTS),
    _span(_MONEY, r"\b(amount|price|cost)\b", 5, 500, step="0.01"),
    _span(r"\b(lbs?|pounds)\b", None, 1, 150, step="0.1"),
    _span(_WEIGHT, None, 1, 150, step="0.1", when=r"\b(lbs?|pounds?)\b"),
    _span(_WEIGHT, None, 50, 2000, when=r"\bgrams?\b|\(g\)|\bin g\b"),
    _span(_WEIGHT + r"|\b(kg|kilograms?)\b", r"\b(kg|kilograms?)\b", 0.5, 80, step="0.1"),
    _span(r"\b(quantity|qty|count|num|number|units)\b", r"\bnumber of\b", 1, 20),
    _span(r"\b(limit|max results|page size|per page|top k|size|k)\b", r"\bmaximum number\b", 1, 50),
    _span(r"\b(page|offset)\b", None, 1, 10),
    _span(r"\b(guests|adults|children|people|passengers|seats|rooms|travelers)\b", None, 1, 6),
    _span(r"\b(days|nights|weeks)\b", None, 1, 14),
    _span(r"\b(duration|minutes|timeout|mins)\b", r"\bin minutes\b", 5, 120),
    _span(_DISTANCE, None, 100, 5000, step="50", when=r"\bmet(er|re)s?\b|\bin m\b"),
    _span(_DISTANCE + r"|\b(miles|km)\b", r"\bin (km|kilometers|kilometres|miles)\b", 1, 50),
)
_DEFAULT_RANGE = _span(None, None, 1, 100)


def _words_of(name: str) -> str:
    """``orderId`` / ``order-id`` / ``order_id`` -> ``order id``, the form rules match."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return re.sub(r"[\s_\-.]+", " ", spaced).strip().lower()


def _singular(words: str) -> str:
    return " ".join(
        w[:-1] if len(w) > 3 and w.endswith("s") and w[-2] not in "su" else w for w in words.split()
    )


@lru_cache(maxsize=4096)
def _lookup(name: str, description: str, table: str) -> int | None:
    """The index of the first rule of ``table`` for this property, by name then description."""
    rules: Sequence[_Provider | _Range] = STRING_PROVIDERS if table == "string" else NUMBER_RANGES
    words = _words_of(name)
    for candidate in dict.fromkeys((words, _singular(words))):
        for index, rule in enumerate(rules):
            if rule.name and candidate and rule.name.search(candidate) and _when(rule, description):
                return index
    for index, rule in enumerate(rules):
        if rule.description and rule.description.search(description) and _when(rule, description):
            return index
    return None


def _when(rule: _Provider | _Range, description: str) -> bool:
    return rule.when is None or bool(rule.when.search(description))


def string_provider(name: str, description: str = "") -> _Provider | None:
    """The realistic string provider for a property, if its name or description has one."""
    index = _lookup(name, description, "string")
    return None if index is None else STRING_PROVIDERS[index]


def number_range(name: str, description: str = "") -> _Range:
    """The human range for a number property (1..100 when nothing more specific fits)."""
    index = _lookup(name, description, "number")
    return _DEFAULT_RANGE if index is None else NUMBER_RANGES[index]


# ---------------------------------------------------------------------------
# Places: sibling properties that describe one place are drawn from one real place.


@dataclass(frozen=True)
class _Place:
    """A real city and what belongs with it; a field is None where it does not apply."""

    city: str
    state: str | None
    country: str
    country_code: str
    currency: str
    timezone: str
    latitude: float
    longitude: float
    postcode: str | None


def _places(rows: str) -> tuple[_Place, ...]:
    """Parse ``city|state|country|code|currency|timezone|lat|lon|postcode`` lines."""
    out = []
    for line in rows.strip().splitlines():
        city, state, country, code, currency, zone, lat, lon, postcode = line.split("|")
        out.append(
            _Place(
                city, state or None, country, code, currency, zone, float(lat), float(lon),
                postcode or None,
            )
        )  # fmt: skip
    return tuple(out)


PLACES = _places("""
New York|New York|United States|US|USD|America/New_York|40.71|-74.01|10001
Los Angeles|California|United States|US|USD|America/Los_Angeles|34.05|-118.24|90012
San Francisco|California|United States|US|USD|America/Los_Angeles|37.77|-122.42|94103
Chicago|Illinois|United States|US|USD|America/Chicago|41.88|-87.63|60601
Houston|Texas|United States|US|USD|America/Chicago|29.76|-95.37|77002
Austin|Texas|United States|US|USD|America/Chicago|30.27|-97.74|78701
Seattle|Washington|United States|US|USD|America/Los_Angeles|47.61|-122.33|98101
Denver|Colorado|United States|US|USD|America/Denver|39.74|-104.99|80202
Phoenix|Arizona|United States|US|USD|America/Phoenix|33.45|-112.07|85004
Boston|Massachusetts|United States|US|USD|America/New_York|42.36|-71.06|02108
Miami|Florida|United States|US|USD|America/New_York|25.76|-80.19|33130
Toronto|Ontario|Canada|CA|CAD|America/Toronto|43.65|-79.38|M5H 2N2
Vancouver|British Columbia|Canada|CA|CAD|America/Vancouver|49.28|-123.12|V6B 1A1
Montreal|Quebec|Canada|CA|CAD|America/Toronto|45.50|-73.57|H2Y 1C6
Mexico City|Mexico City|Mexico|MX|MXN|America/Mexico_City|19.43|-99.13|06000
Rio de Janeiro|Rio de Janeiro|Brazil|BR|BRL|America/Sao_Paulo|-22.91|-43.17|20010-000
Buenos Aires||Argentina|AR|ARS|America/Argentina/Buenos_Aires|-34.60|-58.38|C1002
Santiago||Chile|CL|CLP|America/Santiago|-33.45|-70.67|8320000
London||United Kingdom|GB|GBP|Europe/London|51.51|-0.13|SW1A 1AA
Manchester||United Kingdom|GB|GBP|Europe/London|53.48|-2.24|M1 1AE
Edinburgh||United Kingdom|GB|GBP|Europe/London|55.95|-3.19|EH1 1YZ
Dublin||Ireland|IE|EUR|Europe/Dublin|53.35|-6.26|D02 X285
Paris||France|FR|EUR|Europe/Paris|48.86|2.35|75001
Lyon||France|FR|EUR|Europe/Paris|45.76|4.84|69001
Marseille||France|FR|EUR|Europe/Paris|43.30|5.37|13001
Berlin|Berlin|Germany|DE|EUR|Europe/Berlin|52.52|13.40|10115
Munich|Bavaria|Germany|DE|EUR|Europe/Berlin|48.14|11.58|80331
Hamburg|Hamburg|Germany|DE|EUR|Europe/Berlin|53.55|9.99|20095
Madrid||Spain|ES|EUR|Europe/Madrid|40.42|-3.70|28001
Barcelona||Spain|ES|EUR|Europe/Madrid|41.39|2.17|08001
Rome||Italy|IT|EUR|Europe/Rome|41.90|12.50|00184
Milan||Italy|IT|EUR|Europe/Rome|45.46|9.19|20121
Amsterdam||Netherlands|NL|EUR|Europe/Amsterdam|52.37|4.90|1012 JS
Brussels||Belgium|BE|EUR|Europe/Brussels|50.85|4.35|1000
Zurich||Switzerland|CH|CHF|Europe/Zurich|47.38|8.54|8001
Geneva||Switzerland|CH|CHF|Europe/Zurich|46.20|6.14|1201
Vienna||Austria|AT|EUR|Europe/Vienna|48.21|16.37|1010
Lisbon||Portugal|PT|EUR|Europe/Lisbon|38.72|-9.14|1100-148
Stockholm||Sweden|SE|SEK|Europe/Stockholm|59.33|18.07|111 20
Oslo||Norway|NO|NOK|Europe/Oslo|59.91|10.75|0150
Copenhagen||Denmark|DK|DKK|Europe/Copenhagen|55.68|12.57|1050
Warsaw||Poland|PL|PLN|Europe/Warsaw|52.23|21.01|00-001
Prague||Czech Republic|CZ|CZK|Europe/Prague|50.08|14.44|110 00
Athens||Greece|GR|EUR|Europe/Athens|37.98|23.73|105 57
Istanbul||Turkey|TR|TRY|Europe/Istanbul|41.01|28.98|34110
Tokyo||Japan|JP|JPY|Asia/Tokyo|35.68|139.69|100-0001
Osaka||Japan|JP|JPY|Asia/Tokyo|34.69|135.50|530-0001
Seoul||South Korea|KR|KRW|Asia/Seoul|37.57|126.98|04524
Shanghai||China|CN|CNY|Asia/Shanghai|31.23|121.47|200000
Beijing||China|CN|CNY|Asia/Shanghai|39.90|116.41|100000
Singapore||Singapore|SG|SGD|Asia/Singapore|1.35|103.82|018956
Mumbai|Maharashtra|India|IN|INR|Asia/Kolkata|19.08|72.88|400001
Bangalore|Karnataka|India|IN|INR|Asia/Kolkata|12.97|77.59|560001
Dubai||United Arab Emirates|AE|AED|Asia/Dubai|25.20|55.27|
Sydney|New South Wales|Australia|AU|AUD|Australia/Sydney|-33.87|151.21|2000
Melbourne|Victoria|Australia|AU|AUD|Australia/Melbourne|-37.81|144.96|3000
Auckland||New Zealand|NZ|NZD|Pacific/Auckland|-36.85|174.76|1010
Cape Town|Western Cape|South Africa|ZA|ZAR|Africa/Johannesburg|-33.92|18.42|8001
Nairobi||Kenya|KE|KES|Africa/Nairobi|-1.29|36.82|00100
Cairo||Egypt|EG|EGP|Africa/Cairo|30.04|31.24|11511
""")
# The order place fields are fitted in: an earlier field keeps its place when a later
# one's schema would leave no place at all. Currency only joins a country.
PLACE_ROLES = (
    "city", "country_code", "country", "state", "postcode", "timezone", "latitude", "longitude",
    "currency",
)  # fmt: skip


def place_role(name: str, description: str = "") -> str:
    """Which ``_Place`` field a property is (``""`` for none), by the rule it gets."""
    provider = string_provider(name, description)
    return (provider.role if provider else "") or number_range(name, description).role


# ---------------------------------------------------------------------------
# Formats: values that pass jsonschema's FormatChecker and still read naturally.

_FORMAT_MAKERS: dict[str, Make] = {
    "date": _date,
    "time": _rfc_time,
    "date-time": _date_time,
    "duration": _pick(_DURATIONS),
    "email": _call("email"),
    "idn-email": _call("email"),
    "hostname": _call("domain_name"),
    "idn-hostname": _call("domain_name"),
    "ipv4": _call("ipv4"),
    "ipv6": _call("ipv6"),
    "uri": _call("uri"),
    "uri-reference": _call("uri"),
    "iri": _call("uri"),
    "iri-reference": _call("uri"),
    "uuid": _call("uuid4"),
    "regex": _pick(("^[a-z]+$", "^[0-9]{3}$", "^[A-Z]{2}-[0-9]+$")),
}
SUPPORTED_FORMATS = tuple(_FORMAT_MAKERS)


# ---------------------------------------------------------------------------
# Plan nodes: each draws one value for one schema location.


@dataclass(frozen=True)
class _Const:
    value: Any

    def generate(self, draw: _Draw) -> Any:
        return copy.deepcopy(self.value)


@dataclass(frozen=True)
class _Enum:
    choices: tuple[Any, ...]

    def generate(self, draw: _Draw) -> Any:
        return copy.deepcopy(draw.rng.choice(self.choices))


@dataclass(frozen=True)
class _Boolean:
    def generate(self, draw: _Draw) -> bool:
        return draw.rng.random() < 0.5


@dataclass(frozen=True)
class _Default:
    """Draw the schema's default about half the time: real callers often pass it."""

    default: Any
    inner: _Node

    def generate(self, draw: _Draw) -> Any:
        if draw.rng.random() < _DEFAULT_RATE:
            return copy.deepcopy(self.default)
        return self.inner.generate(draw)


@dataclass(frozen=True)
class _Nullable:
    inner: _Node

    def generate(self, draw: _Draw) -> Any:
        return None if draw.rng.random() < _NULL_RATE else self.inner.generate(draw)


@dataclass(frozen=True)
class _AnyOf:
    branches: tuple[_Node, ...]

    def generate(self, draw: _Draw) -> Any:
        return draw.rng.choice(self.branches).generate(draw)


@dataclass(frozen=True)
class _OneOf:
    """Draw from a branch, keeping only values that match exactly one of the branches."""

    branches: tuple[_Node, ...]
    checks: tuple[Check, ...]
    path: str
    tool: str

    def generate(self, draw: _Draw) -> Any:
        for _ in range(_ATTEMPTS):
            value = draw.rng.choice(self.branches).generate(draw)
            if sum(check(value) for check in self.checks) == 1:
                return value
        raise UnsupportedSchemaError(
            "could not draw a value that matches exactly one oneOf branch; "
            "make the branches mutually exclusive (e.g. with a const or required key)",
            path=self.path,
            tool=self.tool or None,
        )


@dataclass(frozen=True)
class _Grid:
    """Numbers ``k * step`` for ``k`` in ``[low, high]``: exact decimals, no 0.1 + 0.2 noise."""

    low: int
    high: int
    step: Fraction
    multiple_of: float | None
    path: str
    tool: str
    passing: tuple[int | float, ...] = ()  # every allowed value, when the grid is small

    def generate(self, draw: _Draw) -> int | float:
        if self.passing:
            return draw.rng.choice(self.passing)
        k = self.low
        for _ in range(_ATTEMPTS):
            k = draw.rng.randint(self.low, self.high)
            value = _grid_value(k, self.step)
            if _passes_multiple_of(value, self.multiple_of):
                return value
        for near in range(max(self.low, k - 500), min(self.high, k + 500) + 1):
            if _passes_multiple_of(value := _grid_value(near, self.step), self.multiple_of):
                return value
        raise UnsupportedSchemaError(
            f"no number near {value} passes multipleOf {self.multiple_of} in float arithmetic",
            path=self.path,
            tool=self.tool or None,
        )


def _grid_value(k: int, step: Fraction) -> int | float:
    """``k * step`` as an int when whole, else the nearest float (Fraction-free, same value)."""
    scaled, denominator = k * step.numerator, step.denominator
    if scaled % denominator == 0:
        return scaled // denominator
    return scaled / denominator  # int / int is correctly rounded, as float(Fraction) is


def _passes_multiple_of(value: float, multiple_of: float | None) -> bool:
    """jsonschema checks a float multipleOf in float arithmetic; so must we."""
    if not isinstance(multiple_of, float):
        return True
    quotient = value / multiple_of
    return int(quotient) == quotient


@dataclass(frozen=True)
class _Text:
    """A string: provider value, then format value, then regex value, then plain words."""

    provider: Make | None
    format_maker: Make | None
    pattern: re.Pattern[str] | None
    min_length: int
    max_length: int | None
    format: str | None
    name: str
    path: str
    tool: str

    def generate(self, draw: _Draw) -> str:
        for make in (self.provider, self.format_maker):
            for _ in range(2 if make else 0):
                value = str(make(draw.faker, draw.rng, self.name))  # type: ignore[misc]
                if self._fits(value):
                    return value
        for attempt in range(6 if self.pattern else 0):
            value = draw.xeger(self.pattern.pattern)  # type: ignore[union-attr]
            if self._fits(value) and (attempt > 3 or _speakable(value)):
                return value
        for _ in range(2):
            value = _fitted_text(draw, self.min_length, self.max_length)
            if self._fits(value):
                return value
        raise UnsupportedSchemaError(
            "could not draw a string meeting its length, pattern and format together",
            path=self.path,
            tool=self.tool or None,
        )

    def _fits(self, value: str) -> bool:
        if len(value) < self.min_length:
            return False
        if self.max_length is not None and len(value) > self.max_length:
            return False
        if self.pattern is not None and not self.pattern.search(value):
            return False
        return self.format is None or FORMAT_CHECKER.conforms(value, self.format)


def _speakable(text: str) -> bool:
    """Text a user sentence can quote: no edge spaces, newlines or double quotes."""
    return text == text.strip() and '"' not in text and "\n" not in text


def _fitted_text(draw: _Draw, low: int, high: int | None) -> str:
    """Plain Faker words cut or padded to ``low..high`` characters, no edge spaces."""
    cap = high if high is not None else max(low, 24)
    text = " ".join(draw.faker.words(draw.rng.randint(1, 2)))
    while len(text) < low:
        text = f"{text} {draw.faker.word()}"
    text = text[:cap].strip()
    while len(text) < low:
        text += draw.rng.choice(string.ascii_lowercase)
    return text


@dataclass(frozen=True)
class _Array:
    item: _Node | None
    min_items: int
    max_items: int | None
    unique: bool
    path: str
    tool: str

    def generate(self, draw: _Draw) -> list[Any]:
        if self.item is None:
            return []
        low = self.min_items if self.max_items == 0 else max(self.min_items, 1)
        high = max(low, self.min_items + 2) if self.max_items is None else self.max_items
        count = draw.rng.randint(low, min(high, low + 2))
        if not self.unique:
            return [self.item.generate(draw) for _ in range(count)]
        return self._unique(draw, count)

    def _unique(self, draw: _Draw, count: int) -> list[Any]:
        items: dict[str, Any] = {}
        for _ in range(count * 10 + 10):
            if len(items) == count:
                break
            value = self.item.generate(draw)  # type: ignore[union-attr]
            items.setdefault(json.dumps(value, sort_keys=True), value)
        if len(items) < self.min_items:
            raise UnsupportedSchemaError(
                f"could not draw {self.min_items} distinct items for uniqueItems",
                path=self.path,
                tool=self.tool or None,
            )
        return list(items.values())


@dataclass(frozen=True)
class _Property:
    name: str
    node: _Node
    needs: frozenset[str]  # itself plus what dependentRequired pulls in


@dataclass(frozen=True)
class _Object:
    required: tuple[_Property, ...]
    optional: tuple[_Property, ...]
    order: tuple[str, ...]
    extra: _Node | None
    min_properties: int
    max_properties: int | None
    ordered_pairs: tuple[_RangePair, ...]
    path: str
    tool: str
    place: _PlaceGroup | None = None
    unit_links: tuple[_UnitLink, ...] = ()
    distinct_pairs: tuple[tuple[str, str], ...] = ()

    def generate(self, draw: _Draw) -> dict[str, Any]:
        chosen = self._choose(draw)
        nodes = self.nodes
        fixed = self.place.draw(draw, chosen) if self.place else None
        values = {
            name: fixed[name] if fixed and name in fixed else nodes[name].generate(draw)
            for name in self.order
            if name in chosen
        }
        if len(values) < self.min_properties:
            self._add_extras(draw, values)
        for link in self.unit_links:
            link.apply(draw, values)
        for first, second in self.distinct_pairs:
            _tell_apart(draw, values, first, second, nodes[second])
        for pair in self.ordered_pairs:
            _order_pair(draw, values, pair, nodes[pair.end])
        return values

    @cached_property
    def nodes(self) -> dict[str, _Node]:
        return {p.name: p.node for p in chain(self.required, self.optional)}

    @cached_property
    def required_names(self) -> frozenset[str]:
        return frozenset().union(*(p.needs for p in self.required))

    def _choose(self, draw: _Draw) -> set[str]:
        chosen: set[str] = set(self.required_names)
        random, rate = draw.rng.random, draw.optional_rate
        if self.max_properties is None:
            # Every name chosen is a declared one, so no choice can exceed ``order``.
            for prop in self.optional:
                if random() < rate:
                    chosen |= prop.needs
        else:
            for prop in self.optional:
                if random() < rate and len(chosen | prop.needs) <= self.max_properties:
                    chosen |= prop.needs
        limit = self.max_properties if self.max_properties is not None else len(self.order)
        if len(chosen) < self.min_properties:
            rest = list(self.optional)
            draw.rng.shuffle(rest)
            for prop in rest:
                if len(chosen) < self.min_properties and len(chosen | prop.needs) <= limit:
                    chosen |= prop.needs
        return chosen

    def _add_extras(self, draw: _Draw, values: dict[str, Any]) -> None:
        """Only ``minProperties`` beyond the declared ones makes us invent keys."""
        for _ in range(self.min_properties * 10):
            if len(values) >= self.min_properties or self.extra is None:
                break
            key = draw.faker.word()
            if key not in values and key not in self.order:
                values[key] = self.extra.generate(draw)
        if len(values) < self.min_properties:
            raise UnsupportedSchemaError(
                f"could not reach minProperties {self.min_properties}",
                path=self.path,
                tool=self.tool or None,
            )


@dataclass(frozen=True)
class _PlaceGroup:
    """Sibling properties (city, country code, timezone, ...) drawn from one real place.

    ``places`` holds only the places whose value for every field passes that
    field's schema, so a drawn place never breaks validity.
    """

    fields: tuple[tuple[str, str], ...]  # (property, _Place attribute)
    places: tuple[_Place, ...]

    def draw(self, draw: _Draw, chosen: set[str]) -> dict[str, Any]:
        present = [(name, role) for name, role in self.fields if name in chosen]
        if len(present) < 2:  # a lone city keeps Faker's variety
            return {}
        place = draw.rng.choice(self.places)
        return {name: getattr(place, role) for name, role in present}


@dataclass(frozen=True)
class _UnitLink:
    """A number whose sensible range follows a sibling unit choice: 72 with "fahrenheit"."""

    unit: str
    number: str
    by_unit: Mapping[str, _Node]
    default: Any = None  # the unit a tool assumes when the caller leaves it out

    def apply(self, draw: _Draw, values: dict[str, Any]) -> None:
        if self.number not in values:
            return
        node = self.by_unit.get(str(values.get(self.unit, self.default)).lower())
        if node is not None:
            values[self.number] = node.generate(draw)


def _tell_apart(draw: _Draw, values: dict[str, Any], first: str, second: str, node: _Node) -> None:
    """Redraw ``second`` while it equals ``first``: no flight from JFK to JFK, no USD to USD.

    Only for text: equal from/to dates are a one-day range, not a mistake.
    """
    for _ in range(_ATTEMPTS):
        if first not in values or second not in values or values[first] != values[second]:
            return
        if not isinstance(values[first], str) or _ISO_LIKE.match(values[first]):
            return
        values[second] = node.generate(draw)


def _order_pair(draw: _Draw, values: dict[str, Any], pair: _RangePair, node: _Node) -> None:
    """Keep ``start <= end`` for ranges like start_date/end_date or min_price/max_price."""
    start, end = pair.start, pair.end
    if start not in values or end not in values:
        return
    for _ in range(_ATTEMPTS):
        if not _out_of_order(values[start], values[end]):
            break
        if pair.swappable:
            values[start], values[end] = values[end], values[start]
        else:
            values[end] = node.generate(draw)
    _fit_date_span(draw, values, pair, node)


def _fit_date_span(draw: _Draw, values: dict[str, Any], pair: _RangePair, node: _Node) -> None:
    """A date range as long as its ``nights`` sibling says, else a few days or hours.

    Dates are drawn over three years, so an independent check-out would land
    months after check-in and a meeting would end next week; the end moves only
    where its own schema accepts the new value.
    """
    first, last = values[pair.start], values[pair.end]
    start, end = _instant(first), _instant(last)
    if start is None or end is None:
        return
    length = values.get(pair.length) if pair.length else None
    if isinstance(length, int) and not isinstance(length, bool) and 0 <= length <= 366:
        gap = timedelta(days=length)
    elif len(last) == 10 and end - start > timedelta(days=30):
        gap = timedelta(days=draw.rng.randint(1, 14))
    elif len(last) > 10 and end - start > timedelta(hours=12):
        gap = timedelta(minutes=30 * draw.rng.randint(1, 8))
    else:
        return
    try:
        moved = start + gap
    except OverflowError:  # a pattern's year 9999
        return
    text = _text_node(node)
    shown = moved.date().isoformat() if len(last) == 10 else moved.strftime("%Y-%m-%dT%H:%M:%SZ")
    if text is not None and text._fits(shown) and not _out_of_order(first, shown):
        values[pair.end] = shown


def _instant(value: Any) -> datetime | None:
    """``2024-05-01`` or ``2024-05-01T09:30:00Z`` (the shapes seeding writes) as a datetime."""
    if not isinstance(value, str) or not _ISO_INSTANT.match(value):
        return None
    try:
        return datetime.fromisoformat(value[:19])
    except ValueError:  # month 13 from a pattern
        return None


def _text_node(node: _Node) -> _Text | None:
    """The string generator under a default or nullable wrapper, if that is what it is."""
    while isinstance(node, _Default | _Nullable):
        node = node.inner
    return node if isinstance(node, _Text) else None


_ISO_LIKE = re.compile(r"^(\d{4}-\d{2}-\d{2}|\d{2}:\d{2})")
_ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}Z)?$")


def _out_of_order(start: Any, end: Any) -> bool:
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (start, end))
    dates = all(isinstance(v, str) and _ISO_LIKE.match(v) for v in (start, end))
    return (numbers or dates) and start > end


@dataclass(frozen=True)
class _RangePair:
    start: str
    end: str
    swappable: bool  # same schema: swapping keeps both valid
    length: str = ""  # a sibling counting the days between them, e.g. ``nights``


# Start-words and the end-words they pair with: start_date/end_date, min_price/max_price.
_PAIR_WORDS = {
    "start": ("end",),
    "begin": ("end",),
    "from": ("to",),
    "since": ("until",),
    "min": ("max",),
    "minimum": ("maximum",),
    "earliest": ("latest",),
    "checkin": ("checkout",),
    "lower": ("upper",),
    "departure": ("return", "arrival"),
    "pickup": ("dropoff", "return"),
    "after": ("before",),
}
# Two ends of a trip or transfer, which should differ: origin/destination, from/to currency.
_ENDPOINT_WORDS = {
    "from": ("to",),
    "origin": ("destination",),
    "source": ("target",),
    "departure": ("arrival",),
    "sender": ("recipient",),
}
_DAY_COUNT = re.compile(
    r"^((num|number of|stay|trip|rental|duration( in)?) )?(nights|days)$|^(length of )?stay$"
)


def _range_words(name: str) -> str:
    words = _words_of(name)
    for spaced, joined in (("check in", "checkin"), ("check out", "checkout")):
        words = words.replace(spaced, joined)
    return words.replace("pick up", "pickup").replace("drop off", "dropoff")


def _twin_pairs(names: Sequence[str], twins: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    """Property pairs found by swapping a start-word for its end-word, e.g. start/end date."""
    by_words = {_range_words(name): name for name in names}
    pairs = []
    for words, name in by_words.items():
        tokens = words.split()
        for i, token in enumerate(tokens):
            for other in twins.get(token, ()):
                twin = " ".join([*tokens[:i], other, *tokens[i + 1 :]])
                if twin in by_words:
                    pairs.append((name, by_words[twin]))
    return pairs


def _day_count(names: Sequence[str]) -> str:
    """The one property counting days or nights (a stay's length), or ``""``."""
    found = [name for name in names if _DAY_COUNT.match(_words_of(name))]
    return found[0] if len(found) == 1 else ""


# ---------------------------------------------------------------------------
# Compiling a schema into a plan.


@dataclass
class _Plan:
    """Everything drawing and breaking arguments needs, compiled once per schema."""

    root: _Node
    doc: SchemaDocument
    properties: dict[str, Any]
    required: tuple[str, ...]
    strict: Validator
    lenient: Validator | None  # only when OpenAPI nullable makes it differ from strict
    exact: bool
    strict_valid: Check  # ``strict.is_valid``, compiled to plain Python where it can be
    lenient_valid: Check | None  # the same for ``lenient``
    property_checks: dict[str, Check] = field(default_factory=dict)
    _resolved: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    def resolved_property(self, name: str) -> dict[str, Any] | None:
        """A property's schema with $ref and allOf merged, or None if it cannot be."""
        if name not in self._resolved:
            try:
                self._resolved[name] = self.doc.resolve(self.properties[name], path=ROOT_PATH)[0]
            except UnsupportedSchemaError:
                self._resolved[name] = None
        return self._resolved[name]


class _Planner:
    """Turns one tool's parameters schema into a tree of generator nodes."""

    def __init__(self, root: Mapping[str, Any], tool: str) -> None:
        self.doc = SchemaDocument(root, tool=tool)
        self.tool = tool
        self.root = root
        self.validator = compiled_validator(root, openapi=False)

    def check(self, s: Any) -> Check:
        """``is_valid`` against ``s``, a subschema read within this document."""
        return validity_check(self.validator.evolve(schema=s), root=self.root)

    def error(self, message: str, path: str) -> UnsupportedSchemaError:
        return self.doc.error(message, path)

    def node(self, schema: Any, path: str, refs: tuple[str, ...], name: str) -> _Node:
        resolved, refs = self.doc.resolve(schema, path=path, refs=refs)
        return self.resolved(resolved, path, refs, name)

    def resolved(self, s: dict[str, Any], path: str, refs: tuple[str, ...], name: str) -> _Node:
        for keyword in UNSUPPORTED_KEYWORDS:
            if keyword in s:
                raise self.error(f"'{keyword}' is not supported for seeding arguments", path)
        if "anyOf" in s:
            return _AnyOf(tuple(self._branches(s, "anyOf", path, refs, name)))
        if "oneOf" in s:
            checks = tuple(self.check(b) for b in s["oneOf"])
            branches = tuple(self._branches(s, "oneOf", path, refs, name))
            return _described_enum(branches, checks) or _OneOf(branches, checks, path, self.tool)
        node = self._typed(s, path, refs, name)
        default = s.get("default")
        if "default" in s and "const" not in s and self._accepts(s, default):
            return _Default(default, node)
        return node

    def _branches(
        self, s: dict[str, Any], keyword: str, path: str, refs: tuple[str, ...], name: str
    ) -> list[_Node]:
        """One node per satisfiable branch, each merged with the schema's other keywords."""
        base = {k: v for k, v in s.items() if k != keyword}
        nodes, errors = [], []
        for index, branch in enumerate(s[keyword]):
            where = f"{path}.{keyword}.{index}"
            try:
                resolved, branch_refs = self.doc.resolve(branch, path=where, refs=refs)
                merged = self.doc.merge(base, resolved, path=where)
                nodes.append(self.resolved(merged, where, branch_refs, name))
            except UnsupportedSchemaError as error:
                errors.append(error)
        if not nodes:
            raise (
                errors[0]
                if len(errors) == 1
                else self.error(
                    f"no {keyword} branch can be seeded; first problem: {errors[0].message}", path
                )
            )
        return nodes

    def _accepts(self, s: Mapping[str, Any], value: Any) -> bool:
        return bool(self.validator.evolve(schema=s).is_valid(value))

    def _typed(self, s: dict[str, Any], path: str, refs: tuple[str, ...], name: str) -> _Node:
        if "const" in s:
            if not self._accepts(s, s["const"]):
                raise self.error(f"const {s['const']!r} breaks the schema's other keywords", path)
            return _Const(s["const"])
        if "enum" in s:
            choices = tuple(v for v in s["enum"] if self._accepts(s, v))
            if not choices:
                raise self.error("no enum value satisfies the schema's other keywords", path)
            return _Enum(choices)
        types = schema_types(s, nullable=False) or (_implied_type(s),)
        nodes, errors = [], []
        for type_ in dict.fromkeys(t for t in types if t != "null"):
            try:
                nodes.append(self._of_type(type_, s, path, refs, name))
            except UnsupportedSchemaError as error:
                errors.append(error)
        if not nodes:
            if "null" in types:
                return _Const(None)
            raise errors[0] if errors else self.error("no JSON type is allowed here", path)
        node: _Node = nodes[0] if len(nodes) == 1 else _AnyOf(tuple(nodes))
        return _Nullable(node) if "null" in types else node

    def _of_type(
        self, type_: str, s: dict[str, Any], path: str, refs: tuple[str, ...], name: str
    ) -> _Node:
        if type_ == "object":
            return self._object(s, path, refs)
        if type_ == "array":
            return self._array(s, path, refs, name)
        if type_ == "string":
            return self._string(s, path, name)
        if type_ in ("integer", "number"):
            return self._number(s, path, name, integer=type_ == "integer")
        if type_ == "boolean":
            return _Boolean()
        raise self.error(f"unknown type {type_!r}", path)

    def _string(self, s: dict[str, Any], path: str, name: str) -> _Text:
        low, high = s.get("minLength", 0), s.get("maxLength")
        if high is not None and low > high:
            raise self.error(f"minLength {low} is greater than maxLength {high}", path)
        fmt = s["format"] if isinstance(s.get("format"), str) else ""
        checked = fmt in FORMAT_CHECKER.checkers
        if checked and fmt not in _FORMAT_MAKERS:
            raise self.error(f"format '{fmt}' is not supported for seeding arguments", path)
        provider = string_provider(name, s.get("description") or "") if name else None
        return _Text(
            provider=provider.make if provider else None,
            format_maker=_FORMAT_MAKERS.get(fmt) if checked else None,
            pattern=self._pattern(s, path),
            min_length=low,
            max_length=high,
            format=fmt if checked else None,
            name=_words_of(name),
            path=path,
            tool=self.tool,
        )

    def _pattern(self, s: Mapping[str, Any], path: str) -> re.Pattern[str] | None:
        if "pattern" not in s:
            return None
        try:
            return re.compile(s["pattern"])
        except re.error as error:
            message = f"pattern {s['pattern']!r} is not a usable regex: {error}"
            raise self.error(message, path) from None

    def _number(
        self,
        s: dict[str, Any],
        path: str,
        name: str,
        *,
        integer: bool,
        human: _Range | None = None,
    ) -> _Grid:
        """Numbers on the coarsest readable grid that still offers a few choices.

        ``confidence`` between 0 and 1 gets 0.37, not always 1: a grid of whole
        numbers with under ``_FEW`` points gives way to a finer one.
        """
        if human is None:
            human = number_range(name, s.get("description") or "") if name else _DEFAULT_RANGE
        multiple = s.get("multipleOf")
        steps = _steps(human.step, multiple, integer=integer)
        low, high = _bounds(s)
        if low is not None and high is not None and low[0] > high[0]:
            raise self.error(f"minimum {low[0]} is greater than maximum {high[0]}", path)
        as_float = multiple if isinstance(multiple, float) else None
        found: list[_Grid] = []
        for step in steps:
            grid = _grid(low, high, human, step)
            if grid is None:
                continue
            if as_float is None or grid[1] - grid[0] > 1000:
                found.append(_Grid(grid[0], grid[1], step, as_float, path, self.tool))
            else:
                values = (_grid_value(k, step) for k in range(grid[0], grid[1] + 1))
                passing = tuple(v for v in values if _passes_multiple_of(v, as_float))
                if passing:
                    found.append(_Grid(grid[0], grid[1], step, as_float, path, self.tool, passing))
            if found and _choices(found[-1]) >= _FEW:
                return found[-1]
        if found:
            return max(found, key=_choices)
        if human is not _DEFAULT_RANGE:
            # The name's usual range (a "confidence" in 0..1) cannot meet this schema
            # (multipleOf 2): the schema wins, the name's hint is dropped.
            return self._number(s, path, name, integer=integer, human=_DEFAULT_RANGE)
        kind = "integer" if integer else "number"
        raise self.error(f"no {kind} satisfies the bounds and multipleOf together", path)

    def _array(self, s: dict[str, Any], path: str, refs: tuple[str, ...], name: str) -> _Array:
        low, high = s.get("minItems", 0), s.get("maxItems")
        if high is not None and low > high:
            raise self.error(f"minItems {low} is greater than maxItems {high}", path)
        items = s.get("items", True)
        if isinstance(items, list):
            raise self.error("tuple-form 'items' (a list) is not supported", path)
        item: _Node | None = None
        if items is not False and high != 0:
            try:
                item = self.node(items, f"{path}.items", refs, name)
            except UnsupportedSchemaError:
                if low > 0:
                    raise
        if item is None and low > 0:
            raise self.error(f"minItems {low} but items accept no value", path)
        return _Array(item, low, high, bool(s.get("uniqueItems")), path, self.tool)

    def _object(self, s: dict[str, Any], path: str, refs: tuple[str, ...]) -> _Object:
        additional = s.get("additionalProperties", True)
        dependent: Mapping[str, Sequence[str]] = s.get("dependentRequired") or {}
        declared = object_properties(s)
        required = {n for n, _, needed in declared if needed}
        names = [n for n, _, _ in declared]
        names += [d for ds in dependent.values() for d in ds if d not in names]
        schemas = {n: sub for n, sub, _ in declared}
        nodes: dict[str, _Node] = {}
        for prop in dict.fromkeys(names):
            sub = schemas.get(prop, True)
            if sub is True and prop not in (s.get("properties") or {}):
                sub = additional
            where = f"{path}.properties.{prop}"
            try:
                if sub is False:
                    raise self.error(f"'{prop}' is needed but additionalProperties is false", where)
                nodes[prop] = self.node(sub, where, refs, prop)
            except UnsupportedSchemaError:
                if prop in _closure(required, dependent):
                    raise
        return self._object_plan(s, path, refs, nodes, required, dependent)

    def _object_plan(
        self,
        s: dict[str, Any],
        path: str,
        refs: tuple[str, ...],
        nodes: dict[str, _Node],
        required: set[str],
        dependent: Mapping[str, Sequence[str]],
    ) -> _Object:
        base = _closure(required, dependent)
        optional = []
        for name in nodes:
            needs = _closure({name}, dependent) - base
            if name not in base and needs <= nodes.keys():
                optional.append(_Property(name, nodes[name], frozenset(needs)))
        low, high = s.get("minProperties", 0), s.get("maxProperties")
        if high is not None and len(base) > high:
            raise self.error(
                f"{len(base)} properties are required but maxProperties is {high}", path
            )
        additional = s.get("additionalProperties", True)
        extra = None
        if additional is not False and len(nodes) < low:
            extra = self.node(additional, f"{path}.additionalProperties", refs, "")
        if extra is None and len(nodes) < low:
            raise self.error(f"minProperties {low} but only {len(nodes)} properties allowed", path)
        declared = self._declared(s, path, refs, nodes)
        length = _day_count(list(nodes))
        pairs = tuple(
            _RangePair(
                a, b, json.dumps(s["properties"][a]) == json.dumps(s["properties"][b]), length
            )
            for a, b in _twin_pairs(list(nodes), _PAIR_WORDS)
            if a in declared and b in declared
        )
        return _Object(
            required=tuple(_Property(n, nodes[n], frozenset({n})) for n in nodes if n in base),
            optional=tuple(optional),
            order=tuple(nodes),
            extra=extra,
            min_properties=low,
            max_properties=high,
            ordered_pairs=pairs,
            path=path,
            tool=self.tool,
            place=self._place_group(declared),
            unit_links=self._unit_links(declared, path),
            distinct_pairs=tuple(_twin_pairs(list(nodes), _ENDPOINT_WORDS)),
        )

    def _declared(
        self, s: dict[str, Any], path: str, refs: tuple[str, ...], nodes: Mapping[str, _Node]
    ) -> dict[str, tuple[Any, dict[str, Any]]]:
        """``(raw, resolved)`` schema of each declared property that has a node."""
        out = {}
        for name, sub in (s.get("properties") or {}).items():
            if name in nodes:
                try:
                    resolved, _ = self.doc.resolve(sub, path=f"{path}.properties.{name}", refs=refs)
                except UnsupportedSchemaError:
                    continue
                out[name] = (sub, resolved)
        return out

    def _place_group(
        self, declared: Mapping[str, tuple[Any, dict[str, Any]]]
    ) -> _PlaceGroup | None:
        """City, country, code, timezone... of one object, kept to places their schemas accept."""
        by_role: dict[str, list[str]] = {}
        for name, (_, resolved) in declared.items():
            role = place_role(name, str(resolved.get("description") or ""))
            if role:
                by_role.setdefault(role, []).append(name)
        fields: list[tuple[str, str]] = []
        fitting = PLACES
        for role in PLACE_ROLES:
            names = by_role.get(role, [])
            if len(names) != 1:  # origin and destination cities are two places
                continue
            if role == "currency" and not {"country", "country_code"} & {r for _, r in fields}:
                continue
            check = self.validator.evolve(schema=declared[names[0]][0])
            fits = tuple(
                place
                for place in fitting
                if (value := getattr(place, role)) is not None and check.is_valid(value)
            )
            if fits:
                fields.append((names[0], role))
                fitting = fits
        return _PlaceGroup(tuple(fields), fitting) if len(fields) >= 2 else None

    def _unit_links(
        self, declared: Mapping[str, tuple[Any, dict[str, Any]]], path: str
    ) -> tuple[_UnitLink, ...]:
        """Number siblings of a unit enum, with a range per unit (temperature and "units")."""
        units = [
            (name, resolved)
            for name, (_, resolved) in declared.items()
            if _UNIT_NAME.search(_words_of(name)) and isinstance(resolved.get("enum"), list)
        ]
        if len(units) != 1:
            return ()
        unit, unit_schema = units[0]
        links = []
        for name, (_, resolved) in declared.items():
            numeric = [t for t in schema_types(resolved, nullable=False) or () if t != "null"]
            if numeric not in (["number"], ["integer"]) or _CHOICE_KEYWORDS & resolved.keys():
                continue
            description = str(resolved.get("description") or "")
            base = number_range(name, description)
            by_unit: dict[str, _Node] = {}
            for value in unit_schema["enum"]:
                hint = _UNIT_HINTS.get(str(value).lower())
                human = number_range(name, f"{description} {hint}") if hint else base
                if human is base:
                    continue
                where = f"{path}.properties.{name}"
                try:
                    grid = self._number(
                        resolved, where, name, integer=numeric == ["integer"], human=human
                    )
                except UnsupportedSchemaError:
                    continue
                by_unit[str(value).lower()] = grid
            if by_unit:
                links.append(_UnitLink(unit, name, by_unit, unit_schema.get("default")))
        return tuple(links)


_UNIT_NAME = re.compile(r"\b(unit|units|scale|system)\b")
_CHOICE_KEYWORDS = frozenset({"enum", "const", "anyOf", "oneOf"})
_METRIC = "in celsius, kilograms, kilometers"
_IMPERIAL = "in fahrenheit, pounds, miles"
# What a unit enum value means for a sibling number, in the words NUMBER_RANGES read.
_UNIT_HINTS = {
    "metric": _METRIC,
    "si": _METRIC,
    "imperial": _IMPERIAL,
    "us": _IMPERIAL,
    **dict.fromkeys(("celsius", "c", "°c"), "in celsius"),
    **dict.fromkeys(("fahrenheit", "f", "°f"), "in fahrenheit"),
    **dict.fromkeys(("kelvin", "k"), "in kelvin"),
    **dict.fromkeys(("kg", "kilograms"), "in kilograms"),
    **dict.fromkeys(("g", "grams"), "in grams"),
    **dict.fromkeys(("lb", "lbs", "pounds"), "in pounds"),
    **dict.fromkeys(("m", "meters", "metres"), "in meters"),
    **dict.fromkeys(("km", "kilometers", "kilometres", "mi", "miles"), "in km"),
    **dict.fromkeys(("ms", "milliseconds"), "in milliseconds"),
    **dict.fromkeys(("s", "sec", "seconds"), "in seconds"),
    **dict.fromkeys(("min", "minutes"), "in minutes"),
    **dict.fromkeys(("h", "hours"), "in hours"),
    **dict.fromkeys(("d", "days"), "in days"),
}


def _described_enum(branches: Sequence[_Node], checks: Sequence[Check]) -> _Enum | None:
    """``oneOf`` of ``const`` branches (an enum with a description per value) as an enum.

    Keeps the values that match exactly one branch, so drawing needs no check.
    """
    if not all(isinstance(branch, _Const) for branch in branches):
        return None
    values = [branch.value for branch in branches]  # type: ignore[attr-defined]
    choices = tuple(v for v in values if sum(check(v) for check in checks) == 1)
    return _Enum(choices) if choices else None


def _choices(grid: _Grid) -> int:
    return len(grid.passing) if grid.passing else grid.high - grid.low + 1


def _closure(names: set[str], dependent: Mapping[str, Sequence[str]]) -> set[str]:
    """``names`` plus everything dependentRequired makes them bring along."""
    out, todo = set(names), list(names)
    while todo:
        for needed in dependent.get(todo.pop(), ()):
            if needed not in out:
                out.add(needed)
                todo.append(needed)
    return out


def _implied_type(s: Mapping[str, Any]) -> str:
    """The type a schema without ``type`` most plausibly means (any value would pass)."""
    hints = (
        ("object", ("properties", "required", "additionalProperties", "minProperties")),
        ("array", ("items", "minItems", "maxItems", "uniqueItems")),
        ("number", ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")),
    )
    for type_, keywords in hints:
        if any(k in s for k in keywords):
            return type_
    return "string"


Bound = tuple[Fraction, bool]  # (value, exclusive)


def _bounds(s: Mapping[str, Any]) -> tuple[Bound | None, Bound | None]:
    """The tightest lower and upper bound, each with whether it is exclusive."""
    lows = [
        (Fraction(str(s[k])), k.startswith("exclusive"))
        for k in ("minimum", "exclusiveMinimum")
        if isinstance(s.get(k), int | float) and not isinstance(s.get(k), bool)
    ]
    highs = [
        (Fraction(str(s[k])), k.startswith("exclusive"))
        for k in ("maximum", "exclusiveMaximum")
        if isinstance(s.get(k), int | float) and not isinstance(s.get(k), bool)
    ]
    low = max(lows, key=lambda b: (b[0], b[1]), default=None)
    high = min(highs, key=lambda b: (b[0], not b[1]), default=None)
    return low, high


def _steps(preferred: Fraction, multiple: Any, *, integer: bool) -> list[Fraction]:
    """Grid steps to try, coarsest (most readable) first; all honour multipleOf."""
    base = [preferred, _CENT] if not integer else [Fraction(1)]
    if not integer:
        base += [Fraction(1, 10**n) for n in range(3, 7)]
    if multiple is None:
        return list(dict.fromkeys(base))
    m = Fraction(str(multiple))
    lcms = [_lcm(m, step) for step in base]
    return list(dict.fromkeys(lcms if integer else [*lcms, m]))


def _lcm(a: Fraction, b: Fraction) -> Fraction:
    return Fraction(math.lcm(a.numerator, b.numerator), math.gcd(a.denominator, b.denominator))


def _grid(
    low: Bound | None, high: Bound | None, human: _Range, step: Fraction
) -> tuple[int, int] | None:
    """The ``k`` range of ``k * step`` inside the bounds, preferring the human range.

    The human range wins unless the bounds squeeze it below ``_FEW`` points.
    """
    span = human.high - human.low
    lo_v = low[0] if low else None
    hi_v = high[0] if high else None
    preferred = (
        human.low if lo_v is None else max(lo_v, human.low),
        human.high if hi_v is None else min(hi_v, human.high),
    )
    candidates = [preferred]
    if lo_v is not None or hi_v is not None:
        candidates.append(
            (
                lo_v if lo_v is not None else hi_v - span,  # type: ignore[operator]
                hi_v if hi_v is not None else lo_v + span,  # type: ignore[operator]
            )
        )
    found: list[tuple[int, int]] = []
    for wanted_lo, wanted_hi in candidates:
        k_lo, k_hi = -((-wanted_lo) // step), wanted_hi // step
        if low and low[1] and k_lo * step <= low[0]:
            k_lo = low[0] // step + 1
        if high and high[1] and k_hi * step >= high[0]:
            k_hi = -((-high[0]) // step) - 1
        if k_lo <= k_hi:
            found.append((int(k_lo), int(k_hi)))
            if k_hi - k_lo + 1 >= _FEW:
                break
    # The human range squeezed to a point by the bounds gives way to the bounds.
    return max(found, key=lambda k: k[1] - k[0]) if found else None


# ---------------------------------------------------------------------------
# Public API.

_PLAN_CACHE_SIZE = 512
_plans: dict[tuple[str, str], _Plan] = {}
_plans_by_id: dict[tuple[int, str], tuple[Mapping[str, Any], _Plan]] = {}


def seed_arguments(
    schema: Mapping[str, Any],
    rng: random.Random,
    faker: Faker,
    *,
    optional_rate: float = 0.5,
    tool: str = "",
) -> dict[str, Any]:
    """Realistic arguments for a tool's ``parameters`` schema that always validate.

    Required properties are always present, optional ones with probability
    ``optional_rate``. Raises UnsupportedSchemaError (naming ``tool`` and the
    JSON path) for schema features that cannot be satisfied.
    """
    if not 0.0 <= optional_rate <= 1.0:
        raise ValueError(f"optional_rate must be between 0 and 1, got {optional_rate}")
    plan = _plan_for(schema, tool)
    draw = _Draw(rng, _unweighted_twin(faker), optional_rate)
    arguments: dict[str, Any] = {}
    for _ in range(3):
        arguments = plan.root.generate(draw)
        if plan.exact or plan.strict_valid(arguments):
            return arguments
    error = next(iter(plan.strict.iter_errors(arguments)))
    where = ".".join([ROOT_PATH, *map(str, error.absolute_schema_path)])
    raise UnsupportedSchemaError(
        f"could not draw arguments that satisfy this schema ({error.message})",
        path=where,
        tool=tool or None,
    )


def violate_argument(
    schema: Mapping[str, Any],
    arguments: Mapping[str, Any],
    rng: random.Random,
    faker: Faker,
    *,
    tool: str = "",
) -> tuple[dict[str, Any], str, str]:
    """Break valid ``arguments`` in one way, for negative examples.

    Returns ``(bad_arguments, kind, detail)`` where kind is ``invalid_argument``
    (one property gets a value its schema rejects) or ``missing_argument`` (one
    required property removed); ``bad_arguments`` always fails validation.
    """
    plan = _plan_for(schema, tool)
    draw = _Draw(rng, _unweighted_twin(faker), 0.0)
    present_required = [name for name in plan.required if name in arguments]
    kinds = ["invalid_argument", "missing_argument"] if present_required else ["invalid_argument"]
    first = rng.choice(kinds)
    for kind in (first, *(k for k in kinds if k != first)):
        if kind == "missing_argument":
            found = _without_required(plan, arguments, rng, present_required)
        else:
            found = _with_invalid_value(plan, arguments, draw)
        if found is not None:
            return found[0], kind, found[1]
    raise UnsupportedSchemaError(
        "could not build arguments that break this schema (it accepts almost anything)",
        path=ROOT_PATH,
        tool=tool or None,
    )


_twins = threading.local()


def _unweighted_twin(faker: Faker) -> Faker:
    """A uniform-choice twin of the caller's Faker, reseeded from it on every call.

    Faker's frequency-weighted picks (first names, cities, companies) cost five to
    ten times more than uniform ones and dominate seeding time. The twin draws
    from the same locale data; its seed comes from the caller's Faker, so the
    caller's seed still decides every value. Multi-locale Fakers are used as is.

    The twin handed out is the single-locale Faker's own ``Generator``: the proxy
    forwards every call to it anyway, through an ``AttributeError`` per lookup that
    costs more than most draws. The caller's last Faker is remembered (per
    thread), so its locales and generator are looked up once, not per call.
    """
    last: tuple[Faker, Any, Faker | None] | None = getattr(_twins, "last", None)
    if last is None or last[0] is not faker:
        last = _twins.last = (faker, *_twin_of(faker))
    _, source, twin = last
    if twin is None:
        return faker
    twin.seed_instance(source.random.getrandbits(64))
    return twin


def _twin_of(faker: Faker) -> tuple[Any, Faker | None]:
    """(where the twin's seed is drawn from, the twin), or (faker, None) to use it as is."""
    try:
        faker.random  # noqa: B018 - raises for a multi-locale Faker
    except NotImplementedError:
        return faker, None
    key = tuple(faker.locales)
    cache: dict[tuple[str, ...], Faker] = _twins.__dict__.setdefault("by_locales", {})
    twin = cache.get(key)
    if twin is None:
        twin = cache[key] = Faker(list(key), use_weighting=False)
    return _single_generator(faker), _single_generator(twin)


def _single_generator(faker: Faker) -> Faker:
    """A single-locale proxy's one ``Generator`` (same methods, same random), else itself."""
    factories = faker.__dict__.get("_factories") if isinstance(faker, Faker) else None
    if factories is not None and len(factories) == 1 and isinstance(factories[0], Generator):
        return cast(Faker, factories[0])
    return faker


def _uses_nullable(schema: Mapping[str, Any]) -> bool:
    return any("nullable" in sub for sub in iter_subschemas(schema))


def _is_exact(schema: Mapping[str, Any]) -> bool:
    """Whether every keyword in the document is one the plan honours by construction."""
    draft = str(schema.get("$schema", ""))
    if not any(name in draft for name in _EXACT_DRAFTS[1:]) and draft:
        return False
    return all(
        keyword in EXACT_KEYWORDS or keyword.startswith("x-")
        for sub in iter_subschemas(schema)
        for keyword in sub
    )


def _plan_for(schema: Mapping[str, Any], tool: str) -> _Plan:
    """The compiled plan for a schema, built once per distinct schema and tool.

    The same schema object (a tool's ``parameters``, seeded once per attempt) is
    found by identity first, which skips serialising it; the cache keeps the
    object alive, so its id cannot be reused while it is cached. Schemas are not
    edited in place once seeded.
    """
    known = _plans_by_id.get((id(schema), tool))
    if known is not None and known[0] is schema:
        return known[1]
    key = (json.dumps(schema, default=str), tool)
    plan = _plans.get(key)
    if plan is None:
        plan = _compile(schema, tool)
        if len(_plans) >= _PLAN_CACHE_SIZE:
            _plans.pop(next(iter(_plans)))
        _plans[key] = plan
    if len(_plans_by_id) >= _PLAN_CACHE_SIZE:
        _plans_by_id.pop(next(iter(_plans_by_id)))
    _plans_by_id[(id(schema), tool)] = (schema, plan)
    return plan


def _compile(schema: Mapping[str, Any], tool: str) -> _Plan:
    planner = _Planner(schema, tool)
    top, refs = planner.doc.resolve(schema, path=ROOT_PATH)
    types = schema_types(top, nullable=False)
    if types is not None and "object" not in types:
        raise planner.error("parameters must describe an object", ROOT_PATH)
    top = {**top, "type": "object"}
    declared = object_properties(top)
    properties = {name: sub for name, sub, _ in declared}
    root = planner.resolved(top, ROOT_PATH, refs, "")
    lenient = compiled_validator(schema) if _uses_nullable(schema) else None
    return _Plan(
        root=root,
        doc=planner.doc,
        properties=properties,
        required=tuple(name for name, _, needed in declared if needed),
        strict=planner.validator,
        lenient=lenient,
        exact=_is_exact(schema),
        property_checks={n: planner.check(s) for n, s in properties.items()},
        strict_valid=validity_check(planner.validator, root=schema),
        lenient_valid=None if lenient is None else validity_check(lenient, root=lenient.schema),
    )


# ---------------------------------------------------------------------------
# Violations: one wrong or missing argument, described the way a tool would.


def _breaks(plan: _Plan, arguments: Mapping[str, Any]) -> bool:
    """Invalid as plain JSON Schema and, if the schema uses ``nullable``, as OpenAPI too."""
    if plan.strict_valid(arguments):
        return False
    return plan.lenient_valid is None or not plan.lenient_valid(arguments)


def _without_required(
    plan: _Plan, arguments: Mapping[str, Any], rng: random.Random, names: list[str]
) -> tuple[dict[str, Any], str] | None:
    name = rng.choice(names)
    bad = {key: value for key, value in arguments.items() if key != name}
    return (bad, f"missing required argument '{name}'") if _breaks(plan, bad) else None


def _with_invalid_value(
    plan: _Plan, arguments: Mapping[str, Any], draw: _Draw
) -> tuple[dict[str, Any], str] | None:
    present = [name for name in plan.properties if name in arguments]
    absent = [name for name in plan.properties if name not in arguments]
    draw.rng.shuffle(present)
    draw.rng.shuffle(absent)
    for name in present + absent:
        resolved = plan.resolved_property(name)
        if resolved is None:
            continue
        for value, detail in _bad_values(plan, name, resolved, arguments.get(name), draw):
            if plan.property_checks[name](value):
                continue
            bad = {**arguments, name: value}
            if _breaks(plan, bad):
                return bad, detail
    return _with_unexpected_key(plan, arguments, draw)


def _with_unexpected_key(
    plan: _Plan, arguments: Mapping[str, Any], draw: _Draw
) -> tuple[dict[str, Any], str] | None:
    key = f"{draw.faker.word()}_option"
    bad = {**arguments, key: "yes"}
    return (bad, f"unexpected argument '{key}'") if _breaks(plan, bad) else None


Bad = tuple[Any, str]
_ARTICLES = {"integer": "an integer", "array": "an array", "object": "an object", "null": "null"}
_BAD_FORMATS: dict[str, Callable[[Any], str]] = {
    "email": lambda v: (
        v.replace("@", " at ") if isinstance(v, str) and "@" in v else "john at mail"
    ),
    "idn-email": lambda v: "john at mail",
    "date": lambda v: _us_date(v),
    "date-time": lambda v: f"{_us_date(v)} at 2:30 PM",
    "time": lambda v: "2:30 PM",
    "duration": lambda v: "90 minutes",
    "uuid": lambda v: v[:-4] if isinstance(v, str) and len(v) > 8 else "not-a-uuid",
    "ipv4": lambda v: "300.12.4.1",
    "ipv6": lambda v: "2001:db8::zz",
    "hostname": lambda v: "my_host!.example",
    "idn-hostname": lambda v: "my host.example",
    "uri": lambda v: "www.example.com/page",
    "iri": lambda v: "www.example.com/page",
}


def _us_date(value: Any) -> str:
    if isinstance(value, str) and re.match(r"^\d{4}-\d{2}-\d{2}", value):
        return f"{value[5:7]}/{value[8:10]}/{value[:4]}"
    return "03/15/2024"


def _show(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else json.dumps(value)


def _bad_values(
    plan: _Plan, name: str, s: Mapping[str, Any], current: Any, draw: _Draw
) -> list[Bad]:
    """Candidate wrong values for one property, in random order; the caller keeps the first
    that the property's schema really rejects."""
    candidates = [
        *_wrong_types(name, _expected_types(plan, s), current, draw),
        *_out_of_choices(name, s, draw),
        *_out_of_bounds(name, s, current),
        *_out_of_shape(name, s, current, draw),
    ]
    fmt = s.get("format")
    if fmt in _BAD_FORMATS:
        value = _BAD_FORMATS[fmt](current)
        candidates.append((value, f"'{name}' must be a valid {fmt}, got {_show(value)}"))
    draw.rng.shuffle(candidates)
    return candidates


def _expected_types(plan: _Plan, s: Mapping[str, Any]) -> tuple[str, ...]:
    """The JSON types a property accepts; empty when it accepts any type."""
    types = schema_types(s)
    if types:
        return types
    branches = s.get("anyOf") or s.get("oneOf")
    if branches:
        found: list[str] = []
        for branch in branches:
            try:
                resolved, _ = plan.doc.resolve(branch, path=ROOT_PATH)
            except UnsupportedSchemaError:
                continue
            branch_types = _expected_types(plan, resolved)
            if not branch_types:
                return ()
            found += branch_types
        return tuple(dict.fromkeys(found))
    return ()


def _wrong_types(name: str, types: tuple[str, ...], current: Any, draw: _Draw) -> list[Bad]:
    if not types:
        return []
    expected = " or ".join(_ARTICLES.get(t, f"a {t}") for t in types)
    numeric = "integer" in types or "number" in types
    values: list[Any] = []
    if numeric and "string" not in types:
        count = current if isinstance(current, int) and not isinstance(current, bool) else 3
        values.append(_NUMBER_WORDS[count] if 0 <= count < 10 else f"about {count}")
    if "string" in types and not numeric:
        values.append(draw.rng.randint(10, 99))
    if "boolean" in types and "string" not in types:
        values.append("yes")
    if ("array" in types or "object" in types) and "string" not in types:
        values.append("none")
    return [(value, f"'{name}' must be {expected}, got {_show(value)}") for value in values]


def _out_of_choices(name: str, s: Mapping[str, Any], draw: _Draw) -> list[Bad]:
    allowed = list(s["enum"]) if "enum" in s else [s["const"]] if "const" in s else None
    if allowed is None:
        return []
    value: Any = draw.faker.word()
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in allowed):
        value = max(allowed) + 1
    shown = ", ".join(_show(v) for v in allowed[:5]) + (", ..." if len(allowed) > 5 else "")
    return [(value, f"'{name}' must be one of {shown}, got {_show(value)}")]


def _out_of_bounds(name: str, s: Mapping[str, Any], current: Any) -> list[Bad]:
    rules = (
        ("minimum", -1, "at least"),
        ("exclusiveMinimum", 0, "greater than"),
        ("maximum", 1, "at most"),
        ("exclusiveMaximum", 0, "less than"),
    )
    out: list[Bad] = []
    for keyword, shift, wording in rules:
        bound = s.get(keyword)
        if isinstance(bound, int | float) and not isinstance(bound, bool):
            value = bound + shift
            out.append((value, f"'{name}' must be {wording} {bound}, got {_show(value)}"))
    multiple = s.get("multipleOf")
    if isinstance(current, int | float) and not isinstance(current, bool) and multiple:
        exact = Fraction(str(current)) + Fraction(str(multiple)) / 2
        value = int(exact) if exact.denominator == 1 else float(exact)
        out.append((value, f"'{name}' must be a multiple of {multiple}, got {_show(value)}"))
    return out


def _out_of_shape(name: str, s: Mapping[str, Any], current: Any, draw: _Draw) -> list[Bad]:
    """Too long, too short, off-pattern strings and too short or long arrays."""
    out: list[Bad] = []
    text = current if isinstance(current, str) else draw.faker.word()
    if "maxLength" in s:
        longer = text
        while len(longer) <= s["maxLength"]:
            longer = f"{longer} {draw.faker.word()}".strip()
        out.append(
            (longer, f"'{name}' must be at most {s['maxLength']} characters, got {_show(longer)}")
        )
    if s.get("minLength", 0) > 0:
        shorter = text[: s["minLength"] - 1]
        out.append(
            (
                shorter,
                f"'{name}' must be at least {s['minLength']} characters, got {_show(shorter)}",
            )
        )
    if "pattern" in s:
        off = f"{draw.faker.word()} {draw.faker.word()}!"
        out.append((off, f"'{name}' must match pattern '{s['pattern']}', got {_show(off)}"))
    items = current if isinstance(current, list) else []
    if s.get("minItems", 0) > 0:
        fewer = items[: s["minItems"] - 1]
        out.append((fewer, f"'{name}' must have at least {s['minItems']} items, got {len(fewer)}"))
    if "maxItems" in s and items:
        more = (items * (s["maxItems"] + 1))[: s["maxItems"] + 1]
        out.append((more, f"'{name}' must have at most {s['maxItems']} items, got {len(more)}"))
    return out

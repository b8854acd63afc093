"""Which realistic value a property gets, from its name or description.

String providers (a ``city`` gets a Faker city, an ``order_id`` ``ORD-48213``)
and human number ranges (years 1990..2030, money in cents, a timeout "in
seconds"), tried in table order by property name, then by description; plus
values for string formats that pass jsonschema's FormatChecker and still read
naturally.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from functools import lru_cache
from typing import Any

from callforge.generator.seeding.free_text import free_text_maker
from callforge.generator.seeding.places import AIRPORTS, PLACES, region_code
from callforge.generator.seeding.randomness import Draw
from callforge.generator.tool_kinds import ACCOUNT_WORDS, RECORD_ID_WORDS

_TICKERS = ("AAPL", "MSFT", "GOOGL", "AMZN", "TSLA", "NVDA", "META", "NFLX", "IBM", "ORCL")
_AIRPORTS = tuple(AIRPORTS)
# Currencies people actually convert between, not Faker's every ISO 4217 code.
_CURRENCIES = (
    "USD", "EUR", "GBP", "JPY", "CAD", "AUD", "CHF", "CNY", "INR", "MXN", "BRL", "SEK",
    "NOK", "DKK", "PLN", "SGD", "HKD", "NZD", "ZAR", "KRW", "AED", "TRY", "CZK", "THB",
)  # fmt: skip
_LANGUAGES = ("en", "fr", "de", "es", "it", "pt", "nl", "ja", "zh", "ko", "ar", "ru", "sv")
_DURATIONS = ("PT15M", "PT30M", "PT45M", "PT1H", "PT2H", "PT1H30M", "P1D", "P3D", "P1W", "P2W")


# ---------------------------------------------------------------------------
# Providers: which realistic value a property gets, from its name or description.


Make = Callable[[Draw, str], Any]
"""Draws a value for a property whose name, in words, is the second argument."""


@dataclass(frozen=True)
class _Provider:
    """Use ``make`` for a property whose name (or else description) matches.

    ``when`` narrows a rule to descriptions that also match it (e.g. a
    temperature "in Fahrenheit"), so rules are tried in table order. ``role``
    names the ``Place`` field the property is, so sibling city, country and
    timezone properties can be drawn from one real place.
    """

    name: re.Pattern[str] | None
    description: re.Pattern[str] | None
    make: Make
    when: re.Pattern[str] | None = None
    role: str = ""
    vague: bool = False  # a stand-in (a random word): values a description offers beat it
    free_text: str = ""  # the kind of free text (free_text.KINDS), if it is one


@dataclass(frozen=True)
class Range:
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
    name: str | None,
    description: str | None,
    make: Make,
    when: str = "",
    role: str = "",
    *,
    vague: bool = False,
) -> _Provider:
    return _Provider(_rx(name), _rx(description), make, _rx(when), role, vague)


def _free(name: str | None, description: str | None, kind: str, when: str = "") -> _Provider:
    return _Provider(_rx(name), _rx(description), free_text_maker(kind), _rx(when), free_text=kind)


def _span(
    name: str | None,
    description: str | None,
    low: float,
    high: float,
    *,
    step: str = "1",
    when: str = "",
    role: str = "",
) -> Range:
    """A ``Range`` from plain numbers; ``step`` is a decimal string such as ``"0.01"``."""
    return Range(
        _rx(name),
        _rx(description),
        Fraction(str(low)),
        Fraction(str(high)),
        Fraction(step),
        _rx(when),
        role,
    )


def _record_id(draw: Draw, name: str) -> str:
    """``order id`` -> ``ORD-48213``: a prefix from the noun, then digits."""
    nouns = [w for w in name.split() if w not in ("id", "ids", "number", "no", "code", "ref")]
    prefix = (nouns[-1][:3] if nouns else "id").upper()
    return f"{prefix}-{draw.rng.randint(10000, 99999)}"


def _clock(rng: random.Random) -> tuple[int, int]:
    return rng.randint(7, 20), rng.choice((0, 15, 30, 45))


def _day(draw: Draw, first: int, last: int) -> date:
    """A day between ``first`` and ``last`` days from the example's today (both included)."""
    return draw.today + timedelta(days=draw.rng.randint(first, last))


def _dated(first: int, last: int, *, clock: bool = False) -> Make:
    """Dates (or date-times) ``first..last`` days from today: a booking lies ahead of it."""

    def make(draw: Draw, name: str) -> str:
        day = _day(draw, first, last).isoformat()
        return f"{day}T{_rfc_time(draw, name)}" if clock else day

    return make


# Days from today: a meeting, a flight, a deadline lie ahead; a transaction or a
# "since" lies behind; a bare date is near today either way.
_AHEAD, _SOON, _BEHIND, _NEAR = (3, 120), (1, 30), (-365, -1), (-30, 45)
_date = _dated(*_NEAR)
_date_time = _dated(*_NEAR, clock=True)


def _ahead(*, clock: bool = False) -> Make:
    """After today: within a month for a meeting or a deadline, within months for a trip."""
    soon, later = _dated(*_SOON, clock=clock), _dated(*_AHEAD, clock=clock)
    return lambda draw, name: (soon if _is_soon(name) else later)(draw, name)


@lru_cache(maxsize=1024)
def _is_soon(name: str) -> bool:
    return bool(re.search(_SOON_WORDS, name)) and not re.search(_FAR_WORDS, name)


def _birth_date(draw: Draw, name: str) -> str:
    """Someone 18 to 80 years old on the example's today."""
    return _day(draw, -80 * 365, -18 * 365).isoformat()


def _time(draw: Draw, name: str) -> str:
    return "{:02d}:{:02d}".format(*_clock(draw.rng))


def _rfc_time(draw: Draw, name: str) -> str:
    return "{:02d}:{:02d}:00Z".format(*_clock(draw.rng))


def _product(draw: Draw, name: str) -> str:
    return f"{draw.faker.color_name()} {draw.faker.word()}".capitalize()


def _coupon(draw: Draw, name: str) -> str:
    return f"{draw.faker.word().upper()}{draw.rng.choice((5, 10, 15, 20, 25))}"


def _meeting_room(draw: Draw, name: str) -> str:
    kind = draw.rng.choice(("Room", "Conference Room", "Meeting Room"))
    return f"{kind} {draw.rng.randint(1, 6)}{draw.rng.choice('ABCD')}"


def _full_name(draw: Draw, name: str) -> str:
    """ "Carla Wood", as on a passport: no "Dr." or "PhD" (Faker adds them one time in ten)."""
    return f"{draw.faker.first_name()} {draw.faker.last_name()}"


def _city(draw: Draw, name: str) -> str:
    """A real city: Faker's en_US cities are invented ("Lake Jamesfort"), no weather has them."""
    return draw.rng.choice(PLACES).city


def _city_and_region(draw: Draw, name: str) -> str:
    place = draw.rng.choice(PLACES)
    return f"{place.city}, {region_code(place)}"


def _city_and_country(draw: Draw, name: str) -> str:
    place = draw.rng.choice(PLACES)
    return f"{place.city}, {place.country}"


def _pick(options: Sequence[str]) -> Make:
    return lambda draw, name: draw.faker.random_element(options)


def _call(method: str, **kwargs: Any) -> Make:
    return lambda draw, name: getattr(draw.faker, method)(**kwargs)


# Paths a person's files have: "/home/ana/projects/report.md", not Faker's "/full/baby/instead.doc".
_ROOTS = ("/home/{user}", "/Users/{user}/Documents", "/srv/app", "/var/www", "/data")
_FOLDERS = (
    "projects",
    "reports",
    "invoices",
    "notes",
    "src",
    "config",
    "photos",
    "backups",
    "docs",
)
_FILES = (
    "report.md", "notes.txt", "config.yaml", "main.py", "budget.xlsx", "README.md", "app.log",
    "invoice_0423.pdf", "photo_0012.jpg", "data.csv", "settings.json", "index.html",
)  # fmt: skip


def _directory_path(draw: Draw, name: str) -> str:
    root = draw.rng.choice(_ROOTS).format(user=draw.faker.first_name().lower())
    return f"{root}/{draw.rng.choice(_FOLDERS)}"


def _file_path(draw: Draw, name: str) -> str:
    return f"{_directory_path(draw, name)}/{draw.rng.choice(_FILES)}"


_DATE_TIME_NAME = r"\b(datetime|timestamp)\b|\bat$"
_DATE_TIME_WORDS = r"\bdate-?time\b|\btimestamp\b|\biso ?8601\b"
_DATE_NAME = r"\b(date|day|deadline|due|checkin|checkout)\b|\bcheck (in|out)\b"
# What lies ahead of today (bookings, meetings, departures, deadlines) and behind it.
_FAR_WORDS = r"\b(departure|depart|return|arrival|flight|trip|travel|checkin|checkout|booking)\b"
_SOON_WORDS = r"\b(deadline|due|meeting|event|appointment|call|reminder|schedul\w*|start|end)\b"
_AHEAD_WORDS = (
    r"\b(deadline|due|checkin|checkout|check (in|out)|departure|depart|return|arrival|"
    r"meeting|event|appointment|booking|reservation|flight|trip|travel|schedul\w*|"
    r"pickup|pick up|dropoff|delivery|expir\w*|renewal|reminder|upcoming|future)\b"
)
_BEHIND_WORDS = (
    r"\b(since|created|born|hired|joined|purchased?|transaction|posted|published|"
    r"last (login|seen|visit)|history|historical|past|previous)\b"
)


def _both(first: str, second: str) -> str:
    """A pattern matching text that matches both patterns, anywhere."""
    return f"^(?=.*(?:{first}))(?=.*(?:{second}))"


_CITY_COUNTRY = (
    r"\bcity and country\b|\bcity, country\b"
    r"|(?-i:e\.g\.,? [A-Z][a-z]+( [A-Z][a-z]+)*, [A-Z][a-z]{2,})"
)
_CITY = r"\b(city|town|location|destination|origin)\b"
_TRIP_END = r"\b(origin|destination|departure|arrival|from|to)\b"
# Tried in order, first by property name, then by description alone.
STRING_PROVIDERS: tuple[_Provider, ...] = (
    _text(r"\b(uuid|guid)\b", r"\buuid\b", _call("uuid4")),
    _text(RECORD_ID_WORDS, None, _record_id),
    _text(r"\be-?mail\b", r"\be-?mail address\b", _call("email")),
    _text(
        r"\b(attendee|recipient|guest|participant|invitee|member|cc|bcc|to|people|person)s?\b",
        None,
        _call("email"),
        when=r"\be-?mail",
    ),
    _text(ACCOUNT_WORDS, None, _call("user_name")),
    _text(r"\bpassword\b", None, _call("password", length=12, special_chars=False)),
    _text(r"\bfirst name\b|\bgiven name\b", None, _call("first_name")),
    _text(r"\blast name\b|\bsurname\b|\bfamily name\b", None, _call("last_name")),
    _text(r"\bfile ?name\b", None, _call("file_name")),
    _text(r"\b(coupon|promo|voucher|discount) ?(code)?\b", r"\b(coupon|promo) code\b", _coupon),
    _text(r"\b(meeting|conference) room\b", r"\b(meeting|conference) room\b", _meeting_room),
    _text(r"\bdirectory\b|\bfolder\b", None, _directory_path),
    _text(r"\b(file )?path\b", None, _file_path),
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
    _text(
        _CITY, None, _city_and_region, when=r"\bcity and state\b|\bcity, state\b|(?-i:, [A-Z]{2}\b)"
    ),
    _text(_CITY, None, _city_and_country, when=_CITY_COUNTRY),
    _text(_CITY, r"\bcity\b", _city, role="city"),
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
    # Dates and date-times: ahead of today, behind it, or near it, by name then description.
    _text(_both(_DATE_TIME_NAME, _AHEAD_WORDS), None, _ahead(clock=True)),
    _text(_both(_DATE_TIME_NAME, _BEHIND_WORDS), None, _dated(*_BEHIND, clock=True)),
    _text(_AHEAD_WORDS, None, _ahead(clock=True), when=_DATE_TIME_WORDS),
    _text(_BEHIND_WORDS, None, _dated(*_BEHIND, clock=True), when=_DATE_TIME_WORDS),
    _text(_DATE_TIME_NAME, None, _ahead(clock=True), when=_AHEAD_WORDS),
    _text(_DATE_TIME_NAME, None, _dated(*_BEHIND, clock=True), when=_BEHIND_WORDS),
    _text(_DATE_TIME_NAME, _DATE_TIME_WORDS, _date_time),
    _text(_both(_DATE_NAME, _AHEAD_WORDS), None, _ahead()),
    _text(_both(_DATE_NAME, _BEHIND_WORDS), None, _dated(*_BEHIND)),
    _text(_AHEAD_WORDS, None, _ahead(), when=r"\bdate\b"),
    _text(_BEHIND_WORDS, None, _dated(*_BEHIND), when=r"\bdate\b"),
    _text(_DATE_NAME, None, _ahead(), when=_AHEAD_WORDS),
    _text(_DATE_NAME, None, _dated(*_BEHIND), when=_BEHIND_WORDS),
    _text(_DATE_NAME, r"\bdate\b", _date),
    _text(r"\btime\b", r"\btime of day\b", _time),
    # Free text, by kind (see free_text.py): the LLM teacher writes these itself.
    _free(r"\bsql\b", r"\bsql\b", "sql"),
    _free(r"\b(query|statement)\b", None, "sql", when=r"\bsql\b"),
    _free(r"\b(selector|css|xpath)\b", r"\bcss selector\b|\bxpath\b", "selector"),
    _free(
        r"\b(function|expression|formula|equation|polynomial)\b",
        r"\bmathematical (function|expression)\b|\bpolynomial\b",
        "expression",
        when=r"\b(math\w*|polynomial|function|expression|equation)\b",
    ),
    _free(r"\bold (text|string|str|content|value)\b", None, "edit_old"),
    _free(r"\bnew (text|string|str|content|value)\b|\breplacement\b", None, "edit_new"),
    _free(r"\b(query|q|search|keywords?|terms?|prompt|question|topic)\b", r"\bsearch\b", "query"),
    _free(r"\bsubject\b", r"\bsubject line\b", "subject"),
    _free(r"\b(title|headline|caption|summary)\b", None, "title"),
    _free(r"\b(description|notes?|reason|instructions|details|purpose|agenda)\b", None, "note"),
    _free(r"\b(message|body|text|content|comment|bio|feedback|review|reply)\b", None, "body"),
    _text(r"\b(product|item)( name)?\b", None, _product),
    _text(
        r"\b(full name|customer|recipient|person|contact|guest|passenger|author|attendee|"
        r"employee|patient|sender|owner|assignee|name)\b",
        r"\bfull name\b|\bperson's name\b",
        _full_name,
    ),
    _text(
        r"\b(category|tag|genre|type|kind|label|status|mode|method|unit|format|style)\b",
        None,
        _call("word"),
        vague=True,
    ),
)

_MONEY = r"\b(price|amount|cost|total|balance|fee|salary|budget|payment|subtotal|tip)\b"
_CENTS = r"\bcents?\b|\bminor units?\b|\bsmallest currency unit\b"
_WEIGHT = r"\b(weight|mass|wt)\b"
_SPAN_OF_TIME = r"\b(duration|timeout|delay|interval|ttl|wait|length|period|expiry|expires in)\b"
_DISTANCE = r"\b(radius|distance)\b"
NUMBER_RANGES: tuple[Range, ...] = (
    _span(r"\btemp", None, 14, 95, step="0.1", when=r"fahrenheit"),
    _span(r"\btemp", None, 263, 308, step="0.1", when=r"kelvin"),
    _span(None, r"\bfahrenheit\b", 14, 95),
    _span(r"\btemp(erature)?\b|\bcelsius\b", r"\bcelsius\b", -10, 35),
    # "years" counts (a loan term, an investment period); "year" is a calendar year.
    _span(r"\b(years|num years|number of years|term|tenure)\b", r"\b(number of|in) years\b", 1, 30),
    _span(r"\b(months|number of months)\b", r"\b(number of|in) months\b", 1, 24),
    _span(r"\byear\b", r"\byear\b", 1990, 2030),
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
DEFAULT_RANGE = _span(None, None, 1, 100)


def words_of(name: str) -> str:
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
    rules: Sequence[_Provider | Range] = STRING_PROVIDERS if table == "string" else NUMBER_RANGES
    words = words_of(name)
    for candidate in dict.fromkeys((words, _singular(words))):
        for index, rule in enumerate(rules):
            if rule.name and candidate and rule.name.search(candidate) and _when(rule, description):
                return index
    for index, rule in enumerate(rules):
        if rule.description and rule.description.search(description) and _when(rule, description):
            return index
    return None


def _when(rule: _Provider | Range, description: str) -> bool:
    return rule.when is None or bool(rule.when.search(description))


# A file tool's source, destination and pattern are paths and globs, not cities and words.
_FILE_TOOL = re.compile(r"\b(files?|director(y|ies)|folders?|paths?)\b", re.IGNORECASE)
# a tool whose ``path`` is a folder: one about directories, or one searching or listing in one
_DIRECTORY_TOOL = re.compile(
    r"\b(director(y|ies)|folders?|dir|tree)\b|^(search|find|list)\b", re.IGNORECASE
)
_GLOBS = ("*.py", "*.md", "*.log", "report*", "*.csv", "**/*.json", "*.txt", "invoice_*.pdf")
_FILE_ARGUMENTS: tuple[tuple[re.Pattern[str], Make], ...] = (
    (re.compile(r"\b(source|destination|target|src|dst|dest)\b"), _file_path),
    (re.compile(r"\b(pattern|glob|patterns|globs)\b"), _pick(_GLOBS)),
)


@lru_cache(maxsize=4096)
def string_maker(name: str, description: str = "", tool: str = "") -> tuple[Make | None, str]:
    """How a string property gets its value, and its kind of free text (``""`` if none).

    The values its description offers, else its provider. A closed set ("one
    of 'A', 'B'", "'trapezoid' or 'simpson'") always wins; examples ("e.g. X",
    "defaults to 'units'") win over no provider or a vague one. Free text is
    steered by the tool and description: ``search_products`` gets product queries.
    """
    provider = string_provider(name, description) if name else None
    if _FILE_TOOL.search(f"{words_of(tool)} {description}"):
        if name == "path" and _DIRECTORY_TOOL.search(words_of(tool) or "x"):
            return _directory_path, ""  # a directory has no ".avi"
        for rule, maker in _FILE_ARGUMENTS:
            if rule.search(words_of(name)):
                return maker, ""
    options, closed = described_options(description)
    if options and (closed or provider is None or provider.vague):
        return _pick(options), ""
    if provider is not None and provider.free_text:
        kind = provider.free_text
        return free_text_maker(kind, f"{tool} {name} {description}"), kind
    return (provider.make if provider else None), ""


def string_provider(name: str, description: str = "") -> _Provider | None:
    """The realistic string provider for a property, if its name or description has one."""
    index = _lookup(name, description, "string")
    return None if index is None else STRING_PROVIDERS[index]


def number_range(name: str, description: str = "") -> Range:
    """The human range for a number property (1..100 when nothing more specific fits)."""
    index = _lookup(name, description, "number")
    return DEFAULT_RANGE if index is None else NUMBER_RANGES[index]


# ---------------------------------------------------------------------------
# Formats: values that pass jsonschema's FormatChecker and still read naturally.

FORMAT_MAKERS: dict[str, Make] = {
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
SUPPORTED_FORMATS = tuple(FORMAT_MAKERS)
_SIDES = (
    (re.compile(_AHEAD_WORDS, re.IGNORECASE), _AHEAD),
    (re.compile(_BEHIND_WORDS, re.IGNORECASE), _BEHIND),
)


def format_maker(fmt: str, name: str, description: str = "") -> Make | None:
    """The maker for a string format; a date's side of today follows the property's words.

    ``created_since`` with format date lies before today, ``departure`` after it.
    """
    if fmt in ("date", "date-time"):
        for text in (words_of(name), description):
            for words, days in _SIDES:
                if words.search(text):
                    clock = fmt == "date-time"
                    return _ahead(clock=clock) if days == _AHEAD else _dated(*days, clock=clock)
    return FORMAT_MAKERS.get(fmt)


def place_role(name: str, description: str = "") -> str:
    """Which ``Place`` field a property is (``""`` for none), by the rule it gets."""
    provider = string_provider(name, description)
    return (provider.role if provider else "") or number_range(name, description).role


# ---------------------------------------------------------------------------
# What a description says about the values: "one of 'A', 'B'", "e.g. X", "between 1 and 10".

_QUOTE = "'\"`\u2018\u2019\u201c\u201d"
_QUOTED = re.compile(f"[{_QUOTE}]([^{_QUOTE}]{{1,40}})[{_QUOTE}]")
_QUOTED_CHOICE = re.compile(
    f"[{_QUOTE}][^{_QUOTE}]{{1,40}}[{_QUOTE}](\\s*(,|/|\\|)?\\s*(or|and)?\\s*"
    f"[{_QUOTE}][^{_QUOTE}]{{1,40}}[{_QUOTE}])+"
)
_CLOSED = re.compile(
    r"\b(one of|either|options? (are|is|include)|options?:|possible values?|allowed values?|"
    r"valid values?|supported values?|accepted values?|must be|can be|choose from|values?:)"
    r"\s*:?\s*(?P<tail>.*)",
    re.IGNORECASE,
)
_EXAMPLE = re.compile(
    r"\b(e\.g\.|eg\.|for example|for instance|such as|defaults? to|default(?: value)? (?:is|of)|"
    r"default:)\s*,?:?\s*(?P<tail>.*)",
    re.IGNORECASE,
)
_PLAIN_OPTION = re.compile(r"^[\w][\w.+-]*( [\w][\w.+-]*){0,2}$")


@lru_cache(maxsize=4096)
def described_options(description: str) -> tuple[tuple[str, ...], bool]:
    """Values a description offers, and whether they are the only ones it allows.

    "one of 'A', 'B'" and "'trapezoid' or 'simpson'" are a closed set; "e.g. X"
    and "defaults to 'units'" are examples. ``((), False)`` when it names none.
    """
    closed = _CLOSED.search(description)
    if closed:
        options = _options_in(closed.group("tail"), split=True)
        if len(options) >= 2:
            return options, True
    choice = _QUOTED_CHOICE.search(description)
    if choice:
        return tuple(dict.fromkeys(_QUOTED.findall(choice.group(0)))), True
    examples: list[str] = []
    for found in _EXAMPLE.finditer(description):
        examples += _options_in(found.group("tail"), split=False)
    return tuple(dict.fromkeys(examples)), False


def _options_in(tail: str, *, split: bool) -> tuple[str, ...]:
    """Quoted values at the start of ``tail``, else its first plain phrase (or list of them)."""
    quoted = _QUOTED.match(tail.lstrip()) or (_QUOTED.search(tail) if split else None)
    if quoted:
        clause = re.split(r"(?<=[.;)])\s|\s[-\u2013\u2014(]\s?", tail, maxsplit=1)[0]
        return tuple(v.strip() for v in _QUOTED.findall(clause) if v.strip())
    clause = re.split(r"[;()]|\.(\s|$)", tail, maxsplit=1)[0].strip().rstrip(".,")
    parts = [p.strip() for p in re.split(r",|\bor\b|\band\b|/|\|", clause) if p.strip()]
    listed = split or len(parts) >= 3 or bool(re.search(r"\bor\b|/|\|", clause))
    if listed and len(parts) >= 2 and all(_PLAIN_OPTION.match(p) for p in parts):
        return tuple(parts)
    return (clause,) if clause and len(clause) <= 40 and not split else ()


_NUMBER = r"(-?\d+(?:\.\d+)?)"
_DESCRIBED_RANGE = re.compile(
    rf"\bbetween {_NUMBER} and {_NUMBER}\b|\bfrom {_NUMBER} to {_NUMBER}\b"
    rf"|\brange:? {_NUMBER} ?(?:-|to|\.\.) ?{_NUMBER}\b|\({_NUMBER} ?(?:-|to|\.\.) ?{_NUMBER}\)",
    re.IGNORECASE,
)
_DESCRIBED_CAP = re.compile(
    rf"\b(?:up to|at most|no more than|maximum(?: of)?|max\.?) {_NUMBER}\b", re.I
)


@lru_cache(maxsize=4096)
def described_range(description: str) -> Range | None:
    """The range a description states: "between 1 and 10", "(0-100)", "up to 50"."""
    found = _DESCRIBED_RANGE.search(description)
    if found:
        low, high = (Fraction(v) for v in found.groups() if v is not None)
    elif cap := _DESCRIBED_CAP.search(description):
        high = Fraction(cap.group(1))
        low = min(Fraction(1), high)
    else:
        return None
    if low > high:
        return None
    whole = low.denominator == high.denominator == 1
    return Range(None, None, low, high, Fraction(1) if whole else Fraction(1, 100))

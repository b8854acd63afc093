"""Real places: sibling properties that describe one place are drawn from one of them.

A city, its country, country code, timezone, currency, coordinates and
postcode all come from one row, so a weather request never pairs Lyon with JP.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from faker import Faker


@dataclass(frozen=True)
class Place:
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


def _places(rows: str) -> tuple[Place, ...]:
    """Parse ``city|state|country|code|currency|timezone|lat|lon|postcode`` lines."""
    out = []
    for line in rows.strip().splitlines():
        city, state, country, code, currency, zone, lat, lon, postcode = line.split("|")
        out.append(
            Place(
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

# "Austin, TX": the form a "city and state" description asks for.
US_STATE_CODES = {
    "New York": "NY", "California": "CA", "Illinois": "IL", "Texas": "TX", "Washington": "WA",
    "Colorado": "CO", "Arizona": "AZ", "Massachusetts": "MA", "Florida": "FL",
}  # fmt: skip


def region_code(place: Place) -> str:
    """A US state's two letters, else the country code: the part after the comma."""
    return US_STATE_CODES.get(place.state or "", place.country_code)


def place_named(text: str) -> Place | None:
    """The place a city argument names ("Paris", "paris, FR", "Austin, TX"), if ours."""
    city = text.split(",")[0].strip().casefold()
    return next((place for place in PLACES if place.city.casefold() == city), None)


def typical_temperature(latitude: float, day: date) -> float:
    """A day's usual mean temperature (°C) at a latitude: warm near the equator, seasons
    stronger further from it, winter in January north of the equator and in July south.

    A rough climate (no oceans or altitude), enough that Miami is not 8 °C in January.
    """
    away = abs(latitude)
    yearly = 27 - 0.45 * max(0.0, away - 20)
    swing = 0.2 * away
    coldest = 15 if latitude >= 0 else 196  # day of the year
    phase = 2 * math.pi * (day.timetuple().tm_yday - coldest) / 365.25
    return yearly - swing * math.cos(phase)


# Airports the seeder draws (``realism``), where they are: a flight's length follows its route.
AIRPORTS: dict[str, tuple[float, float]] = {
    "JFK": (40.64, -73.78), "LHR": (51.47, -0.45), "CDG": (49.01, 2.55), "SFO": (37.62, -122.38),
    "NRT": (35.77, 140.39), "DXB": (25.25, 55.36), "AMS": (52.31, 4.76), "FRA": (50.04, 8.56),
    "SIN": (1.36, 103.99), "LAX": (33.94, -118.41), "ORD": (41.97, -87.91), "MAD": (40.49, -3.57),
}  # fmt: skip


def flight_minutes(origin: str, destination: str, stops: int = 0) -> int | None:
    """How long a flight between two known airports takes, door to door at the gates
    (cruise at about 830 km/h plus taxi and climb, and 90 minutes a stop)."""
    start, end = AIRPORTS.get(origin.upper()), AIRPORTS.get(destination.upper())
    if start is None or end is None:
        return None
    (lat1, lon1), (lat2, lon2) = start, end
    a = math.radians(lat1), math.radians(lat2)
    cos = math.sin(a[0]) * math.sin(a[1]) + math.cos(a[0]) * math.cos(a[1]) * math.cos(
        math.radians(lon2 - lon1)
    )
    km = 6371 * math.acos(max(-1.0, min(1.0, cos)))
    return round((km / 830 * 60 + 35 + 90 * max(0, stops)) / 5) * 5


# Faker locales that write a country's street addresses the way its people do (in Latin
# script): "Havnegade 87" in Copenhagen, not "4495 Adriana Cliff".
_STREET_LOCALES = {
    "US": "en_US", "CA": "en_CA", "MX": "es_MX", "BR": "pt_BR", "AR": "es_AR", "CL": "es_CL",
    "GB": "en_GB", "IE": "en_IE", "FR": "fr_FR", "DE": "de_DE", "ES": "es_ES", "IT": "it_IT",
    "NL": "nl_NL", "BE": "nl_BE", "CH": "de_CH", "AT": "de_AT", "PT": "pt_PT", "SE": "sv_SE",
    "NO": "no_NO", "DK": "da_DK", "PL": "pl_PL", "CZ": "cs_CZ", "AU": "en_AU", "NZ": "en_NZ",
    "IN": "en_IN",
}  # fmt: skip


# A street address needs only these providers; loading all of Faker's for each locale
# costs ~28 ms of CPU (25 locales: 0.7 s on the event loop of a short LLM run).
_STREET_PROVIDERS = ["faker.providers.address", "faker.providers.person"]


@lru_cache(maxsize=32)
def _street_faker(locale: str) -> Faker:
    return Faker(locale, providers=_STREET_PROVIDERS)


def street_fakers() -> Iterator[None]:
    """Make each locale's street Faker, one per step: a caller warming them up while it
    waits on something else (an LLM run's first round trip) yields between steps."""
    for locale in _STREET_LOCALES.values():
        _street_faker(locale)
        yield


def local_street(place: Place, rng: random.Random) -> str | None:
    """A street address written as in the place's country, or None where we have no such form."""
    locale = _STREET_LOCALES.get(place.country_code)
    if locale is None:
        return None
    faker = _street_faker(locale)
    faker.seed_instance(rng.getrandbits(32))
    return " ".join(str(faker.street_address()).split())  # some locales end in a space

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

The package holds one job per module: ``realism`` (providers and number ranges),
``places`` (real places), ``nodes`` (the generators a plan is made of),
``objects`` (siblings that hold together), ``planner`` (compiling and drawing),
``violations`` (negative examples), ``free_text`` (titles, bodies, queries, SQL
that say something) and ``randomness`` (Faker and rstr, fast and reproducible).
"""

from callforge.generator.seeding.places import PLACES
from callforge.generator.seeding.planner import (
    EXACT_KEYWORDS,
    UNSUPPORTED_KEYWORDS,
    free_text_arguments,
    seed_arguments,
)
from callforge.generator.seeding.randomness import REFERENCE_TODAY
from callforge.generator.seeding.realism import (
    NUMBER_RANGES,
    STRING_PROVIDERS,
    SUPPORTED_FORMATS,
    number_range,
    place_role,
    string_provider,
)
from callforge.generator.seeding.violations import violate_argument

__all__ = [
    "EXACT_KEYWORDS",
    "NUMBER_RANGES",
    "PLACES",
    "REFERENCE_TODAY",
    "STRING_PROVIDERS",
    "SUPPORTED_FORMATS",
    "UNSUPPORTED_KEYWORDS",
    "free_text_arguments",
    "number_range",
    "place_role",
    "seed_arguments",
    "string_provider",
    "violate_argument",
]

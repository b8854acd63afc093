"""Free-text arguments that say something: titles, subjects, bodies, notes, queries, SQL.

Random words ("Yard recent window moment away") teach a model to fill free
text with noise. Each kind of free text here is drawn from the vocabulary in
``templates/values/free_text.yaml``: every free-text argument of one call comes
from one topic (an email's subject and body agree, a meeting's title matches
its notes), a search query from what the tool searches, SQL over the tables
the description names, and an edit's old and new text as a pair.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from functools import lru_cache
from typing import Any

from callforge.generator.seeding.randomness import Draw
from callforge.generator.templating import load_yaml

FreeText = Callable[[Draw, str], str]
TOPIC_FIELDS = ("title", "subject", "body", "note", "query")
KINDS = (*TOPIC_FIELDS, "sql", "selector", "expression", "edit_old", "edit_new")
"""The kinds of free text an argument can be; an LLM teacher writes these itself."""

_VOCABULARY = "values/free_text.yaml"
_PLACEHOLDER = re.compile(r"\{(name|day|number|date|table)\}")
_TABLES = re.compile(
    r"\btables?\s*:?\s*(?P<list>`?[a-z_][\w]*`?(?:\s*(?:,|and)\s*`?[a-z_][\w]*`?)*)"
    r"|`(?P<quoted>[a-z_]\w*)`(?:\s+table)?|\b(?P<named>[a-z_]\w*) table\b",
    re.IGNORECASE,
)
# Tools for a person's own life, where a dentist or a birthday party is a topic.
_PERSONAL = re.compile(
    r"\b(personal|private|family|friends?|reminders?|todos?|to-do|diary|journal|birthdays?"
    r"|sms|texts?|chats?)\b",
    re.IGNORECASE,
)
_NOT_TABLES = frozenset({"the", "a", "an", "this", "that", "one", "each", "any", "which", "sql"})


def vocabulary() -> Mapping[str, Any]:
    """The vocabulary: the run's ``--templates`` copy if it has one, else the shipped one
    (each read once, by ``load_yaml``)."""
    return load_yaml(_VOCABULARY)  # type: ignore[no-any-return]


def free_text_maker(kind: str, context: str = "") -> FreeText:
    """A maker for one kind of free text; ``context`` (tool, name, description) steers it.

    ``context`` picks a query's domain ("search_products" -> products) and the
    tables of a SQL statement ("tables: orders, customers").
    """
    if kind == "query":
        domain = query_domain(context)
        if domain != "default":
            queries = tuple(vocabulary()["queries"][domain])
            return lambda draw, name: _fill(draw, draw.rng.choice(queries))
    if kind in TOPIC_FIELDS:
        personal = bool(_PERSONAL.search(re.sub(r"[\W_]+", " ", context)))
        return lambda draw, name: _fill(draw, _variant(draw, _topic(draw, personal)[kind]))
    if kind == "sql":
        tables = described_tables(context) or tuple(vocabulary()["sql"]["tables"])
        return lambda draw, name: _sql(draw, tables)
    if kind in ("selector", "expression"):
        choices = tuple(vocabulary()[f"{kind}s"])
        return lambda draw, name: draw.rng.choice(choices)
    if kind in ("edit_old", "edit_new"):
        side = 0 if kind == "edit_old" else 1
        return lambda draw, name: str(_edit(draw)[side])
    raise ValueError(f"unknown kind of free text {kind!r}; known: {', '.join(KINDS)}")


def query_domain(context: str) -> str:
    """The first query domain named in ``context`` (singular or plural), else ``default``."""
    return _query_domain(context, tuple(vocabulary()["queries"]))


@lru_cache(maxsize=1024)
def _query_domain(context: str, domains: tuple[str, ...]) -> str:
    words = set(re.findall(r"[a-z]+", re.sub(r"(?<=[a-z])(?=[A-Z])", " ", context).lower()))
    words |= {w[:-1] for w in words if w.endswith("s")}
    return next((d for d in domains if d in words), "default")


@lru_cache(maxsize=1024)
def described_tables(description: str) -> tuple[str, ...]:
    """Tables a description names: "tables: orders, customers", "the `orders` table"."""
    found: list[str] = []
    for match in _TABLES.finditer(description):
        if match.group("list"):
            found += re.findall(r"[a-z_]\w*", match.group("list").replace(" and ", ","), re.I)
        else:
            found.append(match.group("quoted") or match.group("named"))
    return tuple(dict.fromkeys(t for t in found if t.lower() not in _NOT_TABLES))


def _topic(draw: Draw, personal: bool) -> Mapping[str, Sequence[str]]:
    """One topic per call: drawn by the call's first free-text argument, kept for the rest.

    A topic marked ``personal`` (a birthday party, a dentist) only where the tool is for
    personal things; a meeting room is not booked for a birthday party.
    """
    topic = draw.memo.get("topic")
    if topic is None:
        topics = [t for t in vocabulary()["topics"] if personal or not t.get("personal")]
        topic = draw.memo["topic"] = draw.rng.choice(topics)
    return topic  # type: ignore[no-any-return]


def _variant(draw: Draw, texts: Sequence[str]) -> str:
    """The call's variant of a topic field: a topic's first subject goes with its first body."""
    variant = draw.memo.get("variant")
    if variant is None:
        variant = draw.memo["variant"] = draw.rng.randrange(1 << 16)
    return texts[variant % len(texts)]


def _edit(draw: Draw) -> Sequence[str]:
    edit = draw.memo.get("edit")
    if edit is None:
        edit = draw.memo["edit"] = draw.rng.choice(vocabulary()["edits"])
    return edit  # type: ignore[no-any-return]


def _sql(draw: Draw, tables: Sequence[str]) -> str:
    table = draw.memo.get("table")
    if table is None:
        table = draw.memo["table"] = draw.rng.choice(tables)
    statement = draw.rng.choice(vocabulary()["sql"]["statements"])
    return _fill(draw, statement, table=table)


def _fill(draw: Draw, text: str, **given: str) -> str:
    """Fill ``{name}``, ``{day}``, ``{number}``, ``{date}`` with values of this call."""
    if "{" not in text:
        return text

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in given:
            return given[key]
        if key not in draw.memo:
            draw.memo[key] = _placeholder(draw, key)
        return str(draw.memo[key])

    return _PLACEHOLDER.sub(value, text)


def _placeholder(draw: Draw, key: str) -> str:
    if key == "name":
        return str(draw.faker.first_name())
    if key == "day":  # a working day ahead of the example's today
        ahead = [draw.today + timedelta(days=n) for n in range(1, 8)]
        return draw.rng.choice([d for d in ahead if d.weekday() < 5]).strftime("%A")
    if key == "date":  # a recent day, for "since" filters
        return (draw.today - timedelta(days=draw.rng.randint(7, 90))).isoformat()
    return str(draw.rng.randint(2, 12))


def shortened(text: str, high: int) -> str:
    """``text`` cut at a word boundary to at most ``high`` characters, without a dangling comma."""
    if len(text) <= high:
        return text
    cut = text[: high + 1].rsplit(" ", 1)[0] if " " in text[: high + 1] else text[:high]
    return cut.rstrip(" ,;:-")

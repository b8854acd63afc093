"""The quality benchmark's measures: simple, documented rules over exported conversations.

These rules are the independent checker of issues 10 and 11. They read an exported
line (OpenAI ``messages`` + ``tools``) the way a person reading the dataset would, and
never ask the generator's own judgements (its hollow-result checks, its data-flow
graph, its validator) whether an example is good; the only project code used anywhere
in the benchmark is ``GroundingText``, for the one figure that measures it.

Reading a conversation (``read_example``)
-----------------------------------------
* calls are the assistant's ``tool_calls`` in order, each joined to its ``tool``
  message by ``tool_call_id``; a result is parsed as JSON when it parses;
* a result is an *error* when it is an object with an ``error`` or ``errors`` key,
  or whose ``status`` is ``error``/``failed``/``failure``;
* the *final answer* is the last assistant message with text and no tool calls;
* the *category* is the line's own (``category``, or a ``category`` in one of its
  objects, e.g. ``metadata.category``) when an
  export carries one, else read off the conversation: an error result makes it
  ``error_recovery``, two or more calls ``multi_step``, one call ``single``.

Measures (each returns a ``Figure`` with its counts and a few flagged examples)
------------------------------------------------------------------------------
See each function's docstring for its rule: ``random_free_text``,
``hollow_results``, ``reversed_ranges``, ``implausible_chains``,
``pasted_descriptions``, ``answers_using_results``, ``stock_phrases``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

# ---------------------------------------------------------------------------
# Reading an exported line


@dataclass
class Call:
    """One tool call of a conversation and what the tool answered."""

    name: str
    arguments: dict[str, Any]
    result: Any = None
    is_error: bool = False


@dataclass
class Example:
    """An exported conversation, as the measures read it."""

    tools: dict[str, dict[str, Any]]
    user_texts: list[str]
    calls: list[Call]
    final_answer: str | None
    category: str
    index: int = 0

    @property
    def request(self) -> str:
        return self.user_texts[0] if self.user_texts else ""

    @property
    def user_words(self) -> str:
        return "\n".join(self.user_texts)


def read_example(line: Mapping[str, Any], index: int = 0) -> Example:
    """An ``Example`` from one exported JSON line (OpenAI messages and tools)."""
    tools = {}
    for entry in line.get("tools") or []:
        function = entry.get("function", entry)
        tools[function["name"]] = function
    user_texts: list[str] = []
    calls: list[Call] = []
    by_id: dict[str, Call] = {}
    final_answer: str | None = None
    for message in line.get("messages", []):
        role = message.get("role")
        if role == "user":
            user_texts.append(_text_of(message.get("content")))
        elif role == "assistant" and message.get("tool_calls"):
            final_answer = None
            for tool_call in message["tool_calls"]:
                function = tool_call.get("function", {})
                call = Call(function.get("name", ""), _parse_arguments(function.get("arguments")))
                calls.append(call)
                by_id[tool_call.get("id", "")] = call
        elif role == "assistant" and message.get("content"):
            final_answer = _text_of(message["content"])
        elif role == "tool":
            call = by_id.get(message.get("tool_call_id", ""))
            if call is not None:
                call.result = _parse_json(_text_of(message.get("content")))
                call.is_error = is_error_result(call.result)
    category = line.get("category") or next(
        (v["category"] for v in line.values() if isinstance(v, dict) and v.get("category")), None
    )
    return Example(tools, user_texts, calls, final_answer, category or infer_category(calls), index)


def infer_category(calls: list[Call]) -> str:
    """error_recovery if a tool failed, multi_step for two or more calls, else single."""
    if any(call.is_error for call in calls):
        return "error_recovery"
    if len(calls) >= 2:
        return "multi_step"
    return "single" if calls else "no_call"


def is_error_result(result: Any) -> bool:
    if not isinstance(result, dict):
        return False
    status = str(result.get("status", "")).lower()
    return "error" in result or "errors" in result or status in {"error", "failed", "failure"}


def _text_of(content: Any) -> str:
    if isinstance(content, list):  # content parts
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


def _parse_arguments(arguments: Any) -> dict[str, Any]:
    parsed = _parse_json(arguments) if isinstance(arguments, str) else arguments
    return parsed if isinstance(parsed, dict) else {}


def _parse_json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


# ---------------------------------------------------------------------------
# Words, keys and values


_WORD = re.compile(r"[a-z]+")


def _vocabulary(text: str) -> frozenset[str]:
    """The white-space separated words of ``text``: the word lists below, kept readable."""
    return frozenset(text.split())


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
STOPWORDS = _vocabulary(
    "a an the and or but of to in on at by for from with as is are was be been it "
    "its this that these those i me my we our you your he she they them his her "
    "their please can could would will shall should do does did not no yes so if "
    "then than about into over up down out all any some"
)


def words(text: str) -> list[str]:
    """Lower-case alphabetic words of ``text``."""
    return _WORD.findall(text.lower())


_TEXT_TOKEN = re.compile(r"[a-z]+(?:[-'][a-z]+)*")


def text_tokens(text: str) -> list[str]:
    """Lower-case words of prose, hyphenated compounds and contractions kept whole.

    Faker's filler has no contractions and its lorem words no hyphens, so
    "check-in" or "I'll" is a sign of text someone wrote.
    """
    return _TEXT_TOKEN.findall(text.lower())


def key_tokens(key: str) -> list[str]:
    """``"departureDate"`` and ``"departure_date"`` both give ``["departure", "date"]``."""
    return [part for part in re.split(r"[_\-\s.]+", _CAMEL.sub("_", key).lower()) if part]


def leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path of keys, scalar) for every scalar in a JSON value; list items keep their key."""
    if isinstance(value, Mapping):
        for key, child in value.items():
            yield from leaves(child, (*path, str(key)))
    elif isinstance(value, list | tuple):
        for child in value:
            yield from leaves(child, path)
    else:
        yield path, value


def same_value(left: Any, right: Any) -> bool:
    """Equal as JSON scalars: numbers by value, text ignoring case and outer spaces."""
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return float(left) == float(right)
    if isinstance(left, str) and isinstance(right, str):
        return left.strip().lower() == right.strip().lower()
    return False


_NUMBERS_SPELT = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen twenty"
)
_NUMBER_WORDS = tuple(_NUMBERS_SPELT.split())  # _NUMBER_WORDS[3] == "three"


def stated_in(value: Any, text: str) -> bool:
    """Whether ``text`` states ``value`` in so many words (the benchmark's own, simple rule).

    Text: case-insensitive, as a whole word or phrase, underscores also read as spaces
    ("premium economy" states ``premium_economy``). Numbers: as digits with or without
    thousands separators, not inside a longer number; 0-20 also as words. An ISO date
    (or the day of an ISO date-time) also as its month name and day, either way round
    ("March 5", "5th Mar"); the time of day is not looked for. Booleans and null are
    never "stated" (no text can be matched to them).
    """
    if value is None or isinstance(value, bool):
        return False
    lowered = text.lower()
    if isinstance(value, int | float):
        forms = _number_forms(value)
        if any(
            re.search(rf"(?<![\d.,]){re.escape(form)}(?![\d]|[.,]\d)", lowered) for form in forms
        ):
            return True
        if float(value).is_integer() and 0 <= value <= 20:
            return re.search(rf"\b{_NUMBER_WORDS[int(value)]}\b", lowered) is not None
        return False
    phrase = str(value).strip().lower()
    if not phrase:
        return False
    if any(_has_phrase(lowered, form) for form in {phrase, phrase.replace("_", " ")}):
        return True
    day = re.match(r"(\d{4})-(\d{2})-(\d{2})(?:$|t)", phrase)
    if day is None or not 1 <= int(day.group(2)) <= 12:
        return False
    month = _MONTHS[int(day.group(2)) - 1]
    number = rf"0?{int(day.group(3))}(?:st|nd|rd|th)?"
    spelt = rf"\b(?:{month}|{month[:3]})\.? {number}\b|\b{number} (?:of )?(?:{month}|{month[:3]})\b"
    return re.search(spelt, lowered) is not None


_MONTHS_TEXT = (
    "january february march april may june july august september october november december"
)
_MONTHS = tuple(_MONTHS_TEXT.split())


def _number_forms(value: int | float) -> set[str]:
    if float(value).is_integer():
        whole = int(value)
        return {str(whole), f"{whole:,}"}
    return {repr(float(value)), f"{value:.2f}", f"{value:,.2f}"}


def _has_phrase(text: str, phrase: str) -> bool:
    start = r"(?<![a-z0-9_])" if phrase[0].isalnum() else ""
    end = r"(?![a-z0-9_])" if phrase[-1].isalnum() else ""
    return re.search(f"{start}{re.escape(phrase)}{end}", text) is not None


# Keys whose values are bookkeeping, not data (see ``hollow_results``).
_ID_TOKENS = frozenset({"id", "ids", "uuid", "guid", "ref", "reference"})
_STATUS_KEYS = frozenset(
    {"status", "state", "success", "ok", "code", "status_code", "message", "result"}
)
_TIMESTAMP_KEYS = frozenset({"timestamp", "time_stamp", "ts", "datetime"})
_COUNT_KEYS = frozenset(
    {"count", "total", "total_count", "page", "pages", "limit", "offset", "next", "has_more"}
)
_SCORE_KEYS = frozenset({"score", "relevance", "rank", "confidence"})


def bookkeeping_kind(path: tuple[str, ...], value: Any = None) -> str | None:
    """'id', 'status', 'timestamp', 'count' or 'score' when a leaf's key says so, else None.

    A search hit's relevance score is the search's bookkeeping, not the record's data.
    Count keys (count, total, page, limit, ...) are bookkeeping only for an integer at
    the result's top level: an order's ``total`` of 162.12 is data.
    """
    if not path:
        return None
    key = path[-1].lower()
    tokens = key_tokens(key)
    if tokens and tokens[-1] in _ID_TOKENS:
        return "id"
    if key in _STATUS_KEYS:
        return "status"
    if key in _TIMESTAMP_KEYS or (tokens and tokens[-1] == "at"):
        return "timestamp"
    if key in _COUNT_KEYS and len(path) == 1 and type(value) is int:
        return "count"
    if key in _SCORE_KEYS:
        return "score"
    return None


# ---------------------------------------------------------------------------
# Figures


@dataclass
class Figure:
    """One benchmark figure: a value, its target, and what it was computed from."""

    key: str
    label: str
    issue: int
    value: float | None
    target: str
    numerator: int = 0
    denominator: int = 0
    flagged: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool | None:
        if self.value is None:
            return None
        operator, bound = self.target.split()
        limit = float(bound.rstrip("%")) / (100 if bound.endswith("%") else 1)
        if operator == "<=":
            return self.value <= limit + 1e-12
        if operator == ">=":
            return self.value >= limit - 1e-12
        return abs(self.value - limit) < 1e-12

    def flag(self, note: str, keep: int = 5) -> None:
        if len(self.flagged) < keep:
            self.flagged.append(note)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "issue": self.issue,
            "value": self.value,
            "target": self.target,
            "passed": self.passed,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "flagged": self.flagged,
            **({"detail": self.detail} if self.detail else {}),
        }


def _share(figure: Figure) -> Figure:
    figure.value = figure.numerator / figure.denominator if figure.denominator else None
    return figure


# ---------------------------------------------------------------------------
# Issue 10: free-text arguments that are random words

FREE_TEXT_NAMES = _vocabulary(
    "title subject body message messages msg note notes comment comments description "
    "text content summary query q sql keyword keywords search term terms prompt "
    "question topic memo caption headline instructions feedback review details bio "
    "statement agenda"
)
FREE_TEXT_DESCRIPTION_WORDS = _vocabulary(
    "text message query sql keyword keywords title subject note notes comment summary"
)
_NOT_FREE_TEXT = _vocabulary(
    "id code email url uri name city country address phone currency date time"
)
_SQL_STATEMENTS = ("Query", "Insert", "Update", "Delete", "Create", "Drop", "Merge", "Alter")


@lru_cache(maxsize=1)
def filler_vocabulary() -> frozenset[str]:
    """Faker's filler words: its lorem word list and its company catch-phrase/bs words.

    Faker builds ``sentence()``, ``words()``, ``catch_phrase()`` and ``bs()`` only from
    these, so a string made of nothing else is, very likely, Faker filler.
    """
    from faker.providers.company.en_US import Provider as Company
    from faker.providers.lorem.en_US import Provider as Lorem

    vocabulary = {word.lower() for word in Lorem.word_list}
    for group in (*Company.catch_phrase_words, *Company.bsWords):
        for phrase in group:
            vocabulary.update(words(phrase), text_tokens(phrase))
    return frozenset(vocabulary)


def free_text_parameter(name: str, schema: Mapping[str, Any]) -> bool:
    """A string parameter meant for prose: by its name, else by its description.

    By name: one of its tokens is in ``FREE_TEXT_NAMES`` (title, subject, body,
    message, notes, query, sql, keywords, ...). By description: a word in
    ``FREE_TEXT_DESCRIPTION_WORDS`` ("Plain-text message body") and no name token
    that says it is an identifier, address, name, code or date. Parameters with an
    enum, a format or a pattern are never free text. Arrays of strings count too.
    """
    if schema.get("type") == "array":
        items = schema.get("items")
        return isinstance(items, Mapping) and free_text_parameter(name, items)
    if schema.get("type") not in ("string", None) or not isinstance(schema.get("type"), str):
        return False
    if any(key in schema for key in ("enum", "const", "format", "pattern")):
        return False
    tokens = set(key_tokens(name))
    if tokens & FREE_TEXT_NAMES:
        return True
    description = set(words(str(schema.get("description", ""))))
    return bool(description & FREE_TEXT_DESCRIPTION_WORDS) and not tokens & _NOT_FREE_TEXT


def is_sql_parameter(name: str, schema: Mapping[str, Any]) -> bool:
    return "sql" in key_tokens(name) or "sql" in words(str(schema.get("description", "")))


def sql_parses(text: str) -> bool:
    """One SQL statement that sqlglot parses into a query, DML or DDL statement.

    ``"present"`` parses as a bare column, which is not a statement.
    """
    import sqlglot
    from sqlglot import expressions
    from sqlglot.errors import SqlglotError

    try:
        statements = [s for s in sqlglot.parse(text) if s is not None]
    except SqlglotError:
        return False
    kinds = tuple(getattr(expressions, name) for name in _SQL_STATEMENTS)
    return len(statements) == 1 and isinstance(statements[0], kinds)


def related(word: str, context: Iterable[str]) -> bool:
    """Same word up to its ending: equal, or sharing the first five letters."""
    stem = word[:5]
    return any(other[:5] == stem for other in context if len(other) >= 3)


def is_random_words(value: str, context_words: Iterable[str]) -> bool:
    """Free text that says nothing: Faker filler throughout, or a long run of it.

    Words are ``text_tokens``. The value is random when either holds:

    * every word is in ``filler_vocabulary()`` and none of its content words (not a
      stop word, three letters or more) is ``related`` to a word of the context (the
      tool's name and description, the parameter's name and description; not the
      call's other free text, which shares words with a random value as easily as it
      is random);
    * it holds a run of ``FILLER_RUN`` (6) or more filler words none of which is a
      stop word: written English puts a function word (the, to, for, your...) in any
      such stretch, Faker does not ("Account review begin clear more go trial even").

    Faker's sentences and word lists always meet the first; of 28 hand-written real
    titles, subjects, bodies and queries, 2 do too ("Follow-up on your order",
    "Interview with candidate"), spared only when they name what the tool is about:
    such short all-common-word titles ("Car service") are the rule's false
    positives. No hand-written sentence tried had a filler run longer than 5.
    """
    tokens = text_tokens(value)
    if _longest_filler_run(tokens) >= FILLER_RUN:
        return True
    if not tokens or any(token not in filler_vocabulary() for token in tokens):
        return False
    context = [word for word in context_words if word not in STOPWORDS]
    content = [token for token in tokens if token not in STOPWORDS and len(token) >= 3]
    return not any(related(token, context) for token in content)


FILLER_RUN = 6


def _longest_filler_run(tokens: list[str]) -> int:
    longest = current = 0
    for token in tokens:
        current = current + 1 if token in filler_vocabulary() and token not in STOPWORDS else 0
        longest = max(longest, current)
    return longest


def random_free_text(examples: Iterable[Example]) -> Figure:
    """Share of free-text argument values that are random words (target <= 10%).

    Every call's top-level arguments whose parameter is ``free_text_parameter`` are
    judged, each string (or each string of a list) once. A SQL parameter's value is
    random when ``sql_parses`` fails; any other when ``is_random_words``.
    """
    figure = Figure(
        "random_free_text", "free-text arguments that are random words", 10, None, "<= 10%"
    )
    for example in examples:
        for call in example.calls:
            tool = example.tools.get(call.name)
            if tool is None:
                continue
            properties = (tool.get("parameters") or {}).get("properties") or {}
            for name, schema in properties.items():
                if name not in call.arguments or not free_text_parameter(name, schema):
                    continue
                values = call.arguments[name]
                for text in values if isinstance(values, list) else [values]:
                    if not isinstance(text, str):
                        continue
                    figure.denominator += 1
                    if _is_random_argument(text, name, schema, tool):
                        figure.numerator += 1
                        figure.flag(f"#{example.index} {call.name}.{name} = {text[:80]!r}")
    return _share(figure)


def _is_random_argument(
    text: str, name: str, schema: Mapping[str, Any], tool: Mapping[str, Any]
) -> bool:
    if is_sql_parameter(name, schema):
        return not sql_parses(text)
    context = [
        *key_tokens(str(tool.get("name", ""))),
        *words(str(tool.get("description", ""))),
        *key_tokens(name),
        *words(str(schema.get("description", ""))),
    ]
    return is_random_words(text, context)


# ---------------------------------------------------------------------------
# Issue 10: hollow results

LOOKUP_VERBS = _vocabulary(
    "get fetch lookup look retrieve read show describe check find list query search "
    "convert translate transform calculate compute estimate count sum average "
    "predict resolve measure"
)


def is_lookup_tool(tool: Mapping[str, Any]) -> bool:
    """A lookup, search, conversion or computation tool: its name's first word is one of
    ``LOOKUP_VERBS``, or, when that is not a verb we know, its description's first word.
    """
    tokens = key_tokens(str(tool.get("name", "")))
    if tokens and tokens[0] in LOOKUP_VERBS:
        return True
    first = words(str(tool.get("description", "")))[:1]
    return bool(first) and first[0] in LOOKUP_VERBS


def data_leaves(result: Any, arguments: Mapping[str, Any]) -> list[tuple[tuple[str, ...], Any]]:
    """A result's leaves that are data: not bookkeeping, not echoed, not filler, not empty.

    Dropped: leaves whose key is an id, a status, a timestamp, a count or a score
    (``bookkeeping_kind``); leaves equal to an argument of the call (``same_value``,
    any key); null and empty strings; strings of two or more words that are all Faker
    filler (``"Reduced tangible implementation"`` says nothing). A bare string
    result (not JSON) is data when it is not empty.
    """
    if isinstance(result, str):
        return [((), result)] if result.strip() else []
    echoed = [leaf for _, leaf in leaves(dict(arguments))]
    kept = []
    for path, leaf in leaves(result):
        if leaf is None or (isinstance(leaf, str) and not leaf.strip()):
            continue
        if bookkeeping_kind(path, leaf) is not None:
            continue
        if any(same_value(leaf, argument) for argument in echoed):
            continue
        if isinstance(leaf, str) and _is_filler(leaf):
            continue
        kept.append((path, leaf))
    return kept


def _is_filler(text: str) -> bool:
    tokens = text_tokens(text)
    return len(tokens) >= 2 and all(token in filler_vocabulary() for token in tokens)


def hollow_results(examples: Iterable[Example]) -> Figure:
    """Share of successful results of lookup-like tools with no data (target <= 10%).

    Lookup-like: ``is_lookup_tool``. Successful: the call has a result that is not an
    error. Hollow: ``data_leaves`` is empty: nothing beyond ids, status, echoed
    arguments, timestamps, counts and scores. An empty search (``{"count": 0, "results": []}``)
    is hollow too: a dataset of searches that find nothing teaches nothing.
    """
    figure = Figure(
        "hollow_results", "lookup/search/convert/compute results with no data", 10, None, "<= 10%"
    )
    for example in examples:
        for call in example.calls:
            tool = example.tools.get(call.name)
            if tool is None or call.result is None or call.is_error or not is_lookup_tool(tool):
                continue
            figure.denominator += 1
            if not data_leaves(call.result, call.arguments):
                figure.numerator += 1
                figure.flag(f"#{example.index} {call.name} -> {json.dumps(call.result)[:160]}")
    return _share(figure)


# ---------------------------------------------------------------------------
# Issue 10: reversed ranges

RANGE_WORDS = (
    ("start", "end"),
    ("begin", "end"),
    ("from", "to"),
    ("min", "max"),
    ("minimum", "maximum"),
    ("lower", "upper"),
    ("low", "high"),
    ("earliest", "latest"),
    ("since", "until"),
    ("after", "before"),
    ("departure", "return"),
    ("depart", "return"),
    ("outbound", "inbound"),
    ("checkin", "checkout"),
    ("arrival", "departure"),
)


def range_pairs(arguments: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(start key, end key) pairs among one object's keys.

    Two keys pair when they are the same words but one: a start-like word in the
    first where the second has its end-like partner from ``RANGE_WORDS``
    (``departure_date``/``return_date``, ``time_min``/``time_max``,
    ``start``/``end``, ``check_in``/``check_out`` read as checkin/checkout).
    """
    tokenised = {key: _range_tokens(key) for key in arguments}
    for first, first_tokens in tokenised.items():
        for second, second_tokens in tokenised.items():
            if first == second or len(first_tokens) != len(second_tokens):
                continue
            differ = [(a, b) for a, b in zip(first_tokens, second_tokens, strict=True) if a != b]
            if len(differ) == 1 and differ[0] in RANGE_WORDS:
                yield first, second


def _range_tokens(key: str) -> list[str]:
    text = "_".join(key_tokens(key))
    text = re.sub(r"check_(in|out)", r"check\1", text)
    return text.split("_")


def ordered_value(value: Any) -> float | datetime | date | None:
    """A comparable reading of a number, an ISO date or an ISO date-time; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        if re.match(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text):
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            return parsed
    except ValueError:
        return None
    return None


def is_reversed(start: Any, end: Any) -> bool | None:
    """True when end comes before start, None when the two cannot be compared."""
    first, second = ordered_value(start), ordered_value(end)
    if first is None or second is None:
        return None
    if isinstance(first, datetime) != isinstance(second, datetime):
        # a date against a date-time: compare the days
        first = first.date() if isinstance(first, datetime) else first
        second = second.date() if isinstance(second, datetime) else second
    if (
        isinstance(first, datetime)
        and isinstance(second, datetime)
        and (first.tzinfo is None) != (second.tzinfo is None)
    ):
        first, second = first.replace(tzinfo=None), second.replace(tzinfo=None)
    if type(first) is not type(second) and not (
        isinstance(first, date) and isinstance(second, date)
    ):
        return None
    return bool(second < first)  # type: ignore[operator]


def reversed_ranges(examples: Iterable[Example]) -> Figure:
    """Number of start/end argument pairs out of order (target 0).

    Every object in every call's arguments is searched for ``range_pairs``; a pair
    counts when both values are numbers, ISO dates or ISO date-times, and is
    reversed when the end is strictly before the start (equal is fine).
    """
    figure = Figure("reversed_ranges", "reversed start/end argument pairs", 10, None, "== 0")
    for example in examples:
        for call in example.calls:
            for scope in _objects(call.arguments):
                for start, end in range_pairs(scope):
                    verdict = is_reversed(scope[start], scope[end])
                    if verdict is None:
                        continue
                    figure.denominator += 1
                    if verdict:
                        figure.numerator += 1
                        figure.flag(
                            f"#{example.index} {call.name}: {start}={scope[start]!r} "
                            f"{end}={scope[end]!r}"
                        )
    figure.value = float(figure.numerator)
    return figure


def _objects(value: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        yield value
        for child in value.values():
            yield from _objects(child)
    elif isinstance(value, list):
        for child in value:
            yield from _objects(child)


# ---------------------------------------------------------------------------
# Issue 10: multi_step links against hand labels


@dataclass(frozen=True)
class Link:
    """A value that went from an earlier tool's result into a later call's argument."""

    from_tool: str
    to_tool: str
    to_parameter: str
    value: Any


def chain_links(example: Example) -> list[Link]:
    """The links of a conversation, read from the conversation itself.

    A later call's top-level argument is linked when one of its scalar values (not a
    boolean, not null, not an empty string) equals a leaf of an earlier successful
    result (``same_value``; an ISO date also matches the day of an ISO date-time),
    and the user's words do not state it (``stated_in``). The source is the earliest
    earlier call whose result holds it: a later result may only echo it back.
    """
    found: list[Link] = []
    for position, call in enumerate(example.calls):
        earlier = [c for c in example.calls[:position] if c.result is not None and not c.is_error]
        for name, argument in call.arguments.items():
            for _, value in leaves(argument):
                if value is None or isinstance(value, bool) or value == "":
                    continue
                if stated_in(value, example.user_words):
                    continue
                source = next((c for c in earlier if _holds(c.result, value)), None)
                if source is not None:
                    found.append(Link(source.name, call.name, name, value))
    return found


def _holds(result: Any, value: Any) -> bool:
    for _, leaf in leaves(result):
        if same_value(leaf, value):
            return True
        if (
            isinstance(value, str)
            and isinstance(leaf, str)
            and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)
            and leaf.startswith(value + "T")
        ):
            return True
    return False


def load_link_labels(document: Mapping[str, Any]) -> dict[tuple[str, str, str], bool]:
    """(from_tool, to_tool, to_parameter) -> plausible, from tests/data/plausible_links.json."""
    return {
        (row["from_tool"], row["to_tool"], row["to_parameter"]): bool(row["plausible"])
        for row in document["links"]
    }


def implausible_chains(
    examples: Iterable[Example], labels: Mapping[tuple[str, str, str], bool]
) -> Figure:
    """Share of multi_step examples whose every link is plausible (target >= 90%).

    Links: ``chain_links``. A multi_step example passes when it has at least one
    link (a chain along which nothing flows is not a data flow) and every link is
    labelled plausible. A link the labels do not cover (another tool set, or a tool
    linked to itself) fails it and is counted apart as unlabelled.
    """
    figure = Figure(
        "plausible_chains", "multi_step examples whose every link is plausible", 10, None, ">= 90%"
    )
    no_link = unlabelled = links_seen = plausible_links = 0
    for example in examples:
        if example.category != "multi_step":
            continue
        figure.denominator += 1
        links = chain_links(example)
        links_seen += len(links)
        verdicts = [labels.get((k.from_tool, k.to_tool, k.to_parameter)) for k in links]
        unlabelled += sum(v is None for v in verdicts)
        plausible_links += sum(v is True for v in verdicts)
        if links and all(verdicts):
            figure.numerator += 1
        elif not links:
            no_link += 1
            figure.flag(f"#{example.index} no link: {' -> '.join(c.name for c in example.calls)}")
        else:
            bad = [link for link, v in zip(links, verdicts, strict=True) if not v]
            figure.flag(
                f"#{example.index} "
                + "; ".join(
                    f"{k.from_tool} -> {k.to_tool}.{k.to_parameter}={k.value!r}" for k in bad
                )
            )
    figure.detail = {
        "links": links_seen,
        "plausible_links": plausible_links,
        "examples_without_link": no_link,
        "unlabelled_links": unlabelled,
    }
    return _share(figure)


# ---------------------------------------------------------------------------
# Issue 11: requests, answers, phrases


def description_spans(description: str, size: int = 6) -> set[tuple[str, ...]]:
    tokens = words(description)
    return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)}


def pasted_descriptions(examples: Iterable[Example], size: int = 6) -> Figure:
    """Share of requests containing a 6-word span of a tool description (target <= 5%).

    The request is the first user message; descriptions are those of every tool the
    example offers. Both are compared as lower-case alphabetic words (punctuation and
    numbers dropped), so a description of fewer than six words cannot be found.
    """
    figure = Figure(
        "pasted_descriptions",
        "requests containing a 6-word span of a tool description",
        11,
        None,
        "<= 5%",
    )
    for example in examples:
        if not example.user_texts:
            continue
        figure.denominator += 1
        spans: set[tuple[str, ...]] = set()
        for tool in example.tools.values():
            spans |= description_spans(str(tool.get("description", "")), size)
        tokens = words(example.request)
        hit = next(
            (
                tuple(tokens[i : i + size])
                for i in range(len(tokens) - size + 1)
                if tuple(tokens[i : i + size]) in spans
            ),
            None,
        )
        if hit:
            figure.numerator += 1
            figure.flag(f"#{example.index} {' '.join(hit)!r} in {example.request[:100]!r}")
    return _share(figure)


def answer_uses_result(example: Example, action_ids: bool = True) -> bool | None:
    """Whether the final answer states a result value the user did not state.

    None when there is nothing to judge: no final answer, or no successful result.
    Result values are ``answer_values`` of every successful result, minus those the
    user stated (``stated_in``); the answer uses one when it ``stated_in`` the
    answer. Strings shorter than three characters are skipped (too easily found by
    chance). ``action_ids=False`` leaves the ids made by acting tools out too.
    """
    results = [c for c in example.calls if c.result is not None and not c.is_error]
    if example.final_answer is None or not results:
        return None
    for call in results:
        for leaf in answer_values(call, example.tools.get(call.name) or {}, action_ids):
            if isinstance(leaf, str) and len(leaf.strip()) < 3:
                continue
            if stated_in(leaf, example.user_words):
                continue
            if stated_in(leaf, example.final_answer):
                return True
    return False


def answer_values(call: Call, tool: Mapping[str, Any], action_ids: bool = True) -> list[Any]:
    """The values of a result an answer may report: its ``data_leaves``, and for a tool
    that acts (not ``is_lookup_tool``: create, send, book, cancel...) also the ids it
    made, not echoed from the call: "your booking reference is BK-123" answers, while
    a lookup's answer that reads back a record id does not.
    """
    values = [leaf for _, leaf in data_leaves(call.result, call.arguments)]
    if action_ids and not is_lookup_tool(tool):
        echoed = [leaf for _, leaf in leaves(call.arguments)]
        values += [
            leaf
            for path, leaf in leaves(call.result)
            if bookkeeping_kind(path, leaf) == "id"
            and not any(same_value(leaf, argument) for argument in echoed)
        ]
    return values


def answers_using_results(examples: Iterable[Example]) -> Figure:
    """Share of final answers using a value from a tool result the user did not state
    (target >= 80%); see ``answer_uses_result``. Its detail gives the share when no id
    counts (``action_ids=False``), the stricter reading."""
    figure = Figure(
        "answers_using_results",
        "final answers using a result value the user did not state",
        11,
        None,
        ">= 80%",
    )
    strict = 0
    for example in examples:
        verdict = answer_uses_result(example)
        if verdict is None:
            continue
        strict += answer_uses_result(example, action_ids=False) is True
        figure.denominator += 1
        if verdict:
            figure.numerator += 1
        else:
            figure.flag(f"#{example.index} {(example.final_answer or '')[:120]!r}")
    figure.detail = {
        "share_without_action_ids": strict / figure.denominator if figure.denominator else None
    }
    return _share(figure)


def opener(text: str, size: int = 3) -> str:
    """The first three words, lower-cased (words split on white space, outer
    punctuation stripped)."""
    return " ".join(_phrase_words(text)[:size])


def closer(text: str, size: int = 3) -> str:
    """The last three words, lower-cased, as ``opener``."""
    return " ".join(_phrase_words(text)[-size:])


def _phrase_words(text: str) -> list[str]:
    stripped = (word.strip(".,;:!?\"'()[]").lower() for word in text.split())
    return [word for word in stripped if word]


def stock_phrases(examples: Iterable[Example], phrase: str = "opener") -> Figure:
    """The most common request opener's (or closer's) share of requests (target <= 5%)."""
    take = opener if phrase == "opener" else closer
    counts = Counter(take(example.request) for example in examples if example.request.strip())
    total = sum(counts.values())
    figure = Figure(f"top_{phrase}", f"most common request {phrase}'s share", 11, None, "<= 5%")
    figure.denominator = total
    if counts:
        top, figure.numerator = counts.most_common(1)[0]
        figure.detail = {"most_common": [[text, n] for text, n in counts.most_common(5)]}
        figure.flag(repr(top))
    return _share(figure)

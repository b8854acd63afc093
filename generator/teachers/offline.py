"""The embedded offline teacher: Jinja2 templates and Faker, no model, no network.

It is honest about what it is: a fast, free, deterministic teacher for pipelines,
tests and baselines. Its requests are template sentences that state every seeded
value plainly, its tool results are plausible JSON built from the call, and its
answers report those results. Data for a real fine-tune should come from a real
model (``--teacher openai``); this one makes the pipeline runnable anywhere and
gives a floor to compare against.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from faker import Faker
from pydantic import BaseModel, ConfigDict

from callforge.generator.answers import Fact, count_words, informative_leaves, record_lists
from callforge.generator.grounding import humanise, scalar_values
from callforge.generator.results import successful_result
from callforge.generator.scenarios.base import (
    ERROR_KEY,
    PlannedStep,
    ScenarioDraft,
    ScenarioPlan,
    Turn,
)
from callforge.generator.scenarios.clarify import argument_label
from callforge.generator.schema import resolved_properties
from callforge.generator.teachers.base import TeacherReply, TeacherRequest, TeacherStats
from callforge.generator.teachers.phrasing import RequestPhrasing, plural
from callforge.generator.templating import environment, load_yaml
from callforge.generator.tool_kinds import (
    ToolKind,
    Verb,
    identifies_record,
    record_noun,
    singular,
    tool_kind,
)
from callforge.generator.tools import ToolSpec, sha256_hex

_CODE = re.compile(r"(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*")
"""A code-like value (``VX07``, ``07D``, ``SKU-12``): data, but not the news."""
_DATE_TIME = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)


def join_human(items: list[str]) -> str:
    items = [item for item in items if item]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


class OfflineTeacher:
    """Template teacher: deterministic from the plan's seed."""

    id = "offline"
    concurrency = 1

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        templates: Path | None = None
        locale: str = "en_US"

    def __init__(self, **options: Any) -> None:
        self.options = self.Options(**options)
        env = environment(self.options.templates)
        env.filters["join_human"] = join_human
        self._request = env.get_template("offline/user_request.j2")
        self._answer = env.get_template("offline/final_answer.j2")
        self._phrases = load_yaml("offline/phrases.yaml", self.options.templates)
        self._phrasing = RequestPhrasing(self._phrases["request"])
        self._faker = Faker(self.options.locale)
        self._banks: dict[str, dict[str, Any]] = {}
        self._writers: dict[str, Callable[[Turning], str]] = {
            "request": self._write_request,
            "requests": self._requests,
            "supply": self._supply,
            "follow_up": self._follow_up,
            "unserved": self._unserved,
            "answer": self._write_answer,
            "answers": self._answers,
            "clarify": self._clarify,
            "decline": self._decline,
            "reply": self._reply,
            "chat": self._chat,
        }
        self.stats = TeacherStats()

    async def start(self) -> None:
        return None

    async def write(self, request: TeacherRequest) -> TeacherReply:
        tools = {tool.name: tool for tool in request.tools}
        draft = self.write_now(request.plan, tools, real_results=request.results)
        return TeacherReply(draft)

    async def aclose(self) -> None:
        return None

    def write_now(
        self,
        plan: ScenarioPlan,
        tools: dict[str, ToolSpec],
        real_results: Sequence[dict[str, Any]] | None = None,
    ) -> ScenarioDraft:
        """The draft around ``plan``; around ``real_results`` when given (``--execute``)."""
        rng = random.Random(plan.seed ^ 0x0FF11E)
        self._faker.seed_instance(plan.seed ^ 0x0FF11E)
        imagined: list[dict[str, Any]] = []
        for index in range(len(plan.steps)):
            imagined.append(self._result(plan, tools, index, rng, imagined))
        # Made even when real results replace them, so the request reads the same either way.
        results = list(real_results) if real_results is not None else imagined
        texts = []
        answered: list[dict[str, Any]] = []
        layout = plan.layout
        for position, turn in enumerate(layout):  # each text turn, phrased by what it does
            if turn.calls:
                answered.extend(results[index] for index in turn.calls)
                continue
            at = Turning(plan, tools, layout, position, list(answered), rng)
            texts.append(self._writers[turn.intent](at))
        return ScenarioDraft(
            user_request=texts[0],
            tool_results=results,
            final_answer=texts[-1],
            turn_texts=texts[1:-1],
            retry_note=self._retry_note_in(plan, texts[-1]),
        )

    # -- the user's words ------------------------------------------------------

    def _write_request(self, at: Turning) -> str:
        return self._user_request(at.plan, at.tools, at.rng, at.turn)

    def _user_request(
        self, plan: ScenarioPlan, tools: dict[str, ToolSpec], rng: random.Random, turn: Turn
    ) -> str:
        """What a person would write to get these calls made (``phrasing.py``)."""
        bank = self._phrases["request"]
        chained: dict[int, list[str]] = {}
        for link in plan.chains:
            # named as the earlier result has it: "the total price it gives you", not
            # "the amount" (the later tool's word for it)
            field = (link.path or link.argument).rpartition(".")[2]
            chained.setdefault(link.to_step, []).append(humanise(field))
        asks = []
        for index, (tool, arguments) in zip(turn.states, plan.stated_in(turn), strict=True):
            ask = self._phrasing.ask(tools[tool], arguments, rng)
            link = rng.choice(bank["chain_links"]).replace(
                "{label}", join_human(chained.get(index, [])) or "result"
            )
            asks.append((link, ask))
        return self._framed(plan, asks, rng)

    def _framed(self, plan: ScenarioPlan, asks: list[tuple[str, str]], rng: random.Random) -> str:
        """The asks in a message: greeting, frame, context and closer by the example's tone."""
        bank = self._phrases["request"]
        tone = plan.style.get("tone", "polite")
        opening, end = rng.choice(bank["frames"][tone])
        greeting = rng.choice(bank["greetings"][tone])
        context = rng.choice(bank["contexts"][plan.style.get("length", "short")])
        context_first = rng.random() < 0.4
        if context and context_first and greeting.endswith((",", ":")):
            greeting = ""  # "Hi, It came up in a ticket." reads wrong; the context opens
        text = self._request.render(
            greeting=greeting,
            opening=opening,
            end=end,
            first=asks[0][1],
            later=asks[1:],
            context=context,
            context_first=context_first,
            closer=rng.choice(bank["closers"][tone]),
        )
        return _sentence_case(" ".join(text.split()))

    # -- the tools' results ----------------------------------------------------

    def _result(
        self,
        plan: ScenarioPlan,
        tools: dict[str, ToolSpec],
        index: int,
        rng: random.Random,
        earlier: list[dict[str, Any]],
    ) -> dict[str, Any]:
        step = plan.steps[index]
        if step.failure is not None:
            return self._error_result(step, rng)
        return successful_result(
            tools[step.call.name],
            step.call.arguments,
            rng=rng,
            faker=self._faker,
            today=plan.today_date,
            must_return=step.must_return,
            earlier=tuple(earlier),
        )

    def _error_result(self, step: PlannedStep, rng: random.Random) -> dict[str, Any]:
        """What the tool says when the call fails, in the tool's own way of saying it.

        Each tool has one error dialect (picked from its name: a real API reports
        all its errors alike) and each failure kind several messages.
        """
        failure = step.failure
        assert failure is not None
        errors = self._phrases["errors"]
        dialects = errors["dialects"]
        dialect = dialects[int(sha256_hex(step.call.name)[:8], 16) % len(dialects)]
        argument = failure.argument or ""
        values = {
            "detail": failure.detail,
            "argument": argument,
            "value": _value_text(step.call.arguments.get(argument, "")),
            # "No cart found with cartId ...": the record the argument names, else the tool's
            "entity": record_noun(argument) or humanise(step.call.name).split()[-1],
            "seconds": failure.retry_after_seconds or "",
            "code": dialect["codes"][failure.kind],
            "title": dialect.get("titles", {}).get(failure.kind, ""),
        }
        values["message"] = rng.choice(errors["messages"][failure.kind]).format(**values)
        shape = {**dialect["shape"], **dialect.get("extra", {}).get(failure.kind, {})}
        error = {key: _fill(text, **values) for key, text in shape.items()}
        return {ERROR_KEY: {key: value for key, value in error.items() if value != ""}}

    # -- the final answer --------------------------------------------------------

    def _write_answer(self, at: Turning) -> str:
        """An answer to the calls so far, about the last one (``_final_answer``)."""
        last = at.plan.steps[at.turn_calls()[-1]].call.name
        return self._final_answer(at.plan, tool_kind(at.tools[last]), at.answered, at.rng)

    def _final_answer(
        self, plan: ScenarioPlan, kind: ToolKind, results: list[dict[str, Any]], rng: random.Random
    ) -> str:
        """What the last result says that the user did not: its data, not its ids.

        A search's matches are reported by their count and the first one, a forecast
        by its days and the first day; anything else by its first few informative
        values (``answers.informative_leaves``).
        """
        last = results[-1]
        echoed = list(scalar_values([step.call.arguments for step in plan.steps]))
        forecast = kind.verb is Verb.FORECAST
        listed = _main_records(last) if kind.lists or forecast else None
        record = listed[1][0] if listed else last
        facts = _telling(_distinct_labels(informative_leaves(record, echoed)))
        bank = self._phrases["answer"]
        listing = first = ""
        if listed:
            noun = humanise(_last_key(listed[0])) or "result"
            count = len(listed[1])
            if forecast:
                many = "listings_forecast" if count > 1 else "listings_one"
                listing = rng.choice(bank[many]).replace("{count}", count_words(count))
                listing = listing.replace("{noun}", "day") if count == 1 else listing
            elif count == 1:
                listing = rng.choice(bank["listings_one"]).replace("{noun}", singular(noun))
            else:
                listing = rng.choice(bank["listings"]).replace("{count}", count_words(count))
                listing = listing.replace("{noun}", plural(singular(noun)))
            listed_facts = [_fact_text("{label} {value}", fact) for fact in facts]
            if listed_facts:
                frames = "first_day" if forecast else "first_record" if count > 1 else "only_record"
                first = rng.choice(bank[frames]).replace("{facts}", join_human(listed_facts))
        style = rng.choice(bank["fact_styles"])
        text = self._answer.render(
            opener=rng.choice(bank["openers"]),
            retry_note=self._retry_note(plan, rng),
            listing=_capitalised(listing),
            first=first,
            lead=rng.choice(style["leads"]),
            facts=[_fact_text(style["item"], fact) for fact in facts if not _is_when(fact)],
            when=join_human([_fact_text("", fact) for fact in facts if _is_when(fact)]),
            joiner=style.get("joiner", ", "),
            nothing=self._made(kind, last, echoed, rng) or rng.choice(bank["nothing_new"]),
        )
        text = " ".join(text.split())
        return _sentence_case(text)

    def _made(self, kind: ToolKind, result: Any, echoed: list[Any], rng: random.Random) -> str:
        """For a tool that makes something: the new thing's id and status, if it has them."""
        if not kind.makes or not isinstance(result, dict):
            return ""
        seen = {str(value) for value in echoed}
        made = next(
            (
                (humanise(key), value)
                for key, value in result.items()
                if isinstance(value, str) and identifies_record(key) and value not in seen
            ),
            None,
        )
        if made is None:
            return ""
        text: str = rng.choice(self._phrases["answer"]["made"]).format(
            label=made[0], value=made[1], entity=kind.entity
        )
        status = result.get("status")
        return f"{text} Status: {status}." if isinstance(status, str) else text

    def _retry_note(self, plan: ScenarioPlan, rng: random.Random) -> str:
        notes = self._retry_notes(plan)
        return rng.choice(notes) if notes else ""

    def _retry_notes(self, plan: ScenarioPlan) -> list[str]:
        """The sentences an answer may use to tell of the first call's failure."""
        failure = plan.steps[0].failure
        if failure is None:
            return []
        return [
            note.format(
                argument=humanise(failure.argument or "value"),
                name=failure.argument,
                seconds=failure.retry_after_seconds,
            )
            for note in self._phrases["retry_notes"][failure.kind]
        ]

    def _retry_note_in(self, plan: ScenarioPlan, answer: str) -> str:
        """The note on the assistant's own mistake ``answer`` carries (``retry_note``)."""
        failure = plan.steps[0].failure if plan.steps else None
        if failure is None or not failure.assistant_mistake:
            return ""
        return next((note for note in self._retry_notes(plan) if note in answer), "")

    # -- the turns of the other categories (phrased from offline/<category>.yaml) --

    def _bank(self, plan: ScenarioPlan) -> dict[str, Any]:
        if plan.category not in self._banks:
            self._banks[plan.category] = load_yaml(
                f"offline/{plan.category}.yaml", self.options.templates
            )
        bank: dict[str, Any] = self._banks[plan.category]
        return bank

    def _values_of(self, at: Turning) -> str:
        """The values a user turn states, as the clauses of an ask: "for Porto, in metric"."""
        return " ".join(
            self._phrasing.clauses(at.tools[tool], arguments, at.rng)
            for tool, arguments in at.plan.stated_in(at.turn)
        )

    def _requests(self, at: Turning) -> str:
        """Several independent asks in one message (parallel calls)."""
        plan, rng, bank = at.plan, at.rng, self._bank(at.plan)
        asks: list[tuple[str, str]] = []
        for tool, arguments in plan.stated_in(at.turn):
            if asks and tool == plan.steps[0].call.name:
                clauses = self._phrasing.clauses(at.tools[tool], arguments, rng)
                ask = rng.choice(bank["same_tool"]).format(clauses=clauses)
            else:
                ask = self._phrasing.ask(at.tools[tool], arguments, rng)
            asks.append((rng.choice(bank["links"]), ask))
        return self._framed(plan, asks, rng)

    def _answers(self, at: Turning) -> str:
        """One answer reporting what every parallel call returned."""
        plan, rng, bank = at.plan, at.rng, self._bank(at.plan)
        items = []
        calls = [plan.steps[index].call for index in at.turn_calls()]
        for call, result in zip(calls, at.answered, strict=False):
            # named by a value only this call has, reported by data only its result has
            others = [c for c in calls if c is not call]
            shared = {str(v) for c in others for v in scalar_values(c.arguments)}
            own = [v for v in call.arguments.values() if _value_text(v) not in shared]
            name = next((v for v in own if not isinstance(v, bool | dict | list)), None)
            label = humanise(call.name) + (f" ({_value_text(name)})" if name is not None else "")
            echoed = list(scalar_values(call.arguments))
            seen = {str(v) for r in at.answered if r is not result for v in scalar_values(r)}
            leaves = informative_leaves(result, echoed)
            leaves = [f for f in leaves if str(f.value) not in seen] or leaves
            facts = _telling(_distinct_labels(leaves))[:2]
            said = join_human([_fact_text("{label} {value}", fact) for fact in facts])
            item = rng.choice(bank["answer_items"]).format(call=label, facts=said or "done")
            items.append(_capitalised(item))
        return " ".join([rng.choice(bank["answer_openers"]), *items])

    def _clarify(self, at: Turning) -> str:
        bank = self._bank(at.plan)
        (index, names), *_ = at.plan.withheld.items()
        tool = at.tools[at.plan.steps[index].call.name]
        value = at.plan.steps[index].call.arguments[names[0]]
        counted = isinstance(value, int) and not isinstance(value, bool)
        forms = bank["count_questions" if counted else "questions"]
        return at.rng.choice(forms).format(label=argument_label(tool, names[0]))

    def _supply(self, at: Turning) -> str:
        """The value asked for, named as the question named it."""
        (tool, arguments), *_ = at.plan.stated_in(at.turn)
        name, value = next(iter(arguments.items()))
        reply = at.rng.choice(self._bank(at.plan)["replies"])
        label = argument_label(at.tools[tool], name)
        options = resolved_properties(at.tools[tool].parameters, tool=tool).get(name, {})
        # an option in words ("premium economy"); any other text as it is ("/data/a_b.pdf")
        is_option = isinstance(value, str) and value in options.get("enum", ())
        said = value.replace("_", " ") if is_option else _value_text(value)
        return _capitalised(reply.format(label=label, value=said))

    def _follow_up(self, at: Turning) -> str:
        form = at.rng.choice(self._bank(at.plan)["follow_ups"])
        return _sentence_case(form.format(clauses=self._values_of(at)))

    def _unserved(self, at: Turning) -> str:
        bank, rng = self._phrases["request"], at.rng
        tone = at.plan.style.get("tone", "polite")
        opening, end = rng.choice(bank["frames"][tone])
        greeting = rng.choice(bank["greetings"][tone])
        text = " ".join(f"{greeting} {opening} {at.plan.unserved}".split())
        return _sentence_case(text + (end or "."))

    def _chat(self, at: Turning) -> str:
        """A request that needs no tool, as the bank writes it, after a greeting."""
        tone = at.plan.style.get("tone", "polite")
        greeting = at.rng.choice(self._phrases["request"]["greetings"][tone])
        ask = at.plan.unserved
        if greeting.endswith((",", ":")):  # "Hi, are you there?"
            ask = ask[:1].lower() + ask[1:]
        return " ".join(f"{greeting} {ask}".split())

    def _reply(self, at: Turning) -> str:
        """The answer to a request that needs no tool (no_call's ``no_tool`` asks)."""
        form = at.rng.choice(self._bank(at.plan)["no_tool"][at.plan.unserved])
        return _sentence_case(form.format(capabilities=self._capabilities(at)))

    def _decline(self, at: Turning) -> str:
        form = at.rng.choice(self._bank(at.plan)["declines"])
        capabilities = self._capabilities(at)
        return form.format(ask=second_person(at.plan.unserved), capabilities=capabilities)

    def _capabilities(self, at: Turning) -> str:
        """Three things the tools do, the cell's tool first: "find flights, cancel an order"."""
        names = [at.plan.tool, *sorted(n for n in at.tools if n != at.plan.tool)]
        shown = [names[0], *at.rng.sample(names[1:], min(2, len(names) - 1))]
        asks = [self._phrasing.ask(at.tools[n], {}, at.rng) for n in shown if n in at.tools]
        return join_human(  # a bare "convert" says what the tool's name says
            [ask if " " in ask else humanise(name) for ask, name in zip(asks, shown, strict=False)]
        )


@dataclass
class Turning:
    """What writing one text turn can see: the plan, the tools, the results so far."""

    plan: ScenarioPlan
    tools: dict[str, ToolSpec]
    layout: list[Turn]
    position: int
    answered: list[dict[str, Any]]
    rng: random.Random

    @property
    def turn(self) -> Turn:
        return self.layout[self.position]

    def turn_calls(self) -> list[int]:
        """The steps of the last call turn before this text turn."""
        before = [t for t in self.layout[: self.position] if t.calls]
        return before[-1].calls if before else []


_PERSON = {"my": "your", "me": "you", "i": "you", "mine": "yours", "i'm": "you're"}


def second_person(ask: str) -> str:
    """``cancel my order`` -> ``cancel your order``, for the assistant to say it back."""
    return " ".join(_PERSON.get(word.lower(), word) for word in ask.split())


def _main_records(result: Any) -> tuple[str, list[Any]] | None:
    """The longest list of records (objects) in a result, with its path: what a search found."""
    lists = [
        (path, items)
        for path, items in record_lists(result)
        if all(isinstance(item, dict) for item in items)
    ]
    return max(lists, key=lambda found: len(found[1]), default=None)


def _telling(facts: list[Fact]) -> list[Fact]:
    """The facts an answer leads with: words and amounts before codes, and one time.

    "airline Air France, price 412.3 and stops 1, departing March 5, 2026 at 08:30"
    tells more than "flight number VX07"; the result's order decides within a kind.
    """
    times = [fact for fact in facts if _DATE_TIME.match(str(fact.value))]
    rest = [fact for fact in facts if fact not in times]
    ranked = sorted(rest, key=lambda fact: _CODE.fullmatch(str(fact.value)) is not None)
    return ranked[:3] + times[:1]


def _distinct_labels(facts: list[Fact]) -> list[Fact]:
    seen: set[str] = set()
    kept = []
    for fact in facts:
        if fact.label not in seen:
            seen.add(fact.label)
            kept.append(fact)
    return kept


def _last_key(path: str) -> str:
    return re.sub(r"\[\d+\]", "", path).rsplit(".", 1)[-1]


def _is_when(fact: Fact) -> bool:
    """A when-field: ``cancelled_at``, ``placed_on``."""
    return fact.label.endswith((" at", " on")) and isinstance(fact.value, str)


def _fact_text(form: str, fact: Fact) -> str:
    """A fact in a phrase form; a when-field reads "cancelled on July 24, 2025 at 19:15"."""
    if _is_when(fact):
        return f"{fact.label[:-3]} on {_spoken(fact.value)}"
    if fact.label.rsplit(" ", 1)[-1] in ("since", "until", "by", "from", "to", "for", "per"):
        return f"{fact.label} {_spoken(fact.value)}"  # "member since May 2, 2024"
    text = form.format(label=fact.label, value=_spoken(fact.value))
    return re.sub(r"^a (?=[aeio])", "an ", text)  # "an end time of ..." ("a unit price")


def _sentence_case(text: str) -> str:
    """A capital after each sentence's end, and at the start."""
    return re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _spoken(value: Any) -> str:
    """A value as an answer says it: dates spelt out, everything else as it is."""
    if isinstance(value, str):
        date_time = _DATE_TIME.match(value)
        if date_time:
            day = date.fromisoformat(date_time.group(1))
            spelt = f"{day:%B} {day.day}, {day.year}"
            return f"{spelt} at {date_time.group(2)}" if date_time.group(2) else spelt
    return _value_text(value)


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return join_human([_value_text(item) for item in value]) or "none"
    if isinstance(value, dict):
        inner = ", ".join(f"{humanise(k)} {_value_text(v)}" for k, v in value.items())
        return f"({inner})"
    if value is None:
        return "none"
    return str(value)


def _fill(text: Any, **values: Any) -> Any:
    if not isinstance(text, str):
        return text
    filled = text.format(**values)
    return int(filled) if filled.isdigit() else filled

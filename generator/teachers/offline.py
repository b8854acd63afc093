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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faker import Faker
from pydantic import BaseModel, ConfigDict

from callforge.generator.results import successful_result
from callforge.generator.scenarios.base import ERROR_KEY, ScenarioDraft, ScenarioPlan, Turn
from callforge.generator.scenarios.clarify import argument_label
from callforge.generator.teachers.base import TeacherReply, TeacherRequest, TeacherStats
from callforge.generator.templating import environment, load_yaml
from callforge.generator.tool_kinds import singular
from callforge.generator.tools import ToolSpec

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def humanise(name: str) -> str:
    """``departure_date`` / ``departureDate`` -> ``departure date``."""
    return " ".join(_CAMEL.sub(" ", name).replace("_", " ").replace("-", " ").split()).lower()


def join_human(items: list[str]) -> str:
    items = [item for item in items if item]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def action_phrase(tool: ToolSpec) -> str:
    """What the user asks the tool to do, from its description or else its name."""
    first = re.split(r"(?<=[.!?])\s", tool.description.strip(), maxsplit=1)[0].rstrip(".!?")
    if first and len(first.split()) <= 14:
        return first[0].lower() + first[1:] if not first[:2].isupper() else first
    return humanise(tool.name)


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
        }
        self.stats = TeacherStats()

    async def start(self) -> None:
        return None

    async def write(self, request: TeacherRequest) -> TeacherReply:
        draft = self.write_now(request.plan, {tool.name: tool for tool in request.tools})
        return TeacherReply(draft)

    async def aclose(self) -> None:
        return None

    def write_now(self, plan: ScenarioPlan, tools: dict[str, ToolSpec]) -> ScenarioDraft:
        rng = random.Random(plan.seed ^ 0x0FF11E)
        self._faker.seed_instance(plan.seed ^ 0x0FF11E)
        results = [self._result(plan, tools, index, rng) for index in range(len(plan.steps))]
        texts = []
        answered: list[dict[str, Any]] = []
        for turn in plan.layout:
            if turn.calls:
                answered.extend(results[index] for index in turn.calls)
                continue
            write = self._writers[turn.intent]
            texts.append(write(Turning(plan, tools, turn, answered, rng)))
        return ScenarioDraft(
            user_request=texts[0],
            tool_results=results,
            final_answer=texts[-1],
            turn_texts=texts[1:-1],
        )

    # -- the user's words ------------------------------------------------------

    def _write_request(self, at: Turning) -> str:
        return self._user_request(at.plan, at.tools, at.rng, at.turn)

    def _user_request(
        self, plan: ScenarioPlan, tools: dict[str, ToolSpec], rng: random.Random, turn: Turn
    ) -> str:
        chained: dict[int, list[str]] = {}
        for link in plan.chains:
            chained.setdefault(link.to_step, []).append(humanise(link.argument))
        steps = []
        for index, names in turn.states.items():
            step = plan.steps[index]
            arguments = {n: step.call.arguments[n] for n in names if n in step.call.arguments}
            steps.append(
                {
                    "action": action_phrase(tools[step.call.name]),
                    "arguments": self._argument_phrases(arguments, rng),
                    "chained_label": join_human(chained.get(index, [])),
                }
            )
        text = self._request.render(
            steps=steps, style=plan.style, phrases=self._phrases, pick=rng.choice
        )
        return " ".join(text.split())

    def _argument_phrases(self, arguments: dict[str, Any], rng: random.Random) -> list[str]:
        phrases = []
        for name, value in arguments.items():
            label = humanise(name)
            if isinstance(value, bool):
                form = rng.choice(self._phrases["flag_forms"][value])
                phrases.append(form.format(label=label))
            else:
                form = rng.choice(self._phrases["argument_forms"])
                phrases.append(form.format(label=label, value=_value_text(value)))
        return phrases

    # -- the tools' results ----------------------------------------------------

    def _result(
        self, plan: ScenarioPlan, tools: dict[str, ToolSpec], index: int, rng: random.Random
    ) -> dict[str, Any]:
        step = plan.steps[index]
        if step.failure is not None:
            template = self._phrases["errors"][step.failure.kind]
            seconds = rng.choice([1, 2, 5, 10, 30])
            error = {
                key: _fill(text, detail=step.failure.detail, seconds=seconds)
                for key, text in template.items()
            }
            return {ERROR_KEY: error}
        return successful_result(
            tools[step.call.name],
            step.call.arguments,
            rng=rng,
            faker=self._faker,
            today=plan.today_date,
            must_return=step.must_return,
        )

    # -- the final answer --------------------------------------------------------

    def _write_answer(self, at: Turning) -> str:
        return self._final_answer(at.plan, at.answered, at.rng)

    def _final_answer(
        self, plan: ScenarioPlan, results: list[dict[str, Any]], rng: random.Random
    ) -> str:
        facts = result_facts(results[-1])
        kind = plan.failure_kind
        retry_note = rng.choice(self._phrases["retry_notes"][kind]) if kind else ""
        text = self._answer.render(
            facts=facts[:3], retry_note=retry_note, phrases=self._phrases, pick=rng.choice
        )
        return " ".join(text.split())

    # -- the turns of the other categories (phrased from offline/<category>.yaml) --

    def _bank(self, plan: ScenarioPlan) -> dict[str, Any]:
        if plan.category not in self._banks:
            self._banks[plan.category] = load_yaml(
                f"offline/{plan.category}.yaml", self.options.templates
            )
        bank: dict[str, Any] = self._banks[plan.category]
        return bank

    def _stated_phrase(self, at: Turning) -> str:
        arguments = {
            name: value for _, args in at.plan.stated_in(at.turn) for name, value in args.items()
        }
        return join_human(self._argument_phrases(arguments, at.rng))

    def _requests(self, at: Turning) -> str:
        """Several independent asks in one message (parallel calls)."""
        plan, rng, bank = at.plan, at.rng, self._bank(at.plan)
        tone = plan.style.get("tone", "polite")
        asks: list[str] = []
        for index, names in at.turn.states.items():
            call = plan.steps[index].call
            phrases = self._argument_phrases({n: call.arguments[n] for n in names}, rng)
            if not asks:
                intro = rng.choice(self._phrases["argument_intros"])
                ask = f"{action_phrase(at.tools[call.name])} {intro} {join_human(phrases)}"
                asks.append(f"{rng.choice(self._phrases['openers'][tone])} {ask}.")
            elif call.name == plan.steps[0].call.name:
                asks.append(rng.choice(bank["same_tool"]).format(arguments=join_human(phrases)))
            else:
                ask = f"{action_phrase(at.tools[call.name])} with {join_human(phrases)}"
                asks.append(rng.choice(bank["also"]).format(ask=ask))
        closer = rng.choice(self._phrases["closers"][tone])
        return " ".join(" ".join([*asks, closer]).split())

    def _answers(self, at: Turning) -> str:
        """One answer reporting every parallel call's result."""
        plan, rng, bank = at.plan, at.rng, self._bank(at.plan)
        items = []
        for index, result in zip(at.turn_calls(), at.answered, strict=False):
            call = plan.steps[index].call
            first = next(iter(call.arguments.values()), None)
            label = humanise(call.name) + (f" ({_value_text(first)})" if first is not None else "")
            news = {k: v for k, v in result.items() if call.arguments.get(k) != v}
            facts = join_human(result_facts(news)[:2]) or "done"
            item = rng.choice(bank["answer_items"]).format(call=label, facts=facts)
            items.append(item[0].upper() + item[1:])
        return " ".join([rng.choice(bank["answer_openers"]), *items])

    def _clarify(self, at: Turning) -> str:
        labels = [
            argument_label(at.tools[at.plan.steps[index].call.name], name)
            for index, names in at.plan.withheld.items()
            for name in names
        ]
        return at.rng.choice(self._bank(at.plan)["questions"]).format(label=join_human(labels))

    def _supply(self, at: Turning) -> str:
        """The value asked for, labelled as the question asked for it."""
        phrases = []
        for tool, arguments in at.plan.stated_in(at.turn):
            for name, value in arguments.items():
                form = at.rng.choice(self._phrases["argument_forms"])
                label = argument_label(at.tools[tool], name)
                phrases.append(form.format(label=label, value=_value_text(value)))
        reply = at.rng.choice(self._bank(at.plan)["replies"]).format(arguments=join_human(phrases))
        return reply[0].upper() + reply[1:]

    def _follow_up(self, at: Turning) -> str:
        return at.rng.choice(self._bank(at.plan)["follow_ups"]).format(
            arguments=self._stated_phrase(at)
        )

    def _unserved(self, at: Turning) -> str:
        tone = at.plan.style.get("tone", "polite")
        opener = at.rng.choice(self._phrases["openers"][tone])
        asking = _ASKING.match(opener) is not None
        return f"{opener} {at.plan.unserved}{'?' if asking else '.'}"

    def _decline(self, at: Turning) -> str:
        names = [at.plan.tool, *sorted(n for n in at.tools if n != at.plan.tool)]
        shown = [names[0], *at.rng.sample(names[1:], min(2, len(names) - 1))]
        capabilities = join_human([action_phrase(at.tools[n]) for n in shown if n in at.tools])
        form = at.rng.choice(self._bank(at.plan)["declines"])
        return form.format(ask=second_person(at.plan.unserved), capabilities=capabilities)


@dataclass
class Turning:
    """What writing one text turn can see: the plan, the tools, the results so far."""

    plan: ScenarioPlan
    tools: dict[str, ToolSpec]
    turn: Turn
    answered: list[dict[str, Any]]
    rng: random.Random

    def turn_calls(self) -> list[int]:
        """The steps of the call turn right before this text turn."""
        layout = self.plan.layout
        position = next(i for i, t in enumerate(layout) if t is self.turn)
        before = [t for t in layout[:position] if t.calls]
        return before[-1].calls if before else []


_ASKING = re.compile(r"(\w+[,!:]? ){0,2}(can|could|would|will) you\b", re.I)
_PERSON = {"my": "your", "me": "you", "i": "you", "mine": "yours", "i'm": "you're"}


def second_person(ask: str) -> str:
    """``cancel my order`` -> ``cancel your order``, for the assistant to say it back."""
    return " ".join(_PERSON.get(word.lower(), word) for word in ask.split())


def result_facts(last: dict[str, Any]) -> list[str]:
    """``label value`` facts a result reports: its scalars, and a list's size and first record."""
    facts = [
        f"{humanise(key)} {_value_text(value)}"
        for key, value in last.items()
        if key != "status" and isinstance(value, str | int | float) and not isinstance(value, bool)
    ]
    listed = next(((k, v) for k, v in last.items() if isinstance(v, list) and v), None)
    if listed is not None and isinstance(listed[1][0], dict):
        key, records = listed
        first = ", ".join(facts_of(records[0])[:3])
        what = "matching result(s)" if key == "results" else humanise(key)
        what = singular(what) if len(records) == 1 else what
        facts.insert(0, f"{len(records)} {what}, the first being ({first})")
    return facts


def facts_of(record: dict[str, Any]) -> list[str]:
    """``label value`` for each scalar field of a record."""
    return [
        f"{humanise(key)} {_value_text(value)}"
        for key, value in record.items()
        if isinstance(value, str | int | float) and not isinstance(value, bool)
    ]


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

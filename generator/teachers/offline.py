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
from pathlib import Path
from typing import Any

from faker import Faker
from pydantic import BaseModel, ConfigDict

from callforge.generator.results import successful_result
from callforge.generator.scenarios.base import ERROR_KEY, ScenarioDraft, ScenarioPlan
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
        return ScenarioDraft(
            user_request=self._user_request(plan, tools, rng),
            tool_results=results,
            final_answer=self._final_answer(plan, results, rng),
        )

    # -- the user's words ------------------------------------------------------

    def _user_request(
        self, plan: ScenarioPlan, tools: dict[str, ToolSpec], rng: random.Random
    ) -> str:
        chained: dict[int, list[str]] = {}
        for link in plan.chains:
            chained.setdefault(link.to_step, []).append(humanise(link.argument))
        stated = iter(plan.stated_arguments())
        steps = []
        for index, step in enumerate(plan.steps):
            if step.failure is not None:
                continue
            _, arguments = next(stated)
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

    def _final_answer(
        self, plan: ScenarioPlan, results: list[dict[str, Any]], rng: random.Random
    ) -> str:
        last = results[-1]
        facts = [
            f"{humanise(key)} {_value_text(value)}"
            for key, value in last.items()
            if key != "status"
            and isinstance(value, str | int | float)
            and not isinstance(value, bool)
        ]
        listed = next(((k, v) for k, v in last.items() if isinstance(v, list) and v), None)
        if listed is not None and isinstance(listed[1][0], dict):
            key, records = listed
            first = ", ".join(facts_of(records[0])[:3])
            what = "matching result(s)" if key == "results" else humanise(key)
            what = singular(what) if len(records) == 1 else what
            facts.insert(0, f"{len(records)} {what}, the first being ({first})")
        kind = plan.failure_kind
        retry_note = rng.choice(self._phrases["retry_notes"][kind]) if kind else ""
        text = self._answer.render(
            facts=facts[:3], retry_note=retry_note, phrases=self._phrases, pick=rng.choice
        )
        return " ".join(text.split())


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

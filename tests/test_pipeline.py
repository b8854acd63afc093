"""The pipeline with a scripted teacher: targets, failures as data, dedup, reproducibility."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from pathlib import Path
from typing import Any

import pytest

from callforge.generator.errors import InputError
from callforge.generator.importers import load_tools
from callforge.generator.pipeline import GenerateConfig, cell_targets, generate, parse_mix
from callforge.generator.teachers.base import (
    Teacher,
    TeacherFailure,
    TeacherReply,
    TeacherRequest,
    TeacherStats,
    Usage,
)
from callforge.generator.teachers.offline import OfflineTeacher
from callforge.generator.tools import ToolSet, parse_tools
from callforge.store import Store


class ScriptedTeacher:
    """The offline teacher, unless a test queued something else for the next requests."""

    id = "scripted"
    concurrency = 4

    def __init__(self) -> None:
        self.inner = OfflineTeacher()
        self.stats = TeacherStats()
        self.script: deque[Any] = deque()
        self.history: list[TeacherRequest] = []

    async def start(self) -> None:
        return None

    def enqueue(self, *outcomes: Any) -> None:
        """Each outcome: an Exception to raise, or a callable(draft) -> draft."""
        self.script.extend(outcomes)

    async def write(self, request: TeacherRequest) -> TeacherReply:
        self.history.append(request)
        reply = await self.inner.write(request)
        if not self.script:
            return reply
        outcome = self.script.popleft()
        if isinstance(outcome, Exception):
            raise outcome
        return TeacherReply(outcome(reply.draft))

    async def aclose(self) -> None:
        return None


def _run(store: Store, tools: ToolSet, teacher: Teacher, **config: Any):
    return asyncio.run(generate(store, tools, teacher, GenerateConfig(**config)))


@pytest.fixture
def tools(example_tools: Path) -> ToolSet:
    return load_tools(example_tools)


def test_teacher_failures_are_rejections_and_the_run_goes_on(
    tmp_path: Path, tools: ToolSet
) -> None:
    teacher = ScriptedTeacher()
    teacher.enqueue(TeacherFailure("timeout: no answer in 30s"), TeacherFailure("malformed output"))
    with Store(tmp_path / "s.duckdb") as store:
        summary = _run(store, tools, teacher, per_tool=4, seed=1)
        assert summary.rejected["teacher"] == 2
        assert summary.accepted == 4 * len(tools)
        assert store.rejections_by_stage()["teacher"] == 2
        assert ("teacher", "timeout") in store.rejection_counts()


def test_ungrounded_drafts_are_rejected_with_reason(tmp_path: Path, tools: ToolSet) -> None:
    teacher = ScriptedTeacher()
    vague = lambda draft: draft.model_copy(update={"user_request": "Do the usual thing."})  # noqa: E731
    teacher.enqueue(*[vague] * 3)
    with Store(tmp_path / "s.duckdb") as store:
        summary = _run(store, tools, teacher, per_tool=3, seed=2)
        assert summary.rejected["grounding"] == 3
        assert summary.accepted == 3 * len(tools)
        reasons = store.rejection_counts()
        assert reasons[("grounding", "ungrounded value")] == 3


def test_duplicates_are_dropped_within_and_across_runs(tmp_path: Path) -> None:
    tools = parse_tools(
        [
            {
                "name": "ping",
                "description": "Ping a host.",
                "parameters": {
                    "type": "object",
                    "properties": {"host": {"const": "a.example"}},
                    "required": ["host"],
                },
            }
        ]
    )
    fixed = lambda draft: draft.model_copy(update={"user_request": "Please ping a.example."})  # noqa: E731
    teacher = ScriptedTeacher()
    teacher.enqueue(*[fixed] * 1000)
    with Store(tmp_path / "s.duckdb") as store:
        first = _run(store, tools, teacher, per_tool=3, seed=1, mix={"single": 1.0})
        assert first.accepted == 1
        assert first.rejected["dedup"] == 3 * 4 + 10 - 1
        second = _run(store, tools, teacher, per_tool=3, seed=2, mix={"single": 1.0})
        assert second.accepted == 0
        assert second.rejected["dedup"] == 2 * 4 + 10
        assert store.table_counts()["examples"] == 1


def test_budget_stops_a_cell_that_cannot_fill(tmp_path: Path, tools: ToolSet) -> None:
    teacher = ScriptedTeacher()
    teacher.enqueue(*[TeacherFailure("down")] * 10_000)
    with Store(tmp_path / "s.duckdb") as store:
        summary = _run(store, tools, teacher, per_tool=2, seed=1, attempts_per_example=1.0)
    assert summary.accepted == 0
    assert sum(summary.unfilled.values()) == 2 * len(tools)
    # Every cell spends exactly its budget: ceil(target * attempts_per_example) + 10 attempts.
    assert summary.rejected["teacher"] == sum(n + 10 for n in summary.targets.values())


def test_reproducible_with_the_same_seed(tmp_path: Path, tools: ToolSet) -> None:
    dumps = []
    for name in ("a", "b"):
        with Store(tmp_path / f"{name}.duckdb") as store:
            _run(store, tools, OfflineTeacher(), per_tool=4, seed=9)
            dumps.append(json.dumps([e.scenario for e in store.examples()], sort_keys=True))
    assert dumps[0] == dumps[1]
    with Store(tmp_path / "c.duckdb") as store:
        _run(store, tools, OfflineTeacher(), per_tool=4, seed=10)
        assert json.dumps([e.scenario for e in store.examples()], sort_keys=True) != dumps[0]


def test_cell_targets_split_by_weight(tools: ToolSet) -> None:
    targets, skipped = cell_targets(tools, 50, {"single": 2, "error_recovery": 1, "multi_step": 1})
    # No other tool's result feeds these (nothing returns a flight search's airports, an
    # email's recipient, a meeting's title or a customer's email not already stated).
    assert {tool for tool, _ in skipped} == {
        "search_flights",
        "get_customer",
        "send_email",
        "schedule_meeting",
    }
    assert targets[("book_flight", "single")] == 25
    assert sorted(
        [targets[("book_flight", "error_recovery")], targets[("book_flight", "multi_step")]]
    ) == [12, 13]
    assert targets[("send_email", "single")] == 33
    assert targets[("send_email", "error_recovery")] == 17
    for tool in tools:
        assert sum(n for (name, _), n in targets.items() if name == tool.name) == 50


def test_unbuildable_category_gives_its_share_to_the_others() -> None:
    tools = parse_tools(
        [
            {
                "name": "toggle",
                "parameters": {"type": "object", "properties": {"on": {"type": "boolean"}}},
            },
            {
                "name": "get_ticket",
                "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
            },
            {
                "name": "close_ticket",
                "parameters": {"type": "object", "properties": {"ticket_id": {"type": "string"}}},
            },
        ]
    )
    targets, skipped = cell_targets(tools, 10, {"single": 1, "multi_step": 1})
    assert set(skipped) == {("toggle", "multi_step"), ("get_ticket", "multi_step")}
    assert targets[("toggle", "single")] == 10
    assert targets[("get_ticket", "single")] == 10
    assert targets[("close_ticket", "single")] == 5
    assert targets[("close_ticket", "multi_step")] == 5


def test_parse_mix() -> None:
    assert parse_mix("single=2, multi_step=1") == {"single": 2.0, "multi_step": 1.0}
    with pytest.raises(InputError, match="unknown category 'x'"):
        parse_mix("x=1")


def test_a_tool_without_parameters_still_fills_error_recovery(tmp_path: Path) -> None:
    tools = parse_tools(
        [
            {
                "name": "list_allowed_directories",
                "description": "List the directories this server may access.",
                "parameters": {"type": "object", "properties": {}},
            }
        ]
    )
    with Store(tmp_path / "s.duckdb") as store:
        summary = _run(store, tools, OfflineTeacher(), per_tool=6, seed=3)
        kinds = {
            e.scenario["plan"]["steps"][0]["failure"]["kind"]
            for e in store.examples()
            if e.category == "error_recovery"
        }
    assert summary.accepted == 6 and not summary.unfilled
    assert kinds and kinds <= {"rate_limited", "timeout"}


class PayingTeacher(ScriptedTeacher):
    """Bills every draft; one tool's drafts always come back unusable."""

    def __init__(self, hopeless: str) -> None:
        super().__init__()
        self.hopeless = hopeless

    async def write(self, request: TeacherRequest) -> TeacherReply:
        bill = Usage(requests=1, prompt_tokens=1000, completion_tokens=200)
        if request.plan.tool == self.hopeless:
            raise TeacherFailure("output did not fit after 3 tries: structure: no answer", bill)
        reply = await self.inner.write(request)
        return TeacherReply(reply.draft, usage=bill)


def test_the_pilot_stops_a_cell_whose_paid_drafts_are_all_rejected(
    tmp_path: Path, tools: ToolSet
) -> None:
    teacher = PayingTeacher(hopeless="send_email")
    with Store(tmp_path / "s.duckdb") as store:
        summary = _run(store, tools, teacher, per_tool=8, seed=1, cell_pilot_attempts=5)
        attempts = store.attempt_counts()
    hopeless = {cell for cell in summary.targets if cell[0] == "send_email"}
    assert set(summary.given_up) == hopeless
    for cell in hopeless:
        assert attempts[cell] == (0, 5)  # its pilot, not its budget of 4 per example + 10
        assert "top reasons: structure: no answer (after re-asks) (5)" in summary.given_up[cell]
    assert summary.accepted == 8 * (len(tools) - 1) and summary.stopped is None
    assert summary.status == "incomplete"

"""The ``execution`` stage: every planned call made for real, its outcome held to the plan.

Runs before the teacher writes a word (a call that cannot succeed costs no request),
and its outcomes become the tool messages: the teacher writes the request and the
answer around them. A rejection here says what the tool said:

* a call planned to succeed that the tool rejected (``find_order failed: no order
  with id A-1``);
* a call where the plan staged a failure that the tool carried out instead (a
  mistaken argument the tool accepts anyway; under ``--execute`` error_recovery plans
  no rate limit or timeout, which a real tool gives only by chance);
* a result that breaks the tool's declared output schema.

A staged failure that really fails keeps the tool's own error message: error_recovery
examples then teach recovering from real errors (a real not-found for a mistyped id).

A chained argument (``ChainLink``) takes the value the earlier call *really* returned at
the link's path, not the one the plan seeded there: the later call is made with it, and
the plan is rewritten to match (a real result with nothing at that path is a rejection).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from callforge.generator.execution.cache import CachedExecutor
from callforge.generator.execution.outcome import ToolOutcome, as_tool_message
from callforge.generator.results import value_at
from callforge.generator.scenarios.base import (
    PlannedStep,
    Scenario,
    ScenarioPlan,
    tool_message_text,
)
from callforge.generator.schema import validate_instance
from callforge.generator.teachers.base import CacheEntry
from callforge.generator.tools import ToolSet, ToolSpec, result_object_schema
from callforge.generator.validate import EXECUTION, Rejection


@dataclass
class ExecutedPlan:
    """The real tool messages of a plan's calls, or why the plan failed at execution.

    ``plan`` is the plan as executed: chained arguments hold the real earlier values.
    """

    plan: ScenarioPlan
    results: list[dict[str, Any]]
    rejection: Rejection | None = None
    cache_entries: list[CacheEntry] = field(default_factory=list)


_NOTHING = object()


class Execution:
    """Makes a plan's calls for real, through a cached executor, and checks them."""

    def __init__(self, executor: CachedExecutor, tools: ToolSet) -> None:
        self.executor = executor
        self.tools = tools

    async def start(self) -> None:
        await self.executor.executor.start()

    async def aclose(self) -> None:
        await self.executor.executor.aclose()

    async def run(self, plan: ScenarioPlan) -> ExecutedPlan:
        """Each step's real outcome in order; stops at the first step at odds with the plan."""
        plan = plan.model_copy(deep=True)
        executed = ExecutedPlan(plan=plan, results=[])
        for index, step in enumerate(plan.steps):
            missing = _pass_real_values(plan, index, executed.results)
            if missing is not None:
                executed.rejection = Rejection(EXECUTION, missing)
                return executed
            tool = self.tools[step.call.name]
            before = len(self.executor.fresh)
            outcome = await self.executor.call(tool, step.call.arguments)
            executed.cache_entries += self.executor.fresh[before:]
            executed.results.append(as_tool_message(outcome))
            reason = outcome_problem(step, tool, outcome)
            if reason is not None:
                executed.rejection = Rejection(EXECUTION, reason)
                return executed
        return executed


def _pass_real_values(plan: ScenarioPlan, index: int, results: list[dict[str, Any]]) -> str | None:
    """Put the earlier calls' real values into step ``index``'s chained arguments."""
    for link in plan.chains:
        if link.to_step != index:
            continue
        real = value_at(results[link.from_step], link.result_path, _NOTHING)
        source = plan.steps[link.from_step]
        if real is _NOTHING:
            return (
                f"{source.call.name}'s real result holds nothing at '{link.result_path}' "
                f"for {plan.steps[index].call.name}'s '{link.argument}'"
            )
        plan.steps[index].call.arguments[link.argument] = real
        source.must_return[link.result_path] = real
        link.value = real
    return None


def outcome_problem(step: PlannedStep, tool: ToolSpec, outcome: ToolOutcome) -> str | None:
    """How a real outcome contradicts the plan, in the tool's own words, or None."""
    name = step.call.name
    if step.failure is None and outcome.error is not None:
        return f"{name} failed where the plan expected success: {outcome.error}"
    if step.failure is not None and outcome.error is None:
        if step.failure.assistant_mistake:
            return (
                f"{name} accepted the mistaken call the plan expected it to refuse "
                f"({step.failure.kind}: {step.failure.detail})"
            )
        return f"{name} succeeded where the plan staged a failure ({step.failure.kind})"
    if outcome.value is not None and tool.output_schema:
        problems = validate_instance(result_object_schema(tool.output_schema), outcome.value)
        if problems:
            return f"{name}'s result breaks its declared output schema: {problems[0]}"
    return None


def results_kept(scenario: Scenario, results: Sequence[dict[str, Any]]) -> Rejection | None:
    """Whether every tool message of ``scenario`` is, byte for byte, the executed outcome.

    The last check before an executed example is stored: whatever a teacher wrote, the
    conversation shows what the tools returned, in the JSON the tool messages are.
    """
    shown = {
        message["tool_call_id"]: message["content"]
        for message in scenario.to_messages()
        if message["role"] == "tool"
    }
    if len(results) != len(scenario.plan.steps):
        return Rejection(EXECUTION, f"{len(results)} executed results for {len(shown)} calls")
    for step, result in zip(scenario.plan.steps, results, strict=True):
        if shown.get(step.call.id) != tool_message_text(result):
            return Rejection(
                EXECUTION, f"{step.call.name}'s tool message is not what the tool returned"
            )
    return None


def same_calls(first: ScenarioPlan, second: ScenarioPlan) -> bool:
    """Whether two plans make the same calls (a teacher may rewrite free-text arguments)."""
    return _calls(first.steps) == _calls(second.steps)


def _calls(steps: Sequence[PlannedStep]) -> list[tuple[str, dict[str, Any]]]:
    return [(step.call.name, step.call.arguments) for step in steps]

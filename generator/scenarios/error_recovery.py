"""``error_recovery``: a first call fails for real, the tool says why, a retry succeeds.

Failure kinds, and whether the failed call is the assistant's own mistake (export
gives a mistaken turn ``weight: 0`` so the model learns the repair, not the error):

* the mistakes models really make (``mistakes.py``): ``wrong_format``,
  ``enum_value``, ``invented_parameter``, ``unknown_id``, ``missing_argument``,
  and ``invalid_argument`` for anything else the schema rejects (mistakes);
* ``rate_limited`` / ``timeout``: the first call was right but the tool was
  briefly unavailable; the identical retry succeeds (not a mistake). Staged ones
  only: with ``--execute`` (``PlanContext.executing``) every failure is a
  mistake the real tool refuses, with its own error (a tool whose arguments accept
  anything gets no error_recovery then).

A transient failure's retry follows what the tool said. A rate limit asks for a
short wait (1-5 seconds, ``PlannedFailure.retry_after_seconds``); the assistant
waits that long, retries and says so in its answer. A tool result that asks for
more than ``MAX_RETRY_WAIT_SECONDS`` is rejected here: retrying at once ignores
it, and the right move then (telling the user to try later) is no recovery.
"""

from __future__ import annotations

import re
from typing import Any

from callforge.generator.errors import UnsupportedSchemaError
from callforge.generator.grounding import GroundingText
from callforge.generator.scenarios.base import (
    ERROR_KEY,
    Category,
    PlanContext,
    PlannedFailure,
    PlannedStep,
    Scenario,
    ScenarioPlan,
    ToolCall,
    result_is_error,
)
from callforge.generator.scenarios.mistakes import MISTAKES, make_mistake
from callforge.generator.schema import instance_is_valid, scalar_leaves
from callforge.generator.seeding import violate_argument
from callforge.generator.tools import ToolSet, ToolSpec

ASSISTANT_MISTAKES = (*MISTAKES, "invalid_argument")
TRANSIENT = ("rate_limited", "timeout")
TRANSIENT_SHARE = 0.25
RETRY_WAITS = (2, 2, 3, 4, 5)
MAX_RETRY_WAIT_SECONDS = 10
_WAIT = re.compile(
    r"(?:retry|try again)\D{0,20}?(\d+(?:\.\d+)?)\s*"
    r"(ms\b|milliseconds?|s\b|secs?\b|seconds?|mins?\b|minutes?)",
    re.IGNORECASE,
)


class ErrorRecovery(Category):
    name = "error_recovery"
    marks_free_text = False  # the failed call and its retry must keep the same free text

    def unavailable_executed(self, tool: ToolSpec, tools: ToolSet) -> str | None:
        parameters = tool.parameters
        if parameters.get("properties") or parameters.get("additionalProperties") is False:
            return None  # a wrong value, or an argument the tool does not take
        return "its arguments accept anything, and a real tool fails only by chance"

    def plan(self, tool: ToolSpec, tools: ToolSet, context: PlanContext) -> ScenarioPlan:
        rng = context.rng
        good = context.seed_arguments(tool, rng=rng)
        bad: dict[str, Any] = good
        failure: PlannedFailure | None = None
        # Drawn either way, so the plans of a run without --execute stay what they were.
        if rng.random() >= TRANSIENT_SHARE or context.executing:
            mistake = make_mistake(tool, good, rng)
            if mistake is not None:
                bad, failure = mistake
            else:
                try:
                    bad, kind, detail = violate_argument(
                        tool.parameters, good, rng, context.faker, tool=tool.name
                    )
                    failure = PlannedFailure(kind=kind, detail=detail, assistant_mistake=True)
                except UnsupportedSchemaError:
                    pass  # nothing to get wrong: the tool can still fail for a transient reason
        if failure is None:
            failure = _transient(rng.choice(TRANSIENT), rng.choice(RETRY_WAITS))
        steps = [
            PlannedStep(
                call=ToolCall(id=context.call_id(0), name=tool.name, arguments=bad),
                failure=failure,
            ),
            PlannedStep(call=ToolCall(id=context.call_id(1), name=tool.name, arguments=good)),
        ]
        return self.new_plan(tool, context, steps)

    def check(self, scenario: Scenario, tools: ToolSet) -> str | None:
        steps, results = scenario.plan.steps, scenario.draft.tool_results
        if len(steps) != 2 or steps[0].failure is None or steps[1].failure is not None:
            return "expected a failing call followed by one successful retry"
        failed, retry = steps[0], steps[1]
        assert failed.failure is not None
        if failed.call.name != retry.call.name:
            return "the retry calls a different function than the failed call"
        if not result_is_error(results[0]):
            return "the failed call's tool result does not report an error"
        if result_is_error(results[1]):
            return "the retry's tool result reports an error"
        kind = failed.failure.kind
        if failed.trainable == (kind in ASSISTANT_MISTAKES):
            return f"a {kind} failure must {'' if failed.trainable else 'not '}have weight 0"
        schema = tools[failed.call.name].parameters
        first_valid = instance_is_valid(schema, failed.call.arguments)
        if kind == "unknown_id":
            return _check_unknown_id(scenario, first_valid)
        if kind in ASSISTANT_MISTAKES and first_valid:
            return f"{kind}: the first call is valid, so it would not have failed"
        if kind in TRANSIENT:
            if failed.call.arguments != retry.call.arguments:
                return f"{kind}: the retry after a transient failure must repeat the same call"
            wait = requested_wait(results[0])
            if wait is not None and wait > MAX_RETRY_WAIT_SECONDS:
                return (
                    f"{kind}: the tool asked to wait {wait:g} seconds; retrying at once ignores it"
                )
        return None


def requested_wait(result: Any) -> float | None:
    """Seconds an error result asks the caller to wait before retrying, if it says.

    Read from a ``retry_after``-like key (``retry_after_ms`` in milliseconds) or
    from its text: "retry after 30 seconds", "try again in 2 min".
    """
    error = result.get(ERROR_KEY) if isinstance(result, dict) else None
    for path, value in scalar_leaves(error):
        key = path.rsplit(".", 1)[-1].lower().replace("-", "_")
        if "retry" in key and isinstance(value, int | float) and not isinstance(value, bool):
            return value / 1000 if key.endswith("ms") else float(value)
        if isinstance(value, str):
            found = _WAIT.search(value)
            if found:
                return _seconds(float(found.group(1)), found.group(2).lower())
    return None


def _seconds(amount: float, unit: str) -> float:
    if unit == "ms" or unit.startswith("milli"):
        return amount / 1000
    return amount * 60 if unit.startswith("min") else amount


def _transient(kind: str, wait: int) -> PlannedFailure:
    if kind == "rate_limited":
        return PlannedFailure(
            kind=kind,
            detail=f"rate limited; retry after {wait} seconds",
            assistant_mistake=False,
            retry_after_seconds=wait,
        )
    return PlannedFailure(
        kind=kind, detail="the service did not answer in time", assistant_mistake=False
    )


def _check_unknown_id(scenario: Scenario, first_valid: bool) -> str | None:
    failed, retry = scenario.plan.steps
    if not first_valid:
        return "unknown_id: the first call breaks the schema; that is an invalid_argument"
    changed = sorted(  # sorted: a set's order changes with the process's hash seed
        name
        for name in failed.call.arguments.keys() | retry.call.arguments.keys()
        if failed.call.arguments.get(name) != retry.call.arguments.get(name)
    )
    if len(changed) != 1:
        return f"unknown_id: the retry must correct exactly one argument, it changed {changed}"
    typo = failed.call.arguments.get(changed[0])
    if GroundingText([scenario.draft.user_request]).contains(typo):
        return f"unknown_id: the user asked for '{typo}' themselves, so retrying is not a repair"
    return None

"""``error_recovery``: a first call fails for real, the tool says why, a retry succeeds.

Failure kinds, and whether the failed call is the assistant's own mistake (export
gives a mistaken turn ``weight: 0`` so the model learns the repair, not the error):

* ``invalid_argument`` / ``missing_argument``: the first call breaks the tool's
  schema (mistake);
* ``unknown_id``: the first call mistypes a value the user gave, the tool finds
  nothing (mistake);
* ``rate_limited`` / ``timeout``: the first call was right but the tool was
  briefly unavailable; the identical retry succeeds (not a mistake).
"""

from __future__ import annotations

import re
from typing import Any

from callforge.generator.errors import UnsupportedSchemaError
from callforge.generator.grounding import GroundingText
from callforge.generator.scenarios.base import (
    Category,
    PlanContext,
    PlannedFailure,
    PlannedStep,
    Scenario,
    ScenarioPlan,
    ToolCall,
    result_is_error,
)
from callforge.generator.schema import instance_is_valid
from callforge.generator.seeding import seed_arguments, violate_argument
from callforge.generator.tools import ToolSet, ToolSpec

ASSISTANT_MISTAKES = ("invalid_argument", "missing_argument", "unknown_id")
TRANSIENT = ("rate_limited", "timeout")
_ID_LIKE = re.compile(r"(^|_)(id|code|sku|number|ref|reference|key|username|handle)$", re.I)


class ErrorRecovery(Category):
    name = "error_recovery"
    marks_free_text = False  # the failed call and its retry must keep the same free text

    def plan(self, tool: ToolSpec, tools: ToolSet, context: PlanContext) -> ScenarioPlan:
        rng = context.rng
        good = seed_arguments(
            tool.parameters,
            rng,
            context.faker,
            optional_rate=context.optional_rate,
            tool=tool.name,
            today=context.today,
        )
        roll = rng.random()
        failure: PlannedFailure | None = None
        bad: dict[str, Any] = good
        if roll < 0.25:
            transient = rng.choice(TRANSIENT)
            failure = PlannedFailure(kind=transient, detail=transient, assistant_mistake=False)
        elif roll < 0.5:
            mistyped = _mistype_an_id(tool, good, context)
            if mistyped is not None:
                bad, failure = mistyped
        if failure is None:
            try:
                bad, kind, detail = violate_argument(
                    tool.parameters, good, rng, context.faker, tool=tool.name
                )
                failure = PlannedFailure(kind=kind, detail=detail, assistant_mistake=True)
            except UnsupportedSchemaError:
                # Nothing to get wrong (no parameters, or a schema that accepts anything):
                # the tool can still fail for a transient reason and the retry succeed.
                transient = rng.choice(TRANSIENT)
                failure = PlannedFailure(kind=transient, detail=transient, assistant_mistake=False)
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
        if kind in ("invalid_argument", "missing_argument") and first_valid:
            return f"{kind}: the first call is valid, so it would not have failed"
        if kind == "unknown_id":
            return _check_unknown_id(scenario, first_valid)
        if kind in TRANSIENT and failed.call.arguments != retry.call.arguments:
            return f"{kind}: the retry after a transient failure must repeat the same call"
        return None


def _mistype_an_id(
    tool: ToolSpec, good: dict[str, Any], context: PlanContext
) -> tuple[dict[str, Any], PlannedFailure] | None:
    """Swap two characters of an id-like string argument: a plausible transcription slip."""
    properties = tool.parameters.get("properties", {})
    candidates = [
        name
        for name, value in good.items()
        if isinstance(value, str)
        and len(value) >= 4
        and _ID_LIKE.search(name)
        and not {"enum", "const", "format", "pattern"} & set(properties.get(name, {}))
    ]
    if not candidates:
        return None
    name = context.rng.choice(candidates)
    value = good[name]
    for offset in range(len(value) - 1):
        position = (context.rng.randrange(len(value) - 1) + offset) % (len(value) - 1)
        chars = list(value)
        chars[position], chars[position + 1] = chars[position + 1], chars[position]
        typo = "".join(chars)
        if typo.casefold() != value.casefold():
            bad = {**good, name: typo}
            if not instance_is_valid(tool.parameters, bad):
                return None
            detail = f"no record found for {name} '{typo}'"
            return bad, PlannedFailure(kind="unknown_id", detail=detail, assistant_mistake=True)
    return None


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

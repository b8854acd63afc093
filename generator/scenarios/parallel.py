"""``parallel``: several independent calls in one assistant turn, then one answer using all.

The same tool with different arguments ("the weather in Lyon and in Porto") or
different tools ("look up the customer and convert 40 EUR"). The calls share one
assistant message, each is answered by its own tool message, and no call needs
another's result. Checks match results to calls by id, never by position.
"""

from __future__ import annotations

import json

from callforge.generator.grounding import GroundingText, scalar_values
from callforge.generator.scenarios.base import (
    Category,
    PlanContext,
    PlannedStep,
    Scenario,
    ScenarioPlan,
    ToolCall,
    Turn,
    result_is_error,
)
from callforge.generator.tools import ToolSet, ToolSpec

_COUNTS, _COUNT_WEIGHTS = (2, 3), (0.75, 0.25)
_DRAWS = 5


class ParallelCalls(Category):
    name = "parallel"

    def unavailable_for(self, tool: ToolSpec, tools: ToolSet) -> str | None:
        if len(tools) < 2 and not tool.parameters.get("properties"):
            return "it takes no arguments and no other tool could be called beside it"
        return None

    def plan(self, tool: ToolSpec, tools: ToolSet, context: PlanContext) -> ScenarioPlan:
        rng = context.rng
        count = rng.choices(_COUNTS, _COUNT_WEIGHTS)[0]
        others = [t for t in tools if t.name != tool.name]
        same_tool = not others or (bool(tool.parameters.get("properties")) and rng.random() < 0.5)
        chosen = (
            [tool] * count
            if same_tool
            else [tool, *rng.sample(others, min(count - 1, len(others)))]
        )
        steps: list[PlannedStep] = []
        for index, step_tool in enumerate(chosen):
            for _ in range(_DRAWS):
                arguments = context.seed_arguments(step_tool, rng=rng)
                if not any(
                    s.call.name == step_tool.name and s.call.arguments == arguments for s in steps
                ):
                    break
            call = ToolCall(id=context.call_id(index), name=step_tool.name, arguments=arguments)
            steps.append(PlannedStep(call=call))
        everything = {index: list(step.call.arguments) for index, step in enumerate(steps)}
        turns = [
            Turn(role="user", intent="requests", states=everything),
            Turn(role="assistant", calls=list(range(len(steps)))),
            Turn(role="assistant", intent="answers"),
        ]
        return self.new_plan(tool, context, steps, turns=turns)

    def check(self, scenario: Scenario, tools: ToolSet) -> str | None:
        plan, results = scenario.plan, scenario.draft.tool_results
        call_turns = [turn for turn in plan.layout if turn.calls]
        if len(call_turns) != 1 or len(call_turns[0].calls) < 2:
            return "expected one assistant turn with two or more calls"
        if plan.chains:
            link = plan.chains[0]
            return (
                f"parallel calls must be independent: call {link.to_step + 1} uses "
                f"the result of call {link.from_step + 1}"
            )
        if any(step.failure for step in plan.steps) or any(map(result_is_error, results)):
            return "a parallel call failed"
        if plan.tool not in plan.tools_used():
            return f"none of the calls is to {plan.tool}"
        seen: dict[str, int] = {}
        for index, step in enumerate(plan.steps):
            key = f"{step.call.name}:{sorted(step.call.arguments.items())!r}"
            if key in seen:
                return f"calls {seen[key] + 1} and {index + 1} are the same call"
            seen[key] = index
        return _unreported(scenario)


def _unreported(scenario: Scenario) -> str | None:
    """The first call the answer says nothing about: none of the values only it has (its
    arguments and result, minus what the other calls share, like a forecast's dates)."""
    plan, results = scenario.plan, scenario.draft.tool_results
    values = [
        {
            json.dumps(value)
            for value in (*scalar_values(result), *scalar_values(step.call.arguments))
            if not isinstance(value, bool | None)
        }
        for step, result in zip(plan.steps, results, strict=True)
    ]
    answer = GroundingText([scenario.draft.final_answer])
    for index, own in enumerate(values):
        others = set().union(*(v for i, v in enumerate(values) if i != index))
        distinct = [json.loads(value) for value in sorted(own - others)]
        if distinct and not any(answer.contains(value) for value in distinct):
            return f"the answer says nothing about call {index + 1} ({plan.steps[index].call.name})"
    return None

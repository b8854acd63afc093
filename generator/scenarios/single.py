"""``single``: one call with seeded arguments, its result, the answer."""

from __future__ import annotations

from callforge.generator.scenarios.base import (
    Category,
    PlanContext,
    PlannedStep,
    Scenario,
    ScenarioPlan,
    ToolCall,
    result_is_error,
)
from callforge.generator.tools import ToolSet, ToolSpec


class SingleCall(Category):
    name = "single"
    default_weight = 2.0

    def plan(self, tool: ToolSpec, tools: ToolSet, context: PlanContext) -> ScenarioPlan:
        arguments = context.seed_arguments(tool)
        call = ToolCall(id=context.call_id(0), name=tool.name, arguments=arguments)
        return self.new_plan(tool, context, [PlannedStep(call=call)])

    def check(self, scenario: Scenario, tools: ToolSet) -> str | None:
        if len(scenario.plan.steps) != 1:
            return f"expected exactly 1 call, got {len(scenario.plan.steps)}"
        if result_is_error(scenario.draft.tool_results[0]):
            return "the only call's result is an error"
        return None

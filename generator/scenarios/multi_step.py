"""``multi_step``: 2-3 calls where a later call's argument comes from an earlier result.

The plan seeds every call's arguments, then picks one argument of each later call
as *chained*: its value must appear in the previous tool's result and must not be
stated by the user, so the only way to the right call is to read that result.
"""

from __future__ import annotations

import re

from generator.grounding import GroundingText
from generator.scenarios.base import (
    Category,
    ChainLink,
    PlanContext,
    PlannedStep,
    Scenario,
    ScenarioPlan,
    ToolCall,
    result_is_error,
)
from generator.schema import property_document, resolved_properties, scalar_leaves
from generator.seeding import seed_arguments
from generator.tools import ToolSet, ToolSpec

_LOOKUP = re.compile(r"^(get|search|find|list|lookup|look_up|fetch|check|query)", re.I)
_ID_LIKE = re.compile(r"(^|_)(id|code|sku|number|ref|key|name)$", re.I)


def chainable_arguments(tool: ToolSpec) -> list[str]:
    """Top-level string or integer parameters a value from another result can fill.

    Read through ``$ref`` and ``allOf``: ``{"$ref": "#/$defs/OrderId"}`` is as
    chainable as the string it points at.
    """
    properties = resolved_properties(tool.parameters, tool=tool.name)
    return [
        name
        for name, schema in properties.items()
        if schema.get("type") in ("string", "integer") and not {"enum", "const"} & set(schema)
    ]


class MultiStep(Category):
    name = "multi_step"

    def unavailable_for(self, tool: ToolSpec, tools: ToolSet) -> str | None:
        if not chainable_arguments(tool):
            return "it has no top-level string or integer parameter to chain a value into"
        return None

    def plan(self, tool: ToolSpec, tools: ToolSet, context: PlanContext) -> ScenarioPlan:
        rng = context.rng
        chain = [tool]
        others = [t for t in tools if t.name != tool.name] or [tool]
        middles = [t for t in others if chainable_arguments(t)]
        if middles and len(others) > 1 and rng.random() < 0.35:
            chain.insert(0, rng.choice(middles))
        lookups = [t for t in others if _LOOKUP.match(t.name) and t not in chain] or others
        chain.insert(0, rng.choice(lookups))

        steps: list[PlannedStep] = []
        links: list[ChainLink] = []
        for index, step_tool in enumerate(chain):
            arguments = seed_arguments(
                step_tool.parameters,
                rng,
                context.faker,
                optional_rate=context.optional_rate,
                tool=step_tool.name,
            )
            if index > 0:
                argument = _pick_chained(step_tool, arguments, context)
                links.append(
                    ChainLink(
                        from_step=index - 1,
                        to_step=index,
                        argument=argument,
                        value=arguments[argument],
                    )
                )
                steps[-1].must_return[argument] = arguments[argument]
            call = ToolCall(id=context.call_id(index), name=step_tool.name, arguments=arguments)
            steps.append(PlannedStep(call=call))
        return self.new_plan(tool, context, steps, chains=links)

    def check(self, scenario: Scenario, tools: ToolSet) -> str | None:
        plan, results = scenario.plan, scenario.draft.tool_results
        if not 2 <= len(plan.steps) <= 3:
            return f"expected 2-3 calls, got {len(plan.steps)}"
        if any(step.failure for step in plan.steps) or any(map(result_is_error, results)):
            return "a multi_step call failed"
        if not plan.chains:
            return "no later call uses a value from an earlier result"
        user_words = GroundingText([scenario.draft.user_request])
        for link in plan.chains:
            if plan.steps[link.to_step].call.arguments.get(link.argument) != link.value:
                return f"chained value not passed: call {link.to_step + 1}, '{link.argument}'"
            leaves = [leaf for _, leaf in scalar_leaves(results[link.from_step])]
            if link.value not in leaves:
                return (
                    f"chained '{link.argument}' = {link.value!r} is not in the result "
                    f"of call {link.from_step + 1}"
                )
            if user_words.contains(link.value):
                return f"chained value stated by the user: '{link.argument}' = {link.value!r}"
        return None


def _pick_chained(tool: ToolSpec, arguments: dict[str, object], context: PlanContext) -> str:
    present = [name for name in chainable_arguments(tool) if name in arguments]
    if not present:
        # An optional chainable parameter the seeder left out: seed it into the call.
        name = chainable_arguments(tool)[0]
        schema = property_document(tool.parameters, name)
        arguments[name] = seed_arguments(schema, context.rng, context.faker, tool=tool.name)[name]
        return name
    preferred = [name for name in present if _ID_LIKE.search(name)]
    return context.rng.choice(preferred or present)

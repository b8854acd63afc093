"""``multi_step``: 2-3 calls where a later call's argument comes from an earlier result.

The plan seeds every call's arguments, then picks one argument of each later call
as *chained*: its value must appear in the previous tool's result and must not be
stated by the user, so the only way to the right call is to read that result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeVar

from callforge.generator.grounding import GroundingText, scalar_values
from callforge.generator.scenarios.base import (
    Category,
    ChainLink,
    PlanContext,
    PlannedStep,
    Scenario,
    ScenarioPlan,
    ToolCall,
    result_is_error,
)
from callforge.generator.schema import property_document, resolved_properties
from callforge.generator.seeding import seed_arguments
from callforge.generator.tool_kinds import tool_kind
from callforge.generator.tools import ToolSet, ToolSpec

_ID_LIKE = re.compile(r"(^|_)(id|code|sku|number|ref|key|name)$", re.I)


def chainable_arguments(tool: ToolSpec) -> list[str]:
    """Top-level string or integer parameters a value from another result can fill.

    Read through ``$ref`` and ``allOf``: ``{"$ref": "#/$defs/OrderId"}`` is as
    chainable as the string it points at. Worked out once per tool object.
    """
    known = _chainable.get(id(tool))
    if known is None or known[0] is not tool:
        properties = resolved_properties(tool.parameters, tool=tool.name)
        names = tuple(
            name
            for name, schema in properties.items()
            if schema.get("type") in ("string", "integer") and not {"enum", "const"} & set(schema)
        )
        known = _remember(_chainable, id(tool), (tool, names))
    return list(known[1])


@dataclass(frozen=True)
class _Partners:
    """Which tools may come before ``tool`` in a chain, worked out once per tool set."""

    tool: ToolSpec
    others: list[ToolSpec]
    middles: list[ToolSpec]  # others with a chainable argument
    lookups: list[ToolSpec]  # others that retrieve data (lookup, search, forecast)


def _partners(tool: ToolSpec, tools: ToolSet) -> _Partners:
    known = _partners_by_set.get(id(tools))
    if known is None or known[0] is not tools:
        known = _remember(_partners_by_set, id(tools), (tools, {}))
    by_tool = known[1]
    partners = by_tool.get(tool.name)
    if partners is None or partners.tool is not tool:
        others = [t for t in tools if t.name != tool.name] or [tool]
        partners = by_tool[tool.name] = _Partners(
            tool=tool,
            others=others,
            middles=[t for t in others if chainable_arguments(t)],
            lookups=[t for t in others if tool_kind(t).retrieves],
        )
    return partners


_CACHE_SIZE = 1024
_CHAIN_DRAWS = 5
_chainable: dict[int, tuple[ToolSpec, tuple[str, ...]]] = {}
_partners_by_set: dict[int, tuple[ToolSet, dict[str, _Partners]]] = {}

_K = TypeVar("_K")
_V = TypeVar("_V")


def _remember(cache: dict[_K, _V], key: _K, value: _V) -> _V:
    """Store ``value`` under ``key``, dropping the oldest entry when the cache is full."""
    if len(cache) >= _CACHE_SIZE:
        cache.pop(next(iter(cache)))
    cache[key] = value
    return value


class MultiStep(Category):
    name = "multi_step"

    def unavailable_for(self, tool: ToolSpec, tools: ToolSet) -> str | None:
        if not chainable_arguments(tool):
            return "it has no top-level string or integer parameter to chain a value into"
        return None

    def plan(self, tool: ToolSpec, tools: ToolSet, context: PlanContext) -> ScenarioPlan:
        """A chain whose passed-on values the user does not happen to state as well.

        A chained ``passengers = 3`` next to a stated ``days = 3`` cannot be written
        (the user would state the chained value), and no re-ask can fix a plan, so
        such a chain is drawn again, from the same generator: reproducible.
        """
        for _ in range(_CHAIN_DRAWS):
            plan = self._draw(tool, tools, context)
            stated = GroundingText(
                [
                    " ".join(
                        str(value)
                        for _, args in plan.stated_arguments()
                        for value in scalar_values(args)
                    )
                ]
            )
            if not any(stated.contains(link.value) for link in plan.chains):
                break
        return plan

    def _draw(self, tool: ToolSpec, tools: ToolSet, context: PlanContext) -> ScenarioPlan:
        rng = context.rng
        chain = [tool]
        partners = _partners(tool, tools)
        others, middles = partners.others, partners.middles
        if middles and len(others) > 1 and rng.random() < 0.35:
            chain.insert(0, rng.choice(middles))
        lookups = [t for t in partners.lookups if t not in chain] or others
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
                today=context.today,
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
            leaves = list(scalar_values(results[link.from_step]))
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
        arguments[name] = seed_arguments(
            schema, context.rng, context.faker, tool=tool.name, today=context.today
        )[name]
        return name
    preferred = [name for name in present if _ID_LIKE.search(name)]
    return context.rng.choice(preferred or present)

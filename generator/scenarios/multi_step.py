"""``multi_step``: 2-4 calls, each later one fed by a field of the result before it.

A chain follows the tool set's data-flow graph (``generator.dataflow``) backwards
from the cell's tool: ``book_flight`` is fed by ``search_flights``'s
``results[].flight_id``, ``cancel_order`` by ``list_orders``'s
``results[].order_id``, which is fed by ``get_customer``'s ``id``. Every call's
arguments are seeded; a fed argument's value is written into the earlier step's
``must_return`` at the field's path (``results.0.flight_id``), the user never
states it, so the only way to the right call is to read that result. A tool
that no edge feeds gets no ``multi_step``.
"""

from __future__ import annotations

import re
from typing import Any

from callforge.generator.dataflow import (
    DataFlowGraph,
    Edge,
    field_of_path,
    flags_for,
    graph_of,
    output_fields,
)
from callforge.generator.grounding import GroundingText, scalar_values
from callforge.generator.results import value_at
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
from callforge.generator.schema import instance_is_valid, property_document
from callforge.generator.seeding import seed_arguments
from callforge.generator.tool_kinds import Verb, tool_kind
from callforge.generator.tools import ToolSet, ToolSpec

MIN_STEPS, MAX_STEPS = 2, 4
_LENGTHS, _LENGTH_WEIGHTS = (2, 3, 4), (0.55, 0.3, 0.15)
_CHAIN_DRAWS = 5
_VALUE_DRAWS = 5
_NOTHING = object()
_CODE = re.compile(r"[A-Z]{2,3}")
_OPEN_STATES = ("pending", "open", "active", "confirmed", "scheduled", "created", "processing")


class MultiStep(Category):
    name = "multi_step"

    def unavailable_for(self, tool: ToolSpec, tools: ToolSet) -> str | None:
        if not graph_of(tools).edges_into(tool.name):
            return (
                "no other tool's result feeds any of its parameters in the data-flow graph "
                "(see 'callforge tools graph')"
            )
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
        chain, feeds = self._walk_back(tool, tools, context)
        steps: list[PlannedStep] = []
        links: list[ChainLink] = []
        for index, step_tool in enumerate(chain):
            fed = {edge.parameter for edge in feeds[index - 1]} if index else set()
            arguments = seed_arguments(
                _requiring(step_tool.parameters, fed),
                context.rng,
                context.faker,
                optional_rate=context.optional_rate,
                tool=step_tool.name,
                today=context.today,
            )
            if index > 0:
                earlier = steps[-1]
                for edge in feeds[index - 1]:
                    link = _link(edge, index, earlier, arguments, tools, context)
                    if link is not None:
                        links.append(link)
            call = ToolCall(id=context.call_id(index), name=step_tool.name, arguments=arguments)
            steps.append(PlannedStep(call=call))
        return self.new_plan(tool, context, steps, chains=links)

    def _walk_back(
        self, tool: ToolSpec, tools: ToolSet, context: PlanContext
    ) -> tuple[list[ToolSpec], list[list[Edge]]]:
        """The chain's tools, ending at ``tool``, and the edges feeding each step from the one
        before: a length is drawn, then a tool feeding the first step is put in front until
        the chain has it or no new tool feeds the first step."""
        rng, graph = context.rng, graph_of(tools)
        length = rng.choices(_LENGTHS, _LENGTH_WEIGHTS)[0]
        chain: list[ToolSpec] = [tool]
        feeds: list[list[Edge]] = []
        while len(chain) < length:
            used = {t.name for t in chain}
            into = [e for e in graph.edges_into(chain[0].name) if e.from_tool not in used]
            if not into:
                break
            sources = list(dict.fromkeys(e.from_tool for e in into))
            if len(chain) + 1 < length:  # more to come: a source something feeds, if any
                fed = [name for name in sources if _fed(name, used, graph)]
                sources = fed or sources
            source = rng.choice(sources)
            by_parameter: dict[str, list[Edge]] = {}
            for edge in into:
                if edge.from_tool == source:
                    by_parameter.setdefault(edge.parameter, []).append(edge)
            chain.insert(0, tools[source])
            feeds.insert(0, [rng.choice(options) for options in by_parameter.values()])
        return chain, feeds

    def check(self, scenario: Scenario, tools: ToolSet) -> str | None:
        plan, results = scenario.plan, scenario.draft.tool_results
        steps = plan.steps
        if not MIN_STEPS <= len(steps) <= MAX_STEPS:
            return f"expected {MIN_STEPS}-{MAX_STEPS} calls, got {len(steps)}"
        if any(step.failure for step in steps) or any(map(result_is_error, results)):
            return "a multi_step call failed"
        if not plan.chains:
            return "no later call uses a value from an earlier result"
        fed = {link.to_step for link in plan.chains}
        for index in range(1, len(steps)):
            if index not in fed:
                name = steps[index].call.name
                return f"call {index + 1} ({name}) takes no value from an earlier result"
        graph = graph_of(tools)
        user_words = GroundingText([scenario.draft.user_request])
        for link in plan.chains:
            if not 0 <= link.from_step < link.to_step < len(steps):
                return f"a link from call {link.from_step + 1} to call {link.to_step + 1}"
            source, target = steps[link.from_step].call, steps[link.to_step].call
            field = field_of_path(link.result_path)
            if not graph.has(source.name, field, target.name, link.argument):
                return (
                    f"{source.name} -> {field} feeding {target.name}.{link.argument} "
                    "is not an edge of the data-flow graph"
                )
            if target.arguments.get(link.argument, _NOTHING) != link.value:
                return f"chained value not passed: call {link.to_step + 1}, '{link.argument}'"
            held = value_at(results[link.from_step], link.result_path, _NOTHING)
            if held != link.value:
                found = "nothing" if held is _NOTHING else repr(held)
                return (
                    f"the result of call {link.from_step + 1} ({source.name}) holds {found} "
                    f"at '{link.result_path}', not the {link.value!r} that call "
                    f"{link.to_step + 1} passes as '{link.argument}'"
                )
            if _stated(link.value, user_words, scenario.draft.user_request):
                return f"chained value stated by the user: '{link.argument}' = {link.value!r}"
        return None


def _stated(value: Any, words: GroundingText, request: str) -> bool:
    """Whether the user's request states a chained value.

    A short upper-case code is stated only as written: "IT" (Italy) is not the
    word "it" in "it needs attention", nor "us" the country US.
    """
    if isinstance(value, str) and _CODE.fullmatch(value):
        return re.search(rf"(?<![A-Za-z0-9]){value}(?![A-Za-z0-9])", request) is not None
    return words.contains(value)


def _requiring(parameters: dict[str, Any], names: set[str]) -> dict[str, Any]:
    """The parameters schema with ``names`` required: a chained city and country are
    seeded together, as a pair that holds together, not one of them on its own later."""
    missing = names - set(parameters.get("required") or ())
    if not missing:
        return parameters
    return {**parameters, "required": [*parameters.get("required", ()), *sorted(missing)]}


def _fed(name: str, used: set[str], graph: DataFlowGraph) -> bool:
    return any(e.from_tool not in used and e.from_tool != name for e in graph.edges_into(name))


def _link(
    edge: Edge,
    to_step: int,
    earlier: PlannedStep,
    arguments: dict[str, Any],
    tools: ToolSet,
    context: PlanContext,
) -> ChainLink | None:
    """Feed ``edge.parameter`` of the later call from the earlier step's result.

    The value is the later call's seeded argument (seeded now if the seeder left an
    optional one out), kept only if it also fits the earlier tool's declared field;
    a path another link already fills passes that value on instead.
    """
    path = edge.result_path()
    target = tools[edge.to_tool]
    if path in earlier.must_return:
        value = earlier.must_return[path]
        if not instance_is_valid(
            _parameter_document(target, edge.parameter), {edge.parameter: value}
        ):
            return None
    else:
        value = _fitting_value(edge, target, arguments, tools, context)
        if value is _NOTHING:
            return None
        earlier.must_return[path] = value
        for flag in flags_for(tools[edge.from_tool], edge.field):
            earlier.call.arguments[flag] = True  # the result holds the field only then
        if tool_kind(target).verb is Verb.CANCEL:
            _still_open(edge, earlier, tools[edge.from_tool])
    arguments[edge.parameter] = value
    return ChainLink(
        from_step=to_step - 1, to_step=to_step, argument=edge.parameter, value=value, path=path
    )


def _still_open(edge: Edge, earlier: PlannedStep, source: ToolSpec) -> None:
    """A record passed on to be cancelled is still open: its ``status`` (where the result
    has one with such a state) is the first open state, and so is a status filter of the
    earlier call ("list my pending orders, cancel the first"), never a delivered order."""
    record = edge.field.rpartition(".")[0]
    status = next((f for f in output_fields(source) if f.path == _joined(record, "status")), None)
    states = list((status.schema.get("enum") if status else None) or ())
    state = next((s for s in _OPEN_STATES if s in states), None)
    if state is None:
        return
    earlier.must_return[_joined(edge.result_path().rpartition(".")[0], "status")] = state
    asked = earlier.call.arguments.get("status")
    if asked is not None and asked != state:
        document = property_document(source.parameters, "status")
        if instance_is_valid(document, {"status": state}):
            earlier.call.arguments["status"] = state


def _joined(record: str, name: str) -> str:
    return f"{record}.{name}" if record else name


def _fitting_value(
    edge: Edge, target: ToolSpec, arguments: dict[str, Any], tools: ToolSet, context: PlanContext
) -> Any:
    """A value valid for the parameter and, where declared, for the result field.

    The later call's argument is tried first, then values seeded from the parameter's
    schema and from the field's (under the field's own name), each checked against the other.
    """
    parameter = _parameter_document(target, edge.parameter)
    value = arguments.get(edge.parameter, _NOTHING)
    if value is _NOTHING:  # left out: seeded now, agreeing with the call's other arguments
        agreeing = seed_arguments(
            target.parameters,
            context.rng,
            context.faker,
            optional_rate=1.0,
            tool=target.name,
            today=context.today,
            given=arguments,
        )
        value = agreeing.get(edge.parameter, _NOTHING)
    declared = _declared_field(edge, tools[edge.from_tool])
    if declared is None:
        if value is _NOTHING:
            seeded = seed_arguments(
                parameter, context.rng, context.faker, tool=target.name, today=context.today
            )
            value = seeded[edge.parameter]
        return value
    field, name = declared
    for attempt in range(2 * _VALUE_DRAWS):
        if (
            value is not _NOTHING
            and instance_is_valid(field, {name: value})
            and instance_is_valid(parameter, {edge.parameter: value})
        ):
            return value
        document, key = (parameter, edge.parameter) if attempt % 2 else (field, name)
        seeded = seed_arguments(
            document, context.rng, context.faker, tool=target.name, today=context.today
        )
        value = seeded[key]
    return _NOTHING


def _declared_field(edge: Edge, source: ToolSpec) -> tuple[dict[str, Any], str] | None:
    """The declared schema of the edge's field as a one-property document, and its name."""
    if source.output_schema is None:
        return None
    field = next((f for f in output_fields(source) if f.path == edge.field), None)
    if field is None:
        return None
    root = source.output_schema
    document: dict[str, Any] = {k: root[k] for k in ("$defs", "definitions") if k in root}
    document.update(type="object", properties={field.name: field.schema}, required=[field.name])
    return document, field.name


def _parameter_document(tool: ToolSpec, parameter: str) -> dict[str, Any]:
    return property_document(tool.parameters, parameter)

"""multi_step: a later call's argument chained from an earlier result, even through ``$ref``."""

from __future__ import annotations

import asyncio
import random
import re
from pathlib import Path

import pytest
from faker import Faker

from callforge.generator.pipeline import GenerateConfig, generate
from callforge.generator.scenarios import get_category
from callforge.generator.scenarios.base import PlanContext
from callforge.generator.teachers.offline import OfflineTeacher
from callforge.generator.tools import ToolSet, parse_tools
from callforge.store import Store

ORDER_ID = re.compile(r"ORD-\d{5}")


def order_tools(*, required: bool) -> ToolSet:
    """A lookup tool, then a tool whose only chainable parameter is a ``$ref``."""
    return parse_tools(
        [
            {
                "name": "find_order",
                "description": "Find a customer's latest order.",
                "parameters": {
                    "type": "object",
                    "properties": {"email": {"type": "string", "format": "email"}},
                    "required": ["email"],
                },
            },
            {
                "name": "cancel_order",
                "description": "Cancel an order.",
                "parameters": {
                    "type": "object",
                    "$defs": {"OrderId": {"type": "string", "pattern": "^ORD-[0-9]{5}$"}},
                    "properties": {
                        "order_id": {"$ref": "#/$defs/OrderId"},
                        "notify": {"type": "boolean"},
                    },
                    "required": ["order_id"] if required else [],
                },
            },
        ]
    )


def context(seed: int) -> PlanContext:
    faker = Faker()
    faker.seed_instance(seed)
    return PlanContext(random.Random(seed), faker, attempt=0, seed=seed, optional_rate=0.0)


@pytest.mark.parametrize("required", [True, False])
def test_a_ref_parameter_can_be_chained(required: bool) -> None:
    tools = order_tools(required=required)
    multi_step, tool = get_category("multi_step"), tools["cancel_order"]
    assert multi_step.unavailable_for(tool, tools) is None
    for seed in range(20):
        plan = multi_step.plan(tool, tools, context(seed))
        [link] = plan.chains
        assert link.argument == "order_id"
        assert ORDER_ID.fullmatch(link.value)
        assert plan.steps[-1].call.arguments["order_id"] == link.value
        assert plan.steps[0].must_return == {"order_id": link.value}


def test_a_ref_parameter_chains_through_the_pipeline(tmp_path: Path) -> None:
    tools = order_tools(required=False)
    config = GenerateConfig(per_tool=3, seed=5, mix={"multi_step": 1.0})
    with Store(tmp_path / "s.duckdb") as store:
        summary = asyncio.run(generate(store, tools, OfflineTeacher(), config))
        assert summary.skipped == {}
        assert summary.accepted == 3 * len(tools)


def test_a_chained_value_is_never_one_the_user_states_too() -> None:
    """``passengers = 3`` chained next to a stated ``days = 3`` is unwritable: drawn again.

    Before plans were checked for this, about 1 in 80 example-set chains collided,
    and every one cost the LLM teacher three requests for a certain rejection.
    """
    from callforge.generator.grounding import GroundingText, scalar_values
    from callforge.generator.importers import load_tools
    from callforge.generator.templating import EXAMPLE_TOOLS

    tools = load_tools(EXAMPLE_TOOLS)
    category = get_category("multi_step")
    plans = 0
    for seed in range(250):
        for tool in tools:
            if category.unavailable_for(tool, tools):
                continue
            faker = Faker()
            faker.seed_instance(seed)
            context = PlanContext(
                rng=random.Random(seed), faker=faker, attempt=0, seed=seed, optional_rate=0.5
            )
            plan = category.plan(tool, tools, context)
            stated = " ".join(
                str(value) for _, args in plan.stated_arguments() for value in scalar_values(args)
            )
            for link in plan.chains:
                assert not GroundingText([stated]).contains(link.value), (seed, tool.name, link)
            plans += 1
    assert plans > 1000

"""The validator's result stage: declared output schemas and hollow results, for both teachers."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from faker import Faker

from callforge.generator.importers import load_tools
from callforge.generator.scenarios import get_category
from callforge.generator.scenarios.base import PlanContext, Scenario, ScenarioPlan
from callforge.generator.teachers.base import TeacherFailure
from callforge.generator.teachers.offline import OfflineTeacher
from callforge.generator.teachers.prompting import PromptBuilder
from callforge.generator.templating import EXAMPLE_TOOLS
from callforge.generator.tools import ToolSet, parse_tools
from callforge.generator.validate import RESULT, is_hollow, validate_scenario
from tests.openai_server import LocalServer, ServerBehaviour, run_server
from tests.plan_responder import PlanResponder
from tests.test_llm_teacher import SECRET, write_once

STYLE = {"persona": "a student", "tone": "polite", "length": "short", "indirectness": "direct"}
DECLARED = load_tools(EXAMPLE_TOOLS)
UNDECLARED = parse_tools(
    [{"name": t.name, "description": t.description, "parameters": t.parameters} for t in DECLARED]
)


def plan_for(tools: ToolSet, tool: str, seed: int = 3, category: str = "single") -> ScenarioPlan:
    faker = Faker()
    faker.seed_instance(seed)
    context = PlanContext(
        rng=random.Random(seed), faker=faker, attempt=0, seed=seed, optional_rate=0.5, style=STYLE
    )
    return get_category(category).plan(tools[tool], tools, context)


def scenario_with(plan: ScenarioPlan, tools: ToolSet, result: dict[str, Any] | None) -> Scenario:
    """The offline teacher's scenario, its (single) result replaced by ``result``."""
    draft = OfflineTeacher().write_now(plan, {t.name: t for t in tools})
    if result is not None:
        draft = draft.model_copy(update={"tool_results": [result]})
    return Scenario(plan=plan, draft=draft)


def hollow_result(plan: ScenarioPlan) -> dict[str, Any]:
    """What callforge's offline teacher used to return: an id, a status, echoes, a timestamp."""
    arguments = plan.steps[0].call.arguments
    echoed = dict(list(arguments.items())[:2])
    return {"record_id": "REC-44400", **echoed, "status": "completed", "updated_at": "2026-01-02"}


# ---------------------------------------------------------------------------
# The rule, on scenarios


@pytest.mark.parametrize(
    "tool", ["get_customer", "search_flights", "convert_currency", "get_weather_forecast"]
)
def test_a_hollow_result_of_a_data_tool_is_rejected(tool: str) -> None:
    plan = plan_for(UNDECLARED, tool)
    rejection = validate_scenario(scenario_with(plan, UNDECLARED, hollow_result(plan)), UNDECLARED)
    assert rejection is not None and rejection.stage == RESULT
    assert rejection.reason.startswith(f"hollow result of call 1 ({tool}): only ids, status")


@pytest.mark.parametrize("tools", [DECLARED, UNDECLARED], ids=["declared", "inferred"])
@pytest.mark.parametrize("seed", range(12))
def test_the_offline_teachers_results_pass(tools: ToolSet, seed: int) -> None:
    for tool in tools:
        plan = plan_for(tools, tool.name, seed)
        assert validate_scenario(scenario_with(plan, tools, None), tools) is None, tool.name


def test_an_id_and_a_status_are_enough_for_a_tool_that_only_acts() -> None:
    plan = plan_for(UNDECLARED, "send_email")
    sent = {"message_id": "MSG-1", "status": "sent"}
    scenario = scenario_with(plan, UNDECLARED, sent)
    # the offline answer was written for the result replaced here: one for this one
    answer = scenario.draft.model_copy(update={"final_answer": "Sent, as MSG-1."})
    assert validate_scenario(Scenario(plan=plan, draft=answer), UNDECLARED) is None


def test_a_result_breaking_the_declared_schema_is_rejected_with_its_json_path() -> None:
    plan = plan_for(DECLARED, "search_flights")
    scenario = scenario_with(plan, DECLARED, None)
    result = json.loads(json.dumps(scenario.draft.tool_results[0]))
    result["flights"][0]["price"] = "cheap"
    rejection = validate_scenario(scenario_with(plan, DECLARED, result), DECLARED)
    assert rejection is not None and rejection.stage == RESULT
    assert rejection.reason == (
        "result of call 1 (search_flights) breaks its output schema: "
        "$.flights[0].price: 'cheap' is not of type 'number'"
    )


@pytest.mark.parametrize(
    ("result", "hollow"),
    [
        ({"customer_id": "C-1", "status": "ok", "email": "a@b.co"}, True),
        ({"results": [{"id": "A"}, {"id": "B"}], "count": 2}, True),
        ({"results": [], "total_count": 0}, True),
        ({"success": True, "created_at": "2026-01-02T10:00:00Z", "message": "done"}, True),
        ({"customerId": "C-1", "name": "Ana Silva"}, False),
        ({"flights": [{"flight_id": "F1", "price": 120.5}]}, False),
        ({"amount": 10, "rate": 0.92, "converted_amount": 9.2}, False),
        ({"amount": 10.0, "email": "A@B.CO", "requested_by": "a@b.co"}, True),
        ({"area": 10}, False),  # a computed value may equal an argument under another name
    ],
)
def test_what_counts_as_data(result: dict[str, Any], hollow: bool) -> None:
    assert is_hollow(result, {"email": "a@b.co", "amount": 10}) is hollow


# ---------------------------------------------------------------------------
# The LLM teacher: told, re-asked, rejected


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with run_server(ServerBehaviour(api_key=SECRET), responder=PlanResponder()) as local:
        yield local


def test_a_teacher_returning_hollow_results_is_re_asked_then_rejected(
    server: LocalServer,
) -> None:
    plan = plan_for(UNDECLARED, "get_customer")
    responder = PlanResponder()

    def hollow(request: Any) -> Any:
        return {**responder(request), "tool_results": [hollow_result(plan)]}

    server.state.responder = hollow
    with pytest.raises(TeacherFailure) as failure:
        write_once(server, plan, UNDECLARED, validation_retries=1)
    assert failure.value.usage.requests == 2 == server.stats.total
    assert failure.value.reason.startswith(
        "output did not fit after 2 tries: result: hollow result of call 1 (get_customer)"
    )
    reask = json.dumps(server.requests[-1]["messages"])
    assert "hollow result" in reask and "must return data" in reask


def test_a_teacher_that_returns_data_after_a_re_ask_is_accepted(server: LocalServer) -> None:
    plan = plan_for(UNDECLARED, "convert_currency")
    responder = PlanResponder()
    answers = iter(["hollow", "data"])

    def hollow_then_data(request: Any) -> Any:
        draft = responder(request)
        if next(answers) == "hollow":
            draft["tool_results"] = [hollow_result(plan)]
        return draft

    server.state.responder = hollow_then_data
    reply = write_once(server, plan, UNDECLARED)
    assert reply.usage.requests == 2
    result = reply.draft.tool_results[0]
    assert {"rate", "converted_amount"} <= result.keys()
    assert validate_scenario(Scenario(plan=plan, draft=reply.draft), UNDECLARED) is None


def test_a_teacher_breaking_the_declared_output_schema_is_rejected(server: LocalServer) -> None:
    plan = plan_for(DECLARED, "search_flights")
    responder = PlanResponder()

    def priced_in_words(request: Any) -> Any:
        draft = responder(request)
        for flight in draft["tool_results"][0]["flights"]:
            flight["price"] = "cheap"
        return draft

    server.state.responder = priced_in_words
    with pytest.raises(TeacherFailure) as failure:
        write_once(server, plan, DECLARED, validation_retries=1)
    assert failure.value.reason.startswith(
        "output did not fit after 2 tries: result: result of call 1 (search_flights) breaks "
        "its output schema: $.flights[0].price: 'cheap' is not of type 'number'"
    )


def test_the_prompt_shows_the_output_schema_and_must_return_paths() -> None:
    plan = plan_for(DECLARED, "book_flight", category="multi_step")
    builder = PromptBuilder()
    tools = tuple(DECLARED[name] for name in plan.tools_used())
    prompt = builder.user_prompt(plan, tools)
    shown = json.loads(prompt.split("```json", 1)[1].split("```", 1)[0])
    for entry, tool in zip(shown, tools, strict=True):
        assert entry["function"]["x-output-schema"] == tool.output_schema
    assert "must return, at these paths:" in prompt
    assert "Never\n  only an id, a status and the arguments repeated back" in builder.system

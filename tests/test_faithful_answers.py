"""Faithful answers: the validator's stage ``answer``, and ``--judge`` over HTTP.

The validator cases are hand-written conversations (the facts they invent are
chosen here, not by the code under test); the LLM cases run the real openai +
instructor path against ``tests/openai_server.py`` with a scripted "model".
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from callforge.generator.scenarios.base import Scenario
from callforge.generator.teachers.base import TeacherFailure
from callforge.generator.validate import ANSWER, check_conversation, validate_scenario
from tests.openai_server import CompletionRequest, LocalServer, ServerBehaviour, run_server
from tests.plan_responder import PlanResponder
from tests.test_llm_teacher import SECRET, generate, plan_for, stats, write_once

SCHEMAS = {
    "convert_currency": {
        "type": "object",
        "properties": {
            "amount": {"type": "number"},
            "from_currency": {"type": "string"},
            "to_currency": {"type": "string"},
        },
        "required": ["amount", "from_currency", "to_currency"],
    },
    "search_hotels": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "check_in": {"type": "string"}},
    },
}
REQUEST = "How much is 250 EUR in USD?"
CONVERSION = {
    "conversion_id": "CNV-88120",
    "converted_amount": 271.6375,
    "rate": 1.08655,
    "provider": "Northwind Exchange",
    "status": "completed",
    "created_at": "2026-01-15T09:30:00Z",
}
HOTELS = {
    "hotels": [
        {"id": "H-1", "name": "Casa do Rio", "price_per_night": 118.0, "rating": 4.6},
        {"id": "H-2", "name": "Hotel Alfama", "price_per_night": 95.5, "rating": 4.1},
    ]
}


def conversation(answer: str, result: Any = CONVERSION, request: str = REQUEST) -> list[Any]:
    arguments = {"amount": 250, "from_currency": "EUR", "to_currency": "USD"}
    name = "convert_currency"
    if result is HOTELS:
        arguments, name = {"city": "Lisbon", "check_in": "2026-03-05"}, "search_hotels"
    return [
        {"role": "user", "content": request},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": name, "arguments": json.dumps(arguments)},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": json.dumps(result)},
        {"role": "assistant", "content": answer},
    ]


@pytest.mark.parametrize(
    "answer",
    [
        "250 EUR comes to 271.64 USD at a rate of 1.0866 (Northwind Exchange).",
        "That's about 271.6 dollars; the rate is 1.09.",  # rounded the way people round
        "You'd get 271.64 USD.",
    ],
)
def test_an_answer_that_reports_the_result_passes(answer: str) -> None:
    assert check_conversation(conversation(answer), SCHEMAS) is None


def test_a_listing_answer_may_state_the_count_and_the_first_match() -> None:
    messages = conversation(
        "I found 2 hotels in Lisbon for March 5; Casa do Rio is 118 a night, rated 4.6.",
        HOTELS,
        "Find me a hotel in Lisbon for the 5th of March, 2026.",
    )
    assert check_conversation(messages, SCHEMAS) is None


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (
            "250 EUR comes to 268.40 USD.",
            "unfaithful answer: the number 268.40 is in neither the request nor the tool results",
        ),
        (
            "271.64 USD, converted by Globex Bank.",
            "unfaithful answer: the name 'Globex Bank' is in neither the request nor "
            "the tool results",
        ),
        (
            "271.64 USD; the rate is valid until March 9.",
            "unfaithful answer: 'March 9' is in neither the request nor the tool results",
        ),
        (
            "271.64 USD, locked in at 4:15 pm.",
            "unfaithful answer: '4:15 pm' is in neither the request nor the tool results",
        ),
        (
            "Done: conversion CNV-88120 is completed.",
            "the final answer ignores the results: it states none of their data "
            "(converted amount 271.6375, rate 1.08655, provider 'Northwind Exchange')",
        ),
        (
            "Converted 250 EUR to USD for you.",  # the request read back, nothing new
            "the final answer ignores the results: it states none of their data "
            "(converted amount 271.6375, rate 1.08655, provider 'Northwind Exchange')",
        ),
    ],
)
def test_an_unfaithful_answer_is_rejected_at_stage_answer(answer: str, reason: str) -> None:
    rejection = check_conversation(conversation(answer), SCHEMAS)
    assert rejection is not None
    assert (rejection.stage, rejection.reason) == (ANSWER, reason)


def test_a_result_without_data_asks_for_no_particular_answer() -> None:
    plain = {"conversion_id": "CNV-1", "status": "ok", "created_at": "2026-01-15T09:30:00Z"}
    assert check_conversation(conversation("All done.", plain), SCHEMAS) is None


# -- the LLM teacher ---------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with run_server(ServerBehaviour(api_key=SECRET), responder=PlanResponder()) as local:
        yield local


def _is_judge(request: CompletionRequest) -> bool:
    return "answer_fits_results" in ((request.schema or {}).get("properties") or {})


def test_a_teacher_that_invents_a_number_is_rejected_at_stage_answer(
    server: LocalServer,
) -> None:
    tools, plan = plan_for("single", seed=2)
    responder = PlanResponder()

    def inventive(request: CompletionRequest) -> Any:
        return {**responder(request), "final_answer": "Done: it comes to 9,731.08 in total."}

    server.state.responder = inventive
    with pytest.raises(TeacherFailure) as failure:
        write_once(server, plan, tools, validation_retries=1)
    assert failure.value.stage == ANSWER
    assert failure.value.reason == (
        "output did not fit after 2 tries: answer: unfaithful answer: the number 9,731.08 "
        "is in neither the request nor the tool results"
    )
    reask = json.dumps(server.requests[-1]["messages"])
    assert "9,731.08" in reask and "unfaithful answer" in reask  # the model was told why


def test_the_judge_fails_an_example_with_its_reason_and_is_cached(
    server: LocalServer, tmp_path: Path
) -> None:
    tools, plan = plan_for("single", seed=2)
    responder = PlanResponder()

    def strict_judge(request: CompletionRequest) -> Any:
        if _is_judge(request):
            return {
                "calls_fit_request": True,
                "answer_fits_results": False,
                "reason": "The answer calls the cheapest flight the fastest one.",
            }
        return responder(request)

    server.state.responder = strict_judge
    reply = write_once(server, plan, tools, judge=True)
    assert reply.rejection == (
        "judge",
        "the answer does not fit the results: The answer calls the cheapest flight the "
        "fastest one.",
    )
    assert reply.usage.requests == 2 and len(reply.more_cache_entries) == 1
    judged = server.requests[-1]
    prompt = json.dumps(judged["messages"])
    assert reply.draft.final_answer in json.loads(prompt)[-1]["content"]
    assert validate_scenario(Scenario(plan=plan, draft=reply.draft), tools) is None


def test_generate_with_judge_stores_the_judges_rejections(
    server: LocalServer, tmp_path: Path
) -> None:
    """End to end: a judge failing two in three conversations that call send_email."""
    responder = PlanResponder()
    judged = {"requests": 0}

    def judge_against_email(request: CompletionRequest) -> Any:
        if not _is_judge(request):
            return responder(request)
        judged["requests"] += 1
        prompt = json.dumps(request.messages)
        failing = "ASSISTANT CALLS send_email(" in prompt and zlib.crc32(prompt.encode()) % 3 != 0
        return {
            "calls_fit_request": not failing,
            "answer_fits_results": True,
            "reason": "The user never asked for an email." if failing else "Fine.",
        }

    server.state.responder = judge_against_email
    db = tmp_path / "judged.duckdb"
    result = generate(server, db, "--judge", per_tool=3)
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(db), read_only=True) as connection:
        rows = connection.execute("SELECT stage, reason FROM rejections").fetchall()
        scenarios = connection.execute("SELECT scenario FROM examples").fetchall()
    judge_rows = [row for row in rows if row[0] == "judge"]
    assert judge_rows, rows
    assert all(
        reason == "the calls do not fit the request: The user never asked for an email."
        for _, reason in judge_rows
    )
    assert len(scenarios) == 3 * 10  # the cells filled up all the same
    report = stats(db)
    assert report["usage"]["requests"] == server.stats.outcomes["ok"]
    sent = judged["requests"]
    again = generate(server, db, "--judge", per_tool=3)
    assert again.returncode == 0, again.stderr
    assert "accepted 0," in again.stderr
    assert judged["requests"] == sent  # nothing was judged again

"""The local OpenAI server speaks well enough for the real openai and instructor clients.

Every test talks HTTP to the server the way the openai teacher will, so a
change in how instructor builds a mode's request shows up here first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Iterator

import aiohttp
import instructor
import jsonschema
import openai
import pytest
from instructor.core.exceptions import InstructorRetryException
from pydantic import BaseModel, Field

from tests.openai_server import (
    CompletionRequest,
    FaultSchedule,
    LocalServer,
    SchemaFillingResponder,
    ServerBehaviour,
    extract_target_schema,
    fetch_stats,
    run_server,
    start_server_process,
)

FACTS = (
    'FACTS: {"fields": {"guest_name": "Ada Lovelace", "guests": 3}, '
    '"mention": ["Room 12", "2024-05-01"]}'
)
MESSAGES = [
    {"role": "system", "content": "You book hotel rooms."},
    {"role": "user", "content": f"Book a room for Ada.\n{FACTS}"},
]
MODES = [
    instructor.Mode.TOOLS,
    instructor.Mode.JSON,
    instructor.Mode.JSON_SCHEMA,
    instructor.Mode.MD_JSON,
]


class Address(BaseModel):
    city: str
    postcode: str = Field(pattern=r"^[0-9]{5}$")


class Booking(BaseModel):
    guest_name: str
    guests: int = Field(ge=1, le=8)
    request: str
    address: Address
    nights: list[int]
    comment: str | None = None


@pytest.fixture(scope="module")
def shared_server() -> Iterator[LocalServer]:
    with run_server() as server:
        yield server


@pytest.fixture
def server(shared_server: LocalServer) -> LocalServer:
    """The module's server with default behaviour and zeroed counters."""
    shared_server.configure()
    return shared_server


def client_for(server: LocalServer, max_retries: int = 0, timeout: float = 10.0) -> openai.OpenAI:
    """A real openai client; no transport retries unless a test asks for them."""
    return openai.OpenAI(
        base_url=server.base_url, api_key="test-key", max_retries=max_retries, timeout=timeout
    )


def book(server: LocalServer, mode: instructor.Mode, max_retries: int = 1) -> Booking:
    with client_for(server) as client:
        patched = instructor.from_openai(client, mode=mode)
        return patched.chat.completions.create(
            model="test-model", response_model=Booking, messages=MESSAGES, max_retries=max_retries
        )


# ------------------------------------------------------------------ happy paths


def test_plain_completion_reads_like_a_model_reply(server: LocalServer) -> None:
    with client_for(server) as client:
        completion = client.chat.completions.create(model="test-model", messages=MESSAGES)

    message = completion.choices[0].message
    assert "Room 12" in message.content and "2024-05-01" in message.content
    assert completion.object == "chat.completion"
    assert completion.model == "test-model"
    assert completion.id.startswith("chatcmpl-") and completion.created > 0
    usage = completion.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert server.stats.outcomes["ok"] == 1


def test_models_are_listed(server: LocalServer) -> None:
    with client_for(server) as client:
        assert [model.id for model in client.models.list()] == ["callforge-local"]


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.name)
def test_instructor_mode_gets_a_valid_object_with_the_facts(
    server: LocalServer, mode: instructor.Mode
) -> None:
    booking = book(server, mode)

    assert booking.guest_name == "Ada Lovelace" and booking.guests == 3
    assert "Room 12" in booking.request and "2024-05-01" in booking.request
    assert booking.address.postcode.isdigit() and booking.nights
    assert booking.comment is not None and "Room 12" in booking.comment
    assert server.stats.outcomes["ok"] == 1


@pytest.mark.parametrize(
    ("mode", "response_format", "schema_in_system_message"),
    [
        (instructor.Mode.TOOLS, None, False),
        (instructor.Mode.JSON, "json_object", True),
        (instructor.Mode.JSON_SCHEMA, "json_schema", False),
        (instructor.Mode.MD_JSON, None, True),
    ],
    ids=["TOOLS", "JSON", "JSON_SCHEMA", "MD_JSON"],
)
def test_the_schema_is_found_where_instructor_puts_it(
    server: LocalServer,
    mode: instructor.Mode,
    response_format: str | None,
    schema_in_system_message: bool,
) -> None:
    book(server, mode)

    body = server.requests[-1]
    assert bool(body.get("tools")) == (mode == instructor.Mode.TOOLS)
    assert (body.get("response_format") or {}).get("type") == response_format
    system = body["messages"][0]
    assert system["role"] == "system"
    assert ("json_schema:" in system["content"]) == schema_in_system_message
    schema = extract_target_schema(body)
    assert schema is not None and set(schema["properties"]) == set(Booking.model_fields)


def test_md_json_reply_is_a_fenced_block_and_tools_reply_is_a_tool_call(
    server: LocalServer,
) -> None:
    with client_for(server) as client:
        md = instructor.from_openai(client, mode=instructor.Mode.MD_JSON)
        _, md_completion = md.chat.completions.create_with_completion(
            model="m", response_model=Booking, messages=MESSAGES
        )
        tools = instructor.from_openai(client, mode=instructor.Mode.TOOLS)
        _, tool_completion = tools.chat.completions.create_with_completion(
            model="m", response_model=Booking, messages=MESSAGES
        )

    assert md_completion.choices[0].message.content.startswith("```json\n")
    choice = tool_completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "Booking"
    assert json.loads(call.function.arguments)["guest_name"] == "Ada Lovelace"


def test_async_clients_run_concurrently(server: LocalServer) -> None:
    server.behaviour.latency_s = 0.1

    async def book_many() -> list[Booking]:
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        patched = instructor.from_openai(client, mode=instructor.Mode.TOOLS)
        async with client:
            return await asyncio.gather(
                *(
                    patched.chat.completions.create(
                        model="m", response_model=Booking, messages=MESSAGES
                    )
                    for _ in range(16)
                )
            )

    bookings = asyncio.run(book_many())

    assert {booking.guest_name for booking in bookings} == {"Ada Lovelace"}
    assert server.stats.peak_in_flight > 8


def test_an_answer_falls_due_on_time_while_another_is_being_written() -> None:
    """The latency a benchmark divides by is the server's, not its own CPU time's.

    A's answer is due at 0.2 s; B arrives at 0.1 s and takes 0.6 s of CPU to write.
    Written on the event loop, B would hold A back to 0.7 s or later, 0.5 s past due.
    A loaded machine delays A too, so A is compared with A asked alone just before (the
    same server, the same load): it may be late by that plus half the 0.5 s, no more.
    """
    cpu_s = 0.6

    def responder(request: CompletionRequest) -> str:
        if "slow" in request.messages[-1]["content"]:
            until = time.perf_counter() + cpu_s
            while time.perf_counter() < until:
                pass
        return "done"

    async def ask(url: str, text: str, after_s: float) -> float:
        await asyncio.sleep(after_s)
        body = {"model": "m", "messages": [{"role": "user", "content": text}]}
        async with aiohttp.ClientSession() as session:
            started = time.perf_counter()
            async with session.post(f"{url}/chat/completions", json=body) as response:
                assert response.status == 200
                await response.read()
            return time.perf_counter() - started

    async def both(url: str) -> list[float]:
        return await asyncio.gather(ask(url, "fast", 0.0), ask(url, "slow", 0.1))

    with run_server(ServerBehaviour(latency_s=0.2), responder=responder) as server:
        alone = asyncio.run(ask(server.base_url, "fast", 0.0))
        fast, slow = asyncio.run(both(server.base_url))

    held_back = 0.1 + cpu_s - 0.2  # how late A would be if B's writing blocked the loop
    assert alone >= 0.2 and fast >= 0.2  # never before its latency
    assert fast < alone + held_back / 2, (alone, fast)
    assert slow >= cpu_s  # B really was written while A was due


# -------------------------------------------------------------- transport faults


def test_429_carries_retry_after_and_is_a_rate_limit_error(server: LocalServer) -> None:
    server.behaviour.rate_429 = 1.0

    with client_for(server) as client, pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="m", messages=MESSAGES)

    assert caught.value.response.headers["retry-after"] == "0.05"
    assert caught.value.code == "rate_limit_exceeded"


def test_refuse_all_makes_the_client_give_up_after_its_retries(server: LocalServer) -> None:
    server.behaviour.refuse_all = True

    with client_for(server, max_retries=2) as client, pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="m", messages=MESSAGES)

    assert server.stats.outcomes["429"] == 3


def test_500_is_an_internal_server_error(server: LocalServer) -> None:
    server.behaviour.rate_500 = 1.0

    with client_for(server) as client, pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m", messages=MESSAGES)


def test_a_hung_request_times_out_on_the_client(server: LocalServer) -> None:
    server.behaviour.rate_timeout = 1.0

    with client_for(server, timeout=0.3) as client, pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="m", messages=MESSAGES)

    assert server.stats.outcomes["timeout"] == 1


def test_wrong_api_key_is_an_authentication_error(server: LocalServer) -> None:
    server.behaviour.api_key = "right-key"

    with client_for(server) as client, pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="m", messages=MESSAGES)
    with openai.OpenAI(base_url=server.base_url, api_key="right-key") as client:
        client.chat.completions.create(model="m", messages=MESSAGES)

    assert caught.value.code == "invalid_api_key"
    assert dict(server.stats.outcomes) == {"401": 1, "ok": 1}


# ---------------------------------------------------------------- bad outputs


def test_malformed_output_makes_instructor_give_up(server: LocalServer) -> None:
    server.behaviour.rate_malformed = 1.0

    with pytest.raises(InstructorRetryException) as caught:
        book(server, instructor.Mode.TOOLS, max_retries=1)

    # instructor 1.17 counts re-asks: max_retries=1 is two attempts.
    assert caught.value.n_attempts == 2 == server.stats.outcomes["malformed"]
    assert "Invalid JSON" in str(caught.value)


def test_instructor_recovers_from_malformed_output_by_reasking(server: LocalServer) -> None:
    # Seed 7 draws malformed, malformed, ok at rate 0.5 (see FaultSchedule);
    # max_retries=3 allows four attempts.
    server.configure(rate_malformed=0.5, seed=7)

    booking = book(server, instructor.Mode.JSON, max_retries=3)

    assert booking.guest_name == "Ada Lovelace"
    assert dict(server.stats.outcomes) == {"malformed": 2, "ok": 1}
    last_messages = server.requests[-1]["messages"]
    assert "Correct your JSON ONLY RESPONSE" in last_messages[-1]["content"]


def test_schema_invalid_output_is_reasked_until_instructor_gives_up(server: LocalServer) -> None:
    server.behaviour.rate_invalid = 1.0

    with pytest.raises(InstructorRetryException) as caught:
        book(server, instructor.Mode.TOOLS, max_retries=2)

    assert caught.value.n_attempts == 3 == server.stats.outcomes["invalid"]
    assert "Field required" in str(caught.value)
    assert server.requests[-1]["messages"][-1]["role"] == "tool"


def test_counters_add_up_and_repeat_with_the_seed(server: LocalServer) -> None:
    faults = {"rate_429": 0.2, "rate_500": 0.1, "rate_malformed": 0.1, "rate_invalid": 0.1}
    expected = FaultSchedule(seed=11)
    expected_outcomes = [expected.draw(ServerBehaviour(**faults)) for _ in range(30)]
    server.configure(seed=11, **faults)

    with client_for(server) as client:
        for _ in range(30):
            with contextlib.suppress(openai.APIStatusError):
                client.chat.completions.create(model="m", messages=MESSAGES)

    stats = server.stats.as_dict()
    assert stats["total"] == 30 == sum(stats["outcomes"].values()) == len(server.requests)
    assert {k: v for k, v in stats["outcomes"].items() if v} == {
        outcome: expected_outcomes.count(outcome) for outcome in set(expected_outcomes)
    }
    assert stats["in_flight"] == 0 and stats["peak_in_flight"] == 1


def test_request_log_can_be_turned_off(server: LocalServer) -> None:
    server.behaviour.log_requests = False

    with client_for(server) as client:
        client.chat.completions.create(model="m", messages=MESSAGES)

    assert not server.requests and server.stats.total == 1


# ------------------------------------------------------------------ the responder


def test_a_custom_responder_decides_the_answer() -> None:
    seen: list[CompletionRequest] = []

    def responder(request: CompletionRequest) -> dict[str, object]:
        seen.append(request)
        return {"city": "Paris", "postcode": "75001"}

    with (
        run_server(responder=responder) as server,
        client_for(server) as client,
    ):
        address = instructor.from_openai(client).chat.completions.create(
            model="m", response_model=Address, messages=MESSAGES
        )

    # instructor attaches the raw completion as a private attribute, so compare dumps.
    assert address.model_dump() == {"city": "Paris", "postcode": "75001"}
    assert seen[0].schema is not None and seen[0].messages[-1]["content"].endswith(FACTS)


def test_filled_values_are_schema_valid_and_deterministic() -> None:
    schema = {
        "$defs": {
            "Link": {
                "properties": {"next": {"anyOf": [{"$ref": "#/$defs/Link"}, {"type": "null"}]}},
                "required": ["next"],
                "type": "object",
            },
            "Colour": {"enum": ["red", "green"], "type": "string"},
            "Part": {
                "properties": {
                    "colour": {"$ref": "#/$defs/Colour"},
                    "weight": {"exclusiveMinimum": 0, "maximum": 2.5, "type": "number"},
                    "children": {"items": {"$ref": "#/$defs/Part"}, "type": "array"},
                },
                "required": ["colour", "weight", "children"],
                "type": "object",
            },
        },
        "properties": {
            "part": {"$ref": "#/$defs/Part"},
            "when": {"format": "date", "type": "string"},
            "count": {"maximum": 9, "minimum": 3, "multipleOf": 3, "type": "integer"},
            "maybe": {"anyOf": [{"type": "boolean"}, {"type": "null"}], "default": None},
            "extra": {"additionalProperties": {"type": "integer"}, "type": "object"},
            "sku": {"pattern": "^[A-Z]{3}-[0-9]{4}$", "type": "string"},
            "debt": {"exclusiveMaximum": 0, "type": "integer"},
            "chain": {"$ref": "#/$defs/Link"},
        },
        "required": ["part", "when", "count"],
        "type": "object",
    }
    responder = SchemaFillingResponder()
    for seed in range(20):
        body = {"messages": [{"role": "user", "content": f"case {seed}"}]}
        request = CompletionRequest(body, schema, body["messages"])
        value = responder(request)
        jsonschema.validate(value, schema)
        assert value == responder(request)


def test_facts_fields_win_and_the_last_facts_line_counts() -> None:
    messages = [
        {"role": "user", "content": 'FACTS: {"fields": {"name": "old"}}'},
        {"role": "user", "content": 'Hi\nFACTS: {"fields": {"name": "new"}, "mention": [42]}'},
    ]
    schema = Booking.model_json_schema()
    schema["properties"]["name"] = {"type": "string"}

    value = SchemaFillingResponder()(CompletionRequest({"messages": messages}, schema, messages))

    assert value["name"] == "new" and "42" in value["request"]


# ---------------------------------------------------------------- process mode


def test_server_process_serves_and_reports_stats() -> None:
    process, base_url = start_server_process(latency_s=0.01, rate_500=1.0, seed=1)
    try:
        with (
            openai.OpenAI(base_url=base_url, api_key="k", max_retries=0) as client,
            pytest.raises(openai.InternalServerError),
        ):
            client.chat.completions.create(model="m", messages=MESSAGES)
        stats = fetch_stats(base_url)
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
    assert stats["total"] == 1 and stats["outcomes"]["500"] == 1

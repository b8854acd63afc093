"""The openai teacher over HTTP: the real openai client and instructor against a local server.

Nothing is monkeypatched: ``tests/openai_server.py`` serves ``/v1/chat/completions``
on 127.0.0.1 and ``PlanResponder`` answers callforge's prompts the way a capable
model would; ``ServerBehaviour`` injects 429s, 500s, timeouts and bad output.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import datasets
import duckdb
import pytest
from faker import Faker

from callforge.generator.errors import TeacherConfigError
from callforge.generator.importers import load_tools
from callforge.generator.scenarios import CATEGORIES, get_category
from callforge.generator.scenarios.base import PlanContext, Scenario, ScenarioPlan
from callforge.generator.teachers.base import TeacherFailure, TeacherRequest
from callforge.generator.teachers.flow import AdaptiveLimiter
from callforge.generator.teachers.llm import OpenAITeacher
from callforge.generator.teachers.prompting import PromptBuilder
from callforge.generator.templating import EXAMPLE_TOOLS
from callforge.generator.tools import ToolSet, parse_tools
from callforge.generator.validate import check_conversation, validate_scenario
from tests.conftest import CLI, read_jsonl, run_cli
from tests.openai_format import format_errors
from tests.openai_server import LocalServer, ServerBehaviour, message_text, run_server
from tests.plan_responder import PlanResponder

SECRET = "sk-callforge-test-7f3a9c1e5b2d4068"
STYLE = {"persona": "a student", "tone": "polite", "length": "short", "indirectness": "direct"}
PER_TOOL = 4


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with run_server(ServerBehaviour(api_key=SECRET), responder=PlanResponder()) as local:
        yield local


def generate_args(server: LocalServer, db: Path, per_tool: int = PER_TOOL) -> list[str]:
    return [
        "generate",
        "--tools",
        str(EXAMPLE_TOOLS),
        "--per-tool",
        str(per_tool),
        "--seed",
        "3",
        "--db",
        str(db),
        "--teacher",
        "openai",
        "--model",
        "teacher-model",
        "--base-url",
        server.base_url,
    ]


def generate(
    server: LocalServer,
    db: Path,
    *extra: str,
    env: dict[str, str | None] | None = None,
    per_tool: int = PER_TOOL,
) -> Any:
    return run_cli(
        *generate_args(server, db, per_tool),
        *extra,
        env={"OPENAI_API_KEY": SECRET, **(env or {})},
    )


def stats(db: Path) -> dict[str, Any]:
    result = run_cli("stats", "--db", db, "--json", "--price-in", "0.15", "--price-out", "0.6")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def every_cell_full(report: dict[str, Any]) -> bool:
    return all(cell["accepted"] >= cell["target"] for cell in report["cells"])


def test_generate_and_export_through_the_openai_teacher(
    server: LocalServer, tmp_path: Path
) -> None:
    db, out = tmp_path / "llm.duckdb", tmp_path / "data"
    result = generate(server, db)
    assert result.returncode == 0, result.stderr
    report = stats(db)
    tool_count = len(load_tools(EXAMPLE_TOOLS))
    assert report["accepted_total"] == PER_TOOL * tool_count
    assert every_cell_full(report)
    usage = report["usage"]
    assert usage["requests"] == server.stats.outcomes["ok"] >= PER_TOOL * tool_count
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["cost"] > 0 and usage["tokens_per_accepted"] > 0
    assert report["runs"][-1]["requests"] == usage["requests"]

    exported = run_cli("export", "--db", db, "--out", out, "--eval-fraction", "0.25")
    assert exported.returncode == 0, exported.stderr
    lines = read_jsonl(out / "train.jsonl") + read_jsonl(out / "eval.jsonl")
    assert len(lines) == PER_TOOL * tool_count
    for line in lines:
        schemas = {t["function"]["name"]: t["function"]["parameters"] for t in line["tools"]}
        assert check_conversation(line["messages"], schemas) is None
        assert format_errors(line) == []
    loaded = datasets.load_dataset("json", data_files=str(out / "train.jsonl"), split="train")
    assert len(loaded) == len(read_jsonl(out / "train.jsonl"))
    teachers = duckdb.connect(str(db), read_only=True).execute(
        "SELECT DISTINCT teacher FROM examples"
    )
    assert teachers.fetchall() == [("openai:teacher-model",)]


def test_a_fifth_of_requests_failing_still_fills_every_cell(tmp_path: Path) -> None:
    behaviour = ServerBehaviour(
        api_key=SECRET,
        rate_429=0.06,
        rate_500=0.05,
        rate_timeout=0.02,
        timeout_sleep_s=3.0,
        rate_malformed=0.04,
        rate_invalid=0.03,
        seed=5,
    )
    db = tmp_path / "faulty.duckdb"
    with run_server(behaviour, responder=PlanResponder()) as server:
        result = generate(server, db, "--timeout", "0.5", "--concurrency", "8")
        outcomes = dict(server.stats.outcomes)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    report = stats(db)
    assert every_cell_full(report)
    failures = sum(outcomes.get(kind, 0) for kind in ("429", "500", "timeout"))
    bad_output = outcomes.get("malformed", 0) + outcomes.get("invalid", 0)
    assert failures > 0 and bad_output > 0
    run = report["runs"][-1]
    assert run["retries"] >= failures  # every transport failure was retried
    assert run["requests"] == sum(outcomes.values())  # every HTTP request is accounted for


def test_the_same_command_twice_sends_nothing_the_second_time(
    server: LocalServer, tmp_path: Path
) -> None:
    db = tmp_path / "cached.duckdb"
    every = ("--mix", ",".join(f"{name}=1" for name in CATEGORIES))  # one of each per tool
    assert generate(server, db, *every, per_tool=len(CATEGORIES)).returncode == 0
    sent = server.stats.total
    with duckdb.connect(str(db), read_only=True) as connection:
        made = {row[0] for row in connection.execute("SELECT category FROM examples").fetchall()}
    assert made == set(CATEGORIES)
    again = generate(server, db, *every, per_tool=len(CATEGORIES))
    assert again.returncode == 0, again.stderr
    assert server.stats.total == sent

    # Lose every example: the cache answers every request, and the examples come back.
    with duckdb.connect(str(db)) as connection:
        before = connection.execute("SELECT example_id FROM examples ORDER BY 1").fetchall()
        connection.execute("DELETE FROM examples")
        connection.execute("DELETE FROM rejections")
    rebuilt = generate(server, db, *every, per_tool=len(CATEGORIES))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert server.stats.total == sent
    with duckdb.connect(str(db), read_only=True) as connection:
        after = connection.execute("SELECT example_id FROM examples ORDER BY 1").fetchall()
        cached = connection.execute("SELECT bool_and(cached) FROM examples").fetchone()
    assert after == before and cached == (True,)

    # --no-cache asks the model again.
    with duckdb.connect(str(db)) as connection:
        connection.execute("DELETE FROM examples")
    assert generate(server, db, *every, "--no-cache", per_tool=len(CATEGORIES)).returncode == 0
    assert server.stats.total > sent


def test_a_killed_run_loses_only_the_requests_in_flight(tmp_path: Path) -> None:
    """Answers that came back before a kill -9 are not paid for again on resume.

    The kill lands mid-batch (batches commit every 64 attempts), so without the
    journal the answers since the last commit would be asked for again.
    """
    concurrency, per_tool = 4, 24
    options = ("--concurrency", str(concurrency))
    with run_server(ServerBehaviour(api_key=SECRET), responder=PlanResponder()) as server:
        straight_db, killed_db = tmp_path / "straight.duckdb", tmp_path / "killed.duckdb"
        assert generate(server, straight_db, *options, per_tool=per_tool).returncode == 0
        straight_requests = server.stats.total
        server.reset()

        command = [*CLI, *generate_args(server, killed_db, per_tool)]
        environ = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        process = subprocess.Popen(
            [*command, *options],
            env={**environ, "OPENAI_API_KEY": SECRET},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while server.stats.outcomes["ok"] < 100 and time.monotonic() < deadline:
            time.sleep(0.001)
        assert process.poll() is None, "generate finished before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        journals = list(tmp_path.glob("killed.duckdb.journal-*"))
        assert journals, "the kill left no journal to replay"
        for journal in journals:  # answers kept on disk, never the key that paid for them
            assert SECRET.encode() not in journal.read_bytes(), journal
            assert SECRET[:12].encode() not in journal.read_bytes(), journal

        resumed = generate(server, killed_db, *options, per_tool=per_tool)
        assert resumed.returncode == 0, resumed.stderr
        killed_and_resumed_requests = server.stats.total

    assert killed_and_resumed_requests <= straight_requests + concurrency
    assert not list(tmp_path.glob("*.journal-*"))
    with (
        duckdb.connect(str(straight_db), read_only=True) as straight,
        duckdb.connect(str(killed_db), read_only=True) as killed,
    ):
        query = "SELECT example_id, scenario FROM examples ORDER BY 1"
        assert killed.execute(query).fetchall() == straight.execute(query).fetchall()
        made = killed.execute("SELECT DISTINCT category FROM examples").fetchall()
    assert {row[0] for row in made} == set(CATEGORIES)  # the default mix: every category


def test_azure_openai_deployments_get_the_api_version_and_the_key_header(
    server: LocalServer, tmp_path: Path
) -> None:
    root = server.base_url.removesuffix("/v1")
    db = tmp_path / "azure.duckdb"
    result = run_cli(
        *generate_args(server, db)[:-2],  # the same command with an Azure deployment's URL
        "--base-url",
        f"{root}/openai/deployments/teacher-model",
        "--api-version",
        "2024-10-21",
        env={"OPENAI_API_KEY": SECRET},
    )
    assert result.returncode == 0, result.stderr
    assert every_cell_full(stats(db))
    assert server.stats.api_versions == {"2024-10-21": server.stats.outcomes["ok"]}
    assert SECRET not in result.stdout + result.stderr


def test_the_key_appears_nowhere(server: LocalServer, tmp_path: Path) -> None:
    db, out = tmp_path / "secret.duckdb", tmp_path / "data"
    result = generate(server, db)
    assert result.returncode == 0, result.stderr
    statistics = run_cli("stats", "--db", db)
    exported = run_cli("export", "--db", db, "--out", out)
    texts = [result.stdout, result.stderr, statistics.stdout, exported.stdout, exported.stderr]
    assert not any(SECRET in text for text in texts)
    for path in [db, *tmp_path.glob("secret.duckdb*"), *out.iterdir()]:
        assert SECRET.encode() not in path.read_bytes(), path
        assert SECRET[:12].encode() not in path.read_bytes(), path


def test_a_wrong_key_is_one_clear_error_before_any_work(
    server: LocalServer, tmp_path: Path
) -> None:
    db = tmp_path / "wrong.duckdb"
    wrong = "sk-wrong-key-0123456789abcdef"
    result = generate(server, db, env={"OPENAI_API_KEY": wrong})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "rejected the API key (HTTP 401)" in lines[0], result.stderr
    assert wrong not in result.stderr and wrong[:8] not in result.stderr
    assert server.stats.total == 0  # no chat completion was sent
    assert list(tmp_path.iterdir()) == []  # and no store was made for it


def test_a_broken_prompt_template_is_one_clear_error_before_any_request(
    server: LocalServer, tmp_path: Path
) -> None:
    override = tmp_path / "templates" / "prompts"
    override.mkdir(parents=True)
    (override / "multi_step.j2").write_text("{% if plan %}\nnever closed\n")
    result = generate(server, tmp_path / "t.duckdb", "--templates", override.parent)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: prompt template: "), result.stderr
    assert "multi_step.j2:2" in lines[0]
    assert server.stats.total == 0


def test_no_key_for_openai_is_an_error_without_network(tmp_path: Path) -> None:
    result = run_cli(
        "generate",
        "--tools",
        EXAMPLE_TOOLS,
        "--teacher",
        "openai",
        "--model",
        "gpt-4o-mini",
        "--db",
        tmp_path / "x.duckdb",
        env={"OPENAI_API_KEY": None},
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: no API key for api.openai.com: set OPENAI_API_KEY "
        "(or api_key_env in callforge.toml)"
    )


def test_an_endpoint_refusing_everything_stops_cleanly_and_keeps_the_store(
    tmp_path: Path,
) -> None:
    db = tmp_path / "refused.duckdb"
    config = tmp_path / "callforge.toml"
    config.write_text(
        '[teacher]\nname = "openai"\nmodel = "m"\napi_key_env = "MY_KEY"\ngive_up_after = 1.5\n'
    )
    with run_server(ServerBehaviour(api_key=SECRET), responder=PlanResponder()) as server:
        first = generate(server, db, "--config", config, env={"MY_KEY": SECRET})
        assert first.returncode == 0, first.stderr
        kept = stats(db)["accepted_total"]
        server.configure(api_key=SECRET, refuse_all=True)
        refused = run_cli(
            "generate",
            "--tools",
            EXAMPLE_TOOLS,
            "--per-tool",
            PER_TOOL * 2,
            "--db",
            db,
            "--base-url",
            server.base_url,
            "--config",
            config,
            env={"MY_KEY": SECRET},
        )
    assert refused.returncode == 1, refused.stderr
    message = refused.stderr.strip().splitlines()[-1]
    assert message.startswith("error: ") and "answered nothing but failures" in message
    assert "HTTP 429" in message and SECRET not in refused.stderr
    assert stats(db)["accepted_total"] == kept
    assert stats(db)["runs"][-1]["status"] == "interrupted"


def plan_for(category: str, seed: int) -> tuple[ToolSet, ScenarioPlan]:
    """A plan for the first example tool that has ``category``, as the pipeline would make it."""
    tools = load_tools(EXAMPLE_TOOLS)
    faker = Faker()
    faker.seed_instance(seed)
    context = PlanContext(
        rng=random.Random(seed), faker=faker, attempt=0, seed=seed, optional_rate=0.5, style=STYLE
    )
    kind = get_category(category)
    tool = next(tool for tool in tools if kind.unavailable_for(tool, tools) is None)
    return tools, kind.plan(tool, tools, context)


def write_once(server: LocalServer, plan: ScenarioPlan, tools: ToolSet, **options: Any) -> Any:
    """One draft from a started teacher, closed afterwards."""
    request = TeacherRequest(plan, tuple(tools[name] for name in plan.tools_used()))

    async def write() -> Any:
        teacher = OpenAITeacher(model="m", base_url=server.base_url, api_key=SECRET, **options)
        await teacher.start()
        try:
            return await teacher.write(request)
        finally:
            await teacher.aclose()

    return asyncio.run(write())


@pytest.mark.parametrize("mode", ["tools", "json", "json_schema", "md_json"])
def test_every_instructor_mode_writes_a_valid_draft(server: LocalServer, mode: str) -> None:
    tools, plan = plan_for("multi_step", seed=1)
    reply = write_once(server, plan, tools, mode=mode)
    assert validate_scenario(Scenario(plan=plan, draft=reply.draft), tools) is None
    assert reply.usage.requests == 1 and reply.usage.prompt_tokens > 0
    sent = server.requests[-1]
    assert ("tools" in sent) == (mode == "tools")
    assert ("response_format" in sent) == (mode in ("json", "json_schema"))


def test_a_draft_that_misses_the_plan_is_re_asked_with_the_reason(server: LocalServer) -> None:
    """instructor's re-ask carries the validator's reason back to the model."""
    tools, plan = plan_for("single", seed=2)
    responder = PlanResponder()
    answers = iter(["vague", "good"])

    def forgetful_then_good(request: Any) -> Any:
        draft = responder(request)
        if next(answers) == "vague":
            draft["user_request"] = "Please do the usual."
        return draft

    server.state.responder = forgetful_then_good
    reply = write_once(server, plan, tools)
    assert reply.usage.requests == 2
    reask = json.dumps(server.requests[-1]["messages"])
    assert "grounding" in reask and "not stated" in reask


def test_a_draft_that_never_fits_is_a_failure_with_the_validators_reason(
    server: LocalServer,
) -> None:
    tools, plan = plan_for("single", seed=2)
    responder = PlanResponder()

    def always_vague(request: Any) -> Any:
        return {**responder(request), "user_request": "Please do the usual."}

    server.state.responder = always_vague
    with pytest.raises(TeacherFailure) as failure:
        write_once(server, plan, tools, validation_retries=1)
    assert failure.value.usage.requests == 2 == server.stats.total
    assert failure.value.reason.startswith("output did not fit after 2 tries: grounding:")
    assert "not stated" in failure.value.reason


def test_a_chain_is_told_by_field_and_a_draft_without_the_value_there_is_rejected(
    server: LocalServer,
) -> None:
    """The prompt says which field of which result carries which value to which call; a
    model that writes the chained value somewhere else in the result is rejected for it."""
    tools, plan = plan_for("multi_step", seed=1)
    [link] = plan.chains
    source, target = (step.call.name for step in plan.steps)
    assert (source, target, link.path) == ("get_customer", "create_order", "customer_id")
    reply = write_once(server, plan, tools)
    assert validate_scenario(Scenario(plan=plan, draft=reply.draft), tools) is None
    prompt = server.requests[-1]["messages"][-1]["content"]
    assert f'\n2. create_order({{"customer_id": {json.dumps(link.value)}' in prompt  # a line each
    assert (
        f"the result of call 1 (get_customer) holds {json.dumps(link.value)} at "
        '`customer_id`; call 2 (create_order) reads it there and passes it as "customer_id"'
    ) in prompt

    responder = PlanResponder()

    def elsewhere(request: Any) -> Any:
        """The value only under another key: grounded, but not where the plan said."""
        draft = responder(request)
        result = draft["tool_results"][0]
        result["previous_customer_id"], result["customer_id"] = link.value, "CUS-00001"
        return draft

    server.state.responder = elsewhere
    with pytest.raises(TeacherFailure) as failure:
        write_once(server, plan, tools, validation_retries=1)
    assert failure.value.reason == (
        "output did not fit after 2 tries: category: the result of call 1 (get_customer) "
        f"holds 'CUS-00001' at 'customer_id', not the {link.value!r} that call 2 passes "
        "as 'customer_id'"
    )


def test_the_users_graph_is_the_one_the_teacher_checks_against(server: LocalServer) -> None:
    """An edge only the user's edited graph has (a customer's name as the passenger) is
    accepted inside the teacher's re-ask validation too, and refused without that graph."""
    from callforge.generator.dataflow import parse_graph, with_graph

    tools = load_tools(EXAMPLE_TOOLS)
    edge = {"from": "get_customer", "field": "name", "to": "book_flight"}
    graph = parse_graph({"edges": [{**edge, "parameter": "passenger_name"}]}, tools)
    edited = with_graph(tools, graph)
    faker = Faker()
    faker.seed_instance(4)
    context = PlanContext(random.Random(4), faker, attempt=0, seed=4, style=STYLE)
    plan = get_category("multi_step").plan(edited["book_flight"], edited, context)
    assert [(s.call.name, k.path) for s, k in zip(plan.steps, plan.chains, strict=False)] == [
        ("get_customer", "name")
    ]
    used = tuple(tools[name] for name in plan.tools_used())

    async def write(dataflow: Any) -> Any:
        teacher = OpenAITeacher(
            model="m", base_url=server.base_url, api_key=SECRET, validation_retries=0
        )
        await teacher.start()
        try:
            return await teacher.write(TeacherRequest(plan, used, dataflow=dataflow))
        finally:
            await teacher.aclose()

    reply = asyncio.run(write(graph))
    assert reply.validated
    assert validate_scenario(Scenario(plan=plan, draft=reply.draft), edited) is None
    with pytest.raises(TeacherFailure, match="is not an edge of the data-flow graph"):
        asyncio.run(write(None))


def test_the_teacher_proposes_links_once_and_only_sound_ones_are_followed(
    server: LocalServer, tmp_path: Path
) -> None:
    """--propose-links: one request per tool set (cached), its sound proposals chained."""
    from callforge.generator.pipeline import GenerateConfig
    from callforge.generator.pipeline import generate as generate_examples
    from callforge.store import Store

    proposals = [
        # sound, and not inferred: the customer's name as the passenger's
        ("get_customer", "name", "book_flight", "passenger_name"),
        ("get_customer", "name", "nope", "x"),  # unknown tool
        ("get_customer", "email", "send_email", "to"),  # the lookup's own argument
        ("search_flights", "flights[].flight_id", "book_flight", "subject"),  # no such parameter
    ]
    responder = PlanResponder()

    def answer(request: Any) -> Any:
        prompt = "\n".join(message_text(m) for m in request.messages)
        if "List the data flows" not in prompt:
            return responder(request)
        keys = ("from_tool", "field", "to_tool", "parameter")
        return {"links": [{**dict(zip(keys, p, strict=True)), "reason": "r"} for p in proposals]}

    server.state.responder = answer
    tools = load_tools(EXAMPLE_TOOLS)
    config = GenerateConfig(per_tool=6, mix={"multi_step": 1.0}, seed=2, propose_links=True)
    for _run in range(2):
        with Store(tmp_path / "s.duckdb") as store:
            teacher = OpenAITeacher(
                model="m", base_url=server.base_url, api_key=SECRET, cache=store.response_cache()
            )
            asyncio.run(generate_examples(store, tools, teacher, config))
            examples = store.examples()
    asked = [r for r in server.requests if "List the data flows" in json.dumps(r["messages"])]
    assert len(asked) == 1
    links = {
        (e.scenario["plan"]["steps"][k["from_step"]]["call"]["name"], k["path"], k["argument"])
        for e in examples
        for k in e.scenario["plan"]["chains"]
    }
    assert ("get_customer", "name", "passenger_name") in links
    assert not any(argument in ("to", "subject") for _, _, argument in links)


def test_a_reply_that_is_no_chat_completion_is_a_failure_that_counts_its_request(
    server: LocalServer,
) -> None:
    tools, plan = plan_for("single", seed=2)
    server.configure(api_key=SECRET, rate_not_completion=1.0)
    with pytest.raises(TeacherFailure) as failure:
        write_once(server, plan, tools)
    assert failure.value.reason == "the endpoint's reply is not a chat completion"
    assert failure.value.usage.requests == 1 == server.stats.outcomes["not_completion"]


def test_the_prompt_shows_seeded_values_verbatim() -> None:
    """Not Jinja's HTML-safe ``tojson``: a model shown O\\u0027Brien may write it so."""
    tools, plan = plan_for("single", seed=4)
    call = plan.steps[0].call
    name = next(iter(call.arguments))
    call.arguments[name] = "O'Brien & <Sons>"
    prompt = PromptBuilder().user_prompt(plan, tuple(tools[n] for n in plan.tools_used()))
    assert '"O\'Brien & <Sons>"' in prompt
    assert "\\u0027" not in prompt and "\\u0026" not in prompt


def test_the_prompt_states_the_examples_today() -> None:
    tools, plan = plan_for("single", seed=4)
    assert plan.today == PlanContext(random.Random(4), Faker(), attempt=0, seed=4).today.isoformat()
    prompt = PromptBuilder().user_prompt(plan, tuple(tools[n] for n in plan.tools_used()))
    weekday = date.fromisoformat(plan.today).strftime("%A")
    assert f"Today is {plan.today} ({weekday})" in prompt


def test_start_rejects_missing_model() -> None:
    teacher = OpenAITeacher(base_url="http://127.0.0.1:9/v1", api_key="x")
    with pytest.raises(TeacherConfigError, match="needs --model"):
        asyncio.run(teacher.start())


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_limiter_halves_once_per_round_trip_and_grows_back() -> None:
    clock = FakeClock()
    limiter = AdaptiveLimiter(32, clock=clock)
    limiter.on_success(0.3)
    for _ in range(8):
        limiter.on_overload()  # one burst of 429s: counted once
    assert limiter.limit == 16
    clock.now += 0.5
    for _ in range(8):
        limiter.on_overload()
    assert limiter.limit == 8
    successes = 0
    while limiter.limit < 32:
        limiter.on_success(0.3)
        successes += 1
    # +1/limit per success is about +1 per round trip: from 8 to 32 takes ~(32²-8²)/2.
    assert 400 <= successes <= 560
    limiter.on_success(0.3)
    assert limiter.limit == 32  # additive increase back to the maximum, never above
    for _ in range(20):
        clock.now += 1
        for _ in range(8):
            limiter.on_overload()
    assert limiter.limit == 1  # never below one request in flight


def test_limiter_ignores_a_stray_429_among_successes() -> None:
    """10% of 429s from a busy replica must not halve throughput; a real limit does."""
    clock = FakeClock()
    limiter = AdaptiveLimiter(32, clock=clock)
    for round_trip in range(20):
        for request in range(32):
            clock.now += 0.3 / 32
            if request % 10 == 0:
                limiter.on_overload()
            else:
                limiter.on_success(0.3)
        assert limiter.limit == 32, round_trip
    for _ in range(16):  # then the endpoint starts refusing half of the requests
        clock.now += 0.3 / 32
        limiter.on_overload()
        limiter.on_success(0.3)
    assert limiter.decreases == 1 and limiter.limit < 20  # halved once, growing back


def test_limiter_never_exceeds_its_limit_and_staggers_starts() -> None:
    """Four slots, starts 10 ms apart. Measured on the loop's own clock, and robust to a
    loaded machine: a timer may fire late (so two late starts can land together), never
    early, so the k-th start is at least k staggers after the first, and each start
    waited at least until its turn came."""
    stagger = 0.01

    async def scenario() -> tuple[list[int], list[float]]:
        limiter = AdaptiveLimiter(4, stagger_s=stagger, clock=asyncio.get_running_loop().time)
        in_flight, starts = [], []
        loop = asyncio.get_running_loop()

        async def request() -> None:
            await limiter.acquire()
            starts.append(loop.time())
            in_flight.append(limiter.in_flight)
            await asyncio.sleep(0.02)
            limiter.release()

        await asyncio.gather(*(request() for _ in range(12)))
        return in_flight, starts

    in_flight, starts = asyncio.run(scenario())
    assert max(in_flight) == 4  # never above the limit, and all four slots used
    assert len(starts) == 12 and starts == sorted(starts)
    resolution = 0.001  # asyncio may fire a timer up to its clock's resolution early
    for k, start in enumerate(starts):
        assert start - starts[0] >= k * stagger - resolution, (k, start - starts[0])


def test_release_says_whether_a_waiting_request_was_handed_the_slot() -> None:
    """The teacher yields to the request it handed its slot to, before parsing its own
    reply: release must tell it when there is one."""

    async def scenario() -> tuple[bool, bool, list[str]]:
        limiter = AdaptiveLimiter(1, stagger_s=0.0)
        order: list[str] = []

        async def waiting() -> None:
            await limiter.acquire()
            order.append("waiting request started")
            limiter.release()

        await limiter.acquire()
        task = asyncio.create_task(waiting())
        await asyncio.sleep(0)  # it queues for the one slot
        handed_over = limiter.release()
        await asyncio.sleep(0)
        order.append("first reply parsed")
        await task
        await limiter.acquire()  # alone now: its release hands nothing over
        return handed_over, limiter.release(), order

    handed_over, nobody_waiting, order = asyncio.run(scenario())
    assert handed_over and not nobody_waiting
    assert order == ["waiting request started", "first reply parsed"]


# ---------------------------------------------------------------------------
# Free text: the teacher writes the arguments the plan marks, under their schema.

TICKET_TOOL = {
    "type": "function",
    "function": {
        "name": "create_ticket",
        "description": "Open a support ticket.",
        "parameters": {
            "type": "object",
            "properties": {
                "title": {"type": "string", "maxLength": 60, "pattern": "^[A-Z][^!]*$"},
                "customer_email": {"type": "string", "format": "email"},
            },
            "required": ["title", "customer_email"],
        },
    },
}


def free_text_plan(tools: ToolSet, tool: str, seed: int = 5) -> ScenarioPlan:
    faker = Faker()
    faker.seed_instance(seed)
    context = PlanContext(random.Random(seed), faker, attempt=0, seed=seed, style=STYLE)
    return get_category("single").make_plan(tools[tool], tools, context)


def rewriting(argument: str, new: str) -> Any:
    """A model that writes ``new`` for ``argument``, states it in the request and its results."""
    responder = PlanResponder()

    def answer(request: Any) -> Any:
        draft = responder(request)
        old = draft["free_text"][0][argument]
        draft["free_text"][0][argument] = new
        draft["user_request"] = draft["user_request"].replace(old, new)
        # and the results it writes echo what was really sent
        results = json.dumps(draft["tool_results"]).replace(json.dumps(old)[1:-1], new)
        draft["tool_results"] = json.loads(results)
        return draft

    return answer


def test_the_plan_marks_free_text_and_the_prompt_asks_for_it() -> None:
    tools = load_tools(EXAMPLE_TOOLS)
    plan = free_text_plan(tools, "send_email")
    assert plan.steps[0].free_text == {"subject": "subject", "body": "body"}
    prompt = PromptBuilder().user_prompt(plan, (tools["send_email"],))
    assert (
        '- call 1 send_email: "subject" (subject), schema {"type": "string", "maxLength": 80}'
        in (prompt)
    )


def test_a_teacher_written_subject_becomes_the_calls_argument(server: LocalServer) -> None:
    tools = load_tools(EXAMPLE_TOOLS)
    plan = free_text_plan(tools, "send_email")
    seeded = dict(plan.steps[0].call.arguments)
    server.state.responder = rewriting("subject", "Team lunch moved to Thursday")
    reply = write_once(server, plan, tools)
    assert reply.usage.requests == 1 and reply.plan is not None
    final = reply.plan.steps[0].call.arguments
    assert final == {**seeded, "subject": "Team lunch moved to Thursday"}
    assert plan.steps[0].call.arguments == seeded  # the request's plan is left as it was
    assert validate_scenario(Scenario(plan=reply.plan, draft=reply.draft), tools) is None


@pytest.mark.parametrize(
    ("tool", "argument", "bad", "reason"),
    [
        ("send_email", "subject", "Re: " + "very " * 20 + "long subject", "is too long"),
        ("create_ticket", "title", "urgent!!! nothing works", "does not match"),
    ],
)
def test_free_text_that_breaks_its_schema_is_re_asked_with_the_reason(
    server: LocalServer, tool: str, argument: str, bad: str, reason: str
) -> None:
    tools = load_tools(EXAMPLE_TOOLS)
    tools = ToolSet((*tools, *parse_tools([TICKET_TOOL])))
    plan = free_text_plan(tools, tool)
    assert argument in plan.steps[0].free_text
    answers = iter([rewriting(argument, bad), PlanResponder()])
    server.state.responder = lambda request: next(answers)(request)
    reply = write_once(server, plan, tools)
    assert reply.usage.requests == 2
    reask = json.dumps(server.requests[-1]["messages"])
    assert "free_text: call 1" in reask and reason in reask and "breaks the tool's schema" in reask
    assert reply.plan is not None and reply.plan.steps[0].call.arguments[argument] != bad


def test_a_teacher_that_never_writes_the_free_text_fails_with_the_reason(
    server: LocalServer,
) -> None:
    tools = load_tools(EXAMPLE_TOOLS)
    plan = free_text_plan(tools, "send_email")
    responder = PlanResponder()
    server.state.responder = lambda request: {**responder(request), "free_text": []}
    with pytest.raises(TeacherFailure) as failure:
        write_once(server, plan, tools, validation_retries=1)
    assert "free_text: call 1 (send_email): write 'subject' as a non-empty string" in (
        failure.value.reason
    )


def test_the_stored_scenario_holds_the_teachers_free_text(
    server: LocalServer, tmp_path: Path
) -> None:
    responder = PlanResponder()

    def signed(request: Any) -> Any:
        draft = responder(request)
        for index, written in enumerate(draft["free_text"]):
            for name, value in written.items():
                new = f"{value[:60]} (teacher)"
                draft["free_text"][index][name] = new
                draft["user_request"] = draft["user_request"].replace(value, new)
                results = json.dumps(draft["tool_results"]).replace(json.dumps(value)[1:-1], new)
                draft["tool_results"] = json.loads(results)  # what was really sent
        return draft

    server.state.responder = signed
    db = tmp_path / "free.duckdb"
    assert generate(server, db, per_tool=2).returncode == 0
    rows = (
        duckdb.connect(str(db), read_only=True)
        .execute(
            "SELECT scenario FROM examples WHERE tool_name = 'send_email' AND category = 'single'"
        )
        .fetchall()
    )
    assert rows
    for (scenario,) in rows:
        arguments = json.loads(scenario)["plan"]["steps"][0]["call"]["arguments"]
        assert arguments["subject"].endswith("(teacher)") and arguments["body"].endswith(
            "(teacher)"
        )

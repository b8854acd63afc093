"""``callforge generate --execute`` as a user runs it: real tools, real tool messages.

Each expected tool message is computed without the executor: the Python function
called directly, the MCP server's and the API's own formulas. Examples are read back
from the DuckDB file the run wrote.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pydantic import ValidationError, validate_call

from callforge.generator.execution.outcome import json_result
from callforge.generator.importers.python import tool_module
from callforge.generator.pipeline import cell_targets
from callforge.generator.tools import parse_tools
from callforge.store import Store
from tests.conftest import run_cli
from tests.data.execution.weather_mcp import temperature_of
from tests.openai_server import ServerBehaviour, message_text, run_server
from tests.orders_api import DOCUMENT, TOKEN, order_record, serve_orders_api
from tests.plan_responder import PlanResponder
from tests.test_execution import direct_json, weather_over_http

DATA = Path(__file__).parent / "data" / "execution"
SHOP = str(DATA / "shop_tools.py")


def examples(db: Path) -> list[dict[str, Any]]:
    with Store(db, must_exist=True) as store:
        return [example.scenario for example in store.examples()]


def rejections(db: Path) -> list[tuple[str, str, str]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT tool_name, stage, reason FROM rejections").fetchall()


def exported_tool_messages(db: Path, out: Path) -> dict[str, str]:
    """Every exported tool message's content, by its call id (train and eval alike)."""
    result = run_cli("export", "--db", db, "--out", out, "--seed", "1")
    assert result.returncode == 0, result.stderr
    return {
        message["tool_call_id"]: message["content"]
        for path in (out / "train.jsonl", out / "eval.jsonl")
        for line in path.read_text().splitlines()
        for message in json.loads(line)["messages"]
        if message["role"] == "tool"
    }


def reports_a_returned_value(
    answer: str, arguments: dict[str, Any], result: dict[str, Any]
) -> bool:
    """Whether ``answer`` states a value the call really returned and its arguments did not
    (a quote's amount or date, an order's items or status)."""
    stated = set(map(str, arguments.values()))
    said = {str(v) for v in result.values() if isinstance(v, int | float | str)} - stated
    if result.get("valid_until") == "2026-04-01":
        said.add("April 1, 2026")
    return any(value in answer for value in said)


def steps_with_results(scenario: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return list(zip(scenario["plan"]["steps"], scenario["draft"]["tool_results"], strict=True))


def test_python_tools_messages_are_what_the_functions_return(tmp_path: Path) -> None:
    db = tmp_path / "run.duckdb"
    log = tmp_path / "calls.log"
    tools = ["--tools", SHOP, "--include", "quote_price", "--include", "count_words"]
    args = ["generate", *tools, "--execute", "--per-tool", "6", "--seed", "3", "--db", db]
    first = run_cli(*args, cwd=tmp_path, env={"SHOP_CALL_LOG": str(log)})
    assert first.returncode == 0, first.stderr
    module = tool_module(SHOP, SHOP)
    made = examples(db)
    assert len(made) == 12
    checked = answered = 0
    for scenario in made:
        for step, result in steps_with_results(scenario):
            call = step["call"]
            try:
                expected = direct_json(getattr(module, call["name"])(**call["arguments"]))
            except TypeError:  # a mistaken argument name: the call fails for real
                assert step["failure"] is not None
                assert set(result) == {"error"}
                assert result["error"].startswith("invalid arguments:")
                continue
            if not isinstance(expected, dict):
                expected = {"result": expected}
            assert result == expected
            checked += 1
        if scenario["plan"]["category"] == "single" and scenario["plan"]["tool"] == "quote_price":
            # The offline teacher answers from the real result it was given too.
            answer = scenario["draft"]["final_answer"]
            assert reports_a_returned_value(answer, call["arguments"], result), answer
            answered += 1
    assert answered >= 1
    assert checked >= 12
    calls = log.read_text().splitlines()

    # The same command again: everything is in the store, no tool is called twice.
    again = run_cli(*args, cwd=tmp_path, env={"SHOP_CALL_LOG": str(log)})
    assert again.returncode == 0, again.stderr
    assert log.read_text().splitlines() == calls
    # --refresh-tools calls them again (a bigger target, so the run has work to do).
    more = ["generate", *tools, "--execute", "--per-tool", "7", "--seed", "3", "--db", db]
    more.append("--refresh-tools")
    refreshed = run_cli(*more, cwd=tmp_path, env={"SHOP_CALL_LOG": str(log)})
    assert refreshed.returncode == 0, refreshed.stderr
    assert len(log.read_text().splitlines()) > len(calls)


def test_a_tool_that_always_fails_is_rejected_at_execution_with_its_message(
    tmp_path: Path,
) -> None:
    db = tmp_path / "run.duckdb"
    result = run_cli(
        "generate",
        "--tools",
        f"{SHOP}:reject_customer",
        "--execute",
        "--per-tool",
        "3",
        "--mix",
        "single=1",
        "--db",
        db,
        cwd=tmp_path,
    )
    # A run that cannot succeed ends as every such run does: exit 1, the reason on stderr.
    assert result.returncode == 1, result.stderr
    stderr = " ".join(result.stderr.split())
    assert "x): execution: reject_customer failed where the plan expected success: " in stderr
    assert examples(db) == []
    found = rejections(db)
    # The cell's attempt budget (4 per missing example, plus 10) ends the run.
    assert len(found) == 3 * 4 + 10
    for tool, stage, reason in found:
        assert (tool, stage) == ("reject_customer", "execution")
        assert reason.startswith("reject_customer failed where the plan expected success: ")
        assert reason.endswith(" is suspended")


def test_side_effecting_tools_need_allowing_and_a_dry_run_calls_nothing(tmp_path: Path) -> None:
    db = tmp_path / "run.duckdb"
    base = ["generate", "--tools", SHOP, "--execute", "--per-tool", "1", "--db", db]
    refused = run_cli(*base, "--side-effects", "count_words", cwd=tmp_path)
    assert refused.returncode == 2
    assert "count_words" in refused.stderr and "--allow-side-effects" in refused.stderr
    assert not db.exists()
    log = tmp_path / "calls.log"
    dry = run_cli(
        *base,
        "--include",
        "count_words",
        "--dry-run",
        cwd=tmp_path,
        env={"SHOP_CALL_LOG": str(log)},
    )
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert lines and all(line.startswith("count_words {") for line in lines)
    assert not log.exists() and not db.exists()
    unasked = run_cli("generate", "--tools", SHOP, "--dry-run", "--db", db, cwd=tmp_path)
    assert unasked.returncode == 2 and "--dry-run needs --execute" in unasked.stderr


def test_an_mcp_server_started_over_stdio_gives_the_tool_messages(tmp_path: Path) -> None:
    db = tmp_path / "run.duckdb"
    command = f"{sys.executable} {DATA / 'weather_mcp.py'}"
    result = run_cli(
        "generate",
        "--execute",
        "--mcp-command",
        command,
        "--include",
        "get_temperature",
        "--per-tool",
        "4",
        "--mix",
        "single=1",
        "--db",
        db,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    made = examples(db)
    assert made
    for scenario in made:
        for step, message in steps_with_results(scenario):
            city = step["call"]["arguments"]["city"]
            if step["call"]["name"] == "get_temperature":
                assert message == {"city": city, "celsius": temperature_of(city)}
            else:
                assert message == {"result": f"{city} station is online"}


def test_an_mcp_server_at_a_url_gives_the_tool_messages(tmp_path: Path) -> None:
    db = tmp_path / "run.duckdb"
    with weather_over_http() as url:
        result = run_cli(
            *("generate", "--execute", "--mcp-url", url, "--include", "get_temperature"),
            *("--per-tool", "3", "--mix", "single=1", "--seed", "2", "--db", db),
            cwd=tmp_path,
        )
    assert result.returncode == 0, result.stderr
    made = examples(db)
    assert len(made) == 3
    exported = exported_tool_messages(db, tmp_path / "out")
    for scenario in made:
        for step, message in steps_with_results(scenario):
            city = step["call"]["arguments"]["city"]
            expected = {"celsius": temperature_of(city), "city": city}
            assert message == expected
            assert exported[step["call"]["id"]] == json.dumps(expected, ensure_ascii=False)


def test_an_openapi_document_is_called_at_the_base_url(tmp_path: Path) -> None:
    db = tmp_path / "run.duckdb"
    document = tmp_path / "orders.json"
    document.write_text(json.dumps(DOCUMENT))
    with serve_orders_api() as (base_url, api):
        args = ["generate", "--tools", document, "--execute", "--base-url-for-tools", base_url]
        args += ["--per-tool", "3", "--mix", "single=1", "--db", db]
        refused = run_cli(*args, cwd=tmp_path, env={"CALLFORGE_TOOLS_TOKEN": TOKEN})
        assert refused.returncode == 2 and "create_order" in refused.stderr
        result = run_cli(
            *args, "--allow-side-effects", cwd=tmp_path, env={"CALLFORGE_TOOLS_TOKEN": TOKEN}
        )
    assert result.returncode == 0, result.stderr
    made = examples(db)
    assert {s["plan"]["tool"] for s in made} == {"get_order", "create_order"}
    for scenario in made:
        for step, message in steps_with_results(scenario):
            arguments = step["call"]["arguments"]
            if step["call"]["name"] == "get_order":
                assert message == order_record(arguments["order_id"])
            else:
                assert message == {"order_id": "A-300", **arguments, "status": "pending"}
    # Every request carried the token from the environment; the store never holds it.
    assert api.requests and all(
        r["headers"]["authorization"] == f"Bearer {TOKEN}" for r in api.requests
    )
    assert TOKEN.encode() not in db.read_bytes()


def test_a_chained_argument_takes_the_value_the_earlier_call_really_returned(
    tmp_path: Path,
) -> None:
    db = tmp_path / "run.duckdb"
    result = run_cli(
        "generate",
        "--tools",
        SHOP,
        "--include",
        "list_orders",
        "--include",
        "find_order",
        "--execute",
        "--per-tool",
        "3",
        "--mix",
        "multi_step=1",
        "--db",
        db,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    module = tool_module(SHOP, SHOP)
    made = examples(db)
    assert len(made) == 3
    for scenario in made:
        (first, listed), (second, found) = steps_with_results(scenario)
        real_list = direct_json(module.list_orders(**first["call"]["arguments"]))
        assert listed == {"result": real_list}
        (link,) = scenario["plan"]["chains"]
        index = int(link["path"].split(".")[1])
        assert second["call"]["arguments"]["order_id"] == real_list[index]["order_id"]
        assert found == direct_json(module.find_order(real_list[index]["order_id"]))


def test_the_llm_teacher_is_shown_the_real_results_and_answers_from_them(tmp_path: Path) -> None:
    secret = "sk-execute-test-1b2c3d"
    runs = [
        (["quote_price", "count_words"], "single=1"),
        (["list_orders", "find_order"], "multi_step=1"),
    ]
    log = tmp_path / "calls.log"
    with run_server(ServerBehaviour(api_key=secret), responder=PlanResponder()) as server:
        for number, (included, mix) in enumerate(runs):
            db = tmp_path / f"run{number}.duckdb"
            tools = ["--tools", SHOP, *(f"--include={name}" for name in included)]
            result = run_cli(
                *("generate", *tools, "--execute", "--per-tool", "2", "--mix", mix),
                *("--seed", "5", "--db", db, "--teacher", "openai", "--model", "m"),
                *("--base-url", server.base_url),
                cwd=tmp_path,
                env={"OPENAI_API_KEY": secret, "SHOP_CALL_LOG": str(log)},
            )
            assert result.returncode == 0, result.stderr
        prompts = [
            "\n".join(message_text(m) for m in body["messages"] if m["role"] == "user")
            for body in server.requests
        ]
    module = tool_module(SHOP, SHOP)
    made = examples(tmp_path / "run0.duckdb") + examples(tmp_path / "run1.duckdb")
    assert len(made) == 4 + 2
    # The executed calls are final: the teacher is asked to write no argument (a free-text
    # one would change the call after it ran), and each text was counted once, for real.
    assert not any("## Arguments you write" in prompt for prompt in prompts)
    assert rejections(tmp_path / "run0.duckdb") == []
    counted = [
        step["call"]["arguments"]["text"].replace("\n", " ")
        for scenario in made
        for step in scenario["plan"]["steps"]
        if step["call"]["name"] == "count_words"
    ]
    assert len(counted) == 2 and sorted(log.read_text().splitlines()) == sorted(counted)
    exported = {
        **exported_tool_messages(tmp_path / "run0.duckdb", tmp_path / "out0"),
        **exported_tool_messages(tmp_path / "run1.duckdb", tmp_path / "out1"),
    }
    for scenario in made:
        prompt = next(p for p in prompts if f'"seed":{scenario["plan"]["seed"]},' in p)
        answer = scenario["draft"]["final_answer"]
        for step, message in steps_with_results(scenario):
            call = step["call"]
            real = json_result(direct_json(getattr(module, call["name"])(**call["arguments"])))
            assert message == real
            # The model was shown the real result, fixed, and the export holds it byte for
            # byte (keys sorted, as the store keeps every JSON object).
            text = json.dumps(real, ensure_ascii=False, sort_keys=True)
            assert f"{call['name']}({json.dumps(call['arguments'], ensure_ascii=False)})" in prompt
            assert f"-- returned, for real: {text}" in prompt
            assert exported[call["id"]] == text
        # The answer is written from the real results (the seeded plan could not know them).
        assert reports_a_returned_value(answer, call["arguments"], message), (answer, message)


def test_error_recovery_under_execute_fails_only_the_way_the_real_tool_does(
    tmp_path: Path,
) -> None:
    db = tmp_path / "run.duckdb"
    tools = ["--tools", SHOP, "--include", "quote_price", "--include", "count_words"]
    args = [*tools, "--execute", "--mix", "error_recovery=1", "--per-tool", "8", "--seed", "3"]
    dry = run_cli("generate", *args, "--dry-run", "--db", db, cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "planned to fail" in dry.stdout
    assert "rate_limited" not in dry.stdout and "timeout" not in dry.stdout
    result = run_cli("generate", *args, "--db", db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # No attempt was lost to a failure the plan staged and a real tool never gives.
    assert not [r for r in rejections(db) if "staged" in r[2] or "refuse" in r[2]]
    module = tool_module(SHOP, SHOP)
    made = examples(db)
    assert len(made) == 16
    for scenario in made:
        (failed, error), (retry, answer) = steps_with_results(scenario)
        assert failed["failure"]["assistant_mistake"] is True
        # The tool's own refusal: calling the function with those arguments fails too.
        function = validate_call(getattr(module, failed["call"]["name"]))
        with pytest.raises((TypeError, ValidationError)):
            function(**failed["call"]["arguments"])
        assert set(error) == {"error"} and error["error"].startswith("invalid arguments: ")
        assert failed["failure"]["argument"] in error["error"]
        expected = direct_json(getattr(module, retry["call"]["name"])(**retry["call"]["arguments"]))
        assert answer == json_result(expected)


def test_a_tool_without_arguments_fails_for_real_on_an_argument_it_does_not_take(
    tmp_path: Path,
) -> None:
    db = tmp_path / "run.duckdb"
    tools = ["--tools", str(DATA / "worker_tools.py"), "--include", "service_status"]
    mix = ["--mix", "single=1,error_recovery=1", "--per-tool", "4", "--seed", "1"]
    result = run_cli("generate", *tools, *mix, "--execute", "--db", db, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert rejections(db) == []
    status = {"queued_jobs": 4, "status": "up", "version": "1.2.0"}
    recoveries = 0
    for scenario in examples(db):
        *failed, (retry, answer) = steps_with_results(scenario)
        assert retry["call"]["arguments"] == {} and answer == status
        for step, error in failed:  # an invented argument, refused by the function itself
            (invented,) = step["call"]["arguments"]
            assert error == {"error": f"invalid arguments: {invented}: Unexpected keyword argument"}
            recoveries += 1
    assert recoveries == 2


def test_a_tool_whose_arguments_accept_anything_gets_no_error_recovery_under_execute() -> None:
    tools = parse_tools(
        [{"name": "service_status", "parameters": {"type": "object", "properties": {}}}]
    )
    mix = {"single": 1.0, "error_recovery": 1.0}
    staged, _ = cell_targets(tools, 4, mix)
    assert staged == {("service_status", "single"): 2, ("service_status", "error_recovery"): 2}
    executed, skipped = cell_targets(tools, 4, mix, executing=True)
    assert executed == {("service_status", "single"): 4}
    assert skipped == {
        ("service_status", "error_recovery"): (
            "its arguments accept anything, and a real tool fails only by chance"
        )
    }

"""A hostile or failing endpoint: secrets kept, waits bounded, replies bounded, endings honest.

Everything runs the real CLI against ``tests/openai_server.py`` over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from callforge.generator.teachers.base import TeacherFailure
from callforge.generator.templating import EXAMPLE_TOOLS
from tests.conftest import CLI, run_cli
from tests.openai_server import LocalServer, ServerBehaviour, run_server
from tests.plan_responder import PlanResponder
from tests.test_llm_teacher import plan_for, write_once

SECRET = "sk-callforge-test-7f3a9c1e5b2d4068"
URL_PASSWORD = "hunter2-url-secret-93c1"


@pytest.fixture
def server() -> Any:
    with run_server(ServerBehaviour(api_key=SECRET), responder=PlanResponder()) as local:
        yield local


def _with_credentials(base_url: str) -> str:
    scheme, rest = base_url.split("://", 1)
    return f"{scheme}://admin:{URL_PASSWORD}@{rest}"


def _written_bytes(folder: Path) -> list[tuple[Path, bytes]]:
    return [(path, path.read_bytes()) for path in folder.rglob("*") if path.is_file()]


@pytest.mark.parametrize("where", ["flag", "flag-azure", "environment", "config"])
def test_credentials_in_a_base_url_are_refused_and_never_repeated(
    server: LocalServer, tmp_path: Path, where: str
) -> None:
    url = _with_credentials(server.base_url)
    db = tmp_path / "store.duckdb"
    args: list[Any] = ["generate", "--tools", EXAMPLE_TOOLS, "--per-tool", "2", "--db", db]
    args += ["--teacher", "openai", "--model", "m"]
    env: dict[str, str | None] = {"OPENAI_API_KEY": SECRET}
    if where.startswith("flag"):
        args += ["--base-url", url]
    if where == "flag-azure":
        args += ["--api-version", "2024-10-21"]
    if where == "environment":
        env["OPENAI_BASE_URL"] = url
    if where == "config":
        config = tmp_path / "callforge.toml"
        config.write_text(f'[teacher]\nbase_url = "{url}"\n')
        args += ["--config", config]
    result = run_cli(*args, env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "error: the base URL holds credentials (user:password@); remove them and give the "
        "key with OPENAI_API_KEY (or api_key_env in callforge.toml)\n"
    )
    assert not db.exists()
    assert server.stats.total == 0
    for text in (result.stdout, result.stderr):
        assert URL_PASSWORD not in text and SECRET not in text
    for path, content in _written_bytes(tmp_path):
        if path.name != "callforge.toml":
            assert URL_PASSWORD.encode() not in content, path


def _config(tmp_path: Path, **teacher: Any) -> Path:
    config = tmp_path / "callforge.toml"
    lines = ["[teacher]", 'name = "openai"', 'model = "m"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in teacher.items()]
    config.write_text("\n".join(lines) + "\n")
    return config


def _generate(server: LocalServer, db: Path, config: Path, per_tool: int = 2, *extra: str) -> Any:
    return run_cli(
        "generate", "--tools", EXAMPLE_TOOLS, "--per-tool", per_tool, "--seed", "3",
        "--db", db, "--base-url", server.base_url, "--config", config, *extra,
        env={"OPENAI_API_KEY": SECRET},
    )  # fmt: skip


def _stats(db: Path) -> dict[str, Any]:
    result = run_cli("stats", "--db", db, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("retry_after", ["inf", "1e9", "soon", "3600", "-5", "nan", None])
def test_retry_after_is_capped_and_never_outlives_the_give_up_time(
    tmp_path: Path, retry_after: str | None
) -> None:
    give_up = 2.0
    behaviour = ServerBehaviour(api_key=SECRET, refuse_all=True, retry_after=retry_after)
    with run_server(behaviour, responder=PlanResponder()) as server:
        started = time.monotonic()
        result = _generate(server, tmp_path / "s.duckdb", _config(tmp_path, give_up_after=give_up))
        elapsed = time.monotonic() - started
        requests = server.stats.total
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"error: {server.base_url} answered nothing but failures for "), line
    assert "(last: HTTP 429 rate limited)" in line
    assert requests > 0
    # the CLI's own start-up and the store's open are a few seconds on a busy machine
    assert elapsed < give_up + 12, elapsed


def test_429s_that_outlast_every_attempt_budget_end_non_zero_saying_why(tmp_path: Path) -> None:
    """Most requests answered 429 (Retry-After or not): drafts are rejected, cells stay short."""
    db = tmp_path / "short.duckdb"
    behaviour = ServerBehaviour(api_key=SECRET, rate_429=0.97, retry_after=None, seed=2)
    with run_server(behaviour, responder=PlanResponder()) as server:
        result = _generate(server, db, _config(tmp_path, max_attempts=1))
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    report = _stats(db)
    missing = report["target_total"] - report["accepted_total"]
    assert missing > 0
    assert last.startswith(f"error: the run ended {missing} examples short in "), last
    assert f"(accepted {report['accepted_total']})" in last
    assert "teacher: gave up after 1 attempt: HTTP 429 rate limited" in last
    assert report["runs"][-1]["status"] == "incomplete"


def test_drafts_that_never_fit_end_non_zero_saying_why(tmp_path: Path) -> None:
    responder = PlanResponder()

    def vague(request: Any) -> Any:
        return {**responder(request), "user_request": "Please do the usual."}

    db = tmp_path / "vague.duckdb"
    with run_server(ServerBehaviour(api_key=SECRET), responder=vague) as server:
        # --pilot 0: the attempt budgets end this run, not the pilot (tests/test_spend_guards.py)
        result = _generate(server, db, _config(tmp_path, validation_retries=0), 1, "--pilot", "0")
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the run ended 10 examples short in 10 cells"), last
    assert "(accepted 0); most common rejection (" in last
    assert "grounding: output did not fit after 1 tries: grounding:" in last
    assert _stats(db)["accepted_total"] == 0


def _filled_store(server: LocalServer, tmp_path: Path) -> tuple[Path, Path]:
    db, config = tmp_path / "cache.duckdb", _config(tmp_path)
    first = _generate(server, db, config)
    assert first.returncode == 0, first.stderr
    return db, config


def test_corrupt_journal_lines_cost_a_warning_not_the_store(
    server: LocalServer, tmp_path: Path
) -> None:
    db, config = _filled_store(server, tmp_path)
    with duckdb.connect(str(db)) as connection:
        key, teacher, response = connection.execute(
            "SELECT key, teacher, response FROM teacher_cache ORDER BY key LIMIT 1"
        ).fetchone()  # type: ignore[misc]
        connection.execute("DELETE FROM teacher_cache WHERE key = ?", [key])
        connection.execute("DELETE FROM examples")
    good = {"key": key, "teacher": teacher, "response": json.loads(response), "usage": [1, 2, 3]}
    bad = [
        {**good, "usage": ["many", 2, 3]},  # a wrong type in usage
        {**good, "usage": [1, 2]},
        {**good, "usage": [True, 2, 3]},
        {**good, "response": "not an object"},
        {**good, "key": 7},
        ["not", "a", "record"],
    ]
    segment = db.parent / f"{db.name}.journal-99999999-1"
    lines = [json.dumps(record) for record in [*bad, good]]
    segment.write_bytes("\n".join(lines).encode() + b"\n{cut short by a kil\n\xff\xfe\n")

    report = run_cli("stats", "--db", db, "--json")
    assert report.returncode == 0, report.stderr
    assert report.stderr == (
        f"warning: {db}: skipped 8 journal lines that did not parse or fit the response "
        "cache (1 stored)\n"
    )
    assert not segment.exists()
    sent = server.stats.total
    again = _generate(server, db, config)
    assert again.returncode == 0, again.stderr
    assert server.stats.total == sent  # the one good line answered its request
    for args in (["tools", "list"], ["export", "--out", tmp_path / "out"]):
        result = run_cli(*args, "--db", db)
        assert result.returncode == 0 and result.stderr == "", result.stderr


def test_a_cached_answer_that_no_longer_validates_is_a_miss_and_is_replaced(
    server: LocalServer, tmp_path: Path
) -> None:
    db, config = _filled_store(server, tmp_path)
    with duckdb.connect(str(db)) as connection:
        keys = connection.execute("SELECT count(*) FROM teacher_cache").fetchone()[0]  # type: ignore[index]
        connection.execute("UPDATE teacher_cache SET response = '{\"user_request\": 5}'")
        connection.execute("DELETE FROM examples")
        connection.execute("DELETE FROM rejections")
    sent = server.stats.total
    result = _generate(server, db, config)
    assert result.returncode == 0, result.stderr
    assert server.stats.total - sent >= keys  # every bad answer asked again
    with duckdb.connect(str(db), read_only=True) as connection:
        responses = [json.loads(r) for (r,) in connection.execute(
            "SELECT response FROM teacher_cache").fetchall()]  # fmt: skip
    assert all(isinstance(r.get("user_request"), str) for r in responses)
    # replaced: the next run with the examples gone sends nothing
    with duckdb.connect(str(db)) as connection:
        connection.execute("DELETE FROM examples")
    sent = server.stats.total
    assert _generate(server, db, config).returncode == 0
    assert server.stats.total == sent


@pytest.mark.parametrize(
    ("chunked", "how"), [(False, "5,243,"), (True, "over 4,194,304 bytes sent")]
)
def test_a_reply_above_the_size_limit_is_not_read_and_is_a_rejection(
    server: LocalServer, chunked: bool, how: str
) -> None:
    tools, plan = plan_for("single", seed=2)
    responder = PlanResponder()
    server.configure(api_key=SECRET, chunked_replies=chunked)
    server.state.responder = lambda request: {
        **responder(request),
        "final_answer": "x" * (5 * 2**20),
    }
    with pytest.raises(TeacherFailure) as failure:
        write_once(server, plan, tools)
    assert failure.value.reason.startswith(f"the reply is larger than 4,194,304 bytes ({how}")
    assert failure.value.reason.endswith("); not read further")
    assert failure.value.usage.requests == 1 == server.stats.total  # no retry, no re-ask


def test_a_huge_answer_that_does_not_fit_is_not_sent_back_in_a_re_ask(
    server: LocalServer,
) -> None:
    tools, plan = plan_for("single", seed=2)
    responder = PlanResponder()
    server.state.responder = lambda request: {
        **responder(request),
        "user_request": "Please do the usual.",  # misses the seeded values: a re-ask case
        "final_answer": "y" * 200_000,
    }
    with pytest.raises(TeacherFailure) as failure:
        write_once(server, plan, tools, validation_retries=2)
    assert server.stats.total == 1  # the 200 KB answer went nowhere
    assert failure.value.usage.requests == 1
    assert failure.value.reason.startswith("output did not fit (grounding: ")
    assert failure.value.reason.endswith("is too long to send back in a re-ask (limit 65,536)")
    sent = json.dumps(server.requests[-1])
    assert "y" * 1000 not in sent


def test_ctrl_c_stops_a_run_waiting_on_the_endpoint_at_once(tmp_path: Path) -> None:
    db = tmp_path / "interrupted.duckdb"
    behaviour = ServerBehaviour(api_key=SECRET, latency_s=30.0)
    with run_server(behaviour, responder=PlanResponder()) as server:
        command = [
            *CLI, "generate", "--tools", str(EXAMPLE_TOOLS), "--per-tool", "4",
            "--db", str(db), "--teacher", "openai", "--model", "m",
            "--base-url", server.base_url,
        ]  # fmt: skip
        environ = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        process = subprocess.Popen(
            command,
            env={**environ, "OPENAI_API_KEY": SECRET},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while server.stats.in_flight < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.stats.in_flight >= 4, "no request reached the server"
        interrupted = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        stopped_after = time.monotonic() - interrupted
    assert process.returncode == 130
    assert "Traceback" not in stderr
    assert stderr.splitlines()[-1].startswith("interrupted: the 0 examples accepted in this run")
    assert stopped_after < 2.0, stopped_after  # measured 0.08-0.13 s (1.3 s before, loaded)
    assert [run["status"] for run in _stats(db)["runs"]] == ["interrupted"]


def test_ctrl_c_while_the_tools_are_checked_ends_the_check_at_once(tmp_path: Path) -> None:
    """The seedability check runs in a thread, which Python cannot interrupt: on Ctrl-C
    (the run's task cancelled) it stops at the next tool, so the process need not wait
    for the check of a large tool set to finish before exiting."""
    from callforge.generator.importers import load_tools
    from callforge.generator.pipeline import GenerateConfig, generate
    from callforge.generator.teachers.offline import OfflineTeacher
    from callforge.generator.tools import ToolSet, ToolSpec
    from callforge.store import Store

    example = next(iter(load_tools(EXAMPLE_TOOLS)))
    many = ToolSet(
        tuple(ToolSpec(f"tool_{i}", example.description, example.parameters) for i in range(4000))
    )

    async def cancelled_soon() -> None:
        with Store(tmp_path / "s.duckdb") as store:
            run = asyncio.create_task(generate(store, many, OfflineTeacher(), GenerateConfig()))
            await asyncio.sleep(0.5)  # the check is under way: it takes seconds for 4,000
            run.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run

    started = time.monotonic()
    asyncio.run(cancelled_soon())  # returns once the thread is done
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize(
    ("behaviour", "options", "expected"),
    [
        pytest.param(
            ServerBehaviour(api_key=SECRET, refuse_all=True, retry_after="1"),
            {"max_attempts": 1, "give_up_after": 2.5},
            "HTTP 429 rate limited",
            id="429-retry-after-1",
        ),
        pytest.param(
            ServerBehaviour(api_key=SECRET, rate_timeout=1.0, timeout_sleep_s=5.0),
            {"max_attempts": 1, "timeout": 0.3, "give_up_after": 2.0},
            "timed out after 0.3s",
            id="timeouts",
        ),
    ],
)
def test_an_endpoint_that_never_answers_ends_the_run_non_zero_saying_why(
    tmp_path: Path, behaviour: ServerBehaviour, options: dict[str, Any], expected: str
) -> None:
    """The issue's case: sustained 429s with ``Retry-After: 1`` ended with exit 0, 1,568
    requests and nothing accepted. Now it stops when the attempt budgets or the give-up
    time run out, exit 1 or 2, with the reason on one line."""
    db = tmp_path / "never.duckdb"
    with run_server(behaviour, responder=PlanResponder()) as server:
        started = time.monotonic()
        result = _generate(server, db, _config(tmp_path, **options))
        took = time.monotonic() - started
        sent = server.stats.total
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ") and expected in last, last
    assert "run the same command to continue" in last
    assert took < 60 and sent < 1000, (took, sent)  # the run: 1,568 for 14 examples
    report = _stats(db)
    assert report["accepted_total"] == 0
    assert report["runs"][-1]["status"] != "complete"


def test_a_model_that_refuses_every_draft_ends_the_run_non_zero_saying_why(
    tmp_path: Path,
) -> None:
    """HTTP 200 with a refusal and no content, every time (a model declining the task)."""
    from tests.openai_server import AssistantReply

    refusal = {"content": None, "refusal": "I can't help with that request."}
    db = tmp_path / "refused.duckdb"
    with run_server(
        ServerBehaviour(api_key=SECRET), responder=lambda _: AssistantReply(refusal)
    ) as server:
        result = _generate(server, db, _config(tmp_path, validation_retries=0), 1, "--pilot", "0")
        sent = server.stats.total
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the run ended 10 examples short in 10 cells"), last
    assert "(accepted 0); most common rejection (" in last
    assert f"{sent} requests sent" in last
    assert _stats(db)["accepted_total"] == 0
    assert _stats(db)["runs"][-1]["status"] == "incomplete"

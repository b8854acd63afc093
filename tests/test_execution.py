"""Calling real tools: Python functions in a subprocess, an MCP server over stdio, an HTTP API.

Every expected value is computed here without the executor: the Python function called
directly, the MCP server's and the API's data tables, the API's record of the requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callforge.generator.execution.http import HttpExecutor
from callforge.generator.execution.mcp import McpExecutor, server_target, server_tools
from callforge.generator.execution.outcome import ToolOutcome
from callforge.generator.execution.python import PythonExecutor
from callforge.generator.importers.python import tool_module
from tests.orders_api import DOCUMENT, ORDERS, TOKEN, serve_orders_api

DATA = Path(__file__).parent / "data" / "execution"
SHOP = str(DATA / "shop_tools.py")


def _plain(value: Any) -> Any:
    """JSON's form of what ``json`` cannot write: dataclasses as dicts, datetimes in ISO 8601
    (UTC written ``Z``, as JSON Schema's date-time and Pydantic write it)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value.isoformat().replace("+00:00", "Z")


def direct_json(value: Any) -> Any:
    """A return value as JSON, computed the plain way (not through the executor)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return json.loads(json.dumps(value, default=_plain))


def call(executor: Any, tool: str, /, **arguments: Any) -> ToolOutcome:
    async def go() -> ToolOutcome:
        try:
            return await executor.call(tool, arguments)
        finally:
            await executor.aclose()

    return asyncio.run(go())


# -- Python --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("find_order", {"order_id": "A-100"}),
        ("quote_price", {"amount": 20.0, "currency": "eur"}),
    ],
)
def test_a_python_tool_returns_what_the_function_returns(
    tool: str, arguments: dict[str, Any]
) -> None:
    expected = direct_json(getattr(tool_module(SHOP, SHOP), tool)(**arguments))
    outcome = call(PythonExecutor(SHOP), tool, **arguments)
    assert outcome == ToolOutcome(value=expected)


def test_a_non_object_return_value_is_wrapped_and_prints_are_dropped() -> None:
    outcome = call(PythonExecutor(SHOP), "count_words", text="one two three")
    assert outcome == ToolOutcome(value={"result": 3})


def test_an_exception_is_an_error_result_with_its_message() -> None:
    outcome = call(PythonExecutor(SHOP), "reject_customer", customer_id="C-9")
    assert outcome == ToolOutcome(error="customer C-9 is suspended")
    missing = call(PythonExecutor(SHOP), "find_order", order_id="Z-1")
    assert missing == ToolOutcome(error="'no order with id Z-1'")  # str(KeyError) quotes


def test_wrong_arguments_are_the_functions_real_validation_error() -> None:
    outcome = call(PythonExecutor(SHOP), "quote_price", amount="lots", currency="eur")
    assert outcome.error is not None
    assert outcome.error.startswith("invalid arguments: amount:")


def test_a_call_that_hangs_is_killed_at_its_timeout() -> None:
    executor = PythonExecutor(SHOP, timeout_s=1.5)
    outcome = call(executor, "wait_for_report", seconds=60)
    assert outcome == ToolOutcome(error="the call did not finish within 1.5 s")


def test_a_value_without_json_form_is_an_error_naming_its_type() -> None:
    outcome = call(PythonExecutor(SHOP), "open_lock", name="x")
    assert outcome.error is not None
    assert "has no JSON form" in outcome.error and "lock" in outcome.error.lower()


def test_a_call_past_the_memory_limit_fails_inside_the_worker() -> None:
    outcome = call(PythonExecutor(SHOP, memory_mb=300), "fill_memory", megabytes=600)
    assert outcome == ToolOutcome(error="MemoryError: the tool ran out of memory")
    small = call(PythonExecutor(SHOP, memory_mb=300), "fill_memory", megabytes=5)
    assert small == ToolOutcome(value={"result": 5 * 1024 * 1024})


# -- MCP -----------------------------------------------------------------------------------


def test_an_mcp_server_over_stdio_lists_its_tools_and_answers_calls() -> None:
    from tests.data.execution.weather_mcp import TEMPERATURES

    executor = McpExecutor(server_target(command=f"{sys.executable} {DATA / 'weather_mcp.py'}"))

    async def go() -> tuple[Any, ...]:
        try:
            tools = await server_tools(executor, source="weather")
            oslo = await executor.call("get_temperature", {"city": "Oslo"})
            nowhere = await executor.call("get_temperature", {"city": "404"})
            note = await executor.call("station_note", {"city": "Lima"})
            return tools, oslo, nowhere, note
        finally:
            await executor.aclose()

    tools, oslo, nowhere, note = asyncio.run(go())
    assert tools.names == ["get_temperature", "station_note"]
    assert tools["get_temperature"].parameters["required"] == ["city"]
    assert tools["get_temperature"].output_schema is not None  # the server's outputSchema
    assert oslo == ToolOutcome(value={"city": "Oslo", "celsius": TEMPERATURES["Oslo"]})
    assert nowhere.error is not None and "unknown city: 404" in nowhere.error
    assert note == ToolOutcome(value={"result": "Lima station is online"})


@contextlib.contextmanager
def weather_over_http() -> Iterator[str]:
    """The weather MCP server on streamable HTTP at 127.0.0.1 (its own process); its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = str(DATA / "weather_mcp.py")
    server = subprocess.Popen(
        [sys.executable, script, "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, "the MCP server ended before it listened"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert time.monotonic() < deadline, "the MCP server did not listen within 30 s"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_an_mcp_server_over_streamable_http_lists_its_tools_and_answers_calls() -> None:
    from tests.data.execution.weather_mcp import TEMPERATURES

    with weather_over_http() as url:
        executor = McpExecutor(server_target(url=url))

        async def go() -> tuple[Any, ...]:
            try:
                tools = await server_tools(executor, source=url)
                lima = await executor.call("get_temperature", {"city": "Lima"})
                nowhere = await executor.call("get_temperature", {"city": "404"})
                return tools, lima, nowhere
            finally:
                await executor.aclose()

        tools, lima, nowhere = asyncio.run(go())
    assert tools.names == ["get_temperature", "station_note"]
    assert lima == ToolOutcome(value={"city": "Lima", "celsius": TEMPERATURES["Lima"]})
    assert nowhere.error is not None and "unknown city: 404" in nowhere.error


# -- HTTP ----------------------------------------------------------------------------------


def test_an_http_api_gets_each_argument_where_the_document_puts_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CALLFORGE_TOOLS_TOKEN", TOKEN)
    with serve_orders_api() as (base_url, api):
        found = call(
            HttpExecutor(DOCUMENT, base_url),
            "get_order",
            order_id="A-100",
            currency="EUR",
            **{"X-Region": "eu"},
        )
        created = call(HttpExecutor(DOCUMENT, base_url), "create_order", customer="Ana", items=2)
    assert found == ToolOutcome(value=ORDERS["A-100"])
    assert api.requests[0]["path"] == "/orders/A-100"
    assert api.requests[0]["query"] == {"currency": "EUR"}
    assert api.requests[0]["headers"]["x-region"] == "eu"
    assert api.requests[0]["body"] is None
    assert api.requests[1]["body"] == {"customer": "Ana", "items": 2}
    assert created == ToolOutcome(
        value={"order_id": "A-300", "customer": "Ana", "items": 2, "status": "pending"}
    )


def test_a_non_2xx_answer_is_an_error_result_without_the_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CALLFORGE_TOOLS_TOKEN", TOKEN)
    with serve_orders_api() as (base_url, _api):
        missing = call(HttpExecutor(DOCUMENT, base_url), "get_order", order_id="Z-9")
        monkeypatch.delenv("CALLFORGE_TOOLS_TOKEN")
        denied = call(HttpExecutor(DOCUMENT, base_url), "get_order", order_id="A-100")
    assert missing == ToolOutcome(error="HTTP 404 Not Found: order not found")
    assert denied == ToolOutcome(error="HTTP 401 Unauthorized: missing or wrong token")
    assert TOKEN not in json.dumps([missing.as_json(), denied.as_json()])


# -- the Python worker -----------------------------------------------------------------------


def test_calls_share_one_worker_and_a_hang_or_a_crash_gets_a_fresh_one() -> None:
    executor = PythonExecutor(str(DATA / "worker_tools.py"), timeout_s=3)

    async def go() -> list[ToolOutcome]:
        try:
            return [
                await executor.call("worker_process", {"tag": "a"}),
                await executor.call("read_and_print", {"text": "x"}),
                await executor.call("worker_process", {"tag": "b"}),
                await executor.call("hang", {"seconds": 30}),
                await executor.call("worker_process", {"tag": "c"}),
                await executor.call("crash", {"code": 3}),
                await executor.call("worker_process", {"tag": "d"}),
            ]
        finally:
            await executor.aclose()

    started = time.monotonic()
    first, quiet, second, hung, third, crashed, fourth = asyncio.run(go())
    assert time.monotonic() - started < 20  # the hang was cut at its 3 s timeout
    assert quiet == ToolOutcome(value={"result": "x|"})  # its print and read left the pipe alone
    # One process served the first calls, and kept the module's state between them.
    assert first.value is not None and second.value is not None
    assert second.value == {"pid": first.value["pid"], "calls": ["a", "b"]}
    assert hung == ToolOutcome(error="the call did not finish within 3 s")
    assert third.value is not None and third.value["calls"] == ["c"]
    assert third.value["pid"] != first.value["pid"]
    assert crashed == ToolOutcome(error="the tool's process ended without a result (exit 3)")
    assert fourth.value is not None and fourth.value["calls"] == ["d"]
    assert fourth.value["pid"] not in (first.value["pid"], third.value["pid"])
    assert executor.workers_started == 3
    for outcome in (first, third, fourth):  # and none of them was callforge's own process
        assert outcome.value is not None and outcome.value["pid"] != os.getpid()


def test_a_worker_out_of_memory_keeps_serving() -> None:
    executor = PythonExecutor(SHOP, memory_mb=300)

    async def go() -> tuple[ToolOutcome, ToolOutcome]:
        try:
            big = await executor.call("fill_memory", {"megabytes": 600})
            return big, await executor.call("fill_memory", {"megabytes": 5})
        finally:
            await executor.aclose()

    big, small = asyncio.run(go())
    assert big == ToolOutcome(error="MemoryError: the tool ran out of memory")
    assert small == ToolOutcome(value={"result": 5 * 1024 * 1024})
    assert executor.workers_started == 1

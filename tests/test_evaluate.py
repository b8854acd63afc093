"""``callforge evaluate`` end to end: a scripted model behind the local OpenAI-compatible
server is right on some turns and wrong on others, in known ways, and every metric is
checked against values worked out by hand in the comments below."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.openai_server import AssistantReply, CompletionRequest, run_server


def tool(name: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    return {"type": "function", "function": {"name": name, "parameters": schema}}


TOOLS = [
    tool("get_weather", {"city": {"type": "string"}, "days": {"type": "integer"}}, ["city"]),
    tool(
        "convert",
        {
            "amount": {"type": "number"},
            "from_currency": {"type": "string"},
            "to_currency": {"type": "string"},
        },
        ["amount", "from_currency", "to_currency"],
    ),
    tool("get_customer", {"email": {"type": "string"}}, ["email"]),
    tool(
        "list_orders",
        {"customer_id": {"type": "string"}, "status": {"type": "string"}},
        ["customer_id"],
    ),
]


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def answer(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def call(call_id: str, name: str, arguments: dict[str, Any], **extra: Any) -> dict[str, Any]:
    function = {"name": name, "arguments": json.dumps(arguments)}
    return {
        "role": "assistant",
        "tool_calls": [{"id": call_id, "type": "function", "function": function}],
        **extra,
    }


def result(call_id: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "content": json.dumps(value)}


EXAMPLES = [  # (category, messages); turn ids are "<line>:<message index>"
    ("single", [
        user("Weather in Paris for 3 days?"),
        call("c1", "get_weather", {"city": "Paris", "days": 3}),  # 1:1 call
        result("c1", {"temp": 20}),
        answer("It is 20 degrees in Paris."),  # 1:3 answer
    ]),
    ("single", [
        user("Convert 10 USD to EUR"),
        call("c2", "convert", {"amount": 10.0, "from_currency": "USD", "to_currency": "EUR"}),
        result("c2", {"result": 9.2}),  # ^ 2:1 call
        answer("10 USD is 9.20 EUR."),  # 2:3 answer
    ]),
    ("error_recovery", [
        user("Look up jane@example.com"),
        call("c3", "get_customer", {"email": 14}, weight=0),  # the mistake: context only
        result("c3", {"error": {"code": "invalid_argument"}}),
        call("c4", "get_customer", {"email": "jane@example.com"}),  # 3:3 call
        result("c4", {"id": "C-1", "name": "Jane"}),
        answer("Found Jane, customer C-1."),  # 3:5 answer
    ]),
    ("multi_step", [
        user("Shipped orders of jane@example.com"),
        call("c5", "get_customer", {"email": "jane@example.com"}),  # 4:1 call
        result("c5", {"id": "C-1"}),
        call("c6", "list_orders", {"customer_id": "C-1", "status": "shipped"}),  # 4:3 call
        result("c6", {"orders": [1, 2]}),
        answer("You have 2 shipped orders."),  # 4:5 answer
    ]),
    ("clarify", [
        user("What's the weather like?"),
        answer("Which city do you mean?"),  # 5:1 ask
        user("Berlin"),
        call("c7", "get_weather", {"city": "Berlin"}),  # 5:3 call
        result("c7", {"temp": 25}),
        answer("Sunny and 25 degrees in Berlin."),  # 5:5 answer
    ]),
    ("no_call", [
        user("Tell me a joke"),
        answer("I can only help with weather, currency and orders."),  # 6:1 answer
    ]),
]  # fmt: skip


def model_call(name: str, arguments: Any) -> dict[str, Any]:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {
        "tool_calls": [
            {"id": "m", "type": "function", "function": {"name": name, "arguments": text}}
        ]
    }


MODEL = {  # what the scripted model says at each turn
    "1:1": model_call("get_weather", {"days": 3, "city": "Paris"}),  # right (any key order)
    "1:3": {"content": "It is 20 degrees."},
    # int for a float and "usd" for "USD": AST match; not exact; fuzzy 0.934
    "2:1": model_call("convert", {"amount": 10, "from_currency": "usd", "to_currency": "EUR"}),
    "2:3": model_call("convert", {"amount": 10, "from_currency": "USD", "to_currency": "EUR"}),
    "3:3": model_call("get_customer_info", {"email": "jane@example.com"}),  # invented tool
    "3:5": {"content": "Found Jane. Anything else?"},  # a question where it should answer
    "4:1": model_call("get_customer", {"email": "jane@example.com"}),  # right
    # an invented parameter: no AST match, fuzzy 0.878 (> 0.8)
    "4:3": model_call("list_orders", {"customer_id": "C-1", "status": "shipped", "limit": 5}),
    "4:5": {"content": "Two orders have shipped."},
    "5:1": {"content": "Which city?"},  # asks, as it should
    "5:3": model_call("get_weather", "{city: Berlin"),  # unparsable arguments
    "5:5": {"content": "Sunny in Berlin."},
    "6:1": model_call("get_weather", {"city": "Paris"}),  # calls where it should answer
}
EXPECTED_OVERALL = {
    "turns": 13,
    "call_turns": 6,  # 1:1 2:1 3:3 4:1 4:3 5:3
    "ast": 0.5,  # 1:1 2:1 4:1
    "exact": 0.3333,  # 1:1 4:1
    "fuzzy": 0.6667,  # 1:1 2:1 4:1 4:3
    "functional": 0.6667,  # the same four
    "calls_made": 8,  # 1:1 2:1 2:3 3:3 4:1 4:3 5:3 6:1
    "invented_tool_rate": 0.125,  # 3:3
    "invented_parameter_rate": 0.125,  # 4:3
    "unparsable": 1,  # 5:3
    "unparsable_rate": 0.0769,  # 1 of 13
}
EXPECTED_BEHAVIOUR = {
    "call": {"call": 6, "ask": 0, "answer": 0, "none": 0},
    "ask": {"call": 0, "ask": 1, "answer": 0, "none": 0},  # 5:1
    "answer": {"call": 2, "ask": 1, "answer": 3, "none": 0},  # 2:3, 6:1 call; 3:5 asks
}


def write_eval(folder: Path) -> Path:
    folder.mkdir()
    path = folder / "eval.jsonl"
    path.write_text(
        "".join(json.dumps({"messages": m, "tools": TOOLS}) + "\n" for _, m in EXAMPLES)
    )
    meta = "".join(json.dumps({"category": c}) + "\n" for c, _ in EXAMPLES)
    (folder / "eval.meta.jsonl").write_text(meta)
    return path


def turn_id(messages: list[dict[str, Any]]) -> str:
    first = messages[0]["content"]
    line = next(i for i, (_, m) in enumerate(EXAMPLES, start=1) if m[0]["content"] == first)
    return f"{line}:{len(messages)}"


class ScriptedModel:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, request: CompletionRequest) -> AssistantReply:
        assert request.body.get("tools") == TOOLS
        assert all("weight" not in m for m in request.messages)
        self.seen.append(turn_id(request.messages))
        return AssistantReply(MODEL[turn_id(request.messages)])


def check(report: dict[str, Any]) -> None:
    assert report["overall"] == EXPECTED_OVERALL
    assert report["behaviour"] == EXPECTED_BEHAVIOUR
    categories = report["per_category"]
    assert categories["single"]["ast"] == 1.0 and categories["single"]["exact"] == 0.5
    assert categories["error_recovery"]["turns"] == 2 and categories["error_recovery"]["ast"] == 0.0
    assert categories["multi_step"]["ast"] == 0.5 and categories["multi_step"]["fuzzy"] == 1.0
    assert categories["clarify"]["ast"] == 0.0 and categories["clarify"]["unparsable"] == 1
    assert categories["no_call"]["ast"] is None and categories["no_call"]["calls_made"] == 1
    tools = report["per_tool"]
    assert tools["get_weather"]["ast"] == 0.5 and tools["convert"]["ast"] == 1.0
    assert tools["get_customer"]["ast"] == 0.5 and tools["list_orders"]["fuzzy"] == 1.0
    assert tools["(no call)"]["turns"] == 7


def test_evaluate_against_a_model_behind_the_local_server(tmp_path: Path) -> None:
    eval_file = write_eval(tmp_path / "data")
    db, report_file = tmp_path / "cache.duckdb", tmp_path / "tuned.json"
    model = ScriptedModel()
    with run_server(responder=model) as server:
        args = ("evaluate", eval_file, "--model", "tuned", "--base-url", server.base_url)
        result = run_cli(*args, "--db", db, "--out", report_file)
        assert result.returncode == 0, result.stderr
        asked = server.stats.total
        assert sorted(model.seen) == sorted(MODEL)  # every trained turn, once; never 3:1
        again = run_cli(*args, "--db", db, "--out", tmp_path / "again.json")
        assert again.returncode == 0, again.stderr
        assert server.stats.total == asked  # answered from the cache
    report = json.loads(report_file.read_text())
    check(report)
    assert json.loads((tmp_path / "again.json").read_text())["overall"] == EXPECTED_OVERALL
    assert "get_customer" in result.stdout and "behaviour" in result.stdout


def test_evaluate_a_predictions_file_and_compare(tmp_path: Path) -> None:
    eval_file = write_eval(tmp_path / "data")
    predictions = tmp_path / "predictions.jsonl"
    predictions.write_text(
        "".join(
            json.dumps({"id": id, "message": {"role": "assistant", **message}}) + "\n"
            for id, message in MODEL.items()
        )
    )
    tuned = tmp_path / "tuned.json"
    result = run_cli("evaluate", eval_file, "--predictions", predictions, "--out", tuned)
    assert result.returncode == 0, result.stderr
    check(json.loads(tuned.read_text()))

    perfect = tmp_path / "perfect.jsonl"  # the references themselves: every metric at 1
    lines = [json.loads(line) for line in eval_file.read_text().splitlines()]
    perfect.write_text(
        "".join(
            json.dumps({"id": f"{n}:{i}", "message": m}) + "\n"
            for n, line in enumerate(lines, start=1)
            for i, m in enumerate(line["messages"])
            if m["role"] == "assistant" and m.get("weight") != 0
        )
    )
    base = tmp_path / "base.json"
    assert run_cli("evaluate", eval_file, "--predictions", perfect, "--out", base).returncode == 0
    overall = json.loads(base.read_text())["overall"]
    assert overall["ast"] == overall["exact"] == overall["fuzzy"] == 1.0
    assert overall["unparsable"] == 0 and overall["invented_tool_rate"] == 0.0

    compared = run_cli("evaluate", "--compare", base, tuned)
    assert compared.returncode == 0, compared.stderr
    assert "-50.0%" in compared.stdout  # ast: 100% -> 50%


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "evaluate needs --model (and --base-url) or --predictions FILE"),
        (
            ("--predictions", "missing.jsonl"),
            "cannot read predictions file missing.jsonl: No such file or directory",
        ),
    ],
)
def test_evaluate_bad_input(tmp_path: Path, args: tuple[str, ...], expected: str) -> None:
    eval_file = write_eval(tmp_path / "data")
    result = run_cli("evaluate", eval_file, *args, "--db", tmp_path / "x.duckdb", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {expected}"
    assert not (tmp_path / "x.duckdb").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("--model", "m", "--base-url", "http://user:secret@localhost:9/v1"),
            "the base URL holds credentials (user:password@); remove them and give the "
            "key with OPENAI_API_KEY (or api_key_env in callforge.toml)",
        ),
        (
            ("--model", "m", "--timeout", "-1"),
            "--timeout: Input should be greater than 0 (got -1.0)",
        ),
        (
            ("--model", "m", "--api-version", ""),
            "--api-version: String should have at least 1 character (got '')",
        ),
    ],
)
def test_evaluate_checks_its_model_options_before_touching_the_store(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    """A bad teacher option is one line and exit 2, and no store appears: neither a new
    one nor a change to one that exists (``evaluate`` used to open it first)."""
    from callforge.store import Store

    eval_file = write_eval(tmp_path / "data")
    fresh, existing = tmp_path / "fresh.duckdb", tmp_path / "existing.duckdb"
    with Store(existing):
        pass
    before = existing.read_bytes()
    for db in (fresh, existing):
        result = run_cli("evaluate", eval_file, *args, "--db", db, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert result.stderr.strip() == f"error: {expected}"
        assert "secret" not in result.stderr
    assert not fresh.exists()
    assert existing.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "existing.duckdb"]


def test_evaluate_a_missing_eval_file_with_a_model_creates_no_store(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    result = run_cli("evaluate", "gone.jsonl", "--model", "m", "--db", db, cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "gone.jsonl" in result.stderr
    assert not db.exists()

"""The quality benchmark's own measures, on small hand-made conversations.

Each measure in benchmarks/quality_measures.py is checked against examples whose
verdict is known by construction, so the benchmark is tested rather than trusted;
the hand-labelled files in tests/data are checked for coverage and shape.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from faker import Faker

from benchmarks import bench_quality
from benchmarks.quality_measures import (
    Example,
    Figure,
    answer_uses_result,
    answers_using_results,
    chain_links,
    closer,
    free_text_parameter,
    hollow_results,
    implausible_chains,
    is_random_words,
    load_link_labels,
    opener,
    pasted_descriptions,
    random_free_text,
    read_example,
    reversed_ranges,
    sql_parses,
    stated_in,
    stock_phrases,
)
from tests.conftest import REPO

TOOLS = {t["function"]["name"]: t for t in json.loads(bench_quality.TOOLS.read_text())}
LINKS = json.loads((REPO / "tests" / "data" / "plausible_links.json").read_text())
PARAPHRASES = json.loads((REPO / "tests" / "data" / "grounding_paraphrases.json").read_text())


def conversation(
    request: str,
    calls: list[tuple[str, dict[str, Any], Any]],
    answer: str | None = "Done.",
    **extra: Any,
) -> dict[str, Any]:
    """An exported line: the request, one assistant turn per call with its result, the answer."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": request}]
    for number, (name, arguments, result) in enumerate(calls):
        call_id = f"call_{number}"
        function = {"name": name, "arguments": json.dumps(arguments)}
        messages.append(
            {
                "role": "assistant",
                "tool_calls": [{"id": call_id, "type": "function", "function": function}],
            }
        )
        content = result if isinstance(result, str) else json.dumps(result)
        messages.append({"role": "tool", "tool_call_id": call_id, "content": content})
    if answer is not None:
        messages.append({"role": "assistant", "content": answer})
    tools = [TOOLS[name] for name in dict.fromkeys(name for name, _, _ in calls)]
    return {"messages": messages, "tools": tools or list(TOOLS.values()), **extra}


def example(*args: Any, **kwargs: Any) -> Example:
    return read_example(conversation(*args, **kwargs))


CONVERT = {"amount": 100, "from_currency": "USD", "to_currency": "EUR"}


# Reading a conversation


def test_read_example_joins_calls_to_results_and_infers_the_category() -> None:
    line = conversation(
        "Find me a customer then order",
        [
            ("get_customer", {"email": "a@example.com"}, {"id": "CUS-1", "name": "Ana"}),
            ("create_order", {"customer_id": "CUS-1"}, {"order_id": "ORD-9"}),
        ],
        answer="Ordered ORD-9.",
    )
    read = read_example(line)
    assert [c.name for c in read.calls] == ["get_customer", "create_order"]
    assert read.calls[0].result == {"id": "CUS-1", "name": "Ana"}
    assert read.calls[1].arguments == {"customer_id": "CUS-1"}
    assert read.final_answer == "Ordered ORD-9."
    assert read.category == "multi_step"
    failing = conversation("x", [("get_customer", {"email": "a"}, {"error": {"code": "x"}})])
    assert read_example(failing).category == "error_recovery"
    assert read_example(failing).calls[0].is_error
    assert read_example(conversation("x", [("get_customer", {}, {})])).category == "single"
    labelled = conversation(
        "x", [("get_customer", {}, {}), ("send_email", {}, {})], metadata={"category": "single"}
    )
    assert read_example(labelled).category == "single"


# Issue 10: random free text


@pytest.mark.parametrize(
    "title",
    [
        "Quarterly budget review",
        "Team sync",
        "Reminder: invoice due Friday",
        "Hi Sam, the meeting moved to Thursday. Please confirm you can make it.",
        "Project kickoff meeting",
    ],
)
def test_real_text_is_not_random_words(title: str) -> None:
    context = ["schedule", "meeting", "title", "invite", "attendees"]
    assert not is_random_words(title, context)


def test_faker_sentences_and_word_lists_are_random_words() -> None:
    faker = Faker()
    faker.seed_instance(3)
    samples = [faker.sentence() for _ in range(20)] + [" ".join(faker.words(4)) for _ in range(20)]
    samples += [faker.catch_phrase() for _ in range(10)]
    flagged = [s for s in samples if is_random_words(s, ["send", "email", "subject"])]
    # A sample is spared only when it happens to contain a word about emails.
    spared = [s for s in samples if s not in flagged]
    assert all(any(w in s.lower() for w in ("send", "email", "subje")) for s in spared), spared
    assert len(flagged) >= 45


def test_a_long_run_of_filler_in_written_text_is_random() -> None:
    context = ["schedule", "meeting", "title"]
    assert is_random_words("Account review begin clear more go trial even know day edge", context)
    assert not is_random_words("Account review with the finance team", context)
    # Hyphenated compounds and contractions are never Faker's.
    assert not is_random_words("Budget check-in", context)
    assert not is_random_words("I'll call back", context)
    assert is_random_words("Budget check in", context)


def test_a_filler_word_about_the_tool_is_not_random() -> None:
    assert is_random_words("window", ["search", "flights"])
    assert not is_random_words("meetings", ["schedule", "meeting"])


def test_sql_must_parse_into_a_statement() -> None:
    assert sql_parses("SELECT name FROM customers WHERE city = 'Oslo'")
    assert sql_parses("UPDATE orders SET status = 'shipped' WHERE id = 4")
    assert not sql_parses("present")
    assert not sql_parses("Yard recent window moment away")
    assert not sql_parses("SELECT FROM WHERE")


def test_free_text_parameters_are_found_by_name_and_description() -> None:
    assert free_text_parameter("subject", {"type": "string"})
    assert free_text_parameter("body", {"type": "string", "description": "Plain-text body"})
    assert free_text_parameter("extra", {"type": "string", "description": "A note to add"})
    assert free_text_parameter("keywords", {"type": "array", "items": {"type": "string"}})
    assert not free_text_parameter("to", {"type": "string", "format": "email"})
    assert not free_text_parameter("title", {"type": "string", "enum": ["Mr", "Ms"]})
    assert not free_text_parameter("room", {"type": "string", "description": "Room name"})
    assert not free_text_parameter("sender_name", {"type": "string", "description": "text"})


def test_random_free_text_counts_each_free_text_value() -> None:
    random_call = (
        "send_email",
        {
            "to": "a@b.co",
            "subject": "Small while great",
            "body": "Thanks for the call today, notes attached.",
        },
        {},
    )
    sql_tool = {
        "type": "function",
        "function": {
            "name": "run_query",
            "description": "Run a read-only query.",
            "parameters": {
                "type": "object",
                "properties": {"sql": {"type": "string", "description": "SQL to run"}},
            },
        },
    }
    line = conversation("x", [random_call])
    bad_sql = conversation("x", [])
    bad_sql["tools"] = [sql_tool]
    bad_sql["messages"].insert(
        1,
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "c",
                    "type": "function",
                    "function": {"name": "run_query", "arguments": '{"sql": "present"}'},
                }
            ],
        },
    )
    figure = random_free_text([read_example(line), read_example(bad_sql)])
    assert (figure.numerator, figure.denominator) == (2, 3)  # subject and sql; not the body
    assert figure.passed is False


# Issue 10: hollow results


def test_an_id_status_echo_and_timestamp_result_is_hollow() -> None:
    hollow = {
        "currency_id": "CUR-1",
        "amount": 100,
        "status": "completed",
        "updated_at": "2026-01-01T00:00:00Z",
        "from_currency": "USD",
    }
    with_data = {"converted_amount": 92.31, "rate": 0.9231, "from_currency": "USD"}
    figure = hollow_results(
        [
            example("x", [("convert_currency", CONVERT, hollow)]),
            example("x", [("convert_currency", CONVERT, with_data)]),
        ]
    )
    assert (figure.numerator, figure.denominator) == (1, 2)
    assert "CUR-1" in figure.flagged[0]


def test_search_hits_need_data_beyond_filler_names_and_scores() -> None:
    search = {
        "origin": "OSL",
        "destination": "FCO",
        "departure_date": "2026-03-05",
        "passengers": 1,
    }
    filler = {
        "count": 1,
        "results": [{"id": "BB-1", "name": "Reduced tangible implementation", "score": 0.63}],
        "status": "ok",
    }
    empty = {"count": 0, "results": []}
    flights = {"results": [{"flight_id": "SK-1", "airline": "SAS", "price": 212.5}]}
    figure = hollow_results(
        [example("x", [("search_flights", search, result)]) for result in (filler, empty, flights)]
    )
    assert (figure.numerator, figure.denominator) == (2, 3)


def test_only_successful_results_of_lookup_tools_are_judged() -> None:
    figure = hollow_results(
        [
            example("x", [("send_email", {"to": "a@b.co"}, {"message_id": "M-1"})]),
            example("x", [("get_customer", {"email": "a@b.co"}, {"error": {"code": "x"}})]),
        ]
    )
    assert figure.denominator == 0 and figure.value is None


# Issue 10: reversed ranges


def test_a_reversed_date_pair_is_counted() -> None:
    reversed_trip = {"departure_date": "2026-03-10", "return_date": "2026-03-05"}
    ordered_trip = {"departure_date": "2026-03-05", "return_date": "2026-03-10"}
    figure = reversed_ranges(
        [
            example("x", [("search_flights", reversed_trip, {})]),
            example("x", [("search_flights", ordered_trip, {})]),
        ]
    )
    assert (figure.numerator, figure.denominator) == (1, 2)
    assert figure.value == 1 and figure.passed is False


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"time_min": "2026-03-05T10:00:00Z", "time_max": "2026-03-05T09:00:00Z"}, (1, 1)),
        ({"start": "2026-03-05T10:00:00", "end": "2026-03-05"}, (0, 1)),  # same day
        ({"price_min": 50, "price_max": 20}, (1, 1)),
        ({"min_price": 20, "max_price": 50}, (0, 1)),
        ({"check_in": "2026-05-02", "check_out": "2026-05-01"}, (1, 1)),
        ({"from_currency": "USD", "to_currency": "EUR"}, (0, 0)),  # not comparable
        ({"filter": {"date_from": "2026-02-01", "date_to": "2026-01-01"}}, (1, 1)),
    ],
)
def test_range_pairs(arguments: dict[str, Any], expected: tuple[int, int]) -> None:
    figure = reversed_ranges([example("x", [("search_flights", arguments, {})])])
    assert (figure.numerator, figure.denominator) == expected


# Issue 10: multi_step links


LABELS = load_link_labels(LINKS)


def test_a_link_is_a_result_value_the_user_did_not_state() -> None:
    chain = example(
        "Look up ana@example.com and order two mugs for her",
        [
            (
                "get_customer",
                {"email": "ana@example.com"},
                {"customer_id": "CUS-7", "name": "Ana", "email": "ana@example.com"},
            ),
            ("create_order", {"customer_id": "CUS-7", "coupon_code": "SAVE5"}, {"order_id": "O"}),
        ],
    )
    links = chain_links(chain)
    assert [(k.from_tool, k.to_tool, k.to_parameter, k.value) for k in links] == [
        ("get_customer", "create_order", "customer_id", "CUS-7")
    ]
    user_said_it = example(
        "Look up ana@example.com and order two mugs for customer cus-7",
        [
            ("get_customer", {"email": "ana@example.com"}, {"customer_id": "CUS-7"}),
            ("create_order", {"customer_id": "CUS-7"}, {"order_id": "O"}),
        ],
    )
    assert chain_links(user_said_it) == []


def test_chains_pass_only_when_every_link_is_plausible() -> None:
    plausible = example(
        "Look up ana@example.com and order for her",
        [
            ("get_customer", {"email": "ana@example.com"}, {"customer_id": "CUS-7"}),
            ("create_order", {"customer_id": "CUS-7"}, {"order_id": "ORD-1"}),
        ],
    )
    weather_coupon = example(
        "Weather in Oslo, then order for CUS-7",
        [
            ("get_weather_forecast", {"city": "Oslo"}, {"coupon_code": "SIMILAR20"}),
            ("create_order", {"customer_id": "CUS-7", "coupon_code": "SIMILAR20"}, {}),
        ],
    )
    unlinked = example(
        "Weather in Oslo, then email bo@example.com",
        [
            ("get_weather_forecast", {"city": "Oslo"}, {"days": []}),
            ("send_email", {"to": "bo@example.com"}, {}),
        ],
    )
    figure = implausible_chains([plausible, weather_coupon, unlinked], LABELS)
    assert (figure.numerator, figure.denominator) == (1, 3)
    assert figure.detail["examples_without_link"] == 1
    assert figure.detail["links"] == 2 and figure.detail["plausible_links"] == 1


def test_stated_in_reads_numbers_and_enums_as_people_write_them() -> None:
    assert stated_in(1500, "about 1,500 euros")
    assert not stated_in(1500, "about 15000 euros")
    assert stated_in(3, "three passengers")
    assert stated_in("premium_economy", "Premium economy please")
    assert not stated_in("DE", "the destination")
    assert not stated_in(True, "true")
    assert stated_in("2026-03-05", "on the 5th of March")
    assert stated_in("2026-03-05T14:00:00Z", "Mar 5 at 2 pm")
    assert not stated_in("2026-03-05", "on March 15")


# Issue 11


def test_a_pasted_description_span_is_found() -> None:
    pasted = example("Please convert an amount of money from USD to EUR", [])
    five_words = example("Please convert an amount of cash", [])
    own_words = example("How much is 100 dollars in euros?", [])
    figure = pasted_descriptions([pasted, five_words, own_words])
    assert (figure.numerator, figure.denominator) == (1, 3)


def test_an_answer_uses_a_result_value_the_user_did_not_state() -> None:
    result = {
        "converted_amount": 92.31,
        "rate": 0.9231,
        "conversion_id": "CNV-1",
        "status": "ok",
        "amount": 100,
    }
    uses = example(
        "Convert 100 USD to EUR",
        [("convert_currency", CONVERT, result)],
        answer="100 USD is 92.31 EUR.",
    )
    reads_ids = example(
        "Convert 100 USD to EUR",
        [("convert_currency", CONVERT, result)],
        answer="Done: conversion CNV-1, status ok, amount 100.",
    )
    assert answer_uses_result(uses) is True
    assert answer_uses_result(reads_ids) is False
    no_answer = example("x", [("convert_currency", CONVERT, result)], answer=None)
    assert answer_uses_result(no_answer) is None
    figure = answers_using_results([uses, reads_ids, no_answer])
    assert (figure.numerator, figure.denominator) == (1, 2)


def test_opener_and_closer_shares() -> None:
    requests = [
        "Could you please book it? Thanks a lot!",
        "could you, please check the weather. Thanks a lot",
        "Could you check my order? Cheers",
        "Hi there, find flights to Rome. Thanks a lot.",
    ]
    examples = [example(text, []) for text in requests]
    assert opener(requests[1]) == "could you please"
    assert closer(requests[0]) == "thanks a lot"
    openers = stock_phrases(examples, "opener")
    assert (openers.numerator, openers.denominator) == (2, 4)
    assert openers.value == 0.5 and openers.passed is False
    closers = stock_phrases(examples, "closer")
    assert (closers.numerator, closers.value) == (3, 0.75)


def test_figure_targets() -> None:
    assert Figure("k", "l", 10, 0.10, "<= 10%").passed is True
    assert Figure("k", "l", 10, 0.11, "<= 10%").passed is False
    assert Figure("k", "l", 10, 0.90, ">= 90%").passed is True
    assert Figure("k", "l", 10, 0.0, "== 0").passed is True
    assert Figure("k", "l", 10, 1.0, "== 100%").passed is True
    assert Figure("k", "l", 10, None, "== 0").passed is None


# The hand-labelled data


def test_link_labels_cover_every_combination_of_the_example_tool_set_once() -> None:
    expected = {
        (source, name, parameter)
        for name, tool in TOOLS.items()
        for parameter, schema in tool["function"]["parameters"]["properties"].items()
        if schema.get("type") in ("string", "integer", "number")
        for source in TOOLS
        if source != name
    }
    keys = [(r["from_tool"], r["to_tool"], r["to_parameter"]) for r in LINKS["links"]]
    assert len(keys) == len(set(keys)) and set(keys) == expected
    assert all(r.get("reason") for r in LINKS["links"] if r["plausible"])
    assert LABELS[("get_customer", "create_order", "customer_id")] is True
    assert LABELS[("get_weather_forecast", "send_email", "subject")] is False
    assert LABELS[("search_flights", "book_flight", "flight_id")] is True


def test_grounding_paraphrases_are_well_formed() -> None:
    cases = PARAPHRASES["cases"]
    assert len(cases) >= 60
    assert {c["kind"] for c in cases} == {"natural", "wrong"}
    assert len({c["id"] for c in cases}) == len(cases)
    for case in cases:
        assert set(case) <= {"id", "kind", "value", "options", "text", "today", "note"}
        if "today" in case:
            date.fromisoformat(case["today"])
        if "options" in case:
            assert case["value"] in case["options"]


def test_grounding_figures_run_the_cases_through_grounding() -> None:
    document = {
        "cases": [
            {"id": 1, "kind": "natural", "value": 1500, "text": "send 1,500 units", "note": ""},
            {"id": 2, "kind": "wrong", "value": 1500, "text": "send 15000 units", "note": ""},
            {
                "id": 3,
                "kind": "wrong",
                "value": "Oslo",
                "text": "fly to Oslo",
                "note": "mislabelled",
            },
        ]
    }
    accepted, rejected = bench_quality.grounding_figures(document)
    assert (accepted.numerator, accepted.denominator) == (1, 1)
    assert (rejected.numerator, rejected.denominator) == (1, 2)
    assert rejected.flagged == ["case 3: 'Oslo' in 'fly to Oslo'"]


# The command


def test_bench_scores_an_export_folder(tmp_path: Path) -> None:
    lines = [
        conversation(
            "Convert 100 USD to EUR",
            [("convert_currency", CONVERT, {"converted_amount": 92.31, "rate": 0.9231})],
            answer="That is 92.31 EUR.",
        ),
        conversation(
            "Search flights OSL to FCO",
            [
                (
                    "search_flights",
                    {"departure_date": "2026-03-10", "return_date": "2026-03-01"},
                    {"count": 0, "results": []},
                )
            ],
            answer="Nothing found.",
        ),
    ]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    ran = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "bench_quality.py"),
            "--export",
            str(tmp_path),
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(ran.stdout)
    figures = {f["key"]: f for f in report["figures"]}
    assert report["examples"] == 2
    assert figures["hollow_results"]["numerator"] == 1
    assert figures["hollow_results"]["denominator"] == 2
    assert figures["reversed_ranges"]["value"] == 1
    assert figures["reversed_ranges"]["passed"] is False
    assert figures["answers_using_results"]["value"] == 0.5
    text = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "bench_quality.py"),
            "--export",
            str(tmp_path),
            "--check",
        ],
        capture_output=True,
        text=True,
    )
    assert text.returncode == 1
    assert "reversed start/end argument pairs" in text.stdout and "FAIL" in text.stdout


def test_the_case_runner_passes_today_and_an_options_rivals() -> None:
    from callforge.generator.grounding import GroundingText

    tomorrow = {"value": "2026-03-05", "text": "book it for tomorrow", "today": "2026-03-04"}
    assert bench_quality.grounding_verdict(GroundingText, tomorrow) is True
    assert (
        bench_quality.grounding_verdict(GroundingText, {**tomorrow, "today": "2026-03-05"}) is False
    )
    cabin = {"value": "economy", "text": "premium economy seats"}
    options = ["economy", "premium_economy", "business"]
    assert bench_quality.grounding_verdict(GroundingText, {**cabin, "options": options}) is False
    assert (
        bench_quality.grounding_verdict(
            GroundingText, {**cabin, "value": "premium_economy", "options": options}
        )
        is True
    )


def test_bench_generates_make_demos_dataset_when_given_no_export() -> None:
    ran = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "bench_quality.py"),
            "--per-tool",
            "1",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(ran.stdout)
    assert report["source"] == "make demo (--per-tool 1 --seed 7)"
    assert report["examples"] == len(TOOLS)  # one example per tool of the example set
    keys = [figure["key"] for figure in report["figures"]]
    assert len(keys) == 10 and len(set(keys)) == 10


def test_a_count_is_bookkeeping_but_an_order_total_is_data() -> None:
    listing = {"total": 2, "orders": [{"order_id": "ORD-1", "total": 162.12}]}
    customer = {"customer_id": "CUS-1"}
    lists = example("x", [("list_orders", customer, listing)], answer="Your order is 162.12.")
    counts_only = example("x", [("list_orders", customer, {"total": 2, "orders": []})])
    figure = hollow_results([lists, counts_only])
    assert (figure.numerator, figure.denominator) == (1, 2)
    assert answer_uses_result(lists) is True


def test_an_action_tools_new_id_answers_but_a_lookups_id_does_not() -> None:
    booking = {"flight_id": "FLI-1", "passenger_name": "Ana Lima"}
    booked = example(
        "Book FLI-1 for Ana Lima",
        [("book_flight", booking, {"booking_id": "BK-123", "flight_id": "FLI-1"})],
        answer="Booked: your reference is BK-123 for flight FLI-1.",
    )
    echoed_only = example(
        "Book FLI-1 for Ana Lima",
        [("book_flight", booking, {"booking_id": "BK-123", "flight_id": "FLI-1"})],
        answer="Booked flight FLI-1 for Ana Lima.",
    )
    looked_up = example(
        "Look up ana@example.com",
        [("get_customer", {"email": "ana@example.com"}, {"customer_id": "CUS-9", "city": "Porto"})],
        answer="Found customer CUS-9.",
    )
    assert answer_uses_result(booked) is True
    assert answer_uses_result(echoed_only) is False
    assert answer_uses_result(looked_up) is False


def test_a_metadata_sidecar_gives_each_line_its_category(tmp_path: Path) -> None:
    two_calls = conversation("x", [("get_customer", {}, {}), ("send_email", {}, {})])
    (tmp_path / "train.jsonl").write_text(json.dumps(two_calls) + "\n" + json.dumps(two_calls))
    meta = [{"category": "single", "tool": "get_customer"}, {"tool": "send_email"}]
    (tmp_path / "train.meta.jsonl").write_text("\n".join(json.dumps(m) for m in meta) + "\n")
    examples = bench_quality.read_export(tmp_path)
    assert [e.category for e in examples] == ["single", "multi_step"]  # the second is read off

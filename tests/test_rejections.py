"""Grouping rejection reasons: the same problem with other values counts once."""

from __future__ import annotations

from callforge.generator.rejections import ReasonGroup, group_reasons, reason_group


def test_values_are_masked_so_one_problem_is_one_group() -> None:
    rows = [
        ("grounding", "ungrounded value: search_flights.origin = 'SIN' is not stated", 3),
        ("grounding", "ungrounded value: search_flights.origin = 'JFK' is not stated", 2),
        ("grounding", "ungrounded value: search_flights.passengers = 4 is not stated", 1),
    ]
    origin = "ungrounded value: search_flights.origin = '…' is not stated"
    passengers = "ungrounded value: search_flights.passengers = N is not stated"
    assert group_reasons(rows) == [
        (ReasonGroup("grounding", origin), 5),
        (ReasonGroup("grounding", passengers), 1),
    ]


def test_a_draft_the_teacher_gave_up_on_counts_at_the_validators_stage() -> None:
    group = reason_group(
        "teacher", "output did not fit after 3 tries: structure: wrong result count: 3 tool "
        "results for 2 calls",
    )  # fmt: skip
    assert group == ReasonGroup("structure", "wrong result count: N tool results for N calls", True)
    assert str(group) == "structure: wrong result count: N tool results for N calls (after re-asks)"


def test_transport_failures_stay_at_the_teacher_stage() -> None:
    assert reason_group("teacher", "gave up after 8 attempts: HTTP 429 rate limited") == (
        ReasonGroup("teacher", "gave up after N attempts: HTTP N rate limited")
    )
    assert reason_group("teacher", "output did not fit after 2 tries: tool_results: too short") == (
        ReasonGroup("teacher", "tool_results: too short", True)
    )

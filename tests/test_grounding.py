"""Grounding rules, as documented in generator/grounding.py."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from callforge.generator.grounding import GroundingText
from callforge.generator.importers import load_tools
from callforge.generator.templating import EXAMPLE_TOOLS


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Fly to New  York please", "new york"),
        ("Book it for \u201cAna\u2019s Cafe\u201d", "Ana's Cafe"),
        ("send 1,500 units", 1500),
        ("send 1500 units", 1500),
        ("it costs 12.50 dollars", 12.5),
        ("it costs 12.5 dollars", 12.5),
        ("three is 3.0", 3.0),
        ("on March 5, 2026 please", "2026-03-05"),
        ("on 5th Mar 2026 please", "2026-03-05"),
        ("on 2026-03-05 please", "2026-03-05"),
        ("starts March 5, 2026 at 14:30", "2026-03-05T14:30:00Z"),
        ("anything", True),
        ("items a, b", ["a", "b"]),
        ("street Main St and city Oslo", {"street": "Main St", "city": "Oslo"}),
    ],
)
def test_grounded(text: str, value: object) -> None:
    assert GroundingText([text]).contains(value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("send 15000 units", 1500),
        ("send 1500.5 units", 1500),
        ("code 21500", 1500),
        ("it costs 12.55", 12.5),
        ("on March 6, 2026", "2026-03-05"),
        ("starts March 5, 2026 at 14:31", "2026-03-05T14:30:00Z"),
        ("city Oslo only", {"street": "Main St", "city": "Oslo"}),
        ("Paris", "Lyon"),
        ("the destination is far", "DE"),
        ("order ORD-123", "ORD-12"),
    ],
)
def test_not_grounded(text: str, value: object) -> None:
    assert not GroundingText([text]).contains(value)


def test_missing_names_the_path() -> None:
    missing = GroundingText(["city Oslo"]).missing({"address": {"city": "Oslo", "zip": "0150"}})
    assert [leaf for _, leaf in missing] == ["0150"]
    assert "zip" in missing[0][0]


TODAY = date(2026, 3, 2)  # a Monday


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("for three passengers", 3),
        ("twenty-five guests", 25),
        ("twenty five guests", 25),
        ("in premium economy", "premium_economy"),
        ("Premium Economy, please", "premium_economy"),
        ("no preference on the seat", "no_preference"),
        ("on the 5th of March", "2026-03-05"),
        ("flying March 5", "2026-03-05"),
        ("flying Mar 5th, 2026", "2026-03-05"),
        ("on 2026/03/05", "2026-03-05"),
        ("on 25/03/2026", "2026-03-25"),
        ("at 2 pm on March 5", "2026-03-05T14:00:00Z"),
        ("March 5 at 2:30pm", "2026-03-05T14:30:00Z"),
        ("March 5 at 14:30", "2026-03-05T14:30:00"),
        ("lunch at noon on the 5th of March", "2026-03-05T12:00:00Z"),
        ("tomorrow at 9 am", "2026-03-03T09:00:00Z"),
        ("today", "2026-03-02"),
        ("the day after tomorrow", "2026-03-04"),
        ("in three days", "2026-03-05"),
        ("in a week", "2026-03-09"),
        ("this Friday", "2026-03-06"),
        ("on Friday", "2026-03-06"),
        ("next Friday", "2026-03-13"),
        ("last Friday", "2026-02-27"),
        ("call at 14:30", "14:30:00"),
        ("don't notify the customer", {"notify_customer": False}),
        ("notify the customer", {"notify_customer": True}),
        ("express: yes", {"express": True}),
        ("express turned off", {"express": False}),
        ("without express shipping", {"express": False}),
        ("nothing about it", {"express": False}),
    ],
)
def test_natural_forms_are_grounded(text: str, value: object) -> None:
    assert GroundingText([text], today=TODAY).contains(value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("for four passengers", 3),
        ("for thirty guests", 3),
        ("in economy", "premium_economy"),
        ("on the 6th of March", "2026-03-05"),
        ("on March 5, 2027", "2026-03-05"),
        ("on 05/03/2026", "2026-03-05"),  # 5 March or May 3: not decided
        ("March 5 at 3 pm", "2026-03-05T14:00:00Z"),
        ("at 2 pm", "2026-03-05T14:00:00Z"),
        ("tomorrow", "2026-03-04"),
        ("Friday", "2026-03-13"),  # bare weekday: the coming one, not next week's
        ("next Friday", "2026-03-20"),
        ("at 2 pm", "14:30:00"),
        ("don't notify the customer", {"notify_customer": True}),
        ("express: no", {"express": True}),
        ("with express shipping", {"express": False}),
    ],
)
def test_different_values_are_still_rejected(text: str, value: object) -> None:
    assert not GroundingText([text], today=TODAY).contains(value)


def test_relative_dates_need_a_today() -> None:
    assert not GroundingText(["tomorrow"]).contains("2026-03-03")
    assert GroundingText(["tomorrow"], today=TODAY).contains("2026-03-03")


def test_a_contradicted_flag_names_its_path() -> None:
    missing = GroundingText(["sku A1, express: no"]).missing(
        {"order": {"express": True, "sku": "A1"}}
    )
    assert missing == [("order.express", True)]


@pytest.mark.parametrize(
    ("text", "value"),
    [("add twenty-five units", 20), ("add twenty-five units", 5), ("five hundred", 5)],
)
def test_a_number_word_inside_a_longer_number_is_not_that_number(text: str, value: int) -> None:
    assert not GroundingText([text]).contains(value)


def test_an_option_inside_a_longer_rival_option_is_not_stated() -> None:
    rivals = {"cabin": ["premium_economy", "business"]}
    stated = GroundingText(["I'd like premium economy seats"])
    assert stated.missing({"cabin": "economy"}, rivals) == [("cabin", "economy")]
    assert stated.missing({"cabin": "premium_economy"}, {"cabin": ["economy"]}) == []
    both = GroundingText(["premium economy for me, economy for the kids"])
    assert both.missing({"cabin": "economy"}, rivals) == []


def test_a_negation_in_brackets_still_negates() -> None:
    text = GroundingText(["cancel it (no need to notify the customer)"])
    assert text.missing({"notify_customer": False}) == []
    assert text.missing({"notify_customer": True}) == [("notify_customer", True)]


def _labelled_cases() -> list[dict[str, object]]:
    path = Path(__file__).parent / "data" / "grounding_paraphrases.json"
    cases: list[dict[str, object]] = json.loads(path.read_text())["cases"]
    return cases


def _enum_rivals(value: object) -> dict[str, list[str]]:
    """The other options of every example-tool enum holding ``value``, as the validator
    passes them (from the tool's schema)."""
    rivals: list[str] = []
    for tool in load_tools(EXAMPLE_TOOLS):
        for schema in (tool.parameters.get("properties") or {}).values():
            options = schema.get("enum") or []
            if value in options:
                rivals += [option for option in options if option != value]
    return {"value": rivals} if rivals else {}


@pytest.mark.parametrize("case", _labelled_cases(), ids=lambda case: f"{case['id']}-{case['kind']}")
def test_the_hand_labelled_paraphrases(case: dict[str, object]) -> None:
    """tests/data/grounding_paraphrases.json, written by hand: every natural form is
    accepted, every missing or different value rejected (an option against its rivals)."""
    today = date.fromisoformat(str(case["today"])) if case.get("today") else None
    text = GroundingText([str(case["text"])], today=today)
    stated = not text.missing({"value": case["value"]}, _enum_rivals(case["value"]))
    assert stated == (case["kind"] == "natural"), case["note"]

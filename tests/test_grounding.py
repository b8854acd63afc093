"""Grounding rules, as documented in generator/grounding.py."""

from __future__ import annotations

import pytest

from callforge.generator.grounding import GroundingText


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

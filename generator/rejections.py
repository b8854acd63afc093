"""Rejection reasons grouped for people: what ``stats``, the pilot and the report show.

A stored reason is specific (``ungrounded value: search_flights[origin] = 'SIN'
...``); a hundred of them differ only in their values. Grouping masks quoted
values and numbers, so the same problem counts once with its number of
occurrences. A draft the LLM teacher gave up on after re-asks is stored at stage
``teacher`` as ``output did not fit after 3 tries: grounding: ...``; the
validator's own stage and words inside it are what a user can act on, so the
group is (``grounding``, ``ungrounded value: ...``), marked as re-asked.

Imports nothing above the standard library: ``stats`` stays light.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

_REASKED = re.compile(r"^output did not fit after \d+ tries: (?:([a-z_]+): )?(.*)$", re.S)
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])")
_DRAFT_FIELDS = {"user_request", "tool_results", "final_answer"}
"""A re-ask's reason starts with a validator stage, or with the draft field whose
shape was wrong (``teachers.prompting.TeacherDraft``): the latter stays a teacher problem."""
_MAX_REASON = 160


@dataclass(frozen=True)
class ReasonGroup:
    """Rejections with the same stage and the same reason up to their values."""

    stage: str
    reason: str
    reasked: bool = False
    """The LLM teacher re-asked with this reason and gave up (stored at stage teacher)."""

    def __str__(self) -> str:
        suffix = " (after re-asks)" if self.reasked else ""
        return f"{self.stage}: {self.reason}{suffix}"


def reason_group(stage: str, reason: str) -> ReasonGroup:
    """The group a stored (stage, reason) belongs to."""
    reasked = False
    match = _REASKED.match(reason)
    if match:
        reasked = True
        if match.group(1) and match.group(1) not in _DRAFT_FIELDS:
            stage, reason = match.group(1), match.group(2)
        else:
            reason = reason[match.start(1) if match.group(1) else match.start(2) :]
    masked = _NUMBER.sub("N", _QUOTED.sub("'…'", reason.strip().splitlines()[0] if reason else ""))
    if len(masked) > _MAX_REASON:
        masked = masked[: _MAX_REASON - 1] + "…"
    return ReasonGroup(stage, masked, reasked)


def group_reasons(rows: Iterable[tuple[str, str, int]]) -> list[tuple[ReasonGroup, int]]:
    """(stage, reason, count) rows -> groups with their counts, most frequent first."""
    counts: Counter[ReasonGroup] = Counter()
    for stage, reason, count in rows:
        counts[reason_group(stage, reason)] += count
    return sorted(counts.items(), key=lambda item: (-item[1], item[0].stage, item[0].reason))

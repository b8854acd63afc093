"""Which tools change the world, and what a run would call (``--execute`` safety).

A tool that creates, sends, books, schedules, updates or deletes something does it
for real under ``--execute``: a seeded "send_email" sends an email. Such tools are
found from what they do (``generator.tool_kinds``), plus any the user marks
(``--side-effects NAME``); a run lists them and refuses to start until the user
allows them (``--allow-side-effects``) or leaves them out (``--exclude``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from callforge.generator.errors import InputError
from callforge.generator.scenarios.base import ScenarioPlan
from callforge.generator.tool_kinds import Verb, tool_kind
from callforge.generator.tools import ToolSet, canonical_json

SIDE_EFFECT_VERBS = frozenset(
    {Verb.CREATE, Verb.SEND, Verb.SCHEDULE, Verb.BOOK, Verb.CANCEL, Verb.UPDATE}
)


def side_effecting(tools: ToolSet, marked: Iterable[str] = ()) -> list[str]:
    """The tools whose calls change something outside callforge, in tool-set order."""
    marked_names = set(marked)
    unknown = sorted(marked_names - set(tools.names))
    if unknown:
        raise InputError(
            f"--side-effects: no tool named '{unknown[0]}'; tools: {', '.join(tools.names)}"
        )
    return [
        tool.name
        for tool in tools
        if tool.name in marked_names or tool_kind(tool).verb in SIDE_EFFECT_VERBS
    ]


def check_side_effects(tools: ToolSet, *, allowed: bool, marked: Iterable[str] = ()) -> list[str]:
    """The side-effecting tools; raises unless they are allowed (the run then calls them)."""
    names = side_effecting(tools, marked)
    if names and not allowed:
        raise InputError(
            f"--execute would call tools that change things: {', '.join(names)}; "
            "pass --allow-side-effects to call them for real, or leave them out with "
            "--exclude " + " --exclude ".join(names)
        )
    return names


def planned_calls(plans: Sequence[ScenarioPlan]) -> list[str]:
    """One line per call the plans would make: ``name {"arg": ...}`` (``--dry-run``)."""
    return [
        f"{step.call.name} {canonical_json(step.call.arguments)}"
        + (f"  # planned to fail: {step.failure.kind}" if step.failure else "")
        for plan in plans
        for step in plan.steps
    ]

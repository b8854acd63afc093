"""System messages: an optional first message per example, from the user or shipped variety.

``--system-prompt TEXT`` (repeatable) or ``--system-prompts FILE`` (prompts separated
by blank lines; ``shipped`` for ``templates/system_prompts.yaml``) give the set; each
example draws one from its own seed, on a stream of its own, so the plan's other
values are the same with or without system messages. ``{today}`` in a prompt is the
example's day; a prompt without it gets the "today" sentence added when the calls
hold dates, so "tomorrow" in the conversation has an anchor.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from callforge.generator.errors import InputError
from callforge.generator.grounding import scalar_values
from callforge.generator.scenarios.base import ScenarioPlan
from callforge.generator.templating import load_yaml

SHIPPED = "shipped"
_STREAM = 0x5157E4
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
MAX_PROMPT_CHARS = 4000


def load_system_prompts(texts: Sequence[str] = (), source: str | None = None) -> tuple[str, ...]:
    """The run's system prompts: the given texts plus those of ``source`` (a file or 'shipped')."""
    prompts = [text.strip() for text in texts]
    if source == SHIPPED:
        prompts += [str(p).strip() for p in _shipped()["prompts"]]
    elif source is not None:
        path = Path(source)
        try:
            content = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"--system-prompts: cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise InputError(f"--system-prompts: {path} is not UTF-8 text") from None
        prompts += [part.strip() for part in re.split(r"\n\s*\n", content)]
    prompts = [prompt for prompt in prompts if prompt]
    if (texts or source) and not prompts:
        raise InputError("--system-prompt/--system-prompts: no non-empty prompt given")
    too_long = next((p for p in prompts if len(p) > MAX_PROMPT_CHARS), None)
    if too_long is not None:
        raise InputError(
            f"--system-prompts: a prompt of {len(too_long)} characters "
            f"(at most {MAX_PROMPT_CHARS}): '{too_long[:40]}...'"
        )
    return tuple(dict.fromkeys(prompts))


def system_prompt_for(plan: ScenarioPlan, prompts: Sequence[str]) -> str:
    """The system message of ``plan``'s example, or "" when the run has none."""
    if not prompts:
        return ""
    chosen = random.Random(plan.seed ^ _STREAM).choice(list(prompts))
    today = f"{plan.today_date:%A}, {plan.today_date.isoformat()}"
    if "{today}" in chosen:
        return chosen.replace("{today}", today)
    if _has_dates(plan):
        return f"{chosen} {_shipped()['today'].format(today=today)}"
    return chosen


def _has_dates(plan: ScenarioPlan) -> bool:
    return any(
        isinstance(value, str) and _DATE.match(value)
        for step in plan.steps
        for value in scalar_values(step.call.arguments)
    )


def _shipped() -> dict[str, Any]:
    shipped: dict[str, Any] = load_yaml("system_prompts.yaml")
    return shipped

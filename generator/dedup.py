"""Dedup: drop examples that would teach the same thing twice.

The exact key is a hash of the normalised user request plus every call (name
and canonical arguments): two examples with the same words asking for the same
calls are one example, whichever run made them. Near-duplicate detection will
plug in beside ``ExactDeduplicator`` with the same ``admit`` method.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from callforge.generator.grounding import normalise
from callforge.generator.scenarios.base import Scenario
from callforge.generator.tools import canonical_json, sha256_hex

_PUNCTUATION = re.compile(r"[^\w\s]")


def normalised_request(text: str) -> str:
    """A request as dedup compares it: normalised (``grounding.normalise``), no punctuation."""
    return _PUNCTUATION.sub("", normalise(text))


def dedup_key(scenario: Scenario) -> str:
    request = normalised_request(scenario.draft.user_request)
    calls = [[step.call.name, step.call.arguments] for step in scenario.plan.steps]
    return sha256_hex(request + "\x00" + canonical_json(calls))


class ExactDeduplicator:
    """Remembers keys already stored (across runs) or admitted in this run."""

    def __init__(self, known_keys: Iterable[str] = ()) -> None:
        self._seen = set(known_keys)

    def admit(self, key: str) -> bool:
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

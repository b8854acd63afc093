"""Shared records: the low layer that teachers, the pipeline and the store all speak.

Nothing here imports anything of callforge, so ``store`` can depend on these
types without pulling in the teachers, scenarios or seeding above it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

OUTPUT_SCHEMA_KEY = "x-output-schema"
"""Where OpenAI tools JSON carries a tool's declared result schema (``ToolSpec.output_schema``);
stored apart from the definition and never exported."""

Cell = tuple[str, str]
"""A (tool name, category) pair: the unit generation fills and export stratifies by."""


@dataclass(frozen=True)
class Usage:
    """What writing one draft cost: HTTP requests sent (retries included) and tokens.

    ``cached_tokens`` is the part of ``prompt_tokens`` the provider served from its
    prompt cache (``usage.prompt_tokens_details.cached_tokens``), where it says so.
    """

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.requests + other.requests,
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cached_tokens + other.cached_tokens,
        )

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


NO_USAGE = Usage()


@dataclass(frozen=True)
class CacheEntry:
    """A teacher response worth keeping: the same request later costs nothing."""

    key: str
    teacher: str
    response: dict[str, Any]
    usage: Usage

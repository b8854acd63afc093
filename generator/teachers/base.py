"""The teacher seam: the pipeline asks for a draft around a plan, whoever writes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from callforge.generator.records import NO_USAGE, CacheEntry, Usage
from callforge.generator.scenarios.base import ScenarioDraft, ScenarioPlan
from callforge.generator.tools import ToolSpec

if TYPE_CHECKING:
    from callforge.generator.dataflow import DataFlowGraph


@dataclass(frozen=True)
class TeacherRequest:
    """A plan to write around, with the definitions of the tools it calls."""

    plan: ScenarioPlan
    tools: tuple[ToolSpec, ...]
    dataflow: DataFlowGraph | None = None
    """The run's data-flow graph when the user gave one (``ToolSet.dataflow``), for the check."""
    results: tuple[dict[str, Any], ...] | None = None
    """The real tool messages, one per step (``--execute``): write around these, do not
    imagine results (the pipeline puts them in the draft whatever the teacher wrote)."""


@dataclass(frozen=True)
class TeacherReply:
    """A draft, what it cost, and whether it came from the cache (``usage`` is then zero)."""

    draft: ScenarioDraft
    usage: Usage = NO_USAGE
    cached: bool = False
    cache_entry: CacheEntry | None = None
    """A fresh response the pipeline stores in the cache with its next batch."""
    validated: bool = False
    """The teacher already ran the validator on this draft and plan, and it passed."""
    rejection: tuple[str, str] | None = None
    """(stage, reason) when the teacher's own grader (``--judge``) failed the draft."""
    more_cache_entries: tuple[CacheEntry, ...] = ()
    """Further fresh responses behind this reply (the judge's verdict), to cache too."""
    plan: ScenarioPlan | None = None
    """The plan with the free text the teacher wrote, when it wrote any (else the request's)."""


class TeacherFailure(Exception):
    """No usable draft after the teacher's own retries; ``usage`` is what the tries cost.

    Not a ``CallforgeError``: the pipeline records it as a rejection at stage
    ``teacher`` and goes on, it never reaches the user as an error.
    """

    def __init__(
        self,
        reason: str,
        usage: Usage = NO_USAGE,
        stage: str = "teacher",
        answer: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.usage = usage
        self.stage = stage
        """The rejection's stage: ``teacher``, or the validator's for a draft that never fit."""
        self.answer = answer
        """The model's last answer, as it wrote it (for ``callforge show --rejected``)."""


@runtime_checkable
class ResponseCache(Protocol):
    """Where a teacher looks responses up by request key (the store implements it)."""

    def get(self, key: str) -> CacheEntry | None: ...

    def keep(self, entry: CacheEntry) -> None:
        """Make a new answer survive a killed process at once (the run stores it later)."""
        ...


@dataclass
class TeacherStats:
    """Live counters a progress display reads while a run goes on."""

    in_flight: int = 0
    requests: int = 0
    retries: int = 0
    cache_hits: int = 0
    concurrency_limit: float = 0.0
    status_counts: dict[str, int] = field(default_factory=dict)


@runtime_checkable
class Teacher(Protocol):
    """Writes the words around a plan. Raise ``TeacherFailure`` when no usable draft comes.

    A teacher that caches its answers has a ``cache: ResponseCache | None``
    attribute, which ``pipeline.generate_into`` points at the store's cache.
    """

    id: str
    concurrency: int
    """How many ``write`` calls the pipeline may keep in flight at once."""
    stats: TeacherStats

    async def start(self) -> None:
        """Check the configuration (key, endpoint) before any work; raise ``TeacherConfigError``."""
        ...

    async def write(self, request: TeacherRequest) -> TeacherReply: ...

    async def aclose(self) -> None: ...

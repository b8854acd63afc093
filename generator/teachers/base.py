"""The teacher seam: the pipeline asks for a draft around a plan, whoever writes it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from generator.scenarios.base import ScenarioDraft, ScenarioPlan
from generator.tools import ToolSpec


@dataclass(frozen=True)
class TeacherRequest:
    """A plan to write around, with the definitions of the tools it calls."""

    plan: ScenarioPlan
    tools: tuple[ToolSpec, ...]


@runtime_checkable
class Teacher(Protocol):
    """Writes the words around a plan. Raise ``TeacherError`` when no usable draft comes."""

    id: str
    concurrency: int
    """How many ``write`` calls the pipeline may keep in flight at once."""

    async def write(self, request: TeacherRequest) -> ScenarioDraft: ...

    async def aclose(self) -> None: ...

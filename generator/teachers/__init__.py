"""Teacher registry: one entry per teacher module, looked up by name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from callforge.generator.errors import TeacherConfigError
from callforge.generator.teachers.base import Teacher, TeacherFailure, TeacherReply, TeacherRequest

TeacherFactory = Callable[..., Teacher]


def _offline(**options: Any) -> Teacher:
    from callforge.generator.teachers.offline import OfflineTeacher

    return OfflineTeacher(**options)


def _openai(**options: Any) -> Teacher:
    from callforge.generator.teachers.llm import OpenAITeacher

    return OpenAITeacher(**options)


TEACHERS: dict[str, TeacherFactory] = {"offline": _offline, "openai": _openai}


def get_teacher(name: str, **options: Any) -> Teacher:
    try:
        factory = TEACHERS[name]
    except KeyError:
        known = ", ".join(sorted(TEACHERS))
        raise TeacherConfigError(f"unknown teacher '{name}' (known: {known})") from None
    return factory(**options)


__all__ = [
    "TEACHERS",
    "Teacher",
    "TeacherFailure",
    "TeacherReply",
    "TeacherRequest",
    "get_teacher",
]

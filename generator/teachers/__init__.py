"""Teacher registry: one entry per teacher module, looked up by name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

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


def get_teacher(name: str, labels: Mapping[str, str] | None = None, **options: Any) -> Teacher:
    """The teacher ``name`` made with ``options``; a bad option is one ``TeacherConfigError``.

    ``labels`` names each option the way the user gave it (``--timeout``, or
    ``timeout in callforge.toml [teacher]``), for the error message.
    """
    try:
        factory = TEACHERS[name]
    except KeyError:
        known = ", ".join(sorted(TEACHERS))
        raise TeacherConfigError(f"unknown teacher '{name}' (known: {known})") from None
    try:
        return factory(**options)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else ""
        label = (labels or {}).get(field) or f"--{field.replace('_', '-')}"
        message = str(error["msg"]).removeprefix("Value error, ")
        shown = "" if "key" in field else f" (got {error.get('input')!r})"
        raise TeacherConfigError(f"{label}: {message}{shown}") from None


__all__ = [
    "TEACHERS",
    "Teacher",
    "TeacherFailure",
    "TeacherReply",
    "TeacherRequest",
    "get_teacher",
]

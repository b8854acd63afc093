"""Include / exclude patterns: which of a file's tools to import.

A pattern is a shell glob (``fnmatch``, case-sensitive, ``*`` also crosses
``/``) matched against a tool's keys: its name as written and as an OpenAI
function name, and for OpenAPI operations also each tag and the path
(``/pets/*``). With no include pattern every tool is included; an exclude
pattern always wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fnmatch import fnmatchcase


def selected(keys: Iterable[str], include: Sequence[str], exclude: Sequence[str]) -> bool:
    """Whether a tool with these keys passes the include and exclude patterns."""
    keys = list(keys)

    def hit(patterns: Sequence[str]) -> bool:
        return any(fnmatchcase(key, pattern) for pattern in patterns for key in keys)

    return (not include or hit(include)) and not hit(exclude)


def describe_patterns(include: Sequence[str], exclude: Sequence[str]) -> str:
    """The patterns as a user wrote them, for error messages."""
    parts = [f"include {', '.join(include)}" if include else ""]
    parts.append(f"exclude {', '.join(exclude)}" if exclude else "")
    return "; ".join(part for part in parts if part)

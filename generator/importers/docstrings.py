"""Docstrings -> a tool description and one description per parameter.

Reads the three common styles:

* Google: an ``Args:`` (or ``Arguments:``, ``Parameters:``, ``Attributes:``...)
  section of ``name (type): text`` entries, continuation lines indented deeper;
* NumPy: a ``Parameters`` section underlined with dashes, ``name : type`` lines
  followed by indented text;
* reST / Sphinx: ``:param name: text`` or ``:param type name: text`` fields.

The description is the first paragraph, its lines joined with spaces.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

_GOOGLE_HEADER = re.compile(
    r"^(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Other Parameters"
    r"|Attributes)\s*:\s*$"
)
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:(?:\s+(.*))?$")
_NUMPY_HEADERS = ("Parameters", "Other Parameters", "Attributes")
_NUMPY_ENTRY = re.compile(r"^\*{0,2}(\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?::.*)?$")
_REST_FIELD = re.compile(
    r"^:(?:param|parameter|arg|argument|key|keyword)\s+(?:[^:]*?\s+)?\*{0,2}(\w+)\s*:\s*(.*)$"
)
_UNDERLINE = re.compile(r"^-{3,}\s*$")


@dataclass(frozen=True)
class Docstring:
    """What a tool needs from a docstring."""

    summary: str = ""
    params: dict[str, str] = field(default_factory=dict)


def parse_docstring(text: str | None) -> Docstring:
    """The first paragraph and the parameter descriptions of a docstring, in any style."""
    if not text:
        return Docstring()
    lines = inspect.cleandoc(text).splitlines()
    params = {**_numpy_params(lines), **_google_params(lines), **_rest_params(lines)}
    return Docstring(summary=_summary(lines), params=params)


def _summary(lines: list[str]) -> str:
    paragraph: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or _starts_section(lines, index):
            break
        paragraph.append(stripped)
    return " ".join(paragraph)


def _starts_section(lines: list[str], index: int) -> bool:
    line = lines[index].strip()
    underlined = index + 1 < len(lines) and bool(_UNDERLINE.match(lines[index + 1].strip()))
    return bool(_GOOGLE_HEADER.match(line)) or line.startswith(":") or underlined


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _google_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, list[str]] = {}
    index = 0
    while index < len(lines):
        header = lines[index]
        index += 1
        if not _GOOGLE_HEADER.match(header.strip()):
            continue
        entry_indent, current = None, None
        while index < len(lines):
            line = lines[index]
            if line.strip() and _indent(line) <= _indent(header):
                break
            index += 1
            if not line.strip():
                continue
            entry_indent = _indent(line) if entry_indent is None else entry_indent
            match = _GOOGLE_ENTRY.match(line.strip())
            if _indent(line) == entry_indent and match:
                current = match.group(1)
                params[current] = [match.group(2) or ""]
            elif current is not None:
                params[current].append(line.strip())
    return _joined(params)


def _numpy_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, list[str]] = {}
    in_section, current_names = False, list[str]()
    for index, line in enumerate(lines):
        stripped = line.strip()
        if _UNDERLINE.match(stripped):
            continue
        if index + 1 < len(lines) and _UNDERLINE.match(lines[index + 1].strip()):
            in_section, current_names = stripped in _NUMPY_HEADERS, []
            continue
        if not in_section or not stripped:
            continue
        match = _NUMPY_ENTRY.match(stripped)
        if _indent(line) == 0 and match:
            current_names = [n.strip().lstrip("*") for n in match.group(1).split(",")]
            for name in current_names:
                params[name] = []
        else:
            for name in current_names:
                params[name].append(stripped)
    return _joined(params)


def _rest_params(lines: list[str]) -> dict[str, str]:
    params: dict[str, list[str]] = {}
    current = None
    for line in lines:
        stripped = line.strip()
        match = _REST_FIELD.match(stripped)
        if match:
            current = match.group(1)
            params[current] = [match.group(2)]
        elif stripped.startswith(":") or not stripped or _indent(line) == 0:
            current = None
        elif current is not None:
            params[current].append(stripped)
    return _joined(params)


def _joined(params: dict[str, list[str]]) -> dict[str, str]:
    joined = {name: " ".join(part for part in parts if part) for name, parts in params.items()}
    return {name: text for name, text in joined.items() if text}

"""Importers: every tool format callforge reads, turned into OpenAI function objects.

One module per input format, each turning its input into a list of bare OpenAI
function objects (``{"name", "description", "parameters"}``) that
``generator.tools.parse_tools`` then checks, names and hashes like any tool file:

* ``mcp``: MCP tool lists and ``tools/list`` responses (``inputSchema``);
* ``openapi``: OpenAPI 3.0 / 3.1 documents, one tool per operation;
* ``python``: typed, docstringed Python functions and Pydantic models;
* ``dialect``: the BFCL / Gorilla dialect (``"type": "dict"``, ``"float"``, ...);
* OpenAI ``tools`` JSON needs no importer.

``detect`` picks the format from the file's name and content and runs it;
``load_tools`` is the entry point. The importers build on ``generator.tools``
(never the other way round), so loading a file lives here, not there.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from callforge.generator.importers.detect import FORMATS, detect_format, load_tool_file
from callforge.generator.tools import ToolSet

__all__ = ["FORMATS", "detect_format", "load_tool_file", "load_tools"]


def load_tools(
    path: str | Path,
    *,
    format: str | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
) -> ToolSet:
    """Read and check a tool file in any supported format.

    ``path`` is a file, or for Python tools a module spec (``pkg.module``,
    ``module:function``, ``file.py:Model``). ``format`` forces a format instead of
    detecting it; ``include``/``exclude`` keep or drop tools by glob on their name
    (and, for OpenAPI, on tag or path). Every problem is an ``InputError`` naming
    the file.
    """
    return load_tool_file(path, format=format, include=include, exclude=exclude)

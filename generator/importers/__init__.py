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
``generator.tools.load_tools`` is the entry point that delegates to it.
"""

from __future__ import annotations

from callforge.generator.importers.detect import FORMATS, detect_format, load_tool_file

__all__ = ["FORMATS", "detect_format", "load_tool_file"]

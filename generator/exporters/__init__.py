"""Exporters: one module per trainer format, each registering itself here.

``get_exporter(name, options)`` returns a format's renderer; ``EXPORTERS`` is
what ``export --format`` offers. A new format is one new module with a
``@register``-ed ``Exporter`` subclass and one import line below.
"""

from __future__ import annotations

from callforge.generator.errors import InputError
from callforge.generator.exporters.base import Conversation, Exporter, FormatOptions

EXPORTERS: dict[str, type[Exporter]] = {}


def register(exporter: type[Exporter]) -> type[Exporter]:
    EXPORTERS[exporter.name] = exporter
    return exporter


def format_names() -> list[str]:
    return sorted(EXPORTERS)


def get_exporter(name: str, options: FormatOptions | None = None) -> Exporter:
    if name not in EXPORTERS:
        raise InputError(f"unknown --format {name}; choose one of {', '.join(format_names())}")
    return EXPORTERS[name](options or FormatOptions())


# The built-in formats register themselves on import.
from callforge.generator.exporters import (  # noqa: E402
    axolotl,  # noqa: F401
    hermes,  # noqa: F401
    hf,  # noqa: F401
    llamafactory,  # noqa: F401
    openai,  # noqa: F401
)

__all__ = [
    "EXPORTERS",
    "Conversation",
    "Exporter",
    "FormatOptions",
    "format_names",
    "get_exporter",
    "register",
]

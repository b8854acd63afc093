"""The one exception hierarchy of callforge.

The CLI turns every ``CallforgeError`` into one line on stderr and exit code 2;
anything else is a bug and may show a traceback.
"""

from __future__ import annotations


class CallforgeError(Exception):
    """Base of every error a user can act on."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InputError(CallforgeError):
    """A file, flag or tool definition the user gave is unusable."""

    def __init__(self, message: str, *, source: str | None = None, tool: str | None = None) -> None:
        where = ": ".join(part for part in (source, f"tool '{tool}'" if tool else None) if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.source = source
        self.tool = tool


class UnsupportedSchemaError(InputError):
    """A JSON Schema feature callforge cannot seed or check, at a given JSON path."""

    def __init__(
        self, message: str, *, path: str, tool: str | None = None, source: str | None = None
    ) -> None:
        super().__init__(f"at {path}: {message}", source=source, tool=tool)
        self.path = path


class TeacherError(CallforgeError):
    """A teacher cannot be used at all (one draft failing is a ``TeacherFailure``)."""


class TeacherConfigError(TeacherError):
    """A teacher is misconfigured (unknown name, missing or rejected API key, bad endpoint)."""


class TeacherUnavailableError(TeacherError):
    """The endpoint refused or failed every request for longer than the run allows.

    Not the user's input at fault, so exit code 1; what was stored is kept.
    """

    exit_code = 1


class StoreError(CallforgeError):
    """The DuckDB store cannot be opened, migrated or written."""


class StoreInUseError(StoreError):
    """Another process holds the store's lock (a running ``generate``)."""

    def __init__(self, message: str, *, pid: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid


class StoreWriteError(StoreError):
    """A write to the store failed (disk full, permissions): the run stops, commits are kept.

    Not the user's input at fault, so exit code 1. ``detail`` is what failed, in DuckDB's words.
    """

    exit_code = 1

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class RunIncompleteError(CallforgeError):
    """A run ended with cells short of their targets (every attempt spent, or none accepted).

    What was stored is kept; the message says what is short and the most common
    reason. Not the user's input at fault, so exit code 1.
    """

    exit_code = 1

"""A running ``generate``'s live figures, in a small file beside the store.

DuckDB locks its file for the process writing it, readers included, so another
terminal's ``callforge stats`` cannot open the store while a run goes on. The
run rewrites ``<db>.progress.json`` about once a second (written to a temporary
file and renamed over, so a reader never sees half of it); ``stats`` shows it
when the store is locked. The run deletes it when it ends: then the store
itself is readable again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class ProgressFile:
    def __init__(self, store_path: Path) -> None:
        self.path = store_path.with_name(f"{store_path.name}.progress.json")

    def write(self, figures: Mapping[str, Any]) -> None:
        partial = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            partial.write_text(json.dumps(figures, indent=1), encoding="utf-8")
            os.replace(partial, self.path)
        except OSError:  # a display aid: never worth failing a run for
            partial.unlink(missing_ok=True)

    def read(self) -> dict[str, Any] | None:
        try:
            figures = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return figures if isinstance(figures, dict) else None

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

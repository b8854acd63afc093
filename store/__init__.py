"""DuckDB persistence for callforge: connection, migrations and every query."""

from callforge.store.database import (
    Cell,
    ExampleRow,
    RejectionRow,
    Store,
    StoredExample,
)

__all__ = ["Cell", "ExampleRow", "RejectionRow", "Store", "StoredExample"]

"""DuckDB persistence for callforge: connection, migrations and every query."""

from callforge.store.database import (
    Cell,
    ExampleRow,
    IndexedExample,
    RejectionRow,
    Store,
    StoredExample,
)

__all__ = ["Cell", "ExampleRow", "IndexedExample", "RejectionRow", "Store", "StoredExample"]

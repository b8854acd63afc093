"""callforge: verified tool-calling fine-tuning data from your own tool schemas."""

from typing import Any


def __getattr__(name: str) -> Any:
    """``__version__`` on first use: reading the distribution's metadata costs start-up time."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("callforge")  # one owner: the distribution's metadata (pyproject)
    except PackageNotFoundError:  # imported from a checkout that was never installed
        return "unknown"

"""callforge: verified tool-calling fine-tuning data from your own tool schemas."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("callforge")  # one owner: the distribution's metadata (pyproject)
except PackageNotFoundError:  # imported from a checkout that was never installed
    __version__ = "unknown"

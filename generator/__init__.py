"""callforge: verified tool-calling fine-tuning data from your own tool schemas."""

__version__ = "0.1.0"

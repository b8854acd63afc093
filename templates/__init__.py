"""Package data: every word the teachers use, and the example tool set."""

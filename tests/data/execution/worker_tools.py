"""Python tools that show how ``--execute``'s worker process lives and dies."""

from __future__ import annotations

import os
import sys
import time

CALLS: list[str] = []


def worker_process(tag: str) -> dict[str, object]:
    """The process serving the call, and the calls it served before this one."""
    CALLS.append(tag)
    return {"pid": os.getpid(), "calls": list(CALLS)}


def hang(seconds: float) -> str:
    """Sleeps past any short timeout."""
    time.sleep(seconds)
    return "woke"


def crash(code: int) -> str:
    """Ends the whole process at once, as a segfaulting extension would."""
    os._exit(code)


def read_and_print(text: str) -> str:
    """Reads stdin and prints: neither may touch the worker's pipe."""
    print("noise on stdout")
    return text + "|" + sys.stdin.read()


def service_status() -> dict[str, object]:
    """The service's status; takes no argument."""
    return {"status": "up", "version": "1.2.0", "queued_jobs": 4}

"""Ctrl-C for the async commands: stop within a fraction of a second, whatever runs.

``asyncio.run`` turns the first Ctrl-C into a cancellation of its main task, which
takes effect at the task's next ``await``; until then the signal waits. A stretch
of synchronous work in the event loop (the data-flow graph of 500 tools: ~10 s;
the estimate; seeding a large plan) ran on to its end, and only a second Ctrl-C
raised ``KeyboardInterrupt``. ``run`` cancels the same way first, so the run
unwinds through its ``finally`` blocks (the last batch written, the run marked
``interrupted``); if the loop has not reached an ``await`` within ``GRACE_S``, it
interrupts the main thread as a second Ctrl-C would.
"""

from __future__ import annotations

import _thread
import asyncio
import signal
import threading
from collections.abc import Coroutine
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")

GRACE_S = 0.25
"""How long the event loop may go without running a callback, once cancelled, before
the main thread is interrupted: it is stuck in synchronous work."""


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``; Ctrl-C raises ``KeyboardInterrupt`` within ``GRACE_S``
    of the event loop's last turn (at once when it is waiting, as asyncio.run does)."""
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        return asyncio.run(main)  # signals are someone else's here: asyncio's own way
    interrupts = 0
    task: asyncio.Task[T] | None = None
    finished = threading.Event()

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupts
        interrupts += 1
        if interrupts > 1 or task is None or task.done():
            raise KeyboardInterrupt
        task.cancel()  # what asyncio.run does: the run unwinds at its next await
        loop = task.get_loop()
        threading.Thread(target=_watch, args=(loop, finished), daemon=True).start()

    async def tracked() -> T:
        nonlocal task
        task = asyncio.current_task()  # type: ignore[assignment]
        return await main

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        with asyncio.Runner() as runner:
            return runner.run(tracked())
    except asyncio.CancelledError:
        if interrupts:
            raise KeyboardInterrupt from None
        raise
    finally:
        finished.set()
        signal.signal(signal.SIGINT, previous)


def _watch(loop: asyncio.AbstractEventLoop, finished: threading.Event) -> None:
    """Interrupt the main thread when ``loop`` stops turning before ``finished``: a
    callback it is handed must run within ``GRACE_S``, as it does while the run awaits."""
    while not finished.is_set():
        turned = threading.Event()
        try:
            loop.call_soon_threadsafe(turned.set)
        except RuntimeError:  # the loop is closed: the run is over
            return
        if not turned.wait(GRACE_S) and not finished.is_set():
            _thread.interrupt_main(signal.SIGINT)
            return
        finished.wait(GRACE_S / 5)

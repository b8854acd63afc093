"""Flow control for LLM requests: how many in flight, how fast they start.

``AdaptiveLimiter`` keeps at most ``limit`` requests in flight and adapts the limit
the way TCP does (additive increase, multiplicative decrease): every success
raises it by ``1/limit`` (about +1 per round trip); a 429 halves it when 429s
are at least a quarter of the outcomes of the last round trip, and at most once
per round trip, so one burst counts once and a stray 429 among successes (a
busy replica behind a load balancer) does not cost half the throughput. It
also staggers request starts: a wave of requests released at once comes back at
once and queues behind the one core that parses and validates them, so starts
are spaced by a small gap and the returns stay spread out.

``RateBudget`` enforces ``--rpm`` / ``--tpm`` with token buckets refilled
continuously; a request debits its estimated tokens before it starts and is
corrected by what the server reports afterwards.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable

OVERLOAD_SHARE = 0.25
OVERLOAD_SAMPLE = 8
"""429s must be at least ``OVERLOAD_SHARE`` of a round trip's outcomes, and that
round trip must have had ``OVERLOAD_SAMPLE`` outcomes (or ``limit``, if fewer), to
halve the limit."""


class AdaptiveLimiter:
    def __init__(
        self,
        maximum: int,
        *,
        minimum: int = 1,
        stagger_s: float = 0.003,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if maximum < 1:
            raise ValueError("maximum concurrency must be at least 1")
        self.maximum = maximum
        self.minimum = min(minimum, maximum)
        self.limit = float(maximum)
        self.in_flight = 0
        self.stagger_s = stagger_s
        self.latency_s: float | None = None
        self.decreases = 0
        self._clock = clock
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._next_start = 0.0
        self._last_decrease = -math.inf
        self._outcomes: deque[tuple[float, bool]] = deque()  # (when, was a 429)
        self._overloads_in_window = 0

    async def acquire(self) -> None:
        """Wait for a free slot, then for this request's start time."""
        if self.in_flight < int(self.limit) and not self._waiters:
            self.in_flight += 1
        else:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(future)
            try:
                await future  # ``_wake`` hands the slot over: in_flight already counts it
            except BaseException:
                if future.done() and not future.cancelled():
                    self.release()
                elif future in self._waiters:  # ``_wake`` drops a waiter cancelled meanwhile
                    self._waiters.remove(future)
                raise
        now = self._clock()
        start = max(now, self._next_start)
        self._next_start = start + self._gap()
        if start > now:
            try:
                await asyncio.sleep(start - now)
            except BaseException:
                self.release()
                raise

    def release(self) -> bool:
        """Free a slot; whether a waiting request was handed one."""
        self.in_flight -= 1
        return self._wake()

    def on_success(self, latency_s: float) -> None:
        self.latency_s = (
            latency_s if self.latency_s is None else 0.8 * self.latency_s + 0.2 * (latency_s)
        )
        self._record(overloaded=False)
        if self.limit < self.maximum:
            self.limit = min(float(self.maximum), self.limit + 1.0 / self.limit)
            self._wake()

    def on_failure(self) -> None:
        """A failure that says nothing about load (a 500, a timeout): only counted."""
        self._record(overloaded=False)

    def on_overload(self) -> None:
        """A 429: halve the limit if 429s dominate the last round trip, once per round trip."""
        now = self._clock()
        self._record(overloaded=True)
        seen = len(self._outcomes)
        if seen < min(OVERLOAD_SAMPLE, self.limit) or (
            self._overloads_in_window < OVERLOAD_SHARE * seen
        ):
            return
        if now - self._last_decrease < (self.latency_s or 1.0):
            return
        self._last_decrease = now
        self.limit = max(float(self.minimum), self.limit / 2)
        self.decreases += 1

    def _record(self, overloaded: bool) -> None:
        """Keep the outcomes of the last round trip."""
        now = self._clock()
        self._outcomes.append((now, overloaded))
        self._overloads_in_window += overloaded
        horizon = now - (self.latency_s or 1.0)
        while self._outcomes[0][0] < horizon:
            _, was_overload = self._outcomes.popleft()
            self._overloads_in_window -= was_overload

    def _gap(self) -> float:
        """Space starts by ``stagger_s``, never slower than twice the ideal rate."""
        if self.latency_s is None:
            return self.stagger_s
        return min(self.stagger_s, self.latency_s / max(self.limit, 1.0) / 2)

    def _wake(self) -> bool:
        woke = False
        while self._waiters and self.in_flight < int(self.limit):
            future = self._waiters.popleft()
            if not future.done():
                self.in_flight += 1
                future.set_result(None)
                woke = True
        return woke


class _Bucket:
    def __init__(self, per_minute: float, clock: Callable[[], float]) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)  # one second's worth: no minute-long bursts
        self.level = self.capacity
        self._clock = clock
        self._updated = clock()

    def refill(self) -> None:
        now = self._clock()
        self.level = min(self.capacity, self.level + (now - self._updated) * self.rate)
        self._updated = now

    def wait_for(self, amount: float) -> float:
        self.refill()
        needed = min(amount, self.capacity) - self.level
        return max(0.0, needed / self.rate)


class RateBudget:
    """Requests and tokens per minute; ``None`` means unlimited."""

    def __init__(
        self,
        rpm: float | None = None,
        tpm: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._requests = _Bucket(rpm, clock) if rpm else None
        self._tokens = _Bucket(tpm, clock) if tpm else None
        self._lock = asyncio.Lock()

    @property
    def limited(self) -> bool:
        return self._requests is not None or self._tokens is not None

    async def acquire(self, tokens: int) -> None:
        if not self.limited:
            return
        async with self._lock:  # first come, first served
            while True:
                wait = max(
                    self._requests.wait_for(1) if self._requests else 0.0,
                    self._tokens.wait_for(tokens) if self._tokens else 0.0,
                )
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            if self._requests:
                self._requests.level -= 1
            if self._tokens:
                self._tokens.level -= tokens

    def correct(self, estimated: int, actual: int) -> None:
        """Charge the difference once the server says what a request really cost."""
        if self._tokens:
            self._tokens.refill()
            self._tokens.level -= actual - estimated

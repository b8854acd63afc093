"""How many real Python tool calls per second ``--execute`` makes.

Run by hand: ``.venv/bin/python benchmarks/bench_execution.py [--calls N] [--concurrency C]``.

Calls ``tests/data/execution/shop_tools.py``'s ``quote_price`` through
``PythonExecutor`` (the executor ``generate --execute`` uses, without the store's
cache: every call is a real one), with different arguments each time, ``C`` calls in
flight at once as the pipeline's attempts make them. Prints calls/s, the mean and the
slowest call, and the load average (the machine's other work changes the figures);
the last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path

from callforge.generator.execution.python import PythonExecutor

SHOP = Path(__file__).resolve().parent.parent / "tests" / "data" / "execution" / "shop_tools.py"


async def run(calls: int, concurrency: int) -> dict[str, float]:
    executor = PythonExecutor(str(SHOP))
    gate = asyncio.Semaphore(concurrency)
    took: list[float] = []

    async def one(number: int) -> None:
        async with gate:
            tick = time.perf_counter()
            outcome = await executor.call("quote_price", {"amount": number, "currency": "eur"})
            took.append(time.perf_counter() - tick)
            assert outcome.value == {
                "currency": "EUR",
                "amount": round(number * 1.1, 2),
                "valid_until": "2026-04-01",
            }, outcome

    start = time.perf_counter()
    try:
        await asyncio.gather(*(one(number) for number in range(calls)))
    finally:
        await executor.aclose()
    wall = time.perf_counter() - start
    return {
        "calls": calls,
        "concurrency": concurrency,
        "wall_s": round(wall, 3),
        "calls_per_s": round(calls / wall, 1),
        "mean_ms": round(1000 * sum(took) / len(took), 1),
        "slowest_ms": round(1000 * max(took), 1),
        "load_1m": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=4)
    options = parser.parse_args()
    figures = asyncio.run(run(options.calls, options.concurrency))
    print(
        f"{figures['calls']:.0f} calls, {figures['concurrency']:.0f} in flight: "
        f"{figures['calls_per_s']} calls/s, mean {figures['mean_ms']} ms, "
        f"slowest {figures['slowest_ms']} ms (load {figures['load_1m']:.2f})"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

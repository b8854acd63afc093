"""Start-up time of the commands a user runs most: ``callforge --help`` and ``stats``.

Each command is started as a fresh process (``python -m callforge.cli ...``) several
times; the script prints the median and the fastest wall time and the median CPU
time (user + system: steadier than wall time on a busy machine), next to a bare
``python -c pass`` (the interpreter's own start-up). A command should import what
it uses when it runs, so ``--help`` and ``stats`` do not pay for Faker,
jsonschema, instructor and the teachers.

    python benchmarks/bench_startup.py                    # this checkout
    python benchmarks/bench_startup.py --checkout /tmp/old --runs 9

``--checkout`` measures another copy of the code (e.g. ``git archive <commit> |
tar -x -C /tmp/old``): it is imported as ``callforge`` ahead of the installed one.
Run by hand, not in CI; on a shared machine, compare figures taken together.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PARTS = ("cli.py", "generator", "store", "templates")


def package_root(checkout: Path, scratch: Path) -> Path:
    """A folder where ``import callforge`` finds ``checkout``'s code, as a regular package."""
    root = scratch / "site"
    package = root / "callforge"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for part in PARTS:
        (package / part).symlink_to(checkout / part)
    return root


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], env: dict[str, str], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds (user + system, of the child) of each run."""
    walls, cpus = [], []
    for _ in range(runs):
        cpu, started = _children_cpu(), time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
        cpus.append(_children_cpu() - cpu)
    return walls, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkout", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        env = {**os.environ, "PYTHONPATH": str(package_root(options.checkout, Path(scratch)))}
        cli = [sys.executable, "-m", "callforge.cli"]
        db = Path(scratch) / "bench.duckdb"
        tools = options.checkout / "templates" / "examples" / "tools.json"
        subprocess.run(
            [*cli, "generate", "--tools", str(tools), "--per-tool", "4", "--db", str(db)],
            env=env,
            check=True,
            capture_output=True,
        )
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "callforge --help": [*cli, "--help"],
            "callforge stats": [*cli, "stats", "--db", str(db)],
            "callforge stats --json": [*cli, "stats", "--db", str(db), "--json"],
        }
        print(f"start-up of {options.checkout}, {options.runs} runs each (seconds)")
        print(f"{'command':<26}{'wall median':>12}{'fastest':>9}{'CPU median':>12}")
        for name, command in commands.items():
            walls, cpus = timed(command, env, options.runs)
            print(
                f"{name:<26}{statistics.median(walls):>12.3f}{min(walls):>9.3f}"
                f"{statistics.median(cpus):>12.3f}"
            )


if __name__ == "__main__":
    main()

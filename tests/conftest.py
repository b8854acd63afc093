"""Shared fixtures: the example tools, temp stores, and running the CLI as a user does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from callforge.generator.templating import EXAMPLE_TOOLS
from callforge.store import Store

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "callforge.cli"]  # the installed package's command line


def run_cli(
    *args: str | Path,
    cwd: Path | None = None,
    timeout: float = 300,
    env: dict[str, str | None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m callforge.cli ...`` (the installed package) in a subprocess.

    ``env`` overrides the environment (``None`` removes a variable); the caller's
    own ``OPENAI_*`` variables are never passed on.
    """
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    for name, value in (env or {}).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    return subprocess.run(
        [*CLI, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env=environ,
    )


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_cli


@pytest.fixture
def example_tools() -> Path:
    return EXAMPLE_TOOLS


@pytest.fixture
def tools_data() -> list[dict[str, Any]]:
    return json.loads(EXAMPLE_TOOLS.read_text())


@pytest.fixture(scope="session")
def _small_store_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "small.duckdb"
    # The first three categories, as the export and split tests count their cells.
    result = run_cli(
        "generate", "--tools", EXAMPLE_TOOLS, "--per-tool", "8", "--seed", "3", "--db", path,
        "--mix", "single=2,error_recovery=1,multi_step=1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture
def small_store(_small_store_template: Path, tmp_path: Path) -> Path:
    """A store file already holding a small generated dataset (a private copy)."""
    path = tmp_path / "callforge.duckdb"
    shutil.copy(_small_store_template, path)
    return path


def store_snapshot(path: Path) -> dict[str, Any]:
    """Everything a test needs to prove a command left a store untouched."""
    with Store(path) as store:
        return {
            "counts": store.table_counts(),
            "examples": [(e.example_id, e.scenario) for e in store.examples(include_stale=True)],
            "current_tools": store.current_tools(),
            "targets": store.targets(),
        }


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]

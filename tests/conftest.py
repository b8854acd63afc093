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
COMMAND = Path(sys.executable).with_name("callforge")  # its installed entry point


def run_cli(
    *args: str | Path,
    cwd: Path | None = None,
    env: dict[str, str | None] | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``callforge ...`` in this process, as Typer's test runner does, and return
    what a subprocess would: exit code, stdout and stderr apart.

    ``env`` overrides the environment (``None`` removes a variable); the caller's
    own ``OPENAI_*`` variables are never passed on. Only tests that must kill a
    process, and one of the installed entry point, start a real one
    (``run_installed``). ``timeout`` is accepted for callers written for a
    subprocess and has no effect here.
    """
    del timeout
    from typer.testing import CliRunner

    from callforge.cli import app

    environ: dict[str, str | None] = {k: None for k in os.environ if k.startswith("OPENAI_")}
    environ.update(env or {})
    here = Path.cwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        result = CliRunner().invoke(
            app, [str(arg) for arg in args], env=environ, catch_exceptions=False
        )
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(
        ["callforge", *map(str, args)], result.exit_code, result.stdout, result.stderr
    )


def run_installed(
    *args: str | Path, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``callforge`` command in a subprocess, without ``OPENAI_*``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return subprocess.run(
        [str(COMMAND), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env=environ,
    )


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """The CLI, in-process: ``cli("stats", "--db", path)``."""
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
    result = run_cli(
        "generate", "--tools", EXAMPLE_TOOLS, "--per-tool", "8", "--seed", "3", "--db", path
    )
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

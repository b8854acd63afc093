"""Secrets stay secret in every form (issue #16): the key and credentials in a URL.

A run through Azure's ``--api-version`` path, then every command that reads the
store back (``stats``, ``stats --json``, ``show``, ``show --rejected``, ``report``,
``export``, ``tools list``, ``evaluate`` with its cache and report): the key is
searched for, byte by byte, in every output stream and every file under the test's
folder. A base URL carrying ``user:password@`` is refused by every command that
takes one, without repeating it and before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callforge.generator.templating import EXAMPLE_TOOLS
from tests.conftest import run_cli
from tests.openai_server import LocalServer, ServerBehaviour, run_server
from tests.plan_responder import PlanResponder

SECRET = "sk-callforge-secret-e41d0b9a7c3f5e62"
URL_PASSWORD = "url-password-5c0ffee-77"


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with run_server(ServerBehaviour(api_key=SECRET), responder=PlanResponder()) as local:
        yield local


def _leaks(text: str | bytes) -> list[str]:
    """Which secret forms ``text`` holds: the key, its first 12 characters, the password."""
    data = text.encode() if isinstance(text, str) else text
    forms = {"key": SECRET, "key prefix": SECRET[:12], "url password": URL_PASSWORD}
    return [name for name, form in forms.items() if form.encode() in data]


def test_the_key_is_in_no_output_and_no_file_after_an_azure_run(
    server: LocalServer, tmp_path: Path
) -> None:
    db = tmp_path / "azure.duckdb"
    azure = f"{server.base_url.removesuffix('/v1')}/openai/deployments/teacher-model"
    teacher = ["--teacher", "openai", "--model", "m", "--base-url", azure]
    teacher += ["--api-version", "2024-10-21"]
    key = {"OPENAI_API_KEY": SECRET}
    made = run_cli(
        "generate", "--tools", EXAMPLE_TOOLS, "--per-tool", "2", "--db", db, *teacher, env=key
    )
    assert made.returncode == 0, made.stderr
    assert server.stats.outcomes["ok"] > 0  # the key was sent, and answered
    out, report = tmp_path / "data", tmp_path / "report.html"
    commands: list[list[Any]] = [
        ["stats", "--db", db],
        ["stats", "--db", db, "--json"],
        ["show", "--db", db, "-n", "50"],
        ["tools", "list", "--db", db],
        ["report", "--db", db, "--out", report],
        ["export", "--db", db, "--out", out, "--eval-fraction", "0.3"],
    ]
    results = [made] + [run_cli(*command) for command in commands]
    assert all(result.returncode == 0 for result in results), [r.stderr for r in results]
    results.append(run_cli("show", "--db", db, "--rejected", "-n", "50"))  # drafts, if any
    evaluated = run_cli(
        "evaluate", out / "eval.jsonl", "--model", "m", "--base-url", azure,
        "--api-version", "2024-10-21", "--db", tmp_path / "evaluate.duckdb",
        "--out", tmp_path / "scores.json", env=key,
    )  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr
    results.append(evaluated)

    for result in results:
        assert _leaks(result.stdout + result.stderr) == [], result.args
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert {"azure.duckdb", "report.html", "manifest.json", "scores.json"} <= {
        path.name for path in written
    }
    for path in written:
        assert _leaks(path.read_bytes()) == [], path


@pytest.mark.parametrize("where", ["flag", "flag-azure", "environment"])
def test_evaluate_refuses_credentials_in_the_base_url_without_repeating_them(
    small_store: Path, server: LocalServer, tmp_path: Path, where: str
) -> None:
    out = tmp_path / "data"
    assert run_cli("export", "--db", small_store, "--out", out).returncode == 0
    scheme, rest = server.base_url.split("://", 1)
    url = f"{scheme}://admin:{URL_PASSWORD}@{rest}"
    cache = tmp_path / "evaluate.duckdb"
    args: list[Any] = ["evaluate", out / "eval.jsonl", "--model", "m", "--db", cache]
    env: dict[str, str | None] = {"OPENAI_API_KEY": SECRET}
    if where.startswith("flag"):
        args += ["--base-url", url]
    if where == "flag-azure":
        args += ["--api-version", "2024-10-21"]
    if where == "environment":
        env["OPENAI_BASE_URL"] = url
    result = run_cli(*args, env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "error: the base URL holds credentials (user:password@); remove them and give the "
        "key with OPENAI_API_KEY (or api_key_env in callforge.toml)\n"
    )
    assert _leaks(result.stdout + result.stderr) == []
    assert server.stats.total == 0
    assert not cache.exists()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert _leaks(path.read_bytes()) == [], path

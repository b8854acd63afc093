"""A hostile or failing endpoint: secrets kept, waits bounded, replies bounded, endings honest.

Everything runs the real CLI against ``tests/openai_server.py`` over HTTP.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from callforge.generator.templating import EXAMPLE_TOOLS
from tests.conftest import run_cli
from tests.openai_server import LocalServer, ServerBehaviour, run_server
from tests.plan_responder import PlanResponder

SECRET = "sk-callforge-test-7f3a9c1e5b2d4068"
URL_PASSWORD = "hunter2-url-secret-93c1"


@pytest.fixture
def server() -> Any:
    with run_server(ServerBehaviour(api_key=SECRET), responder=PlanResponder()) as local:
        yield local


def _with_credentials(base_url: str) -> str:
    scheme, rest = base_url.split("://", 1)
    return f"{scheme}://admin:{URL_PASSWORD}@{rest}"


def _written_bytes(folder: Path) -> list[tuple[Path, bytes]]:
    return [(path, path.read_bytes()) for path in folder.rglob("*") if path.is_file()]


@pytest.mark.parametrize("where", ["flag", "flag-azure", "environment", "config"])
def test_credentials_in_a_base_url_are_refused_and_never_repeated(
    server: LocalServer, tmp_path: Path, where: str
) -> None:
    url = _with_credentials(server.base_url)
    db = tmp_path / "store.duckdb"
    args: list[Any] = ["generate", "--tools", EXAMPLE_TOOLS, "--per-tool", "2", "--db", db]
    args += ["--teacher", "openai", "--model", "m"]
    env: dict[str, str | None] = {"OPENAI_API_KEY": SECRET}
    if where.startswith("flag"):
        args += ["--base-url", url]
    if where == "flag-azure":
        args += ["--api-version", "2024-10-21"]
    if where == "environment":
        env["OPENAI_BASE_URL"] = url
    if where == "config":
        config = tmp_path / "callforge.toml"
        config.write_text(f'[teacher]\nbase_url = "{url}"\n')
        args += ["--config", config]
    result = run_cli(*args, env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "error: the base URL holds credentials (user:password@); remove them and give the "
        "key with OPENAI_API_KEY (or api_key_env in callforge.toml)\n"
    )
    assert not db.exists()
    assert server.stats.total == 0
    for text in (result.stdout, result.stderr):
        assert URL_PASSWORD not in text and SECRET not in text
    for path, content in _written_bytes(tmp_path):
        if path.name != "callforge.toml":
            assert URL_PASSWORD.encode() not in content, path

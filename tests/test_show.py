"""``callforge show``: stored examples as conversations, rejected drafts with their reasons."""

from __future__ import annotations

from pathlib import Path

import duckdb

from callforge.generator.templating import EXAMPLE_TOOLS
from tests.conftest import run_cli
from tests.openai_server import ServerBehaviour, run_server


def test_show_prints_a_cells_examples_as_conversations(small_store: Path) -> None:
    result = run_cli(
        "show", "--db", small_store, "--tool", "search_flights", "--category", "single", "-n", "2"
    )
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(small_store), read_only=True) as db:
        stored = db.execute(
            "SELECT example_id, user_request FROM examples "
            "WHERE tool_name = 'search_flights' AND category = 'single' ORDER BY attempt LIMIT 2"
        ).fetchall()
    blocks = result.stdout.strip().split("\n\n")
    assert len(blocks) == 2
    for block, (example_id, user_request) in zip(blocks, stored, strict=True):
        lines = block.splitlines()
        assert lines[0] == f"== example {example_id}: search_flights / single"
        assert lines[1] == f"       user: {user_request}"
        assert lines[2].startswith("  assistant -> search_flights({")
        assert lines[3].startswith("        tool <- {")
        assert lines[4].startswith("  assistant: ") and len(lines) == 5


def test_show_rejected_drafts_gives_the_reason_and_the_models_last_answer(tmp_path: Path) -> None:
    db = tmp_path / "rejected.duckdb"
    with run_server(ServerBehaviour()) as server:  # well-formed nonsense: always rejected
        made = run_cli(
            "generate", "--tools", EXAMPLE_TOOLS, "--per-tool", "2", "--db", db,
            "--teacher", "openai", "--model", "m", "--base-url", server.base_url,
            env={"OPENAI_API_KEY": "k"},
        )  # fmt: skip
    assert made.returncode == 1
    result = run_cli("show", "--db", db, "--rejected", "-n", "1", "--tool", "send_email")
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(db), read_only=True) as connection:
        category, attempt, stage, reason = connection.execute(
            "SELECT category, attempt, stage, reason FROM rejections "
            "WHERE tool_name = 'send_email' "
            "ORDER BY created_at DESC, tool_name, category, attempt DESC LIMIT 1"
        ).fetchone()  # type: ignore[misc]
    lines = result.stdout.splitlines()
    assert lines[0] == (
        f"== rejected: send_email / {category} attempt {attempt} at {stage}: {reason}"
    )
    assert "  (the model's last answer:)" in lines
    assert any(line.strip().startswith('"user_request": ') for line in lines)


def test_show_with_nothing_to_show_is_one_line(small_store: Path) -> None:
    result = run_cli("show", "--db", small_store, "--tool", "no_such_tool")
    assert (result.returncode, result.stderr) == (
        2,
        f"error: no examples for no_such_tool in {small_store}\n",
    )

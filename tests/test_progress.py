"""Watching a long run: live progress in another terminal, and Ctrl-C that says what it kept.

A real ``generate`` process (DuckDB locks the file per process, so only another
process shows the lock a user meets) writes through the local OpenAI-compatible
server at 100 ms per answer; ``stats`` runs in this process meanwhile.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from callforge.generator.templating import EXAMPLE_TOOLS
from tests.conftest import CLI, run_cli
from tests.openai_server import ServerBehaviour, run_server
from tests.plan_responder import PlanResponder


def test_stats_shows_a_running_generate_and_ctrl_c_says_what_was_kept(tmp_path: Path) -> None:
    db = tmp_path / "live.duckdb"
    progress = Path(f"{db}.progress.json")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    with run_server(ServerBehaviour(latency_s=0.1), responder=PlanResponder()) as server:
        process = subprocess.Popen(
            [
                *CLI,
                "generate",
                "--tools",
                str(EXAMPLE_TOOLS),
                "--per-tool",
                "60",
                "--db",
                str(db),
                "--teacher",
                "openai",
                "--model",
                "m",
                "--concurrency",
                "4",
                "--base-url",
                server.base_url,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**environ, "OPENAI_API_KEY": "test-key"},
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if progress.exists() and json.loads(progress.read_text())["accepted"] >= 5:
                    break
                time.sleep(0.05)
            live = run_cli("stats", "--db", db)
            as_json = run_cli("stats", "--db", db, "--json")
        finally:
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=60)
    assert live.returncode == 0, live.stderr
    assert re.match(
        rf"{re.escape(str(db))} is being written by a running generate \(run \w+, updated .+\): "
        r"accepted \d+ of 600 missing, rejected \d+, \d+ requests, \d+s elapsed",
        live.stdout,
    ), live.stdout
    figures = json.loads(as_json.stdout)
    assert figures["live"] is True and figures["accepted"] >= 5

    assert process.returncode == 130, stderr
    kept = re.search(
        r"interrupted: the (\d+) examples accepted in this run are kept in (.+?); "
        r"run the same command again to resume",
        stderr,
    )
    assert kept, stderr
    assert kept.group(2) == str(db)
    after = json.loads(run_cli("stats", "--db", db, "--json").stdout)
    assert after["accepted_total"] == int(kept.group(1)) >= figures["accepted"]
    assert after["runs"][-1]["status"] == "interrupted"
    assert not progress.exists()  # the run removed its progress file on the way out

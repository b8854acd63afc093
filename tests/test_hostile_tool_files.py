"""Tool files are hostile data: bounded, never run, and shown escaped.

What callforge runs is only what a user names as code (a ``.py`` path, a module
that resolves, ``--format python``); everything read from a tool file is data,
checked against the limits in the README before anything is stored.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli


@pytest.mark.parametrize(
    "spec", ["tools.jsn", "tools.json.bak", "tools.txt", "schema.yaml.orig", "tools.jsn:lookup"]
)
def test_a_missing_files_name_never_imports_a_module(tmp_path: Path, spec: str) -> None:
    (tmp_path / "tools.py").write_text("open('RAN', 'w').write('tools.py ran')\n")
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "__init__.py").write_text("open('RAN', 'w').write('schema ran')\n")
    db = tmp_path / "store.duckdb"
    result = run_cli("generate", "--tools", spec, "--db", db, cwd=tmp_path)
    assert result.returncode == 2
    module = spec.partition(":")[0]
    assert result.stderr == (
        f"error: {spec}: no such file, and no module '{module}' importable "
        "from the current directory\n"
    )
    assert not (tmp_path / "RAN").exists()
    assert not db.exists()


def test_a_module_named_outright_is_still_imported(tmp_path: Path) -> None:
    (tmp_path / "mytools.py").write_text(
        "def lookup(query: str) -> str:\n    'Look something up.'\n    return query\n"
    )
    result = run_cli("tools", "import", "mytools", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert '"name": "lookup"' in result.stdout

"""The package a user installs: every template inside, one import name, a version."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (path,) = out.glob("callforge-*.whl")
    return path


def test_wheel_holds_every_template(wheel: Path) -> None:
    shipped = {
        path.relative_to(REPO / "templates").as_posix()
        for path in (REPO / "templates").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    missing = sorted(name for name in shipped if f"callforge/templates/{name}" not in names)
    assert shipped and not missing, missing


def test_wheel_installs_one_import_name(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
        entry_points = archive.read(
            next(n for n in archive.namelist() if n.endswith("entry_points.txt"))
        ).decode()
    assert {top for top in tops if not top.endswith(".dist-info")} == {"callforge"}
    assert "callforge = callforge.cli:app" in entry_points


def test_version_is_the_distributions() -> None:
    from importlib.metadata import version

    result = run_cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"callforge {version('callforge')}"

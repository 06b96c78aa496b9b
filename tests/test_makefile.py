"""The Makefile rebuilds a .venv whose Python does not fit, and refuses a too-old PYTHON.

The interpreters here are small shell scripts that answer like a Python of a given version
(the Makefile only asks them for their version); `make -n` shows what would run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def fake_python(path: Path, version: str | None) -> Path:
    """A script that reports ``version`` (3.11 or newer) to the Makefile, or fails as an
    older or broken Python does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    answer = f'echo "{version}"' if version else "exit 1"
    path.write_text(
        f'#!/bin/sh\ncase "$1" in --version) echo "Python {version or "3.9.18"}";; '
        f"*) {answer};; esac\n"
    )
    path.chmod(0o755)
    return path


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path)
    return tmp_path


def make(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """make as a person runs it: without the variables of a make that runs this suite (a
    `make test PYTHON=...` passes PYTHON down to every make below it through MAKEFLAGS)."""
    inherited = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "PYTHON", "VENV")
    env = {k: v for k, v in os.environ.items() if k not in inherited}
    cmd = ["make", "--no-print-directory", *args]
    return subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def plan(cwd: Path, *args: str) -> str:
    result = make(cwd, "-n", ".venv/bin/trialmon", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_missing_venv_is_built(checkout: Path) -> None:
    assert "python3 -m venv .venv" in plan(checkout)


def test_a_fitting_venv_is_kept(checkout: Path) -> None:
    fake_python(checkout / ".venv/bin/python", "3.12")
    steps = plan(checkout)
    assert "-m venv" not in steps and "rm -rf" not in steps
    assert ".venv/bin/python -m pip install --quiet -e '.[test]'" in steps


def test_a_venv_of_a_too_old_or_broken_python_is_rebuilt(checkout: Path) -> None:
    fake_python(checkout / ".venv/bin/python", None)
    steps = plan(checkout)
    assert "rm -rf .venv\npython3 -m venv .venv\n" in steps


def test_a_venv_of_another_version_than_the_python_asked_for_is_rebuilt(checkout: Path) -> None:
    fake_python(checkout / ".venv/bin/python", "3.11")
    newer = fake_python(checkout / "py313", "3.13")
    assert f"rm -rf .venv\n{newer} -m venv .venv\n" in plan(checkout, f"PYTHON={newer}")
    same = fake_python(checkout / "py311", "3.11")
    assert "-m venv" not in plan(checkout, f"PYTHON={same}")


def test_a_too_old_python_is_refused_with_the_way_out(checkout: Path) -> None:
    old = fake_python(checkout / "py39", None)
    fake_python(checkout / ".venv/bin/python", None)
    result = make(checkout, "test", f"PYTHON={old}")
    assert result.returncode == 2
    assert (
        f"make: {old} is not Python 3.11 or newer (Python 3.9.18); use one that is: "
        "make test PYTHON=python3.12"
    ) in result.stderr
    assert (checkout / ".venv/bin/python").exists()  # nothing removed before the refusal


def test_a_second_venv_beside_the_first(checkout: Path) -> None:
    fake_python(checkout / ".venv/bin/python", "3.11")
    newer = fake_python(checkout / "py313", "3.13")
    steps = make(checkout, "-n", "test", f"PYTHON={newer}", "VENV=.venv313").stdout
    assert f"rm -rf .venv313\n{newer} -m venv .venv313\n" in steps
    assert ".venv313/bin/pytest -q" in steps

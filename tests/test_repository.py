"""The repository names files by their path in it: no committed file carries an absolute path
of the machine it was written on (the checkout's folder, the home folder)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import ROOT


def tracked_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    done = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, timeout=60
    )
    return [ROOT / name for name in done.stdout.decode().split("\0") if name]


def test_no_committed_file_names_a_path_of_this_machine() -> None:
    needles = {str(ROOT) + "/", str(Path.home()) + "/"} - {"//"}
    found = []
    for path in tracked_files():
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        found += [(str(path.relative_to(ROOT)), n) for n in needles if n in text]
    assert not found, f"name these files by their path in the repository: {found}"

"""benchmarks/registry_requests.py runs end to end with a few watched trials (it asserts no speed;
the request counts it prints are the ones the end-to-end tests assert too)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_registry_requests_runs_and_prints_each_cycle(tmp_path: Path) -> None:
    argv = [sys.executable, str(ROOT / "benchmarks" / "registry_requests.py"), "--watched", "3"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = {
        (m.group(1), m.group(2).strip()): int(m.group(3))
        for m in re.finditer(r"^  (\w+) +(.+?) +(\d+) requests", done.stdout, re.MULTILINE)
    }
    assert lines[("ctis", "idle cycle")] == 2
    assert lines[("isrctn", "idle cycle")] == 2
    assert lines[("ctis", "first pass (3 watched)")] == 2 * 3 + 1
    assert len(lines) == 21

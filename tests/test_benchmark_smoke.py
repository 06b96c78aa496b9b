"""The benchmark harness runs end to end in its tiny configuration (never asserts on speed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from tests.conftest import ROOT


def test_benchmark_smoke_runs_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    argv = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--json", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "KB per study-version" in done.stdout
    rows = orjson.loads(out.read_bytes())["rows"]
    ours = [r for r in rows if r["part"].startswith("trialmon (offline")]
    assert [r["cycle"] for r in ours] == [1, 2, 3]
    assert all(r["studies"] == 40 for r in ours)
    assert ours[0]["note"].startswith("40 new")
    assert "4 changed" in ours[1]["note"]
    assert "0 errors" in ours[2]["note"]

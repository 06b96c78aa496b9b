"""The benchmark harness runs end to end in its tiny configuration (never asserts on speed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from tests.conftest import ROOT


def test_benchmark_smoke_runs_every_shape_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    argv = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--json", str(out)]
    argv += ["--shapes", "offline", "api", "registry", "ctis", "isrctn"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the parse limit" in done.stdout and "no benchmarks/shapes_" not in done.stdout
    rows = orjson.loads(out.read_bytes())["rows"]
    by = {(r["shape"], r["part"], r["cycle"]): r for r in rows}
    files = [by["offline", "trialmon files", c] for c in (1, 2, 3)]
    assert all(r["studies"] == 40 for r in files)
    assert files[0]["note"].startswith("40 new") and "4 changed" in files[1]["note"]
    for part in ("trialmon pages", "trialmon pages (7/page)"):
        for cycle in (1, 2, 3):  # every reader finds the same on the same release
            assert by["offline", part, cycle]["note"] == files[cycle - 1]["note"]
    check = by["offline", "PRAGMA quick_check", 2]  # the database check, page cache and disk
    assert "s in the page cache" in check["note"] and "s from disk" in check["note"]
    large = by["api", "trialmon API, 30 watched", 2]
    assert "2 changed" in large["note"] and "0 errors" in large["note"]
    assert large["requests"] == 3
    registry = by["registry", "trialmon API, search: every study", 2]
    assert "3 changed" in registry["note"] and "0 errors" in registry["note"]
    for kind in ("ctis", "isrctn"):  # the other registries' requests per cycle, in the report
        cycles = [r for r in rows if r["shape"] == kind]
        assert cycles and all(r["requests"] >= 1 for r in cycles)
        assert f"{kind} cycle 1, first pass" in done.stdout

"""A full disk under the log file: each digest lands whole, once, when space comes back.

The disk fills deterministically and without root: the cycle runs with ``RLIMIT_FSIZE`` set a
few bytes above the log file's size (SIGXFSZ ignored), so the kernel accepts the first bytes
of a digest and refuses the rest (EFBIG), exactly as a disk that fills in the middle of a
write accepts part of it (ENOSPC). The database stays far below the limit: the log file is
padded first. Then the limit is lifted and the next cycle delivers what is pending.

Records: tests/test_notify_e2e.py's versions of the REAL record NCT02576665 (some SYNTHETIC).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT
from .test_notify_e2e import NCT, records_dir

PADDING = b"an earlier line of the log, before the disk filled\n" * 160_000  # 8 MB
ROOM = 100  # bytes of a digest that still fit
# a log digest's first line: when, which run, how many changes
HEADER = re.compile(r"^\S+Z trialmon run \d+: \d+ changes? in \d+ stud(y|ies) \(\d+ critical\)")
LIMITED = """
import resource, runpy, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
sys.argv = ["trialmon", *sys.argv[2:]]
runpy.run_module("monitor", run_name="__main__")
"""


def run(work: Path, source: Path, *, limit: int | None = None) -> subprocess.CompletedProcess[str]:
    args = ["--config", str(work / "config.toml"), "run", "--source", str(source)]
    prefix = [sys.executable, "-c", LIMITED, str(limit)] if limit else [sys.executable, "-m"]
    command = [*prefix, *([] if limit else ["monitor"]), *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)


def digests(text: str) -> list[str]:
    """The digests in the log, each a header line and the lines up to the next header."""
    found: list[str] = []
    for line in text.splitlines():
        if " changes in " in line or " change in " in line:
            found.append(line)
        elif found:
            found[-1] += "\n" + line
    return found


def test_a_digest_cut_by_a_full_disk_is_written_whole_and_once_later(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    log = work / "trialmon.log"
    (work / "config.toml").write_text(
        f'database = "history.db"\n[watch]\nstudies = ["{NCT}"]\n'
        f'[notify.log]\nfile = "trialmon.log"\nmin_severity = "info"\n'
    )
    assert run(work, records_dir(tmp_path, 1)).returncode == 0  # baseline: no digest
    log.write_bytes(PADDING)

    full = run(work, records_dir(tmp_path, 2), limit=len(PADDING) + ROOM)
    assert full.returncode == 1, full.stderr  # the one notification of the cycle failed
    assert "File too large" in full.stderr and "will retry" in full.stderr
    assert log.read_bytes() == PADDING  # nothing of the cut digest is left behind

    again = run(work, records_dir(tmp_path, 3))  # space is back; one more change
    assert again.returncode == 0, again.stderr
    text = log.read_bytes().removeprefix(PADDING).decode("utf-8")
    found = digests(text)
    assert len(found) == 2, text  # the pending digest, then this cycle's, each whole
    assert "TERMINATED" in found[0] and "Completion date" in found[1]
    assert text.endswith("\n") and all(text.count(d) == 1 for d in found)
    headers = [line for line in text.splitlines() if re.search(r" changes? in \d+ stud", line)]
    assert all(HEADER.match(line) for line in headers), headers  # none glued to a cut line

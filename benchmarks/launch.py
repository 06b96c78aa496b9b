"""Run a command and write its own wall time and rusage to a JSON file (used by measure.py).

    python benchmarks/launch.py OUT.json COMMAND...

Linux carries ``ru_maxrss`` across ``exec``: a child forked from a large process (the
harness, which holds the fake API's studies) starts with the parent's resident pages and
reports them as its peak. This small launcher is the one forked from the harness; the
measured command is forked from the launcher, so its peak is its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main(out: str, *argv: str) -> int:
    start = time.perf_counter()
    child = subprocess.Popen(list(argv))
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    child.returncode = code
    result = {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "returncode": code,
    }
    with open(out, "w") as f:
        json.dump(result, f)
    return code


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))

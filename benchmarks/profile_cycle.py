"""Profile one `trialmon run` in-process with cProfile on CPU time (not wall time).

    .venv/bin/python benchmarks/profile_cycle.py CONFIG DIR [OUT.prof]

CPU time keeps the profile honest on a shared machine, where wall time includes waiting for
a core. Prints the 30 costliest functions by cumulative and by own time.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time

from monitor.cli import cli


def main(config: str, directory: str, out: str = "cycle.prof") -> None:
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    try:
        cli(["--config", config, "run", "--source", directory], standalone_mode=False)
    finally:
        profiler.disable()
    profiler.dump_stats(out)
    stats = pstats.Stats(out)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main(*sys.argv[1:])

"""Profile one program run in-process with cProfile on CPU time (not wall time).

    .venv/bin/python benchmarks/profile_cycle.py OUT.prof -- -m monitor --config C run --source D
    .venv/bin/python benchmarks/profile_cycle.py CONFIG DIR          # the older form: one run

CPU time keeps the profile honest on a shared machine, where wall time includes waiting for
a core. Prints the 30 costliest functions by cumulative and by own time; ``run.py --profile``
runs every trialmon program of the benchmark this way and keeps the ``.prof`` files. Worker
processes (the first pass and the detection of changed records on every core) are not in the
profile.
"""

from __future__ import annotations

import cProfile
import pstats
import runpy
import sys
import time


def run_target(argv: list[str]) -> None:
    if argv[0] == "-m":
        sys.argv = [argv[1], *argv[2:]]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = list(argv)
        runpy.run_path(argv[0], run_name="__main__")


def profile(out: str, argv: list[str]) -> int:
    profiler = cProfile.Profile(time.process_time)
    code = 0
    profiler.enable()
    try:
        run_target(argv)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        profiler.disable()
    profiler.dump_stats(out)
    stats = pstats.Stats(out, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(30)
    return code


def main(args: list[str]) -> int:
    if "--" in args:
        split = args.index("--")
        return profile(args[0], args[split + 1 :])
    config, directory, *rest = args
    out = rest[0] if rest else "cycle.prof"
    return profile(out, ["-m", "monitor", "--config", config, "run", "--source", directory])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

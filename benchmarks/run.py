"""trialmon at registry scale: real records cloned, K releases, every input shape, the peers.

    .venv/bin/python benchmarks/run.py                      # offline, api, ctis, isrctn
    .venv/bin/python benchmarks/run.py --shapes registry    # 100,000 studies through the fake API
    .venv/bin/python benchmarks/run.py --smoke              # a tiny run (CI)

Shapes: ``offline`` (one-study files and API page files of one corpus, with the parse limit,
the prototypes, git-history and the naive DeepDiff on the same releases), ``api`` (small and
large watch lists against a registry-wide stream of updates), ``registry`` (a whole registry
through a saved search that matches every study), and any ``benchmarks/shapes_<registry>.py``.
Every measured program runs as a child process: wall time, CPU time and its own peak RSS
(``wait4``); trialmon runs as a user runs it (``python -m monitor run``), start-up included.
Nothing here fails on speed: targets are printed as met or not.
"""

from __future__ import annotations

import argparse
import compileall
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import measure  # noqa: E402
import programs  # noqa: E402
import shapes  # noqa: E402
from report import report  # noqa: E402
from rows import HEADER, Row, machine, say, show  # noqa: E402
from scenario_offline import OFFLINE_PARTS, OfflineScenario  # noqa: E402

DEFAULT_SHAPES = ["offline", "api", "ctis", "isrctn"]


@dataclass
class Results:
    args: dict[str, Any]
    machine: dict[str, str]
    rows: list[Row] = field(default_factory=list)


def compile_package() -> None:
    """trialmon's bytecode written now, as an install writes it: where PYTHONDONTWRITEBYTECODE
    is set (as on the machine of these runs) every timed program would compile its ~80 modules
    from source again, ~0.15 s of one core that no installed trialmon spends."""
    import monitor

    compileall.compile_dir(Path(monitor.__file__).parent, quiet=1)


def run(args: argparse.Namespace) -> Results:
    compile_package()
    root = Path(args.workdir or tempfile.mkdtemp(prefix="trialmon-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    if any(root.iterdir()):
        sys.exit(f"benchmark: {root} is not empty (its databases would not start afresh)")
    results = Results(args=vars(args), machine=machine())
    say(" ".join(f"{k}={v}" for k, v in results.machine.items()))
    say(f"shapes={' '.join(args.shapes)} seed={args.seed} working in {root}")
    # The last release is dated today: the live source's date windows use the real clock.
    day = datetime.now(UTC).date() - timedelta(days=max(args.cycles, args.registry_cycles) - 1)
    known = shapes.registered()
    try:
        for name in args.shapes:
            folder = root / name
            say("")
            if name == "offline":
                say(f"[offline] N={args.n} releases={args.cycles} changed={args.changed:.1%}")
                results.rows += OfflineScenario(folder, args, set(args.parts), day).run()
            elif name in known:
                results.rows += known[name](folder, args, day).run()
            else:
                say(f"[{name}] unknown shape; known: offline {' '.join(known)}")
        return results
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--shapes", nargs="+", default=DEFAULT_SHAPES, help="offline api registry ...")
    p.add_argument("-n", type=int, default=20_000, help="offline: studies in the corpus (20000)")
    p.add_argument("-k", "--cycles", type=int, default=3, help="releases, the first a baseline")
    p.add_argument("--changed", type=float, default=0.02, help="fraction changed per release")
    p.add_argument("--parts", nargs="+", default=list(OFFLINE_PARTS), help="offline programs")
    p.add_argument("--per-page", type=int, default=1000, help="studies per page file (1000)")
    p.add_argument("--small-per-page", type=int, default=200, help="pages-small: per page (200)")
    p.add_argument("--corpus", choices=("real", "synthetic"), default="real")
    p.add_argument("--sorted-share", type=float, default=1 / 3, help="files saved with keys sorted")
    p.add_argument("--naive-sample", type=int, default=300, help="pairs the naive peer diffs")
    p.add_argument("--watch-small", type=int, default=100, help="api: the small watch list")
    p.add_argument("--watch-large", type=int, default=10_000, help="api: the large watch list")
    p.add_argument("--background", type=int, default=20_000, help="api: studies known by date")
    p.add_argument("--registry-updates", type=int, default=1000, help="api: unwatched updates")
    p.add_argument("--watched-changed", type=int, default=10, help="api: watched changed/release")
    p.add_argument("--registry-n", type=int, default=100_000, help="registry: studies")
    p.add_argument("--registry-changed", type=float, default=0.005, help="registry: per release")
    p.add_argument("--registry-cycles", type=int, default=2, help="registry: releases")
    p.add_argument("--registry-parts", nargs="+", default=["search", "pages", "parse-limit"])
    p.add_argument("--seed", type=int, default=8)
    p.add_argument("--workdir", help="where to build the corpus (default: a new temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the working directory")
    p.add_argument("--json", dest="json_out", help="also write the results to this JSON file")
    p.add_argument("--smoke", action="store_true", help="a tiny configuration, for CI")
    p.add_argument("--profile", metavar="DIR", help="run trialmon under cProfile, keep .prof here")
    p.add_argument("--report", metavar="JSON", help="print the table and report of a --json file")
    shapes.add_options(p)
    args = p.parse_args(argv)
    if args.smoke:
        measure.SYNC[0] = False
        args.n, args.cycles, args.changed, args.naive_sample, args.per_page = 40, 3, 0.1, 10, 16
        args.small_per_page = 7
        args.watch_small, args.watch_large, args.background = 5, 30, 200
        args.registry_updates, args.watched_changed = 20, 2
        args.registry_n, args.registry_changed, args.registry_cycles = 60, 0.05, 2
        args.registry_watched = 5
    return args


def reprint(path: str, args: argparse.Namespace) -> int:
    """The rows and the report of an earlier run, from its ``--json`` file."""
    data = orjson.loads(Path(path).read_bytes())
    say(" ".join(f"{k}={v}" for k, v in data["machine"].items()))
    rows = [Row(**row) for row in data["rows"]]
    shape = None
    for row in rows:
        if row.shape != shape:
            shape = row.shape
            say(f"[{shape}]")
            say(HEADER)
        show(row)
    report(rows, argparse.Namespace(**data["args"]))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.report:
        return reprint(args.report, args)
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
        programs.PROFILES.append(Path(args.profile).resolve())
    results = run(args)
    report(results.rows, args)
    if args.json_out:
        data = asdict(results)
        Path(args.json_out).write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

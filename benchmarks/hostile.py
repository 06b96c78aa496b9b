"""Hostile records: what one cycle costs when a long text is rewritten or a record is huge.

    .venv/bin/python benchmarks/hostile.py                      # every case
    .venv/bin/python benchmarks/hostile.py --cases long-text-rewrite at-limit

Each case is two releases in offline directories, run as a user runs them
(``python -m monitor run --source DIR``, start-up included): the first is the baseline, the
second is measured (wall time, CPU time and peak RSS of that process, via ``launch.py``).
Records are SYNTHETIC, built from the real record tests/data/study_NCT02576665_terminated.json.

- ``long-text-edits``: a 30,000-word detailed description, then 3 words replaced in it
  (at its start, middle and end).
- ``long-text-rewrite``: a 30,000-word description, then another of 40,000 words.
- ``long-text-repeated``: a 52-word paragraph repeated to 30,000 words (the worst case for a
  word diff: every word matches hundreds of places), then one word in 1,000 replaced.
- ``long-outcomes``: 60 primary outcomes whose measures have 3,000 words (18 KB) each, then
  60 others (every pair of a removed and an added one is a candidate rewording).
- ``sites-replaced``: 2,000 sites, then 2,000 others (every pair a candidate rename).
- ``at-limit``: five records of 60,000 sites each (8.7 MB, under the 10 MB limit), then one
  site in 1,000 renamed in each.
- ``over-limit``: one record of 45 MB (refused unread; the first release is empty).

Nothing fails on speed; the figures are printed, with the load average when each case began.
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from measure import Measured, check, run_child  # noqa: E402

TEMPLATE = ROOT / "tests" / "data" / "study_NCT02576665_terminated.json"
TEXT = (
    "patients with advanced solid tumors receive the study drug or placebo in a randomized "
    "double blind trial of safety and efficacy at weeks twelve and twenty four"
)
PROSE = TEXT.split()
CONFIG = 'database = "history.db"\n[notify.log]\nfile = "digests.log"\n'  # every study in DIR
Study = dict[str, Any]


def template(nct_id: str = "NCT90000001") -> Study:
    study: Study = orjson.loads(TEMPLATE.read_bytes())
    study["protocolSection"]["identificationModule"]["nctId"] = nct_id
    return study


def words(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(PROSE) for _ in range(count)]


def with_description(text: list[str]) -> Study:
    study = template()
    study["protocolSection"]["descriptionModule"]["detailedDescription"] = " ".join(text)
    return study


def long_text_edits() -> tuple[list[Study], list[Study]]:
    old = words(30_000, 1)
    new = list(old)
    for position, word in ((50, "multicenter"), (15_000, "open-label"), (29_990, "ninety")):
        new[position] = word
    return [with_description(old)], [with_description(new)]


def long_text_rewrite() -> tuple[list[Study], list[Study]]:
    return [with_description(words(30_000, 1))], [with_description(words(40_000, 2))]


def long_text_repeated() -> tuple[list[Study], list[Study]]:
    paragraph = (TEXT + " " + TEXT).split()[:52]
    old = (paragraph * (30_000 // len(paragraph) + 1))[:30_000]
    new = ["changed" if n % 1000 == 0 else word for n, word in enumerate(old)]
    return [with_description(old)], [with_description(new)]


def with_outcomes(seed: int) -> Study:
    study = template()
    study["protocolSection"]["outcomesModule"]["primaryOutcomes"] = [
        {"measure": " ".join(words(3_000, seed + n)), "timeFrame": "12 weeks"} for n in range(60)
    ]
    return study


def long_outcomes() -> tuple[list[Study], list[Study]]:
    return [with_outcomes(0)], [with_outcomes(100)]


def with_sites(nct_id: str, count: int, renamed: int) -> Study:
    study = template(nct_id)
    module = study["protocolSection"]["contactsLocationsModule"]
    site = module["locations"][0]
    module["locations"] = [
        {**site, "facility": f"Site {n}{' (renamed)' if n % 1000 < renamed else ''}"}
        for n in range(count)
    ]
    return study


def sites_replaced() -> tuple[list[Study], list[Study]]:
    first = with_sites("NCT90000001", 2_000, 0)
    second = copy.deepcopy(first)
    for n, site in enumerate(second["protocolSection"]["contactsLocationsModule"]["locations"]):
        site["facility"] = f"Hospital number {n} of another network"
    return [first], [second]


def at_limit() -> tuple[list[Study], list[Study]]:
    ids = [f"NCT9000000{n}" for n in range(1, 6)]
    return [with_sites(i, 60_000, 0) for i in ids], [with_sites(i, 60_000, 1) for i in ids]


def over_limit() -> tuple[list[Study], list[Study]]:
    return [], [with_sites("NCT90000001", 310_000, 0)]


CASES: dict[str, Callable[[], tuple[list[Study], list[Study]]]] = {
    "long-text-edits": long_text_edits,
    "long-text-rewrite": long_text_rewrite,
    "long-text-repeated": long_text_repeated,
    "long-outcomes": long_outcomes,
    "sites-replaced": sites_replaced,
    "at-limit": at_limit,
    "over-limit": over_limit,
}


def write_release(directory: Path, studies: list[Study]) -> int:
    directory.mkdir(parents=True)
    sizes = []
    for study in studies:
        raw = orjson.dumps(study)
        nct_id = study["protocolSection"]["identificationModule"]["nctId"]
        (directory / f"{nct_id}.json").write_bytes(raw)
        sizes.append(len(raw))
    return max(sizes, default=0)


def run_case(name: str, work: Path) -> tuple[Measured, int, str]:
    first, second = CASES[name]()
    root = work / name
    write_release(root / "r1", first)
    largest = write_release(root / "r2", second)
    log = root / "trialmon.log"
    (root / "config.toml").write_text(CONFIG)
    argv = [sys.executable, "-m", "monitor", "--config", str(root / "config.toml"), "run"]
    argv.append("--source")
    baseline = run_child([*argv, str(root / "r1")], log, cwd=ROOT)
    if first:
        check(baseline, f"{name}: the baseline cycle", log)
    measured = run_child([*argv, str(root / "r2")], log, cwd=ROOT)
    summary = [line for line in log.read_text().splitlines() if line.startswith("Checked")]
    return measured, largest, summary[-1] if summary else log.read_text()[-300:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--workdir", type=Path, help="keep the releases and databases here")
    args = parser.parse_args(argv)
    work = args.workdir or Path(tempfile.mkdtemp(prefix="trialmon-hostile-"))
    try:
        for name in args.cases:
            load = os.getloadavg()[0]
            measured, largest, summary = run_case(name, work)
            print(
                f"{name:18} largest record {largest / 1e6:5.1f} MB  "
                f"{measured.seconds:6.2f} s  cpu {measured.cpu_seconds:6.2f} s  "
                f"peak {measured.peak_rss_mb:6.0f} MB  exit {measured.returncode}  "
                f"load {load:.1f}\n{'':18} {summary}"
            )
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

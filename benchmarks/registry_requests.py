"""What a live cycle of the EU CTIS and ISRCTN registries costs in requests, against the fakes.

Each cycle runs as `trialmon run` runs it: the registry's live source built from the config by
the registration table (``monitor.sources.live.build``: its ``[ctis]``/``[isrctn]`` section,
watched ids, saved searches, keyed state in the SQLite store), then the pipeline's
``run_cycle`` (normalize, compare, classify, store). The APIs are the loopback fakes
(``tests/fake_ctis.py``, ``tests/fake_isrctn.py``, built from the real captures) on 127.0.0.1;
the polite HTTP layer runs on a fake clock: nothing sleeps, and the seconds the rate limiter and
the backoff would have waited are added up instead. Run from the repository root:

    .venv/bin/python benchmarks/registry_requests.py               # every scenario, N = 200
    .venv/bin/python benchmarks/registry_requests.py --watched 1000 --rpm 30

CTIS scenarios: the real ended trial and the five trials of the real search rows (SYNTHETIC
records made from the real one); 2 watched, one saved search (diabetes, 3 trials). Then N
SYNTHETIC watched trials (copies of the real record under new numbers, published long ago).
ISRCTN scenarios: the five real trials; 2 watched, one saved search (3 trials); then N
SYNTHETIC watched trials (copies of a real trial under new numbers).
"""

from __future__ import annotations

import argparse
import copy
import logging
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from monitor import registries  # noqa: E402
from monitor.config import Config  # noqa: E402
from monitor.configkit import ChangesConfig, LiveConfig, QueryWatch, WatchConfig  # noqa: E402
from monitor.pipeline import Cycle, run_cycle  # noqa: E402
from monitor.registries.ctis.config import CtisConfig  # noqa: E402
from monitor.registries.isrctn.config import IsrctnConfig  # noqa: E402
from monitor.sources import live  # noqa: E402
from monitor.store import Store  # noqa: E402
from tests.fake_ctis import FakeCtis, real_record, real_rows, refused  # noqa: E402
from tests.fake_isrctn import FakeIsrctn  # noqa: E402
from tests.fakeapi import FakeClock, Fault  # noqa: E402

ENDED = "2024-513060-26-00"
WATCHED = [ENDED, "2025-523260-20-00"]
DIABETES = QueryWatch("diabetes", {"medicalCondition": "diabetes"}, registry="ctis")
ISRCTN_WATCHED = ["ISRCTN41823570", "ISRCTN15873887"]
UK = QueryWatch("uk", {"q": 'recruitmentCountry:"United Kingdom"'}, registry="isrctn")
START = datetime(2026, 10, 5, 6, 0, tzinfo=UTC)


class Cycles:
    """Cycles of one registry over one store, one day apart; prints each cycle's cost."""

    def __init__(
        self,
        section: LiveConfig,
        kind: str,
        fake: Any,
        clock: FakeClock,
        watched: Sequence[str],
        queries: Sequence[QueryWatch],
    ) -> None:
        self.kind, self.fake, self.clock = kind, fake, clock
        self.config = Config(
            registries={**Config().registries, kind: section},
            watch=WatchConfig(studies=tuple(watched), queries=tuple(queries)),
        )
        self.folder = tempfile.TemporaryDirectory()
        self.store = Store.open(Path(self.folder.name) / "history.db", registries.upgrades())
        self.client = httpx.Client(base_url=section.base_url, timeout=30)
        self.now = START

    def run(self, label: str) -> int:
        self.fake.clear_log()
        slept = sum(self.clock.slept)
        source = live.build(
            registries.get(self.kind), self.config, self.client, self.store,
            now=self.now, clock=self.clock,
        )  # fmt: skip
        cycle = Cycle(self.store, ChangesConfig(), self.now, self.kind)
        report = run_cycle(cycle, source.items())
        self.now += timedelta(days=1)
        count = len(self.fake.requests)
        waited = sum(self.clock.slept) - slept
        done = f"{report.checked:4} checked {report.new + report.changed:4} new/changed"
        print(
            f"  {self.kind:6} {label:50} {count:4} requests {done} {report.failed:2} errors "
            f"{waited:6.1f} s waited"
        )
        return count

    def close(self) -> None:
        self.client.close()
        self.store.close()
        self.folder.cleanup()


def ctis_fake(clock: FakeClock) -> FakeCtis:
    fake = FakeCtis(clock=clock).start()
    fake.add_record(real_record(), published="19/02/2025")
    for name in ("search_breast_cancer_page1.json", "search_diabetes.json"):
        for row in real_rows(name):
            fake.add_row_trial(row)
    return fake


def ctis_cycles(
    fake: FakeCtis, clock: FakeClock, rpm: float, watched: list[str], queries: list[QueryWatch]
) -> Cycles:
    section = CtisConfig(base_url=fake.url, requests_per_minute=rpm, max_attempts=6)
    return Cycles(section, "ctis", fake, clock, watched, queries)


def ctis_scenarios(rpm: float, n: int) -> None:
    clock = FakeClock()
    fake = ctis_fake(clock)
    c = ctis_cycles(fake, clock, rpm, WATCHED, [DIABETES])
    c.run("first pass (2 watched, 1 search of 3)")
    c.run("idle cycle")
    fake.update(ENDED, lambda r: r.update(publishDate="2026-10-06T03:35:00"), "06/10/2026")
    fake.update("2026-525909-13-00", lambda r: r.update(ctPublicStatusCode=4), "06/10/2026")
    c.run("two changed trials")
    fake.storm(5, status=429, retry_after="10")
    c.run("a 429 storm of 5 answers, Retry-After: 10")
    fake.storm(3, status=403)
    c.run("a 403 firewall storm of 3 answers, no Retry-After")
    u = ctis_cycles(fake, clock, rpm, ["2024-599999-99-00"], [])
    u.run("an unknown number (an error of that id)")
    u.run("the same, next cycle")
    fake.fault = lambda seen: (
        Fault(body=refused()) if "refused" in str((seen.body or {}).get("searchCriteria")) else None
    )
    refusal = QueryWatch("refused", {"title": "refused"}, registry="ctis")
    r = ctis_cycles(fake, clock, rpm, [], [refusal])
    r.run("a refused search body (showWarning)")
    fake.fault = None
    fake.stop()
    ctis_many(rpm, n)


def ctis_many(rpm: float, n: int) -> None:
    clock = FakeClock()
    fake = ctis_fake(clock)
    numbers = [f"2025-5{i:05d}-11-00" for i in range(n)]
    for number in numbers:
        record = copy.deepcopy(real_record())
        record["ctNumber"] = number
        fake.add_record(record, published="01/03/2025")
    c = ctis_cycles(fake, clock, rpm, numbers, [])
    c.run(f"first pass ({n} watched)")
    c.run(f"idle cycle ({n} watched)")
    for number in numbers[:2]:
        fake.update(number, lambda r: r.update(ctPublicStatusCode=7), "06/10/2026")
    c.run(f"two changed ({n} watched)")
    for row in fake.rows.values():
        row["lastPublicationUpdate"] = "06/10/2026"
    fake.window = 100  # CTIS serves 10,000 rows per order; here 100: page 2 is refused
    c.run(f"all republished, more than a window ({n} watched)")
    fake.stop()


def isrctn_cycles(
    fake: FakeIsrctn, clock: FakeClock, rpm: float, watched: list[str], queries: list[QueryWatch]
) -> Cycles:
    section = IsrctnConfig(base_url=fake.url, requests_per_minute=rpm, max_attempts=6)
    return Cycles(section, "isrctn", fake, clock, watched, queries)


def isrctn_scenarios(rpm: float, n: int) -> None:
    clock = FakeClock()
    fake = FakeIsrctn(clock=clock).start()
    fake.add_real()
    c = isrctn_cycles(fake, clock, rpm, ISRCTN_WATCHED, [UK])
    c.now = datetime(2026, 9, 28, 6, 0, tzinfo=UTC)
    c.run("first pass (2 watched, 1 search of 3)")
    c.run("idle cycle")
    stop = "<recruitmentStatusOverride>Stopped</recruitmentStatusOverride>"
    fake.update(
        "ISRCTN41823570",
        lambda t: t.replace("<recruitmentStatusOverride/>", stop),
        "2026-09-29T10:00:00Z",
    )
    fake.update(
        "ISRCTN12564318",
        lambda t: t.replace("<targetEnrolment>280<", "<targetEnrolment>200<"),
        "2026-09-29T11:00:00Z",
    )
    c.run("two edited trials")
    c.run("the calendar ends a recruitment (2026-10-01)")
    fake.storm(5, status=429, retry_after="10")
    c.run("a 429 storm of 5 answers, Retry-After: 10")
    u = isrctn_cycles(fake, clock, rpm, ["ISRCTN00000000"], [])
    u.run("an unknown number (an error of that id)")
    u.run("the same, next cycle")
    many = [f"ISRCTN7{i:07d}" for i in range(n)]
    template = fake.trials["ISRCTN85064961"]
    for number in many:
        fake.trials[number] = template.replace("85064961", number[6:])
    m = isrctn_cycles(fake, clock, rpm, many, [])
    m.run(f"first pass ({n} watched)")
    m.run(f"idle cycle ({n} watched)")
    fake.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--watched", type=int, default=200, help="N watched trials (200)")
    parser.add_argument("--rpm", type=float, default=50, help="requests per minute (50)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the errors a scenario provokes are counted, not shown
    print(f"requests per cycle (at {args.rpm:g} requests/minute; 'waited': limiter and backoff)")
    ctis_scenarios(args.rpm, args.watched)
    isrctn_scenarios(args.rpm, args.watched)


if __name__ == "__main__":
    main()

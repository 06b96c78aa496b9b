"""Fault injection through the loopback fake of the API (tests/fakeapi.py).

30 watched studies are stored; 10 of them then change. The next cycle meets one misbehaviour
of the registry, on the requests for full records or on the watermark requests, either once
(then it must be absorbed by a retry: every change stored in that cycle) or on every request
(then the cycle completes, counts and reports the failures, and stores nothing from a bad
response). A last cycle without the fault, *without a new data release*, must then record every
change exactly once: nothing lost, nothing doubled.

Studies are SYNTHETIC: copies of the real record tests/data/study_NCT02576665_terminated.json
(from ../shared/ctgov-samples/) with other ids, statuses and last-update dates.
Sleeps of the back-off are on a fake clock; only the slow-answer case waits, 0.75 s per try.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from monitor.config import Config, WatchConfig
from monitor.models import RunReport
from monitor.pipeline import Cycle, run_cycle
from monitor.registries.ctgov import REGISTRY
from monitor.registries.ctgov.config import CtgovConfig
from monitor.sources import live
from monitor.store import Store
from tests.conftest import DATA
from tests.fakeapi import FakeApi, FakeClock, Fault, Seen, studies_range, synthetic_study

TEMPLATE: dict[str, Any] = json.loads((DATA / "study_NCT02576665_terminated.json").read_text())
DAY0 = datetime(2026, 9, 5, 12, 0, tzinfo=UTC)
IDS = tuple(studies_range(1, 30))
CHANGED = IDS[::3]  # 10 studies
TIMEOUT = 0.25  # small, yet far above a loopback answer on a busy CI machine


def records_request(seen: Seen) -> bool:
    return seen.path == "/api/v2/studies" and "fields" not in seen.params


def watermark_request(seen: Seen) -> bool:
    return seen.path == "/api/v2/studies" and "fields" in seen.params


TARGETS = {"records": records_request, "watermarks": watermark_request}


def html(api: FakeApi, seen: Seen) -> Fault:
    return Fault(body="<!doctype html><html><body>Scheduled maintenance</body></html>")


def reset_mid_body(api: FakeApi, seen: Seen) -> Fault:
    return Fault(body=api.answer(seen.path, seen.params), cut=200)


def truncated(api: FakeApi, seen: Seen) -> Fault:
    body = json.dumps(api.answer(seen.path, seen.params))
    return Fault(body=body[: len(body) // 2], content_type="application/json")


def empty_page(api: FakeApi, seen: Seen) -> Fault:
    return Fault(body={"studies": []})


def empty_pages_forever(api: FakeApi, seen: Seen) -> Fault:
    n = sum(1 for r in api.requests if r.params.get("pageToken"))
    return Fault(body={"studies": [], "nextPageToken": f"more-{n}"})


def repeating_token(api: FakeApi, seen: Seen) -> Fault:
    page = api.answer(seen.path, {k: v for k, v in seen.params.items() if k != "pageToken"})
    return Fault(body={**page, "nextPageToken": "same-token-again"})


def status(code: int, retry_after: str | None = None) -> Callable[[FakeApi, Seen], Fault]:
    headers = {"Retry-After": retry_after} if retry_after else {}
    return lambda api, seen: Fault(code, f"status {code}", headers)


FAULTS: dict[str, Callable[[FakeApi, Seen], Fault]] = {
    "429 Retry-After": status(429, "2"),
    "429": status(429),
    "403": status(403),
    "500": status(500),
    "502": status(502),
    "503": status(503),
    "slower than the timeout": lambda api, seen: Fault(delay=3 * TIMEOUT),
    "connection reset mid-body": reset_mid_body,
    "truncated JSON": truncated,
    "HTML with 200": html,
    "empty page": empty_page,
    "empty pages forever": empty_pages_forever,
    "repeating nextPageToken": repeating_token,
}
INJECTED: Counter[str] = Counter()  # faulty answers served, per fault (for the README figures)


@dataclass
class Registry:
    api: FakeApi
    store: Store
    config: Config
    clock: FakeClock
    day: int = 0

    def cycle(self, *, release: bool = True) -> RunReport:
        if release:
            self.api.data_timestamp = f"2026-09-{5 + self.day:02d}T09:00:06"
        now = DAY0 + timedelta(days=self.day)
        self.day += 1
        with httpx.Client(base_url=self.api.url, timeout=TIMEOUT) as client:
            source = live.build(
                REGISTRY, self.config, client, self.store, now=now, clock=self.clock
            )
            cycle = Cycle(store=self.store, rules=self.config.changes, now=now, source_name="ctgov")
            return run_cycle(cycle, source.items())

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.store.db.execute(sql).fetchall()


def suspend(study: dict[str, Any]) -> None:
    study["protocolSection"]["statusModule"]["overallStatus"] = "SUSPENDED"


@pytest.fixture
def registry(fake_api: FakeApi) -> Iterator[Registry]:
    fake_api.add(*(synthetic_study(TEMPLATE, n, status="RECRUITING") for n in IDS))
    ctgov_cfg = CtgovConfig(
        base_url=fake_api.url, requests_per_minute=100_000, timeout=TIMEOUT, max_attempts=3
    )
    config = Config(registries={"ctgov": ctgov_cfg}, watch=WatchConfig(studies=IDS))
    reg = Registry(fake_api, Store.memory(), config, FakeClock())
    baseline = reg.cycle()
    assert (baseline.new, baseline.failed) == (30, 0)
    for n in CHANGED:
        fake_api.update(n, "2026-09-06", suspend)
    yield reg
    reg.store.close()


def inject(reg: Registry, name: str, target: str, times: int | None) -> list[int]:
    """Answer matching requests with the fault (``times`` of them, or all); returns a counter."""
    served = [0]

    def hook(seen: Seen) -> Fault | None:
        if not TARGETS[target](seen) or (times is not None and served[0] >= times):
            return None
        served[0] += 1
        INJECTED[name] += 1
        return FAULTS[name](reg.api, seen)

    reg.api.fault = hook
    return served


def status_changes(reg: Registry) -> Counter[tuple[Any, ...]]:
    sql = "select trial_id, new_value from changes where category = 'status'"
    return Counter(reg.rows(sql))


EXPECTED = Counter((n, '"SUSPENDED"') for n in CHANGED)
PERSISTENT = [(name, target) for name in FAULTS for target in TARGETS]


@pytest.mark.parametrize(("name", "target"), PERSISTENT, ids=lambda v: str(v))
def test_a_persistent_fault_fails_what_it_touches_and_loses_nothing(
    registry: Registry, name: str, target: str
) -> None:
    before = registry.rows("select id, trial_id, content_hash from snapshots order by id")
    served = inject(registry, name, target, times=None)
    run = registry.cycle()
    assert served[0] > 0
    assert run.status in ("ok", "partial")
    after = registry.rows("select id, trial_id, content_hash from snapshots order by id")
    assert after[: len(before)] == before  # nothing stored earlier changed
    new = {nct for _, nct, _ in after[len(before) :]}
    if name != "empty page":  # an empty page is a valid answer: only the studies it omits fail
        assert new == set(), f"stored from a bad response: {new}"
        assert run.failed > 0 and all(e.message.strip() for e in run.errors)
    registry.api.fault = None
    registry.cycle(release=False)  # same data release: the failed studies must still be fetched
    assert status_changes(registry) == EXPECTED
    assert registry.rows("select count(*) from snapshots") == [(40,)]


@pytest.mark.parametrize(
    "name",
    [
        "429 Retry-After",
        "429",
        "503",
        "502",
        "connection reset mid-body",
        "slower than the timeout",
        "403",
        "500",
    ],
)
def test_a_passing_fault_is_absorbed_by_a_retry(registry: Registry, name: str) -> None:
    served = inject(registry, name, "records", times=1)
    run = registry.cycle()
    assert served[0] == 1
    assert (run.failed, run.status) == (0, "ok"), [e.message for e in run.errors]
    assert status_changes(registry) == EXPECTED


def test_a_page_of_1000_with_one_malformed_record(fake_api: FakeApi) -> None:
    ids = tuple(studies_range(100, 1000))
    fake_api.add(*(synthetic_study(TEMPLATE, n, status="RECRUITING") for n in ids))
    bad = ids[500]
    fake_api.studies[bad]["protocolSection"]["designModule"] = ["not", "an", "object"]
    ctgov_cfg = CtgovConfig(base_url=fake_api.url, requests_per_minute=100_000, timeout=10)
    config = Config(registries={"ctgov": ctgov_cfg}, watch=WatchConfig(studies=ids))
    reg = Registry(fake_api, Store.memory(), config, FakeClock())
    run = reg.cycle()
    asked = [r for r in fake_api.seen() if records_request(r)]
    assert {r.params.get("pageSize") for r in asked} == {"1000"}  # URLs < 8 KB: two batches
    assert sum(len(r.params["filter.ids"].split(",")) for r in asked) == 1000
    assert (run.new, run.failed) == (999, 1)
    assert run.errors[0].trial_id == bad and "designModule" in run.errors[0].message
    assert reg.rows("select count(*) from snapshots") == [(999,)]
    assert reg.rows(f"select count(*) from snapshots where trial_id = '{bad}'") == [(0,)]
    reg.store.close()


@pytest.fixture(scope="module", autouse=True)
def report_injected() -> Any:
    """``pytest -s tests/test_faults.py`` prints how many faulty answers were served."""
    yield
    print(f"\nfaulty answers served: {sum(INJECTED.values())} ({dict(INJECTED)})")

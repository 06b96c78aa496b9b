"""Record-history backfill end to end: the loopback fake API, the live source's HTTP layer
(httpx, rate limiter, retries), a store, and the ``trialmon`` command.

The versions are SYNTHETIC, built from the REAL capture ``int_history_NCT03690141.json``
(see ``tests/backfill_data.py``): version 0 with 30 ESTIMATED and the original primary outcome,
status changes on the capture's dates, version 9 equal to the capture's study (16 ACTUAL).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.backfill import Backfill, BackfillReport, run_backfill
from monitor.config import ChangesConfig
from monitor.http import Http, RateLimiter, RetryPolicy, build_client
from monitor.lock import RunLock, run_lock_path
from monitor.models import RawRecord
from monitor.pipeline import Cycle, run_cycle
from monitor.store import Store
from tests.backfill_data import NCT_ID, build_versions, history_summary, version_dates
from tests.fakeapi import FakeApi, FakeClock, Fault, Seen

NOW = datetime(2026, 11, 26, 20, 0, tzinfo=UTC)
OTHER = "NCT00000002"


# ---------------------------------------------------------------- the loopback registry


class Registry:
    """The shared loopback fake of the API (``tests/fakeapi.py``), serving record histories,
    with a fault switch: versions from ``fail_from`` on answer 503, or a list served as is."""

    def __init__(self, api: FakeApi) -> None:
        self.api = api
        self.fail_from: int | None = None
        self.raw_lists: dict[str, Any] = {}
        api.fault = self.fault

    def serve(self, versions: dict[int, dict[str, Any]]) -> None:
        self.api.histories[NCT_ID] = {**history_summary(versions), "versions": versions}

    def fault(self, seen: Seen) -> Fault | None:
        parts = seen.path.strip("/").split("/")  # api int studies NCT history [N]
        if len(parts) == 5 and parts[3] in self.raw_lists:
            return Fault(200, self.raw_lists[parts[3]])
        if len(parts) == 6 and self.fail_from is not None and int(parts[5]) >= self.fail_from:
            return Fault(503, "Service Unavailable")
        return None

    @property
    def url(self) -> str:
        return self.api.url

    @property
    def requests(self) -> list[str]:
        return [seen.path for seen in self.api.seen("/api/int/")]

    def clear(self) -> None:
        self.api.clear_log()


@pytest.fixture
def registry(fake_api: FakeApi) -> Registry:
    reg = Registry(fake_api)
    reg.serve(build_versions())
    return reg


@pytest.fixture
def client(registry: Registry) -> Iterator[Http]:
    """The live source's HTTP layer: its rate limiter (on a fake clock) and retries."""
    clock = FakeClock()
    with build_client(registry.url, timeout=5) as http:
        limiter = RateLimiter(50, clock)
        yield Http(http, limiter, RetryPolicy(max_attempts=2), jitter=lambda: 0.0)


def backfill(store: Store, client: Http, *ids: str) -> BackfillReport:
    bf = Backfill(store=store, client=client, rules=ChangesConfig(), now=NOW)
    return run_backfill(bf, ids or [NCT_ID])


def timeline(store: Store) -> list[tuple[str, str, int | None]]:
    return [(s["captured_at"], s["source"], s["version"]) for s in store.snapshots_of(NCT_ID)]


def summaries(store: Store) -> list[tuple[str, str]]:
    rows = store.db.execute(
        "select detected_at, summary from changes where trial_id = ? order by detected_at, id",
        [NCT_ID],
    )
    return [(r[0][:10], r[1]) for r in rows]


def live_record(study: dict[str, Any]) -> RawRecord:
    return RawRecord(NCT_ID, study, "ctgov", "live")


def live_cycle(store: Store, study: dict[str, Any], now: datetime) -> None:
    cycle = Cycle(store=store, rules=ChangesConfig(), now=now, source_name="ctgov")
    run_cycle(cycle, [live_record(study)])


# ---------------------------------------------------------------- the timeline


def test_the_timeline_is_complete_from_version_0(store: Store, client: Http) -> None:
    report = backfill(store, client)
    dates = {n: f"{d}T00:00:00Z" for n, d, _ in version_dates()}
    expected = [(dates[n], "history", n) for n in range(10) if n != 4]  # 4 repeats 3
    assert timeline(store) == expected
    [result] = report.studies
    assert (result.versions, result.stored, result.same, result.error) == (10, 9, 1, None)
    study = store.study(NCT_ID)
    assert study is not None
    assert study["overall_status"] == "COMPLETED"
    assert study["latest_snapshot_id"] == store.snapshots_of(NCT_ID)[-1]["id"]
    assert report.run.status == "ok"


def test_enrollment_and_status_changes_are_found_on_their_dates(store: Store, client: Http) -> None:
    backfill(store, client)
    found = summaries(store)
    assert ("2018-10-16", "Overall status: NOT_YET_RECRUITING → RECRUITING") in found
    assert ("2019-07-16", "Overall status: RECRUITING → ACTIVE_NOT_RECRUITING") in found
    assert ("2019-07-16", "Enrollment: 30 (ESTIMATED) → 16 (ACTUAL) (-47%)") in found
    assert ("2020-04-27", "Overall status: ACTIVE_NOT_RECRUITING → COMPLETED") in found
    reworded = 'description changed: removed "RECIST"; added "iRECIST"'
    assert any(d == "2019-01-18" and s.endswith(reworded) for d, s in found)
    assert not any("<" in s or "&#x2F;" in s for _, s in found)  # HTML normalized


def test_a_second_run_stores_nothing_and_fetches_only_the_list(
    store: Store, client: Http, registry: Registry
) -> None:
    backfill(store, client)
    before = (timeline(store), summaries(store))
    registry.clear()
    report = backfill(store, client)
    assert (timeline(store), summaries(store)) == before
    assert registry.requests == [f"/api/int/studies/{NCT_ID}/history"]
    assert (report.studies[0].already, report.studies[0].stored) == (10, 0)


def test_an_interrupted_backfill_resumes_where_it_stopped(
    store: Store, client: Http, registry: Registry
) -> None:
    registry.fail_from = 6
    first = backfill(store, client)
    error = first.studies[0].error
    assert error is not None and error.transient
    assert f"/api/int/studies/{NCT_ID}/history/6" in error.message
    assert [v for _, _, v in timeline(store)] == [0, 1, 2, 3, 5]
    assert first.run.status == "partial"

    registry.fail_from = None
    registry.clear()
    second = backfill(store, client)
    assert second.studies[0].error is None
    fetched = [p.rsplit("/", 1)[-1] for p in registry.requests[1:]]
    assert fetched == ["6", "7", "8", "9"]

    with closing(Store.memory()) as fresh:
        backfill(fresh, client)
        assert timeline(store) == timeline(fresh)
        assert summaries(store) == summaries(fresh)


def test_a_stop_request_ends_the_backfill_between_versions(store: Store, client: Http) -> None:
    seen: list[tuple[str, int, int]] = []
    bf = Backfill(store, client, ChangesConfig(), NOW, lambda *p: seen.append(p))
    bf.should_stop = lambda: len(seen) > 3  # after versions 0, 1 and 2
    report = run_backfill(bf, [NCT_ID])
    assert report.run.status == "stopped"
    assert seen == [(NCT_ID, n, 10) for n in range(4)]
    assert [v for _, _, v in timeline(store)] == [0, 1, 2]
    assert backfill(store, client).studies[0].already == 3


# ---------------------------------------------------------------- merging with live snapshots


def test_a_live_snapshot_identical_to_the_latest_version_is_no_change(
    store: Store, client: Http
) -> None:
    live_cycle(store, build_versions()[9], NOW)
    backfill(store, client)
    snaps = timeline(store)
    assert snaps[-1] == ("2026-11-26T20:00:00Z", "ctgov", None)
    assert [v for _, _, v in snaps[:-1]] == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    live_id = store.snapshots_of(NCT_ID)[-1]["id"]
    into_live = "select count(*) from changes where to_snapshot_id = ?"
    assert store.db.execute(into_live, [live_id]).fetchone()[0] == 0
    study = store.study(NCT_ID)
    assert study is not None and study["latest_snapshot_id"] == live_id


def test_a_live_baseline_after_the_last_version_gets_the_changes_since(
    store: Store, client: Http, registry: Registry
) -> None:
    live_cycle(store, build_versions()[9], datetime(2020, 1, 1, tzinfo=UTC))
    report = backfill(store, client)
    assert report.studies[0].left == 1  # version 9 (2020-04-27) is after the live snapshot
    assert [v for _, _, v in timeline(store)] == [0, 1, 2, 3, 5, 6, 7, 8, None]
    assert ("2020-01-01", "Overall status: ACTIVE_NOT_RECRUITING → COMPLETED") in summaries(store)
    registry.clear()
    backfill(store, client)
    assert (
        summaries(store).count(("2020-01-01", "Overall status: ACTIVE_NOT_RECRUITING → COMPLETED"))
        == 1
    )


def test_after_a_live_run_followed_the_history_new_versions_are_left_to_it(
    store: Store, client: Http, registry: Registry
) -> None:
    versions = build_versions()
    registry.serve({n: s for n, s in versions.items() if n < 9})
    backfill(store, client)
    live_cycle(store, versions[9], NOW)  # the live monitor records 8 -> 9 and notifies it
    registry.serve(versions)
    report = backfill(store, client)
    assert (report.studies[0].stored, report.studies[0].left) == (0, 1)
    assert timeline(store)[-1] == ("2026-11-26T20:00:00Z", "ctgov", None)


# ---------------------------------------------------------------- no history, errors


def test_a_study_without_history_is_a_normal_case(store: Store, client: Http) -> None:
    report = backfill(store, client, OTHER)
    [result] = report.studies
    assert (result.versions, result.error) == (0, None)
    assert report.run.status == "ok"
    assert store.study(OTHER) is None


def test_an_unexpected_format_names_the_endpoint_and_others_go_on(
    store: Store, client: Http, registry: Registry
) -> None:
    registry.raw_lists[OTHER] = {"versions": []}
    report = backfill(store, client, OTHER, NCT_ID)
    bad, good = report.studies
    assert bad.error is not None and not bad.error.transient
    assert f"GET /api/int/studies/{OTHER}/history: unexpected record-history format" in (
        bad.error.message
    )
    assert good.stored == 9


# ---------------------------------------------------------------- the command line


def trialmon(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "monitor", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def write_config(tmp_path: Path, registry: Registry) -> None:
    (tmp_path / "config.toml").write_text(
        f'database = "history.db"\n[ctgov]\nbase_url = "{registry.url}"\n'
        "requests_per_minute = 6000\nmax_attempts = 1\n"
        f'[watch]\nstudies = ["{NCT_ID}", "{OTHER}"]\n'
    )


def test_backfill_all_then_history_shows_the_timeline_in_date_order(
    tmp_path: Path, registry: Registry
) -> None:
    write_config(tmp_path, registry)
    result = trialmon("backfill", "--all", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"{NCT_ID}: 10 versions, 9 stored, 1 identical to the version before" in result.stdout
    assert f"{OTHER}: no record history in the registry" in result.stdout
    assert "Backfilled 2 studies: 9 versions stored" in result.stdout
    assert result.stderr == ""  # no progress bar when stderr is not a terminal

    shown = trialmon("history", NCT_ID, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    heads = [line.split()[1] for line in shown.stdout.splitlines() if line.startswith("#")]
    assert heads == sorted(heads) and heads[0] == "2018-09-27T00:00:00Z" and len(heads) == 9
    assert "Enrollment: 30 (ESTIMATED) → 16 (ACTUAL) (-47%)" in shown.stdout

    again = trialmon("backfill", NCT_ID, cwd=tmp_path)
    assert "0 stored, 10 already imported; 0 changes" in again.stdout


def test_backfill_of_a_study_that_is_not_watched_says_how_to_watch_it(
    tmp_path: Path, registry: Registry
) -> None:
    write_config(tmp_path, registry)
    text = (tmp_path / "config.toml").read_text().replace(f'"{NCT_ID}", ', "")
    (tmp_path / "config.toml").write_text(text)
    result = trialmon("backfill", NCT_ID, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    hint = f"Not watched (their history stays as imported): trialmon watch add {NCT_ID}\n"
    assert result.stdout.endswith(hint)
    studies = trialmon("studies", cwd=tmp_path)
    assert f"checked never (not watched: trialmon watch add {NCT_ID})" in studies.stdout


def test_backfill_without_ids_is_a_usage_error(tmp_path: Path, registry: Registry) -> None:
    write_config(tmp_path, registry)
    result = trialmon("backfill", cwd=tmp_path)
    assert result.returncode == 2
    assert "name one or more TRIAL_IDs, or use --all" in result.stderr


def test_backfill_exits_1_when_every_study_fails(tmp_path: Path, registry: Registry) -> None:
    write_config(tmp_path, registry)
    registry.fail_from = 0
    result = trialmon("backfill", NCT_ID, cwd=tmp_path)
    assert result.returncode == 1
    assert f"/api/int/studies/{NCT_ID}/history/0" in result.stderr
    assert "Traceback" not in result.stderr


def test_backfill_refuses_to_start_while_a_cycle_holds_the_run_lock(
    tmp_path: Path, registry: Registry
) -> None:
    write_config(tmp_path, registry)
    with RunLock(run_lock_path(tmp_path / "history.db"), command="run"):
        result = trialmon("backfill", NCT_ID, cwd=tmp_path)
    assert result.returncode == 1
    assert "another trialmon cycle is running" in result.stderr
    assert registry.requests == []

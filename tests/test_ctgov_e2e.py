"""End to end against a real HTTP server on 127.0.0.1: `trialmon run` with `source = "ctgov"`.

Studies are SYNTHETIC: copies of the real record tests/data/study_NCT02576665_terminated.json
(from ../shared/ctgov-samples/) with other ids, statuses and last-update dates.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from monitor.config import Config, WatchConfig
from monitor.pipeline import Cycle, run_cycle
from monitor.registries.ctgov import REGISTRY
from monitor.registries.ctgov.config import CtgovConfig
from monitor.sources import live
from monitor.store import Store
from tests.conftest import DATA
from tests.fakeapi import FakeApi, FakeClock, Fault, Seen, studies_range, synthetic_study

TEMPLATE: dict[str, Any] = json.loads((DATA / "study_NCT02576665_terminated.json").read_text())


def populate(api: FakeApi, count: int) -> list[str]:
    ids = list(studies_range(1, count))
    api.add(*(synthetic_study(TEMPLATE, n, status="RECRUITING") for n in ids))
    return ids


def write_config(tmp_path: Path, api: FakeApi, ids: list[str], rpm: int = 100_000) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'database = "history.db"\nsource = "ctgov"\n\n'
        f'[ctgov]\nbase_url = "{api.url}"\nrequests_per_minute = {rpm}\ntimeout = 10\n\n'
        f"[watch]\nstudies = {json.dumps(ids)}\n\n"
        "[notify.log]\nenabled = false\n",
        encoding="utf-8",
    )
    return path


def trialmon(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def withdraw(study: dict[str, Any]) -> None:
    study["protocolSection"]["statusModule"]["overallStatus"] = "WITHDRAWN"


def test_run_twice_with_a_record_changed_in_between(fake_api: FakeApi, tmp_path: Path) -> None:
    ids = populate(fake_api, 3)
    config = write_config(tmp_path, fake_api, ids)
    first = trialmon(config, "run")
    assert first.exit_code == 0, first.output
    assert "Checked 3 studies: 3 new, 0 changed" in first.output

    fake_api.update("NCT00000002", "2026-09-05", withdraw)
    fake_api.data_timestamp = "2026-09-05T09:00:06"
    second = trialmon(config, "run")
    assert second.exit_code == 0, second.output
    assert "Checked 3 studies: 0 new, 1 changed, 2 unchanged, 0 failed" in second.output

    changes = trialmon(config, "changes", "--format", "json")
    rows = json.loads(changes.output)
    assert {(r["trial_id"], r["severity"], r["summary"]) for r in rows} >= {
        ("NCT00000002", "critical", "Overall status: RECRUITING → WITHDRAWN")
    }


def test_same_release_and_force(fake_api: FakeApi, tmp_path: Path) -> None:
    config = write_config(tmp_path, fake_api, populate(fake_api, 2))
    trialmon(config, "run")
    fake_api.clear_log()
    assert trialmon(config, "run").exit_code == 0
    assert fake_api.count() == 1
    fake_api.clear_log()
    assert trialmon(config, "run", "--force").exit_code == 0
    assert [r.path for r in fake_api.seen()] == ["/api/v2/version", "/api/v2/studies"]


def test_unreachable_registry_exits_1(fake_api: FakeApi, tmp_path: Path) -> None:
    config = write_config(tmp_path, fake_api, populate(fake_api, 2))
    text = config.read_text().replace("timeout = 10\n", "timeout = 10\nmax_attempts = 1\n")
    config.write_text(text)
    fake_api.fault = lambda seen: Fault(close=True)
    result = CliRunner().invoke(cli, ["--config", str(config), "run"])
    assert result.exit_code == 1
    assert "registry unreachable" in result.output


def test_a_record_over_the_size_limit_fails_alone(fake_api: FakeApi, tmp_path: Path) -> None:
    """An 11 MB record: that study fails with the limit named, the others of its batch go on."""
    ids = populate(fake_api, 5)
    fake_api.update("NCT00000003", "2026-01-05", lambda s: pad_description(s, 11_000_000))
    config = write_config(tmp_path, fake_api, ids)
    result = trialmon(config, "run")
    assert result.exit_code == 0, result.output
    assert "Checked 5 studies: 4 new, 0 changed, 0 unchanged, 1 failed" in result.output
    status = json.loads(trialmon(config, "status", "--format", "json").output)
    [error] = status["last_cycle"]["error_details"]
    assert error["trial_id"] == "NCT00000003"
    alone = [r for r in fake_api.seen() if r.params.get("filter.ids") == "NCT00000003"]
    assert alone, "the batch was not split down to the one study too large"
    assert error["message"].endswith("bytes, more than a record may have (10 MB): not read")
    store = Store.open(tmp_path / "history.db")
    assert sorted(store.known_studies()) == [i for i in ids if i != "NCT00000003"]
    store.close()


def pad_description(study: dict[str, Any], size: int) -> None:
    study["protocolSection"]["descriptionModule"]["detailedDescription"] = "word " * (size // 5)


@pytest.mark.slow
def test_2000_watched_10_changed_costs_at_most_15_requests(
    fake_api: FakeApi, tmp_path: Path
) -> None:
    ids = populate(fake_api, 2000)
    config = write_config(tmp_path, fake_api, ids)
    assert trialmon(config, "run").exit_code == 0
    first = fake_api.count()

    for nct in ids[::200]:
        fake_api.update(nct, "2026-09-05", withdraw)
    fake_api.data_timestamp = "2026-09-05T09:00:06"
    fake_api.clear_log()
    second = trialmon(config, "run")
    assert "0 new, 10 changed, 1990 unchanged, 0 failed" in second.output
    changed_cycle = fake_api.count()

    fake_api.clear_log()
    trialmon(config, "run")
    quiet_cycle = fake_api.count()

    # first: 1 version + 5 batches of whole records (200 until their size is known);
    # changed: 1 version + 1 page of the registry's updates + 1 batch of records
    assert (first, changed_cycle, quiet_cycle) == (6, 3, 1)
    assert changed_cycle <= 15


def max_in_window(times: list[float], window: float = 60.0) -> int:
    """The most requests in any half-open window [t, t + window)."""
    return max(sum(1 for u in times if t <= u < t + window) for t in times)


def test_429_for_20_seconds_backs_off_completes_and_keeps_the_rate(tmp_path: Path) -> None:
    """Simulated time: the client's clock and the server's are one FakeClock."""
    clock = FakeClock()
    with FakeApi(clock=clock) as api:
        ids = populate(api, 30)
        start = clock.monotonic()

        def throttle(seen: Seen) -> Fault | None:
            return Fault(429, "Too Many Requests") if seen.at < start + 20 else None

        api.fault = throttle
        store = Store.open(tmp_path / "history.db")
        config = Config(
            registries={
                "ctgov": CtgovConfig(base_url=api.url, requests_per_minute=50, page_size=10)
            },
            watch=WatchConfig(studies=tuple(ids)),
        )
        now = datetime(2026, 9, 5, tzinfo=UTC)
        with httpx.Client(base_url=api.url) as client:
            source = live.build(REGISTRY, config, client, store, now=now, clock=clock)
            cycle = Cycle(store=store, rules=config.changes, now=now, source_name="ctgov")
            report = run_cycle(cycle, source.items())

        times = [r.at for r in api.seen()]
        throttled = [r for r in api.seen() if r.at < start + 20]
    assert (report.new, report.failed) == (30, 0)
    assert len(store.known_studies()) == 30
    assert 1 < len(throttled) <= 6 and all(r.path == "/api/v2/version" for r in throttled)
    assert max_in_window(times) <= 50
    assert clock.monotonic() - start >= 20
    store.close()

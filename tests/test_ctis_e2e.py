"""End to end: `trialmon run` against the loopback fake of the EU CTIS API (tests/fake_ctis.py).

The config watches the real ended trial 2024-513060-26-00 and 2025-523260-20-00, and saves the
search ``medicalCondition = "diabetes"`` (three trials, one of them watched); it names no
``source``, so a cycle asks every registry with something watched: here CTIS alone. Records are
the REAL retrieve record and SYNTHETIC ones made from it for the real search rows
(tests/fake_ctis.py); the edits below are SYNTHETIC. Each cycle is a day after the last;
backoff waits are on a fake clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests import registry_synthetic as synthetic
from tests.fake_ctis import FakeCtis, Seen, refused
from tests.fakeapi import Fault
from tests.live_cli import LiveCli, live_cli, loopback_section

__all__ = ["live_cli"]
START = datetime(2026, 10, 5, 6, 0, tzinfo=UTC)
ENDED = "2024-513060-26-00"
WATCHED_ROW = "2025-523260-20-00"
DIABETES_OTHER = "2024-512310-18-00"
PENDING = "2026-525909-13-00"  # of the diabetes search: Authorised, recruitment pending
UNKNOWN = "2024-599999-99-00"


@pytest.fixture
def fake() -> Iterator[FakeCtis]:
    with FakeCtis() as f:
        yield f.add_scenario()


def config(fake: FakeCtis, studies: list[str]) -> str:
    quoted = ", ".join(f'"{s}"' for s in studies)
    return (
        loopback_section("ctis", fake.url) + f"[watch]\nstudies = [{quoted}]\n\n"
        '[[watch.queries]]\nname = "diabetes"\nregistry = "ctis"\n'
        'params = { medicalCondition = "diabetes" }\n'
    )


@pytest.fixture
def cli(live_cli: LiveCli, fake: FakeCtis) -> LiveCli:
    live_cli.write(config(fake, [ENDED, WATCHED_ROW]))
    return live_cli


def first_and_idle(cli: LiveCli, fake: FakeCtis) -> None:
    assert cli.run().exit_code == 0
    fake.clear_log()
    assert "0 new, 0 changed" in cli.run().output
    fake.clear_log()


def postpone_end(record: dict[str, Any]) -> None:
    """SYNTHETIC edit: the global end moves 92 days later and Spain plans 4 subjects, not 8."""
    duration = synthetic.information(record)["trialDuration"]
    duration["estimatedGlobalEndDate"] = "2027-10-31"
    record["events"]["trialGlobalEndDate"] = "2024-12-19"
    for part in record["authorizedApplication"]["authorizedPartsII"]:
        if part["mscInfo"]["mscName"] == "Spain":
            part["recruitmentSubjectCount"] = 4


def start_recruiting(record: dict[str, Any]) -> None:
    """SYNTHETIC edit: a trial of the diabetes search starts recruiting in its member states."""
    record["ctPublicStatusCode"] = 4
    for msc in record["authorizedApplication"]["memberStatesConcerned"]:
        msc["mscPublicStatusCode"] = 4


def test_first_pass_then_an_idle_cycle(cli: LiveCli, fake: FakeCtis) -> None:
    first = cli.run()
    assert first.exit_code == 0, first.output
    assert "Checked 4 studies: 4 new, 0 changed, 0 unchanged, 0 failed" in first.output
    assert fake.count() == 8  # updates + 2 x (next resubmission + record) + search + 2 records
    news = {(r["trial_id"], r["summary"]) for r in cli.changes()}
    assert news == {
        (n, 'New study matching query "diabetes"') for n in (WATCHED_ROW, DIABETES_OTHER, PENDING)
    }
    fake.clear_log()
    idle = cli.run()
    assert "Checked 4 studies: 0 new, 0 changed, 4 unchanged, 0 failed" in idle.output
    assert fake.count() == 2  # the window of updates, the saved search's window
    assert len(cli.changes()) == 3


def test_two_changed_trials(cli: LiveCli, fake: FakeCtis) -> None:
    first_and_idle(cli, fake)
    fake.update(ENDED, postpone_end, "07/10/2026")
    fake.update(PENDING, start_recruiting, "07/10/2026")
    result = cli.run()
    assert "Checked 4 studies: 0 new, 2 changed, 2 unchanged, 0 failed" in result.output
    assert fake.count() == 4  # two searches, two records
    assert cli.summaries(3) >= {
        (ENDED, "major", "Global end of trial: 2024-09-18 → 2024-12-19 (+92 days)"),
        (ENDED, "major", "Enrollment: 50 (ESTIMATED) → 46 (ESTIMATED) (-8%)"),
        (ENDED, "minor", "Planned subjects in Spain: 8 → 4 (-50%)"),
        (PENDING, "major", "Overall status: Authorised, recruitment pending → Ongoing, recruiting"),
    }


def test_a_429_storm_with_retry_after_clears(cli: LiveCli, fake: FakeCtis) -> None:
    fake.storm(3, status=429, retry_after="7")
    result = cli.run()
    assert "4 new, 0 changed, 0 unchanged, 0 failed" in result.output
    assert fake.count() == 8 + 3
    assert cli.clock.slept.count(7.0) >= 3  # the server's pause held for every request


def test_a_403_firewall_storm_backs_off_and_clears(cli: LiveCli, fake: FakeCtis) -> None:
    first_and_idle(cli, fake)
    fake.storm(3, status=403)
    result = cli.run()
    assert "0 new, 0 changed, 4 unchanged, 0 failed" in result.output
    assert fake.count() == 2 + 3
    assert sum(cli.clock.slept) >= 1 + 2 + 4  # exponential backoff, half of it fixed


def test_a_storm_that_does_not_clear_is_counted_and_read_again(
    cli: LiveCli, fake: FakeCtis
) -> None:
    first_and_idle(cli, fake)
    fake.storm(1000, status=429)
    result = cli.run()
    assert result.exit_code == 1  # nothing could be checked
    assert "0 new, 0 changed, 0 unchanged, 2 failed; 1 other error" in result.output  # a search
    fake.fault = None
    fake.update(ENDED, postpone_end, "07/10/2026")  # published while the firewall said no
    assert "0 new, 1 changed, 3 unchanged, 0 failed" in cli.run().output


def test_an_unknown_number_is_named_every_cycle(
    cli: LiveCli, fake: FakeCtis, caplog: pytest.LogCaptureFixture
) -> None:
    cli.write(config(fake, [ENDED, UNKNOWN]))
    for _ in range(2):
        result = cli.run()
        assert result.exit_code == 0
        assert "1 failed" in result.output
        assert f"{UNKNOWN}: EU CTIS has no such trial" in caplog.text
        caplog.clear()
    assert all(r["trial_id"] != UNKNOWN for r in cli.changes())  # never "gone"


def test_a_refused_search_body_is_an_error_of_that_search(
    cli: LiveCli, fake: FakeCtis, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(seen: Seen) -> Fault | None:
        criteria = (seen.body or {}).get("searchCriteria") or {}
        return Fault(body=refused()) if "medicalCondition" in criteria else None

    fake.fault = refuse
    result = cli.run()
    assert result.exit_code == 0
    assert "Checked 2 studies: 2 new, 0 changed, 0 unchanged, 0 failed; 1 other error" in (
        result.output
    )
    assert 'saved search "diabetes"' in caplog.text
    assert "CTIS refused the search (showWarning)" in caplog.text
    assert cli.changes() == []  # no member is news from a refusal


def test_a_resubmitted_search_member_stays_one_study(cli: LiveCli, fake: FakeCtis) -> None:
    first_and_idle(cli, fake)
    row = dict(fake.rows[PENDING])
    row.update(ctNumber="2026-525909-13-01", lastPublicationUpdate="07/10/2026")  # SYNTHETIC
    fake.add_row_trial(row)
    result = cli.run()
    assert result.exit_code == 0, result.output
    assert "Checked 4 studies: 0 new, 1 changed, 3 unchanged, 0 failed" in result.output
    changes = {(r["trial_id"], r["summary"]) for r in cli.changes() if r["run_id"] == 3}
    assert {t for t, _ in changes} == {PENDING}
    studies = cli.trialmon("studies", "--format", "json").output
    assert "2026-525909-13-01" not in {s["trial_id"] for s in json.loads(studies)}

"""End to end: `trialmon run` against the loopback fake of the ISRCTN API (tests/fake_isrctn.py).

The config watches ISRCTN41823570 (recruiting) and ISRCTN15873887 (its recruitment ends on
2026-10-01) and saves the search ``recruitmentCountry:"United Kingdom"`` (three trials, one of
them watched); it names no ``source``: a cycle asks every registry with something watched.
The trials are the five REAL ones of the colchicine answer; the edits below are SYNTHETIC.
Each cycle is a day after the last; backoff waits are on a fake clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from monitor.classify import CALENDAR_MOVE
from tests.fake_isrctn import FakeIsrctn
from tests.live_cli import LiveCli, live_cli, loopback_section

__all__ = ["live_cli"]
START = datetime(2026, 9, 28, 6, 0, tzinfo=UTC)
COPD = "ISRCTN41823570"
PATCH = "ISRCTN15873887"
GOUT = "ISRCTN12564318"


@pytest.fixture
def fake() -> Iterator[FakeIsrctn]:
    with FakeIsrctn() as f:
        f.add_real()
        yield f


def config(fake: FakeIsrctn, studies: list[str]) -> str:
    quoted = ", ".join(f'"{s}"' for s in studies)
    return (
        loopback_section("isrctn", fake.url) + f"[watch]\nstudies = [{quoted}]\n\n"
        '[[watch.queries]]\nname = "uk"\nregistry = "isrctn"\n'
        "params = { q = 'recruitmentCountry:\"United Kingdom\"' }\n"
    )


@pytest.fixture
def cli(live_cli: LiveCli, fake: FakeIsrctn) -> LiveCli:
    live_cli.write(config(fake, [COPD, PATCH]))
    return live_cli


def stop(text: str) -> str:
    """SYNTHETIC edit: the trial is stopped."""
    return text.replace(
        "<recruitmentStatusOverride/>",
        "<recruitmentStatusOverride>Stopped</recruitmentStatusOverride>",
    )


def smaller(text: str) -> str:
    """SYNTHETIC edit: the target enrolment goes from 280 to 200."""
    return text.replace("<targetEnrolment>280<", "<targetEnrolment>200<")


def test_first_pass_then_an_idle_cycle(cli: LiveCli, fake: FakeIsrctn) -> None:
    first = cli.run()
    assert first.exit_code == 0, first.output
    assert "Checked 4 studies: 4 new, 0 changed, 0 unchanged, 0 failed" in first.output
    assert fake.count() == 4  # count and trials, for the watched ones and for the search
    assert len(cli.changes()) == 3  # the search's three trials are news
    fake.clear_log()
    idle = cli.run()
    assert "Checked 4 studies: 0 new, 0 changed, 4 unchanged, 0 failed" in idle.output
    assert fake.count() == 2  # two counts of edits (limit=0)


def test_two_edited_trials(cli: LiveCli, fake: FakeIsrctn) -> None:
    cli.run(days=2)  # 2026-09-28, then 2026-09-30 (PATCH still recruiting)
    fake.update(COPD, stop, "2026-09-29T10:00:00.000000000Z")
    fake.update(GOUT, smaller, "2026-09-29T11:00:00Z")
    fake.clear_log()
    result = cli.run()
    assert "Checked 4 studies: 0 new, 2 changed, 2 unchanged, 0 failed" in result.output
    assert fake.count() == 4  # counted and asked, for the watched ones and for the search
    derived = "derived from the record's dates and overrides"
    assert cli.summaries(2) >= {
        (COPD, "critical", f"Overall status: Recruiting → Stopped ({derived})"),
        (GOUT, "major", "Enrollment: 280 (ESTIMATED) → 200 (ESTIMATED) (-29%)"),
        (COPD, "info", "Version: 36 → 37"),
    }


def test_the_calendar_moves_a_status_once(cli: LiveCli, fake: FakeIsrctn) -> None:
    """Nobody edits ISRCTN15873887: on 2026-10-01 its recruitment has ended all the same."""
    cli.run(days=3)  # 2026-09-28, then 2026-10-01
    fake.clear_log()
    moved = cli.run()
    assert "0 new, 1 changed, 3 unchanged, 0 failed" in moved.output
    assert fake.count() == 2 + 2  # the two counts, then its number counted and asked
    assert cli.summaries(2) == {
        (PATCH, "major", f"Overall status: Recruiting → No longer recruiting ({CALENDAR_MOVE})")
    }
    fake.clear_log()
    assert "0 new, 0 changed, 4 unchanged" in cli.run().output  # reported once
    assert fake.count() == 2


def test_a_429_storm_with_retry_after_clears(cli: LiveCli, fake: FakeIsrctn) -> None:
    fake.storm(2, status=429, retry_after="11")
    result = cli.run()
    assert "4 new, 0 changed, 0 unchanged, 0 failed" in result.output
    assert fake.count() == 4 + 2
    assert cli.clock.slept.count(11.0) >= 2


def test_a_403_storm_backs_off_and_clears(cli: LiveCli, fake: FakeIsrctn) -> None:
    cli.run()
    fake.storm(2, status=403)
    fake.clear_log()
    result = cli.run()
    assert "0 new, 0 changed, 4 unchanged, 0 failed" in result.output
    assert fake.count() == 2 + 2
    assert sum(cli.clock.slept) >= 1 + 2


def test_an_unknown_number_is_named_every_cycle(
    cli: LiveCli, fake: FakeIsrctn, caplog: pytest.LogCaptureFixture
) -> None:
    cli.write(config(fake, [COPD, "ISRCTN00000000"]))
    for _ in range(2):
        result = cli.run()
        assert result.exit_code == 0 and "1 failed" in result.output
        assert "ISRCTN00000000: ISRCTN has no such trial" in caplog.text
        caplog.clear()
    assert all(r["trial_id"] != "ISRCTN00000000" for r in cli.changes())

"""`trialmon feed`: valid Atom (read back with feedparser, as a feed reader reads it), one entry
per study and cycle, linking to the registry's record history, stable ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import feedparser
import pytest

from monitor import feed

from .conftest import ROOT, trialmon

SEEDS = ROOT / "seeds"
HISTORY = "https://clinicaltrials.gov/study/{}?tab=history"


def change(trial_id: str, run_id: int | None, severity: str, summary: str, **extra: Any) -> dict:
    row = {
        "id": extra.pop("id", 1),
        "trial_id": trial_id,
        "run_id": run_id,
        "to_snapshot_id": extra.pop("to_snapshot_id", 7),
        "detected_at": extra.pop("detected_at", "2026-11-26T20:03:14Z"),
        "category": extra.pop("category", "status"),
        "severity": severity,
        "summary": summary,
    }
    return row


def parse(data: bytes) -> Any:
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    return parsed


def test_one_entry_per_study_and_cycle_most_severe_first() -> None:
    rows = [  # as the store lists them: the newest cycle first, most severe first within it
        change("NCT06009107", 2, "critical", "Overall status: A → WITHDRAWN", id=2),
        change("NCT02576665", 2, "major", "Enrollment: 30 → 16 (-47%)", id=4),
        change("NCT06009107", 2, "major", "Start date: 2024-12-31 → 2025-06-30", id=1),
        change(
            "NCT06009107", 1, "minor", "Keywords: added x", id=3, detected_at="2026-11-25T00:00:00Z"
        ),
        change("NCT02576665", None, "minor", "Brief title", id=5, to_snapshot_id=9),
    ]
    found = feed.entries(rows, {"NCT06009107": "HY004 <b>study</b>"})
    assert [(e.trial_id, e.cycle) for e in found] == [
        ("NCT06009107", "run-2"),
        ("NCT02576665", "run-2"),
        ("NCT06009107", "run-1"),
        ("NCT02576665", "snapshot-9"),
    ]
    parsed = parse(
        feed.atom(found, installation="x", generated_at="2026-11-27T00:00:00Z", subtitle="s")
    )
    first = parsed.entries[0]
    assert first.title == "NCT06009107 [critical] Overall status: A → WITHDRAWN (+1 more)"
    assert first.link == HISTORY.format("NCT06009107")
    assert first.updated == "2026-11-26T20:03:14Z"
    assert [t.term for t in first.tags] == ["major", "critical"]
    assert first.content[0].type == "text/html"
    assert first.content[0].value.index("WITHDRAWN") < first.content[0].value.index("Start date")
    assert "HY004 &lt;b&gt;study&lt;/b&gt;" in first.content[0].value  # record text escaped
    assert len({e.id for e in parsed.entries}) == 4
    assert parsed.feed.updated == "2026-11-26T20:03:14Z"


def test_ids_are_stable_and_the_installation_s_own() -> None:
    rows = [change("NCT06009107", 2, "critical", "Overall status: A → B")]

    def ids(installation: str) -> list[str]:
        data = feed.atom(
            feed.entries(rows, {}), installation=installation, generated_at="t", subtitle="s"
        )
        parsed = parse(data)
        return [parsed.feed.id, parsed.entries[0].id]

    assert ids("2026-01-01T00:00:00Z") == ids("2026-01-01T00:00:00Z")
    assert set(ids("2026-01-01T00:00:00Z")).isdisjoint(ids("2026-02-01T00:00:00Z"))


def test_an_empty_feed_is_valid_and_dated_now() -> None:
    parsed = parse(
        feed.atom([], installation="x", generated_at="2026-11-27T01:02:03Z", subtitle="s")
    )
    assert parsed.entries == []
    assert parsed.feed.updated == "2026-11-27T01:02:03Z"
    assert parsed.feed.title == "trialmon: changes in watched trials"


# ---------------------------------------------------------------- through the CLI


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    for source in (SEEDS / "earlier", SEEDS):
        result = trialmon("--db", "h.db", "run", "--source", str(source), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    return tmp_path


def test_feed_of_the_demo_database(demo: Path) -> None:
    result = trialmon("--db", "h.db", "feed", "--output", "public/feed.xml", cwd=demo)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Wrote public/feed.xml (2 entries).\n"
    parsed = parse((demo / "public" / "feed.xml").read_bytes())
    entries = {e.title.split()[0]: e for e in parsed.entries}
    nct, ctis = entries["NCT06009107"], entries["2024-513060-26-00"]
    assert nct.title.startswith(
        "NCT06009107 [critical] Overall status: NOT_YET_RECRUITING → WITHDRAWN"
    )
    assert nct.link == HISTORY.format("NCT06009107")
    assert "Completion date: 2026-12-31 → 2027-12-30 (+364 days)" in nct.content[0].value
    assert "Last update posted" not in nct.content[0].value  # info is below the default minor
    assert ctis.link.startswith("https://euclinicaltrials.eu/")  # each registry's own page
    assert "2024-513060-26-00" in ctis.link


@pytest.mark.parametrize(
    ("args", "entries"),
    [
        (["--min-severity", "critical"], 2),
        (["--min-severity", "info"], 2),
        (["--study", "NCT06009107"], 1),
        (["--study", "NCT02576665"], 0),
        (["--since", "2999-01-01"], 0),
    ],
)
def test_feed_filters(demo: Path, args: list[str], entries: int) -> None:
    result = trialmon("--db", "h.db", "feed", "-o", "f.xml", *args, cwd=demo)
    assert result.returncode == 0, result.stderr
    assert len(parse((demo / "f.xml").read_bytes()).entries) == entries


def test_writing_the_feed_again_gives_the_same_entries(demo: Path) -> None:
    for name in ("a.xml", "b.xml"):
        assert trialmon("--db", "h.db", "feed", "-o", name, cwd=demo).returncode == 0
    a, b = (parse((demo / n).read_bytes()) for n in ("a.xml", "b.xml"))
    assert [e.id for e in a.entries] == [e.id for e in b.entries]
    assert a.feed.id == b.feed.id


def test_a_feed_that_cannot_be_written_is_an_error(demo: Path) -> None:
    (demo / "plain-file").write_text("")
    result = trialmon("--db", "h.db", "feed", "-o", "plain-file/feed.xml", cwd=demo)
    assert result.returncode == 1
    assert result.stderr.startswith("trialmon: cannot write 'plain-file/feed.xml': ")

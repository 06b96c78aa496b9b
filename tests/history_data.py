"""A known history written through the pipeline's own steps, for the views, CLI and report tests.

Each version is an API-v2-shaped record that goes through ``normalize`` and, from the second
version on, ``compare`` and ``classify`` exactly as ``pipeline.process_record`` does, then into
``Store.save_snapshot``: the field names, values and summaries are the real ones.

SYNTHETIC data: the records are small records built for these tests. NCT06009107 follows the seed
document (../shared/seeds/000_8367b1182d448020.txt: a study that moved to WITHDRAWN with
revised dates); NCT02576665 borrows its sponsor, status and dates from
../shared/ctgov-samples/study_NCT02576665_terminated.json; everything else is invented.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from monitor import normalize
from monitor.config import ChangesConfig
from monitor.models import RawRecord
from monitor.pipeline import detect, new_snapshot
from monitor.registries.ctgov import normalize as ctgov
from monitor.registries.ctgov.vocabulary import VOCABULARY
from monitor.store import NewSnapshot, Store, to_json

SEED = "NCT06009107"
TERMINATED = "NCT02576665"
FAILING = "NCT01234567"
RULES = ChangesConfig()


def record(
    nct_id: str,
    title: str,
    status: str,
    dates: tuple[str, str, str],
    sponsor: str,
    *,
    posted: str,
    why_stopped: str | None = None,
    outcomes: tuple[str, ...] = ("Objective response rate",),
    date_type: str = "ESTIMATED",
) -> dict[str, Any]:
    """An API v2 study with the fields the views look at."""
    names = ("startDateStruct", "primaryCompletionDateStruct", "completionDateStruct")
    status_module: dict[str, Any] = {
        "overallStatus": status,
        **{name: {"date": d, "type": date_type} for name, d in zip(names, dates, strict=True)},
        "lastUpdatePostDateStruct": {"date": posted, "type": "ACTUAL"},
    }
    if why_stopped:
        status_module["whyStopped"] = why_stopped
    return {
        "protocolSection": {
            "identificationModule": {"nctId": nct_id, "briefTitle": title},
            "statusModule": status_module,
            "sponsorCollaboratorsModule": {"leadSponsor": {"name": sponsor, "class": "INDUSTRY"}},
            "outcomesModule": {"primaryOutcomes": [{"measure": m} for m in outcomes]},
        }
    }


def save(store: Store, study: dict[str, Any], captured_at: str) -> int:
    """One version of a study through normalize -> compare -> classify -> store."""
    nct_id = study["protocolSection"]["identificationModule"]["nctId"]
    raw = RawRecord(nct_id, study, "history", f"test:{nct_id}", captured_at=captured_at)
    canonical = ctgov.normalize(study)
    previous = store.latest([nct_id]).get(nct_id)
    changes = detect(previous, canonical, RULES, VOCABULARY) if previous else []
    now = datetime.fromisoformat(captured_at.replace("Z", "+00:00"))
    snap = new_snapshot(raw, canonical, normalize.content_hash(canonical), changes, now)
    return store.save_snapshot(snap, previous, run_id=None)


def save_canonical(store: Store, nct_id: str, canonical: dict[str, Any], captured_at: str) -> int:
    """A canonical record written as is, bypassing normalization (any text a database may hold)."""
    snap = NewSnapshot(
        trial_id=nct_id,
        captured_at=captured_at,
        source="files",
        content_hash="test:" + captured_at,
        last_update_posted=None,
        record=to_json(canonical),
        title=canonical.get("identification", {}).get("brief_title"),
        overall_status=canonical.get("status", {}).get("overall_status"),
        changes=[],
    )
    return store.save_snapshot(snap, store.latest([nct_id]).get(nct_id), run_id=None)


SEED_TITLE = 'A Study of HY004 Treatment in Adult r/r B-ALL <CAR-T> & "friends"'


def seed_history(store: Store) -> None:
    """NCT06009107: baseline, then dates revised, then WITHDRAWN."""
    dates1 = ("2024-06", "2025-06", "2026-12-31")
    dates2 = ("2025-06", "2026-06-30", "2027-12-30")
    sponsor = "Hrain Biotechnology"
    r1 = record(SEED, SEED_TITLE, "NOT_YET_RECRUITING", dates1, sponsor, posted="2024-05-02")
    save(store, r1, "2024-05-02T00:00:00Z")
    r2 = record(SEED, SEED_TITLE, "NOT_YET_RECRUITING", dates2, sponsor, posted="2025-01-10")
    save(store, r2, "2025-01-10T00:00:00Z")
    r3 = record(
        SEED, SEED_TITLE, "WITHDRAWN", dates2, sponsor, posted="2025-08-08", why_stopped="Funding"
    )
    save(store, r3, "2025-08-08T00:00:00Z")


def terminated_history(store: Store) -> None:
    """NCT02576665: RECRUITING, then TERMINATED with a precision-only date change."""
    title = "Tocagen Toca 511 trial"
    d1 = ("2016-07", "2019-05", "2019-06")
    d2 = ("2016-07", "2019-05-15", "2019-12-20")
    r1 = record(TERMINATED, title, "RECRUITING", d1, "Tocagen Inc.", posted="2018-01-05")
    save(store, r1, "2018-01-05T00:00:00Z")
    r2 = record(
        TERMINATED, title, "TERMINATED", d2, "Tocagen Inc.", posted="2020-02-07",
        why_stopped="Sponsor decision", outcomes=(), date_type="ACTUAL",
    )  # fmt: skip
    save(store, r2, "2020-02-07T00:00:00Z")


def failing_study(store: Store) -> None:
    """NCT01234567: one baseline, then two failed checks."""
    dates = ("2020", "2021", "2022")
    rec = record(FAILING, "A study that fails", "RECRUITING", dates, "Acme", posted="2023-12-20")
    save(store, rec, "2024-01-01T00:00:00Z")
    store.record_failure(FAILING, "HTTP 503 from registry", "2024-01-02T00:00:00Z")
    store.record_failure(FAILING, "HTTP 503 from registry", "2024-01-03T00:00:00Z")


def known_history(store: Store) -> Store:
    seed_history(store)
    terminated_history(store)
    failing_study(store)
    return store

"""A known history written straight through ``Store``, for the views, CLI and report tests.

SYNTHETIC data: the records are small API-v2-shaped records built for these tests. NCT06009107
follows the seed document (/work/shared/seeds/000_8367b1182d448020.txt: a study that moved to
WITHDRAWN with revised dates); NCT02576665 borrows its sponsor, status and dates from
/work/shared/ctgov-samples/study_NCT02576665_terminated.json; everything else is invented.
"""

from __future__ import annotations

import hashlib
from typing import Any

from monitor.models import Change
from monitor.store import NewSnapshot, Store, to_json

SEED = "NCT06009107"
TERMINATED = "NCT02576665"
FAILING = "NCT01234567"

STATUS = "protocolSection.statusModule.overallStatus"
START = "protocolSection.statusModule.startDateStruct"
PRIMARY = "protocolSection.statusModule.primaryCompletionDateStruct"
COMPLETION = "protocolSection.statusModule.completionDateStruct"
PRIMARY_OUTCOMES = "protocolSection.outcomesModule.primaryOutcomes"


def record(
    nct_id: str,
    title: str,
    status: str,
    dates: tuple[str, str, str],
    sponsor: str,
    why_stopped: str | None = None,
    outcomes: tuple[str, ...] = ("Objective response rate",),
) -> dict[str, Any]:
    start, primary, completion = dates
    status_module: dict[str, Any] = {
        "overallStatus": status,
        "startDateStruct": {"date": start, "type": "ESTIMATED"},
        "primaryCompletionDateStruct": {"date": primary, "type": "ESTIMATED"},
        "completionDateStruct": {"date": completion, "type": "ESTIMATED"},
    }
    if why_stopped:
        status_module["whyStopped"] = why_stopped
    return {
        "protocolSection": {
            "identificationModule": {"nctId": nct_id, "briefTitle": title},
            "statusModule": status_module,
            "sponsorCollaboratorsModule": {"leadSponsor": {"name": sponsor}},
            "outcomesModule": {"primaryOutcomes": [{"measure": m} for m in outcomes]},
        }
    }


def dated(date: str, kind: str = "ESTIMATED") -> dict[str, str]:
    return {"date": date, "type": kind}


def save(
    store: Store, rec: dict[str, Any], captured_at: str, posted: str, changes: list[Change]
) -> int:
    """Store one version of a study, as the pipeline would."""
    ident = rec["protocolSection"]["identificationModule"]
    nct_id = ident["nctId"]
    text = to_json(rec)
    snap = NewSnapshot(
        nct_id=nct_id,
        captured_at=captured_at,
        source="history",
        content_hash="v1:" + hashlib.sha256(text.encode()).hexdigest(),
        last_update_posted=posted,
        record=text,
        title=ident["briefTitle"],
        overall_status=rec["protocolSection"]["statusModule"]["overallStatus"],
        changes=changes,
    )
    previous = store.latest([nct_id]).get(nct_id)
    return store.save_snapshot(snap, previous, run_id=None)


SEED_TITLE = 'A Study of HY004 Treatment in Adult r/r B-ALL <CAR-T> & "friends"'


def seed_history(store: Store) -> None:
    """NCT06009107: baseline, then dates revised, then WITHDRAWN."""
    dates1 = ("2024-06", "2025-06", "2026-12-31")
    dates2 = ("2025-06", "2026-06-30", "2027-12-30")
    r1 = record(SEED, SEED_TITLE, "NOT_YET_RECRUITING", dates1, "Hrain Biotechnology")
    save(store, r1, "2024-05-02T00:00:00Z", "2024-05-02", [])
    r2 = record(SEED, SEED_TITLE, "NOT_YET_RECRUITING", dates2, "Hrain Biotechnology")
    save(
        store,
        r2,
        "2025-01-10T00:00:00Z",
        "2025-01-10",
        [
            Change("dates", START, "major", dated("2024-06"), dated("2025-06"),
                   "Start date: 2024-06 → 2025-06 (+365 days)"),
            Change("dates", PRIMARY, "major", dated("2025-06"), dated("2026-06-30"),
                   "Primary completion date: 2025-06 → 2026-06-30 (+365 days)"),
            Change("dates", COMPLETION, "major", dated("2026-12-31"), dated("2027-12-30"),
                   "Completion date: 2026-12-31 → 2027-12-30 (+364 days)"),
        ],
    )  # fmt: skip
    r3 = record(
        SEED, SEED_TITLE, "WITHDRAWN", dates2, "Hrain Biotechnology", why_stopped="<b>funding</b>"
    )
    save(
        store,
        r3,
        "2025-08-08T00:00:00Z",
        "2025-08-08",
        [
            Change("status", STATUS, "critical", "NOT_YET_RECRUITING", "WITHDRAWN",
                   "Overall status: NOT_YET_RECRUITING → WITHDRAWN"),
            Change("status", "protocolSection.statusModule.whyStopped", "major", None,
                   "<b>funding</b>", 'Why stopped: set to "<b>funding</b>"'),
        ],
    )  # fmt: skip


def terminated_history(store: Store) -> None:
    """NCT02576665: RECRUITING, then a precision-only date change, then TERMINATED."""
    title = "Tocagen Toca 511 trial"
    d1 = ("2016-07", "2019-05", "2019-06")
    d2 = ("2016-07", "2019-05-15", "2019-12-20")
    r1 = record(TERMINATED, title, "RECRUITING", d1, "Tocagen Inc.")
    save(store, r1, "2018-01-05T00:00:00Z", "2018-01-05", [])
    r2 = record(
        TERMINATED, title, "TERMINATED", d2, "Tocagen Inc.", "Sponsor decision", outcomes=()
    )
    save(
        store,
        r2,
        "2020-02-07T00:00:00Z",
        "2020-02-07",
        [
            Change("status", STATUS, "critical", "RECRUITING", "TERMINATED",
                   "Overall status: RECRUITING → TERMINATED"),
            Change("dates", PRIMARY, "minor", dated("2019-05"), dated("2019-05-15", "ACTUAL"),
                   "Primary completion date: 2019-05 → 2019-05-15 (precision)"),
            Change("dates", COMPLETION, "major", dated("2019-06"), dated("2019-12-20", "ACTUAL"),
                   "Completion date: 2019-06 → 2019-12-20 (+183 days)"),
            Change("outcomes", PRIMARY_OUTCOMES, "critical",
                   {"measure": "Objective response rate"}, None,
                   'Primary outcome removed: "Objective response rate"'),
        ],
    )  # fmt: skip


def failing_study(store: Store) -> None:
    """NCT01234567: one baseline, then two failed checks."""
    rec = record(FAILING, "A study that fails", "RECRUITING", ("2020", "2021", "2022"), "Acme")
    save(store, rec, "2024-01-01T00:00:00Z", "2023-12-20", [])
    store.record_failure(FAILING, "HTTP 503 from registry", "2024-01-02T00:00:00Z")
    store.record_failure(FAILING, "HTTP 503 from registry", "2024-01-03T00:00:00Z")


def known_history(store: Store) -> Store:
    seed_history(store)
    terminated_history(store)
    failing_study(store)
    return store

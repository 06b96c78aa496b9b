"""Smoke test of normalize -> compare -> classify on a real record (tests/data copy of
../shared/ctgov-samples/study_NCT02576665_terminated.json)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from monitor.classify import classify
from monitor.compare import compare
from monitor.config import ChangesConfig
from monitor.normalize import normalize

DATA = Path(__file__).parent / "data"


def test_status_dates_enrollment_of_a_withdrawal() -> None:
    new = json.loads((DATA / "study_NCT02576665_terminated.json").read_text())
    old = copy.deepcopy(new)  # synthetic earlier version built from the real record
    status = old["protocolSection"]["statusModule"]
    status["overallStatus"] = "NOT_YET_RECRUITING"
    del status["whyStopped"]
    status["completionDateStruct"] = {"date": "2018-12-20", "type": "ESTIMATED"}
    old["protocolSection"]["designModule"]["enrollmentInfo"] = {"count": 30, "type": "ESTIMATED"}
    a, b = normalize(old), normalize(new)
    rows = [
        (c.category, c.severity, c.summary) for c in classify(a, b, compare(a, b), ChangesConfig())
    ]
    assert rows == [
        ("status", "critical", "Overall status: NOT_YET_RECRUITING → TERMINATED"),
        ("status", "major", 'Why stopped: (none) → "Sponsor decision"'),
        (
            "dates",
            "major",
            "Completion date: 2018-12-20 (ESTIMATED) → 2019-12-20 (ACTUAL) (+365 days)",
        ),
        ("enrollment", "major", "Enrollment: 30 (ESTIMATED) → 21 (ACTUAL) (-30%)"),
    ]

"""The CTIS code tables trialmon uses, in the registry's own words. Pure data.

Public status codes are the same in a search row (``ctStatus``), a retrieved record
(``ctPublicStatusCode``) and per member state (``mscPublicStatusCode``, the ``Spain:8`` suffix of
``trialCountries``); ctrdata and the portal's own code table agree on them (REGISTRIES.md §1.6).
The retrieved record's ``ctStatus`` is the *application* label ("Authorised" for codes 2 to 5)
and is never used as the trial's status.

CTIS has one word for any end ("Ended"); an early termination is told by the events. trialmon
names such an end ``Ended (early termination)``, which is critical like any early stop.
"""

from __future__ import annotations

from dataclasses import dataclass

EARLY_TERMINATION = "Ended (early termination)"


@dataclass(frozen=True)
class Status:
    """One status word: its neutral state and whether moving to it is critical."""

    words: str
    state: str  # pending | recruiting | active | completed | stopped | withdrawn | unknown
    critical: bool


STATUS_CODES: dict[int, Status] = {
    1: Status("Under evaluation", "pending", False),
    2: Status("Authorised, recruitment pending", "pending", False),
    3: Status("Authorised, recruiting", "recruiting", False),
    4: Status("Ongoing, recruiting", "recruiting", False),
    5: Status("Ongoing, recruitment ended", "active", False),
    6: Status("Temporarily halted", "stopped", True),
    7: Status("Suspended", "stopped", True),
    8: Status("Ended", "completed", False),
    9: Status("Expired", "withdrawn", True),  # authorisation lapsed before the trial started
    10: Status("Revoked", "stopped", True),
    11: Status("Not authorised", "withdrawn", True),
    12: Status("Cancelled", "withdrawn", True),
}

#: Every status word trialmon may store for a CTIS trial -> its meaning (``classify`` reads this).
VOCABULARY: dict[str, Status] = {
    **{s.words: s for s in STATUS_CODES.values()},
    EARLY_TERMINATION: Status(EARLY_TERMINATION, "stopped", True),
    # labels of the per-country history (mscInfo.trialStatus) that are not public-code words
    "Authorised": Status("Authorised", "pending", False),
}


def status_words(code: object) -> str | None:
    """The words of a public status code (an int or a numeric string); None if unknown."""
    if isinstance(code, bool):
        return None
    if isinstance(code, str) and code.strip().isdigit():
        code = int(code)
    status = STATUS_CODES.get(code) if isinstance(code, int) else None
    return status.words if status else None


def meaning(words: str) -> Status:
    """The meaning of a status word; an unknown word is an unknown, non-critical state."""
    return VOCABULARY.get(words, Status(words, "unknown", False))


#: ``trialCategory.trialPhase`` codes -> neutral phases (EviMed's CTIS_PHASES table, 3rd party;
#: our sample confirms 4 = Phase II and 7 = an integrated Phase I/II trial).
PHASES: dict[str, tuple[str, ...]] = {
    "1": ("PHASE1",),
    "2": ("PHASE1",),
    "3": ("PHASE1",),
    "4": ("PHASE2",),
    "5": ("PHASE3",),
    "6": ("PHASE4",),
    "7": ("PHASE1", "PHASE2"),
    "8": ("PHASE1", "PHASE2"),
    "9": ("PHASE1", "PHASE2"),
    "10": ("PHASE2", "PHASE3"),
    "11": ("PHASE3", "PHASE4"),
}

#: ``populationOfTrialSubjects.ageRanges[].ageRangeCategoryCode`` -> the portal's words.
AGE_RANGES: dict[str, str] = {
    "1": "In utero",
    "2": "0-17 years",
    "3": "18-64 years",
    "4": "65+ years",
}

#: The events of ``events.trialEvents[].events[].notificationType`` trialmon reads.
START_OF_TRIAL = "START_OF_TRIAL"
START_OF_RECRUITMENT = "START_OF_RECRUITMENT"
END_OF_RECRUITMENT = "END_OF_RECRUITMENT"
END_OF_TRIAL = "END_OF_TRIAL"
EARLY_TERMINATION_EVENT = "EARLY_TERMINATION"

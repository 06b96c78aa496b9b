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

from monitor.normalize import StatusWord, Vocabulary

EARLY_TERMINATION = "Ended (early termination)"

#: Public status code -> (the registry's words, their meaning).
STATUS_CODES: dict[int, tuple[str, StatusWord]] = {
    1: ("Under evaluation", StatusWord("pending")),
    2: ("Authorised, recruitment pending", StatusWord("pending")),
    3: ("Authorised, recruiting", StatusWord("recruiting")),
    4: ("Ongoing, recruiting", StatusWord("recruiting")),
    5: ("Ongoing, recruitment ended", StatusWord("active")),
    6: ("Temporarily halted", StatusWord("stopped", critical=True)),
    7: ("Suspended", StatusWord("stopped", critical=True)),
    8: ("Ended", StatusWord("completed")),
    9: ("Expired", StatusWord("withdrawn", critical=True)),  # lapsed before the trial started
    10: ("Revoked", StatusWord("stopped", critical=True)),
    11: ("Not authorised", StatusWord("withdrawn", critical=True)),
    12: ("Cancelled", StatusWord("withdrawn", critical=True)),
}

#: Every status word trialmon may store for a CTIS trial, with its meaning (classify reads it).
VOCABULARY = Vocabulary(
    statuses={
        **dict(STATUS_CODES.values()),
        EARLY_TERMINATION: StatusWord("stopped", critical=True),
        # a label of the per-country history (mscInfo.trialStatus) that is no public-code word
        "Authorised": StatusWord("pending"),
    },
    labels={
        "identification.trial_id": "EU CT number",
        "identification.aliases": "Earlier EU CT numbers",
        "status.by_country": "Status",
        "enrollment.by_country": "Planned subjects",
        "dates.end_by_country": "End of trial",
        "dates.global_end": "Global end of trial",
    },
)


def status_words(code: object) -> str | None:
    """The words of a public status code (an int or a numeric string); None if unknown."""
    if isinstance(code, bool):
        return None
    if isinstance(code, str) and code.strip().isdigit():
        code = int(code)
    found = STATUS_CODES.get(code) if isinstance(code, int) else None
    return found[0] if found else None


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

"""ClinicalTrials.gov's overall-status words, and the labels of its own fields in summaries."""

from __future__ import annotations

from monitor.normalize import StatusWord, Vocabulary

STATUSES: dict[str, StatusWord] = {
    "NOT_YET_RECRUITING": StatusWord("pending"),
    "RECRUITING": StatusWord("recruiting"),
    "ENROLLING_BY_INVITATION": StatusWord("recruiting"),
    "ACTIVE_NOT_RECRUITING": StatusWord("active"),
    "COMPLETED": StatusWord("completed"),
    "SUSPENDED": StatusWord("stopped", critical=True),
    "TERMINATED": StatusWord("stopped", critical=True),
    "WITHDRAWN": StatusWord("withdrawn", critical=True),
    # expanded access
    "AVAILABLE": StatusWord("recruiting"),
    "TEMPORARILY_NOT_AVAILABLE": StatusWord("stopped"),
    "NO_LONGER_AVAILABLE": StatusWord("stopped", critical=True),
    "APPROVED_FOR_MARKETING": StatusWord("completed"),
    "WITHHELD": StatusWord("withdrawn", critical=True),
    "UNKNOWN": StatusWord("unknown"),
}

VOCABULARY = Vocabulary(
    statuses=STATUSES,
    labels={
        "identification.trial_id": "NCT id",
        "identification.aliases": "NCT id aliases",
    },
)

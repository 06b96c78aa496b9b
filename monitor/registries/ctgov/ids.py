"""ClinicalTrials.gov trial ids: ``NCT`` and 8 digits (the one home of the pattern)."""

from __future__ import annotations

import re

from monitor.byteshapes import NCT_RE
from monitor.registries.base import TrialIds

__all__ = ["IDS", "KIND", "NCT_IN_TEXT", "NCT_RE"]

KIND = "ctgov"
NCT_IN_TEXT = re.compile(r"NCT\d{8}", re.IGNORECASE)  # e.g. in a redirect's Location

IDS = TrialIds(
    pattern=NCT_RE,
    claims=re.compile(r"^\s*NCT", re.IGNORECASE),
    noun="an NCT id",
    hint="NCT followed by 8 digits",
)

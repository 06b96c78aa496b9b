"""ISRCTN numbers: ``ISRCTN`` + 8 digits. Pure."""

from __future__ import annotations

import re

from monitor.registries.base import TrialIds

KIND = "isrctn"
ISRCTN = re.compile(r"^ISRCTN\d{8}$")
_LOOSE = re.compile(r"ISRCTN\s?(\d{8})", re.IGNORECASE)


IDS = TrialIds(
    pattern=ISRCTN,
    claims=re.compile(r"^\s*ISRCTN", re.IGNORECASE),
    noun="an ISRCTN number",
    hint="ISRCTN followed by 8 digits, e.g. ISRCTN41823570",
)


def is_isrctn(text: str) -> bool:
    return bool(ISRCTN.match(text))


def normalize_id(text: str) -> str:
    """A watched id as trialmon files it (upper case, no space); ``ValueError`` otherwise."""
    value = text.strip().upper().replace(" ", "")
    if value.isdigit() and len(value) == 8:
        value = f"ISRCTN{value}"
    if not ISRCTN.match(value):
        raise ValueError(
            f"{text!r} is not an ISRCTN number (ISRCTN and 8 digits, e.g. ISRCTN41823570)"
        )
    return value


def find_isrctn(text: str) -> str | None:
    """The first ISRCTN number inside a text, if any."""
    match = _LOOSE.search(text)
    return f"ISRCTN{match.group(1)}" if match else None

"""EU CT numbers: ``YYYY-5NNNNN-CC-RR`` (year, a serial number starting with 5, a check pair,
and the resubmission counter ``RR``).

A resubmission of a trial (after a withdrawal or a refusal) gets the same number with the next
counter (``-00`` -> ``-01``). trialmon follows a watched trial to its newest resubmission and
keeps the older numbers as aliases (as registries with renumbering keep theirs). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from monitor.registries.base import TrialIds

KIND = "ctis"
CT_NUMBER = re.compile(r"^\d{4}-5\d{5}-\d{2}-\d{2}$")
_LOOSE = re.compile(r"\d{4}-5\d{5}-\d{2}-\d{2}")

IDS = TrialIds(
    pattern=CT_NUMBER,
    claims=re.compile(r"^\s*\d{4}-\d"),  # a year and a dash: meant as an EU CT number
    noun="an EU CT number",
    hint="YYYY-5NNNNN-CC-RR, e.g. 2024-513060-26-00",
)


def is_ct_number(text: str) -> bool:
    return bool(CT_NUMBER.match(text))


def normalize_id(text: str) -> str:
    """A watched id as trialmon files it: trimmed; ``ValueError`` naming the form otherwise."""
    value = text.strip()
    if not CT_NUMBER.match(value):
        raise ValueError(
            f"{text!r} is not an EU CT number (YYYY-5NNNNN-CC-RR, e.g. 2024-513060-26-00)"
        )
    return value


def find_ct_number(text: str) -> str | None:
    """The first EU CT number inside a text (a link, a header), if any."""
    match = _LOOSE.search(text)
    return match.group(0) if match else None


def base(ct_number: str) -> str:
    """The number without its resubmission counter: ``2024-513060-26``."""
    return ct_number[:-3]


def counter(ct_number: str) -> int:
    """The resubmission counter: ``0`` for ``...-00``."""
    return int(ct_number[-2:])


def with_counter(ct_number: str, n: int) -> str:
    return f"{base(ct_number)}-{n:02d}"


def next_resubmission(ct_number: str) -> str | None:
    """The number the next resubmission would get (None after ``-99``)."""
    n = counter(ct_number)
    return with_counter(ct_number, n + 1) if n < 99 else None


def same_trial(a: str, b: str) -> bool:
    """Two numbers of one trial (resubmissions of each other)."""
    return base(a) == base(b)


def newest(current: str, seen: Iterable[str]) -> str:
    """The newest resubmission of ``current`` among ``seen`` (``current`` itself if none)."""
    best = current
    for number in seen:
        if is_ct_number(number) and same_trial(number, best) and counter(number) > counter(best):
            best = number
    return best


def older(current: str, seen: Iterable[str]) -> list[str]:
    """The earlier resubmissions of ``current`` among ``seen``, sorted."""
    found = {
        n
        for n in seen
        if is_ct_number(n) and same_trial(n, current) and counter(n) < counter(current)
    }
    return sorted(found)

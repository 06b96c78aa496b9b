"""Pure: the part of the run summary that says which changes were notified, and why not.

``4 changes recorded: 3 notified, 1 not (administrative)``; with channels of different
``min_severity``: ``3 changes recorded: 2 notified by log, 1 not (administrative); 1 notified
by email, 2 not (1 administrative, 1 below min_severity major)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from monitor.english import count
from monitor.models import Change, severity_rank

ADMINISTRATIVE = "info"  # administrative fields only; never notified by default


def notified(changes: Sequence[Change], floors: Mapping[str, str] | None) -> str:
    """What became of the changes, given each enabled channel's ``min_severity`` (None: only
    how many were recorded)."""
    head = f"{count(len(changes), 'change')} recorded"
    if not changes or floors is None:
        return head
    if not floors:
        return f"{head}, not notified: no notification channel is enabled"
    channels: dict[str, list[str]] = {}
    for channel, floor in floors.items():
        channels.setdefault(floor, []).append(channel)
    parts = [
        _by_floor(changes, floor, names if len(channels) > 1 else [])
        for floor, names in channels.items()
    ]
    return f"{head}: " + "; ".join(parts)


def _by_floor(changes: Sequence[Change], floor: str, channels: list[str]) -> str:
    held = [c for c in changes if severity_rank(c.severity) < severity_rank(floor)]
    by = f" by {' and '.join(channels)}" if channels else ""
    text = f"{len(changes) - len(held)} notified{by}"
    return f"{text}, {len(held)} not ({_why(held, floor)})" if held else text


def _why(held: Sequence[Change], floor: str) -> str:
    """``administrative``, ``below min_severity major``, or both with their counts."""
    administrative = sum(c.severity == ADMINISTRATIVE for c in held)
    below = len(held) - administrative
    reasons = [(administrative, "administrative"), (below, f"below min_severity {floor}")]
    given = [(n, why) for n, why in reasons if n]
    if len(given) == 1:
        return given[0][1]
    return ", ".join(f"{n} {why}" for n, why in given)

"""The targets of issue 16 next to the figures of one run (nothing fails on them)."""

from __future__ import annotations

import argparse
import math
import re

import shapes
from rows import Row, say

REGISTRY_SIZE = 580_000  # studies in ClinicalTrials.gov, for the extrapolation


def report(rows: list[Row], args: argparse.Namespace) -> None:
    say("")
    for line in offline(rows) + live(rows) + registry(rows, args) + others(rows) + shapes.missing():
        say(line)


def find(rows: list[Row], shape: str, part: str, cycle: int) -> Row | None:
    return next((r for r in rows if (r.shape, r.part, r.cycle) == (shape, part, cycle)), None)


def later_cycles(rows: list[Row], shape: str) -> list[int]:
    return sorted({r.cycle for r in rows if r.shape == shape and r.cycle > 1})


def times(ours: Row, theirs: Row) -> str:
    text = f"{theirs.seconds / ours.seconds:,.1f}x"
    if ours.cpu_seconds and theirs.cpu_seconds:
        text += f" ({theirs.cpu_seconds / ours.cpu_seconds:,.1f}x in CPU seconds)"
    return text


def offline(rows: list[Row]) -> list[str]:
    lines = []
    for cycle in later_cycles(rows, "offline"):
        peer = find(rows, "offline", "git-history file", cycle)
        limit = find(rows, "offline", "parse limit (orjson, GC off)", cycle)
        for row in (r for r in rows if r.shape == "offline" and r.cycle == cycle):
            if not row.part.startswith("trialmon"):
                continue
            if row.note.startswith("exit"):
                lines.append(f"cycle {cycle}: {row.part}: failed ({row.note[:120]})")
                continue
            line = f"cycle {cycle}: {row.part}: {row.rate:,.0f} studies/s ({row.seconds:.2f} s)"
            if peer:
                line += f"; git-history {peer.seconds:.2f} s: {times(row, peer)} faster"
            if limit and "pages" in row.part:
                line += (
                    f"; {row.seconds / limit.seconds:.1f}x the parse limit ({limit.seconds:.2f} s)"
                )
            lines.append(line)
        lines += check_share(rows, cycle)
    lines += [
        f"peak RSS, {part}: {peak:.0f} MB (target < 300 MB at N=100,000 in page files)"
        for part, peak in peaks(rows, "offline").items()
    ]
    if any(r.shape == "offline" for r in rows):
        lines.append(
            "targets: page files <= 2x the parse limit and >= 10x git-history; one-study files "
            ">= 20,000 studies/s and >= 20x git-history on every release"
        )
    return lines


def check_share(rows: list[Row], cycle: int) -> list[str]:
    """The database check (``PRAGMA quick_check``) against the one-study cycle it would lead."""
    check = find(rows, "offline", "PRAGMA quick_check", cycle)
    ones = find(rows, "offline", "trialmon files", cycle)
    cold = re.search(r"([\d.]+) s from disk", check.note) if check else None
    if not (check and ones and cold and ones.seconds):
        return []
    disk = float(cold.group(1))
    return [
        f"cycle {cycle}: PRAGMA quick_check: {check.seconds:.2f} s in the page cache "
        f"({check.seconds / ones.seconds:.0%} of the one-study cycle's {ones.seconds:.2f} s), "
        f"{disk:.2f} s from disk ({disk / ones.seconds:.0%}): run when the file is not as the "
        "last clean cycle left it, and every 7th cycle"
    ]


def peaks(rows: list[Row], shape: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in rows:
        if r.note.startswith("exit"):
            continue
        if r.shape == shape and r.part.startswith("trialmon") and r.peak_rss_mb:
            out[r.part] = max(out.get(r.part, 0.0), r.peak_rss_mb)
    return out


def changed_in(row: Row) -> int | None:
    found = re.search(r"(\d+) changed", row.note)
    return int(found.group(1)) if found else None


def live(rows: list[Row]) -> list[str]:
    lines = []
    for row in rows:
        if row.shape == "api" and row.requests is not None:
            kind = "first cycle" if row.cycle == 1 else "daily cycle"
            lines.append(
                f"api cycle {row.cycle} ({kind}), {row.part}: {row.requests} requests, "
                f"{changed_in(row)} changed, {row.seconds:.1f} s"
            )
    if lines:
        lines.append(
            "target: a daily cycle with 10,000 watched, 1,010 registry updates, 10 watched "
            "changed costs <= 5 requests (1 + ceil(updates / 1000) + changed-record pages), "
            "with exactly the 10 changes"
        )
    return lines


def registry(rows: list[Row], args: argparse.Namespace) -> list[str]:
    ours = [r for r in rows if r.shape == "registry" and r.requests is not None]
    lines = []
    for row in ours:
        kind = "first pass" if row.cycle == 1 else "daily cycle"
        requests = row.requests or 0
        lines.append(
            f"registry of {row.studies:,}, {kind}: {requests} requests "
            f"({requests / 50:.1f} min at 50/min), {row.seconds:.0f} s wall, "
            f"{row.cpu_seconds or 0:.0f} s CPU, {row.peak_rss_mb or 0:.0f} MB peak RSS"
        )
    first = next((r for r in ours if r.cycle == 1), None)
    if first and first.requests:
        scale = REGISTRY_SIZE / first.studies
        requests = math.ceil(first.requests * scale)
        lines.append(
            f"extrapolated to the registry's {REGISTRY_SIZE:,} studies (linear): first pass "
            f"~{requests:,} requests ({requests / 50 / 60:.1f} h at 50/min), "
            f"~{first.seconds * scale / 60:.0f} min of trialmon's own time"
        )
    return lines


def others(rows: list[Row]) -> list[str]:
    """Request counts of the other registries' shapes (``shapes_<registry>.py``)."""
    known = {"offline", "api", "registry"}
    return [
        f"{row.shape} cycle {row.cycle}, {row.part}: {row.requests} requests ({row.note})"
        for row in rows
        if row.shape not in known and row.requests is not None
    ]

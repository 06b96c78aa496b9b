"""Read-side queries behind ``history``, ``diff`` and ``changes``: plain data for the CLI."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import orjson

from monitor import crosscheck, registries
from monitor.classify import classify
from monitor.compare import compare
from monitor.configkit import ChangesConfig
from monitor.english import count
from monitor.errors import UsageError
from monitor.models import CATEGORIES, SEVERITIES, Change
from monitor.store import Store
from monitor.times import iso

SINCE_RE = re.compile(r"^(\d+)([dhm])$")
UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_since(text: str, now: datetime) -> str:
    """``7d``, ``12h``, ``30m`` or an ISO date/time -> an ISO UTC bound for ``detected_at``."""
    match = SINCE_RE.match(text.strip())
    if match:
        moment = now - timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
        return iso(moment)
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as e:
        raise UsageError(f"--since: {text!r} is not 7d, 12h, 30m or an ISO date") from e
    return iso(parsed)


def change_dict(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in ("old_value", "new_value"):
        out[key] = None if row.get(key) is None else orjson.loads(row[key])
    return out


def history(store: Store, trial_id: str) -> dict[str, Any]:
    """A study's stored versions, oldest first, each with the changes that led to it."""
    study = store.study(trial_id)
    if study is None:
        raise UsageError(not_stored(store, trial_id))
    study["also_registered_as"] = crosscheck.also_registered(store, [trial_id]).get(trial_id, [])
    versions = []
    for snap in store.snapshots_of(trial_id):
        rows = store.changes_into(snap["id"])
        versions.append(
            {
                "snapshot_id": snap["id"],
                "captured_at": snap["captured_at"],
                "source": snap["source"],
                "content_hash": snap["content_hash"],
                "last_update_posted": snap["last_update_posted"],
                "changes": [change_dict(r) for r in rows],
            }
        )
    return {**study, "versions": versions}


def not_stored(store: Store, trial_id: str) -> str:
    """Why a study has no history: never checked, or failing since its first check."""
    failure = store.watch_failures([trial_id]).get(trial_id)
    if failure is None:
        return f"{trial_id} is not in the database (run `trialmon run` first)"
    checks = count(failure["consecutive_failures"], "check")
    return f"{trial_id} has never been stored: {failure['last_error']} ({checks} failed)"


def diff(
    store: Store, trial_id: str, from_id: int | None, to_id: int | None, rules: ChangesConfig
) -> tuple[dict[str, Any], dict[str, Any], list[Change]]:
    """Classified changes between two stored snapshots of a study (default: the last two)."""
    snaps = store.snapshots_of(trial_id)
    if not snaps:
        raise UsageError(f"{trial_id} has no stored snapshot")
    by_id = {s["id"]: s for s in snaps}
    to_snap = _pick(by_id, to_id, snaps[-1], trial_id, "--to")
    default_from = _before(snaps, to_snap)
    if from_id is None and default_from is None:
        raise UsageError(
            f"{trial_id} has only one stored snapshot (#{to_snap['id']}): nothing to compare"
        )
    from_snap = _pick(by_id, from_id, default_from, trial_id, "--from")
    old, new = orjson.loads(from_snap["record"]), orjson.loads(to_snap["record"])
    vocabulary = registries.get(to_snap["registry"] or registries.kind_of(trial_id)).vocabulary
    diffs = compare(old, new, rules.ignore)
    return from_snap, to_snap, classify(old, new, diffs, rules, vocabulary=vocabulary)


def _pick(
    by_id: dict[int, Any], wanted: int | None, default: Any, trial_id: str, option: str
) -> Any:
    if wanted is None:
        return default
    if wanted not in by_id:
        raise UsageError(f"{option}: snapshot {wanted} is not a snapshot of {trial_id}")
    return by_id[wanted]


def _before(snaps: list[dict[str, Any]], snap: dict[str, Any]) -> dict[str, Any] | None:
    index = snaps.index(snap)
    return snaps[index - 1] if index > 0 else None


def changes(
    store: Store,
    *,
    since: str | None = None,
    study: str | None = None,
    category: str | None = None,
    min_severity: str | None = None,
) -> list[dict[str, Any]]:
    """Recorded changes across all studies, newest first, filtered."""
    if category:
        _check(category, CATEGORIES, "--category")
    if min_severity:
        _check(min_severity, SEVERITIES, "--min-severity")
    rows = store.find_changes(
        since=since, study=study, category=category, min_severity=min_severity
    )
    return [change_dict(r) for r in rows]


def _check(value: str, choices: tuple[str, ...], option: str) -> None:
    if value not in choices:
        raise UsageError(f"{option}: {value!r} is not one of {', '.join(choices)}")


# ---------------------------------------------------------------- studies

UNKNOWN_STUDY: dict[str, Any] = {
    "title": None,
    "overall_status": None,
    "first_seen": None,
    "last_checked": None,
    "last_changed": None,
    "last_update_posted": None,
    "consecutive_failures": 0,
    "last_error": None,
    "latest_snapshot_id": None,
    "snapshots": 0,
    "changes": 0,
}


def _failing_watch(failures: dict[str, dict[str, Any]], trial_id: str) -> dict[str, Any]:
    """A watched id never stored that fails its checks (a mistyped id ...), as a study row."""
    row = failures.get(trial_id)
    if row is None:
        return {}
    return {"consecutive_failures": row["consecutive_failures"], "last_error": row["last_error"]}


def studies(
    store: Store, watched: Iterable[str] = (), *, failing: bool = False
) -> list[dict[str, Any]]:
    """Every known study, plus watched ones never stored yet, with their check state."""
    wanted = set(watched)
    rows = {r["trial_id"]: r for r in store.study_overview()}
    failures = store.watch_failures(sorted(wanted - rows.keys()))
    for trial_id in wanted - rows.keys():
        kind = registries.kind_of(trial_id)
        rows[trial_id] = {"trial_id": trial_id, "registry": kind, **UNKNOWN_STUDY,
                          **_failing_watch(failures, trial_id)}  # fmt: skip
    also = crosscheck.also_registered(store, sorted(rows))
    out = [
        {
            **row,
            "watched": trial_id in wanted,
            "known": row["first_seen"] is not None,
            "also_registered_as": also.get(trial_id, []),
        }
        for trial_id, row in sorted(rows.items())
    ]
    return [r for r in out if r["consecutive_failures"]] if failing else out


# ---------------------------------------------------------------- feed


def titles(store: Store, trial_ids: Iterable[str]) -> dict[str, str | None]:
    return {t: (store.study(t) or {}).get("title") for t in trial_ids}

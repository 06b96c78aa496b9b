"""Read-side queries behind ``history``, ``diff`` and ``changes``: plain data for the CLI."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from monitor.classify import classify
from monitor.compare import compare
from monitor.config import ChangesConfig
from monitor.errors import UsageError
from monitor.models import CATEGORIES, SEVERITIES, Change, severity_rank
from monitor.store import Store, iter_rows

SINCE_RE = re.compile(r"^(\d+)([dhm])$")
UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_since(text: str, now: datetime) -> str:
    """``7d``, ``12h``, ``30m`` or an ISO date/time -> an ISO UTC bound for ``detected_at``."""
    match = SINCE_RE.match(text.strip())
    if match:
        moment = now - timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as e:
        raise UsageError(f"--since: {text!r} is not 7d, 12h, 30m or an ISO date") from e
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC)
    return parsed.strftime("%Y-%m-%dT%H:%M:%SZ")


def change_dict(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for key in ("old_value", "new_value"):
        out[key] = None if row.get(key) is None else orjson.loads(row[key])
    return out


def history(store: Store, nct_id: str) -> dict[str, Any]:
    """A study's stored versions, oldest first, each with the changes that led to it."""
    study = store.study(nct_id)
    if study is None:
        raise UsageError(f"{nct_id} is not in the database (run `trialmon run` first)")
    versions = []
    for snap in store.snapshots_of(nct_id):
        rows = iter_rows(
            store, "select * from changes where to_snapshot_id = ? order by id", [snap["id"]]
        )
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


def diff(
    store: Store, nct_id: str, from_id: int | None, to_id: int | None, rules: ChangesConfig
) -> tuple[dict[str, Any], dict[str, Any], list[Change]]:
    """Classified changes between two stored snapshots of a study (default: the last two)."""
    snaps = store.snapshots_of(nct_id)
    if not snaps:
        raise UsageError(f"{nct_id} has no stored snapshot")
    by_id = {s["id"]: s for s in snaps}
    to_snap = _pick(by_id, to_id, snaps[-1], nct_id, "--to")
    default_from = _before(snaps, to_snap)
    if from_id is None and default_from is None:
        raise UsageError(
            f"{nct_id} has only one stored snapshot (#{to_snap['id']}): nothing to compare"
        )
    from_snap = _pick(by_id, from_id, default_from, nct_id, "--from")
    old, new = orjson.loads(from_snap["record"]), orjson.loads(to_snap["record"])
    return from_snap, to_snap, classify(old, new, compare(old, new, rules.ignore), rules)


def _pick(by_id: dict[int, Any], wanted: int | None, default: Any, nct_id: str, option: str) -> Any:
    if wanted is None:
        return default
    if wanted not in by_id:
        raise UsageError(f"{option}: snapshot {wanted} is not a snapshot of {nct_id}")
    return by_id[wanted]


def _before(snaps: list[dict[str, Any]], snap: dict[str, Any]) -> dict[str, Any] | None:
    index = snaps.index(snap)
    return snaps[index - 1] if index > 0 else None


NEWEST_MOST_SEVERE = (
    "detected_at desc, "
    "case severity when 'critical' then 3 when 'major' then 2 when 'minor' then 1 else 0 end desc, "
    "id desc"
)


def changes(
    store: Store,
    *,
    since: str | None = None,
    study: str | None = None,
    category: str | None = None,
    min_severity: str | None = None,
) -> list[dict[str, Any]]:
    """Recorded changes across all studies, newest first, filtered."""
    where, params = ["1 = 1"], []
    if since:
        where.append("detected_at >= ?")
        params.append(since)
    if study:
        where.append("nct_id = ?")
        params.append(study)
    if category:
        _check(category, CATEGORIES, "--category")
        where.append("category = ?")
        params.append(category)
    if min_severity:
        _check(min_severity, SEVERITIES, "--min-severity")
        allowed = [s for s in SEVERITIES if severity_rank(s) >= severity_rank(min_severity)]
        where.append(f"severity in ({','.join('?' * len(allowed))})")
        params.extend(allowed)
    # Newest first; within one moment the most severe first, so a cycle reads top-down.
    sql = f"select * from changes where {' and '.join(where)} order by {NEWEST_MOST_SEVERE}"
    return [change_dict(r) for r in iter_rows(store, sql, params)]


def _check(value: str, choices: tuple[str, ...], option: str) -> None:
    if value not in choices:
        raise UsageError(f"{option}: {value!r} is not one of {', '.join(choices)}")


# ---------------------------------------------------------------- studies

STUDIES_SQL = """
select t.nct_id, t.title, t.overall_status, t.first_seen, t.last_checked, t.last_changed,
  t.last_update_posted, t.consecutive_failures, t.last_error, t.latest_snapshot_id,
  (select count(*) from snapshots s where s.nct_id = t.nct_id) as snapshots,
  (select count(*) from changes c where c.nct_id = t.nct_id) as changes
from studies t order by t.nct_id
"""

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


def studies(
    store: Store, watched: Iterable[str] = (), *, failing: bool = False
) -> list[dict[str, Any]]:
    """Every known study, plus watched ones never stored yet, with their check state."""
    wanted = set(watched)
    rows = {r["nct_id"]: r for r in iter_rows(store, STUDIES_SQL)}
    for nct_id in wanted - rows.keys():
        rows[nct_id] = {"nct_id": nct_id, **UNKNOWN_STUDY}
    out = [
        {**row, "watched": nct_id in wanted, "known": row["first_seen"] is not None}
        for nct_id, row in sorted(rows.items())
    ]
    return [r for r in out if r["consecutive_failures"]] if failing else out


# ---------------------------------------------------------------- feed (SQL of installed use)

FIRST_RUN_SQL = "select min(started_at) from runs"


def first_run_at(store: Store) -> str | None:
    """When this database's first cycle started: what makes its feed's ids its own."""
    row = store.db.execute(FIRST_RUN_SQL).fetchone()
    return row[0] if row else None


def titles(store: Store, nct_ids: Iterable[str]) -> dict[str, str | None]:
    return {n: (store.study(n) or {}).get("title") for n in nct_ids}

"""What ``trialmon status`` reports: is it alive, how did the last cycle end, what needs care.

Liveness is asked of the locks themselves (:func:`monitor.lock.probe`, a shared lock taken and
let go at once; a cycle starting meanwhile waits for it, never skips); the lock files say who
holds them (pid and start time, see :mod:`monitor.lock`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from monitor.config import Config
from monitor.english import count
from monitor.lock import Holder, current_holder, daemon_lock_path, run_lock_path
from monitor.render import failure_text
from monitor.store import Store
from monitor.textsafe import printable

NEXT_CYCLE_KEY = "daemon.next_cycle_at"
SCHEDULE_KEY = "daemon.schedule"
TEXT_LIST_LIMIT = 10


def status(config: Config, store: Store | None) -> dict[str, Any]:
    """Everything ``trialmon status`` shows; ``store`` is None when no database exists yet."""
    cycle = current_holder(run_lock_path(config.database))
    return {
        "config": str(config.path) if config.path else None,
        "database": str(config.database),
        "daemon": daemon_info(config, store),
        "cycle_running": holder_dict(cycle),
        "last_cycle": last_cycle(store, running=cycle is not None) if store else None,
        "watched": watched(config, store),
        "failing": failing(store, config.watch.studies) if store else [],
        "deliveries": deliveries(store) if store else {"pending": [], "failed": []},
    }


def holder_dict(holder: Holder | None) -> dict[str, Any] | None:
    if holder is None:
        return None
    known = bool(holder.pid)  # 0: holds the lock, has not written its name yet
    return {
        "pid": holder.pid if known else None,
        "started_at": holder.started_at or None,
        "host": holder.host or None,
    }


def daemon_info(config: Config, store: Store | None) -> dict[str, Any]:
    holder = current_holder(daemon_lock_path(config.database))
    info: dict[str, Any] = {"running": holder is not None, **(holder_dict(holder) or {})}
    alive = holder is not None and store is not None
    info["next_cycle_at"] = (store.get_meta(NEXT_CYCLE_KEY) or None) if alive and store else None
    info["schedule"] = (store.get_meta(SCHEDULE_KEY) or None) if alive and store else None
    return info


def last_cycle(store: Store, *, running: bool) -> dict[str, Any] | None:
    """The newest finished cycle; a run left ``running`` by a dead process shows as interrupted.

    Backfills (``source = 'history'``) are imports, not monitoring cycles: they are left out.
    """
    rows = store.last_cycles()
    if rows and rows[0]["status"] == "running":
        if running:
            rows = rows[1:]
        else:
            rows[0]["status"] = "interrupted"
    if not rows:
        return None
    run = rows[0]
    run["error_details"] = orjson.loads(run["error_details"] or "[]")
    return run


def watched(config: Config, store: Store | None) -> dict[str, Any]:
    stored = store.count_studies() if store else 0
    return {
        "studies": list(config.watch.studies),
        "queries": [q.name for q in config.watch.queries],
        "in_database": stored,
    }


def failing(store: Store, watched: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Failing studies, and watched ids failing before any version was stored."""
    rows = store.failing()
    for row in store.watch_failures(list(watched)).values():
        rows.append({**{k: row[k] for k in ("trial_id", "consecutive_failures", "last_error")},
                     "last_checked": None})  # fmt: skip
    return sorted(rows, key=lambda r: (-r["consecutive_failures"], r["trial_id"]))


def deliveries(store: Store) -> dict[str, list[dict[str, Any]]]:
    return {s: store.deliveries_with_status(s) for s in ("pending", "failed")}


def unhealthy(data: dict[str, Any]) -> str | None:
    """Why the monitor needs care (``status --check``, a container's healthcheck): no daemon
    runs, or its last cycle could check nothing at all. None when it is healthy."""
    if not data["daemon"]["running"]:
        return "the daemon is not running"
    run = data["last_cycle"]
    if run and run["errors"] and not run["studies_checked"]:
        return f"the last cycle (run {run['id']}) could check nothing: {run['errors']} failed"
    return None


# ---------------------------------------------------------------- text


def render_text(data: dict[str, Any]) -> str:
    """The status as a few plain lines for a terminal."""
    lines = [f"Config: {data['config'] or 'none (the defaults)'}", f"Database: {data['database']}"]
    lines += _daemon_lines(data["daemon"], data["cycle_running"])
    lines += _cycle_lines(data["last_cycle"])
    lines += _watch_lines(data["watched"])
    lines += _failing_lines(data["failing"])
    lines += _delivery_lines(data["deliveries"])
    return "\n".join(printable(line) for line in lines)  # errors may quote remote text


def _daemon_lines(daemon: dict[str, Any], cycle: dict[str, Any] | None) -> list[str]:
    if daemon["running"]:
        who = f"pid {daemon['pid']}, since {daemon['started_at']}" if daemon["pid"] else "pid ?"
        lines = [f"Daemon: running ({who})"]
        if daemon["schedule"]:
            lines.append(f"Schedule: {daemon['schedule']}")
        lines.append(f"Next cycle: {daemon['next_cycle_at'] or 'not yet scheduled'}")
    else:
        lines = ["Daemon: not running"]
    if cycle:
        who = f"pid {cycle['pid']}, since {cycle['started_at']}" if cycle["pid"] else "pid ?"
        lines.append(f"Cycle running now: {who}")
    return lines


def _cycle_lines(run: dict[str, Any] | None) -> list[str]:
    if run is None:
        return ["Last cycle: none yet"]
    ended = run["finished_at"] or "?"
    checked, new = run["studies_checked"] or 0, run["studies_new"] or 0
    changed, unchanged = run["studies_changed"] or 0, run["studies_unchanged"] or 0
    failed = max(0, checked - new - changed - unchanged)  # the counts add up
    others = max(0, (run["errors"] or 0) - failed)  # a saved search, a file without a study
    other = f"; {count(others, 'other error')}" if others else ""
    return [
        f"Last cycle: run {run['id']}, {run['started_at']} to {ended}, {run['status']} "
        f"({run['source']})",
        f"  {checked} checked: {new} new, {changed} changed, {unchanged} unchanged, "
        f"{failed} failed{other}; {count(run['changes_found'] or 0, 'change')}",
    ]


def _watch_lines(watch: dict[str, Any]) -> list[str]:
    studies, queries = watch["studies"], watch["queries"]
    shown = ", ".join(studies[:TEXT_LIST_LIMIT]) + (
        ", ..." if len(studies) > TEXT_LIST_LIMIT else ""
    )
    line = f"Watched: {count(len(studies), 'study')}" + (f" ({shown})" if studies else "")
    if queries:
        line += f", {count(len(queries), 'query')} (" + ", ".join(f'"{q}"' for q in queries) + ")"
    return [line, f"  {count(watch['in_database'], 'study')} in the database"]


def _failing_lines(failing: list[dict[str, Any]]) -> list[str]:
    if not failing:
        return ["Failing studies: none"]
    lines = [f"Failing studies: {len(failing)}"]
    for f in failing[:TEXT_LIST_LIMIT]:
        times = count(f["consecutive_failures"], "time")
        lines.append(f"  {f['trial_id']}: failed {times} in a row: {failure_text(f)}")
    return lines


def _delivery_lines(found: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines = [f"Deliveries: {len(found['pending'])} pending, {len(found['failed'])} failed"]
    for status in ("pending", "failed"):
        for d in found[status][:TEXT_LIST_LIMIT]:
            error = f": {d['last_error']}" if d["last_error"] else ""
            lines.append(
                f"  {status} #{d['id']} {d['channel']} (run {d['run_id']}, "
                f"{count(d['attempts'], 'attempt')}){error}"
            )
    return lines

"""Writes of a monitoring cycle: runs, new snapshots with their changes, checks and failures.

:meth:`Writes.save_snapshot` is the one write path that stores a version of a study and
advances the study's latest snapshot; live cycles and the record-history backfill both use it.
Every write of one study is one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from monitor.models import Change, RecordEvent, RunReport
from monitor.store.db import BATCH, Part, insert_sql, marks, to_json
from monitor.store.rows import Latest, NewSnapshot, change_row
from monitor.store.state import RegistryState

log = logging.getLogger(__name__)

# The writes of a new version by plain SQL (sqlite-utils' insert costs more than the write),
# built once from these constant column lists.
SNAPSHOT_COLUMNS = (
    "trial_id",
    "registry",
    "captured_at",
    "source",
    "content_hash",
    "last_update_posted",
    "record",
    "run_id",
    "version",
)
CHANGE_COLUMNS = (
    "trial_id",
    "registry",
    "from_snapshot_id",
    "to_snapshot_id",
    "detected_at",
    "category",
    "field",
    "severity",
    "old_value",
    "new_value",
    "summary",
    "run_id",
)
STUDY_COLUMNS = (
    "title",
    "overall_status",
    "latest_snapshot_id",
    "last_update_posted",
    "content_hash",
    "last_checked",
    "consecutive_failures",
    "last_error",
)


def update_study_sql(columns: Sequence[str]) -> str:
    return "update studies set " + ", ".join(c + " = ?" for c in columns) + " where trial_id = ?"


INSERT_SNAPSHOT = insert_sql("snapshots", SNAPSHOT_COLUMNS)
INSERT_CHANGES = insert_sql("changes", CHANGE_COLUMNS)
INSERT_STUDY = insert_sql(
    "studies",
    ("trial_id", "registry", *STUDY_COLUMNS, "last_changed", "first_seen"),
    "insert or replace",
)
UPDATE_STUDY = update_study_sql(STUDY_COLUMNS)
UPDATE_STUDY_CHANGED = update_study_sql((*STUDY_COLUMNS, "last_changed"))
# A record-history version moves the study's latest snapshot, not its check state.
VERSION_COLUMNS = STUDY_COLUMNS[:5]
UPDATE_STUDY_VERSION = update_study_sql(VERSION_COLUMNS)
UPDATE_STUDY_VERSION_CHANGED = update_study_sql((*VERSION_COLUMNS, "last_changed"))
UPDATES = {  # (a live check, with changes) -> the statement
    (True, False): UPDATE_STUDY,
    (True, True): UPDATE_STUDY_CHANGED,
    (False, False): UPDATE_STUDY_VERSION,
    (False, True): UPDATE_STUDY_VERSION_CHANGED,
}
REMEMBER_SOURCE = (
    "insert or replace into source_keys (trial_id, snapshot_id, source_key) "
    "select trial_id, latest_snapshot_id, ? from studies "
    "where trial_id = ? and latest_snapshot_id is not null"
)
SAVE_SOURCE_KEY = (
    "insert or replace into source_keys (trial_id, snapshot_id, source_key) values (?, ?, ?)"
)
TOUCH = (
    "update studies set last_checked = ?, consecutive_failures = 0, last_error = null "
    "where trial_id in ({ids})"
)
COUNT_FAILURE = (
    "update studies set consecutive_failures = consecutive_failures + 1, last_error = ? "
    "where trial_id = ?"
)
RUNS_LEFT_RUNNING = "select id from runs where status = 'running' order by id"
LAST_RUN = "select id, started_at from runs order by id desc limit 1"
DELETE_LINKS = "delete from trial_links where trial_id = ?"
INSERT_LINK = (
    "insert or ignore into trial_links (trial_id, registry, linked_id, kind) values (?, ?, ?, ?)"
)
# A watched id failing before any version is stored (watch_failures, migration 0009).
COUNT_WATCH_FAILURE = (
    "insert into watch_failures (trial_id, consecutive_failures, last_error, first_failed, "
    "last_failed) values (?, 1, ?, ?, ?) on conflict (trial_id) do update set "
    "consecutive_failures = consecutive_failures + 1, last_error = excluded.last_error, "
    "last_failed = excluded.last_failed"
)
CLEAR_WATCH_FAILURE = "delete from watch_failures where trial_id = ?"


class Writes(Part):
    """Runs, snapshots, changes and the studies' check state."""

    # ------------------------------------------------------------ runs and meta

    def _insert(self, table: str, row: dict[str, Any]) -> int:
        pk = self.db.table(table).insert(row).last_pk
        assert isinstance(pk, int)
        return pk

    def set_meta(self, key: str, value: str) -> None:
        with self.db.atomic():
            self.db.table("meta").upsert({"key": key, "value": value}, pk="key")

    def start_run(self, now: str, source: str) -> int:
        with self.db.atomic():
            self._check_clock(now)
            row = {"started_at": now, "status": "running", "source": source}
            return self._insert("runs", row)

    def _check_clock(self, now: str) -> None:
        """Say so when the clock reads earlier than the last run's start: it went back."""
        last = self.db.execute(LAST_RUN).fetchone()
        if last is not None and last[1] and now < last[1]:
            log.warning(
                "the clock went back: it reads %s, earlier than the start of run %s (%s). "
                "History keeps the order in which versions were stored; the times recorded "
                "from now on are this clock's",
                *(now, last[0], last[1]),
            )

    def finish_run(self, report: RunReport) -> None:
        details = [{"trial_id": e.trial_id, "message": e.message} for e in report.errors]
        row = {
            "finished_at": report.finished_at,
            "status": report.status,
            "studies_checked": report.checked,
            "studies_new": report.new,
            "studies_changed": report.changed,
            "studies_unchanged": report.unchanged,
            "changes_found": len(report.changes),
            "errors": len(report.errors),
            "error_details": to_json(details),
        }
        with self.db.atomic():
            self.db.table("runs").update(report.run_id, row)

    def runs_left_running(self) -> list[int]:
        """Runs still marked ``running`` (a killed process left them), oldest first."""
        return [row[0] for row in self.db.execute(RUNS_LEFT_RUNNING).fetchall()]

    def mark_interrupted_runs(self, now: str) -> list[int]:
        """Runs left ``running`` by a killed process become ``interrupted``."""
        ids = self.runs_left_running()
        with self.db.atomic():
            for run_id in ids:
                self.db.table("runs").update(run_id, {"status": "interrupted", "finished_at": now})
        return ids

    # ------------------------------------------------------------ a new version of a study

    def save_snapshot(
        self,
        snap: NewSnapshot,
        previous: Latest | None,
        run_id: int | None,
        *,
        advance: bool = True,
    ) -> int:
        """Store one new version of a study with its changes, atomically: the one write path of
        live records and record-history versions alike.

        ``advance``: the study's latest snapshot becomes this one (a backfill placing versions
        before a live snapshot does not move it).
        """
        with self.db.atomic():
            snapshot_id = self._insert_snapshot(snap, run_id)
            self._insert_changes(snap, previous, snapshot_id, run_id)
            if advance:
                self._upsert_study(snap, snapshot_id, is_new=previous is None)
                if snap.links is not None:
                    self._save_links(snap)
            if snap.source_hash:
                self.db.conn.execute(
                    SAVE_SOURCE_KEY, (snap.trial_id, snapshot_id, snap.source_hash)
                )
        return snapshot_id

    def _save_links(self, snap: NewSnapshot) -> None:
        """The ids the study's newest record names, instead of those of its former newest."""
        self.db.execute(DELETE_LINKS, [snap.trial_id])
        rows = [
            (snap.trial_id, snap.registry or None, k.linked_id, k.kind) for k in snap.links or ()
        ]
        self.db.conn.executemany(INSERT_LINK, rows)

    def _insert_snapshot(self, snap: NewSnapshot, run_id: int | None) -> int:
        values = (
            snap.trial_id,
            snap.registry or None,
            snap.captured_at,
            snap.source,
            snap.content_hash,
            snap.last_update_posted,
            snap.record,
            run_id,
            snap.version,
        )
        rowid = self.db.conn.execute(INSERT_SNAPSHOT, values).lastrowid
        assert isinstance(rowid, int)
        return rowid

    def _insert_changes(
        self, snap: NewSnapshot, previous: Latest | None, to_id: int, run_id: int | None
    ) -> None:
        from_id = previous.snapshot_id if previous else None
        rows = (
            change_row(snap.trial_id, c, from_id, to_id, snap.captured_at, run_id, snap.registry)
            for c in snap.changes
        )
        self.db.conn.executemany(INSERT_CHANGES, [[r[c] for c in CHANGE_COLUMNS] for r in rows])

    def _upsert_study(self, snap: NewSnapshot, snapshot_id: int, *, is_new: bool) -> None:
        """Point the study at its new latest snapshot; a live check also records the check
        (a record-history version leaves ``last_checked`` to the live monitor)."""
        values: list[Any] = [
            snap.title,
            snap.overall_status,
            snapshot_id,
            snap.last_update_posted,
            snap.content_hash,
            snap.captured_at if snap.checked else None,  # last_checked
            0,  # consecutive_failures
            None,  # last_error
        ]
        if is_new:
            seen = snap.first_seen or snap.captured_at
            values = [snap.trial_id, snap.registry or None, *values, snap.captured_at, seen]
            self.db.conn.execute(INSERT_STUDY, values)
            self.db.conn.execute(CLEAR_WATCH_FAILURE, [snap.trial_id])  # no longer failing
            return
        if not snap.checked:
            values = values[: len(VERSION_COLUMNS)]
        changed = [snap.captured_at] if snap.changes else []
        self.db.conn.execute(
            UPDATES[(snap.checked, bool(changed))], [*values, *changed, snap.trial_id]
        )

    # ------------------------------------------------------------ changes without a snapshot

    def record_change(
        self, trial_id: str, change: Change, now: str, run_id: int | None, registry: str = ""
    ) -> None:
        """A change without a new snapshot (a study gone, or found by a query)."""
        study = self._one("select latest_snapshot_id from studies where trial_id = ?", [trial_id])
        snapshot_id = study["latest_snapshot_id"] if study else None
        with self.db.atomic():
            row = change_row(trial_id, change, snapshot_id, snapshot_id, now, run_id, registry)
            self.db.table("changes").insert(row)
            if study:
                self.db.table("studies").update(trial_id, {"last_changed": now})

    def record_event(
        self,
        event: RecordEvent,
        change: Change | None,
        now: str,
        run_id: int | None,
        registry: str = "",
    ) -> None:
        """Store a source's event (gone, alias, query membership): its change, and what its
        registry's state learns with it, atomically."""
        with self.db.atomic():
            if change is not None:
                self.record_change(event.trial_id, change, now, run_id, registry)
            for write in event.writes:
                RegistryState(self.db, write.registry).apply([write])

    # ------------------------------------------------------------ checks

    def touch(self, trial_ids: Iterable[str], now: str) -> None:
        """Mark unchanged studies as checked, in one statement per batch."""
        ids = list(trial_ids)
        with self.db.atomic():
            for start in range(0, len(ids), BATCH):
                chunk = ids[start : start + BATCH]
                self.db.execute(TOUCH.format(ids=marks(len(chunk))), [now, *chunk])

    def remember_sources(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Record source keys that normalize to their studies' newest snapshots' content."""
        if not pairs:
            return
        with self.db.atomic():
            self.db.conn.executemany(REMEMBER_SOURCE, [(key, trial_id) for trial_id, key in pairs])

    def record_failure(self, trial_id: str, message: str, now: str) -> int:
        """Count a failed check of a study (of a watch never stored: in ``watch_failures``);
        returns the consecutive failures."""
        with self.db.atomic():
            if not self.db.execute(COUNT_FAILURE, [message, trial_id]).rowcount:
                self.db.execute(COUNT_WATCH_FAILURE, [trial_id, message, now, now])
        row = self.db.execute(
            "select consecutive_failures from studies where trial_id = ? union all "
            "select consecutive_failures from watch_failures where trial_id = ?",
            [trial_id, trial_id],
        ).fetchone()
        return int(row[0]) if row else 0

"""Writes and reads of the record-history backfill: which versions are done, where they join.

A version is stored through the same write path as a live record
(:meth:`monitor.store.live.Writes.save_snapshot`'s parts), and marked done in the same
transaction, so an interrupted backfill resumes after the last version done.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.errors import StoreError
from monitor.models import Change
from monitor.store.live import Writes
from monitor.store.rows import BackfillRun, DoneVersion, Latest, NewSnapshot, change_row

FIRST_LIVE = (
    "select trial_id, id, content_hash, record, captured_at from snapshots "
    "where trial_id = ? and source != 'history' order by id limit 1"
)
FIRST_HISTORY = "select min(id) from snapshots where trial_id = ? and source = 'history'"
SNAPSHOT_AS_LATEST = (
    "select trial_id, id, content_hash, record, captured_at from snapshots where id = ?"
)
CHANGES_BETWEEN = "select 1 from changes where from_snapshot_id = ? and to_snapshot_id = ? limit 1"


class BackfillWrites(Writes):
    """The ``backfill_versions`` bookkeeping and the snapshots a backfill joins."""

    def done_versions(self, trial_id: str) -> dict[int, DoneVersion]:
        """The versions of a study a backfill already processed, by version number."""
        rows = self.db.table("backfill_versions").rows_where("trial_id = ?", [trial_id])
        return {
            r["version"]: DoneVersion(
                r["trial_id"], r["version"], r["captured_at"], r["snapshot_id"], bool(r["stored"])
            )
            for r in rows
        }

    def snapshot_as_latest(self, snapshot_id: int) -> Latest:
        row = self.db.execute(SNAPSHOT_AS_LATEST, [snapshot_id]).fetchone()
        if row is None:
            raise StoreError(f"snapshot {snapshot_id} is missing from the database")
        return Latest(*row)

    def first_live(self, trial_id: str) -> Latest | None:
        """The study's earliest snapshot that is not from the record history."""
        row = self.db.execute(FIRST_LIVE, [trial_id]).fetchone()
        return None if row is None else Latest(*row)

    def first_history_id(self, trial_id: str) -> int | None:
        """The smallest id of the study's record-history snapshots (None if it has none)."""
        row = self.db.execute(FIRST_HISTORY, [trial_id]).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def save_version(
        self,
        done: DoneVersion,
        snap: NewSnapshot | None,
        previous: Latest | None,
        run: BackfillRun,
    ) -> int:
        """Mark one version done, storing its snapshot and changes when it is new content.

        One transaction, so an interrupted backfill resumes after the last version done. The
        snapshot goes through the one write path (:meth:`save_snapshot`); the study's latest
        snapshot moves only when ``run.advance`` (no live snapshot follows). Returns the id of
        the snapshot holding the version's content.
        """
        with self.db.atomic():
            if snap is not None:
                snapshot_id = self.save_snapshot(snap, previous, run.run_id, advance=run.advance)
            elif previous is not None:
                snapshot_id = previous.snapshot_id
            else:
                raise ValueError("a version without a snapshot of its own needs a previous one")
            row = {**done.__dict__, "snapshot_id": snapshot_id, "stored": snap is not None}
            self.db.table("backfill_versions").insert(
                {**row, "run_id": run.run_id, "done_at": run.now}
            )
        return snapshot_id

    def add_changes(
        self,
        trial_id: str,
        changes: Sequence[Change],
        between: tuple[int, int],
        detected_at: str,
        run_id: int | None,
    ) -> None:
        """Changes between two snapshots already stored (a backfill joining a live snapshot)."""
        registry = self._one("select registry from studies where trial_id = ?", [trial_id])
        kind = registry["registry"] if registry else None
        rows = [change_row(trial_id, c, *between, detected_at, run_id, kind) for c in changes]
        with self.db.atomic():
            self.db.table("changes").insert_all(rows)

    def has_changes_between(self, from_id: int, to_id: int) -> bool:
        return self.db.execute(CHANGES_BETWEEN, [from_id, to_id]).fetchone() is not None

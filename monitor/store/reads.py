"""Read queries: what a cycle needs of the stored studies, and what the query commands show.

Every value travels as a parameter; the statements are constants (or built from constants
and placeholders only).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.models import SEVERITIES, severity_rank
from monitor.store.db import Part, marks, newest_first_sql
from monitor.store.rows import Latest

LATEST = (
    "select s.trial_id, s.id, s.content_hash, s.record, s.captured_at from studies t "
    "join snapshots s on s.id = t.latest_snapshot_id where t.trial_id in ({ids})"
)
SOURCE_KEYS = (
    "select k.trial_id, k.source_key from source_keys k join studies t "
    "on t.trial_id = k.trial_id and t.latest_snapshot_id = k.snapshot_id "
    "where k.trial_id in ({ids})"
)
LAST_UPDATE_POSTED = (
    "select trial_id, last_update_posted from studies "
    "where latest_snapshot_id is not null and trial_id in ({ids})"
)
# A study's timeline is the order its versions were stored in (snapshot ids), never the
# clock's times: versions imported from the record history (dated by the registry, stored
# whenever the backfill ran) come first, as they precede every live snapshot they join.
HISTORY_FIRST = "case when {t}source = 'history' then 0 else 1 end"
TIMELINE = HISTORY_FIRST.format(t="") + ", id"
SNAPSHOTS_OF = f"select * from snapshots where trial_id = ? order by {TIMELINE}"
CHANGES_INTO = "select * from changes where to_snapshot_id = ? order by id"
CHANGES_BETWEEN = (
    "select * from changes where to_snapshot_id = ? and from_snapshot_id is ? order by id"
)
NEWEST_MOST_SEVERE = newest_first_sql("c", "r", "s")
FIND_CHANGES = (
    "select c.* from changes c left join runs r on r.id = c.run_id "
    "left join snapshots s on s.id = c.to_snapshot_id where {where}"
)
STUDY_OVERVIEW = """
select t.trial_id, t.registry, t.title, t.overall_status, t.first_seen, t.last_checked,
  t.last_changed, t.last_update_posted, t.consecutive_failures, t.last_error, t.latest_snapshot_id,
  (select count(*) from snapshots s where s.trial_id = t.trial_id) as snapshots,
  (select count(*) from changes c where c.trial_id = t.trial_id) as changes
from studies t order by t.trial_id
"""
CHANGES_WITH_VERSION_DATE = """
select c.*, coalesce(s.last_update_posted, substr(s.captured_at, 1, 10)) as version_date
from changes c left join snapshots s on s.id = c.to_snapshot_id
where c.trial_id = ?
order by {history} desc, c.to_snapshot_id desc, c.run_id desc, c.id
""".format(history=HISTORY_FIRST.format(t="s."))
RUN_COLUMNS = (
    "id, started_at, finished_at, status, source, studies_checked, studies_new, "
    "studies_changed, studies_unchanged, changes_found, errors, error_details"
)
LAST_CYCLES = (
    f"select {RUN_COLUMNS} from runs where coalesce(source, '') != 'history' "
    "order by id desc limit 2"
)
FAILING = (
    "select trial_id, consecutive_failures, last_error, last_checked from studies "
    "where consecutive_failures > 0 order by consecutive_failures desc, trial_id"
)
FAILING_AT_LEAST = (
    "select trial_id, consecutive_failures, last_error from studies "
    "where consecutive_failures >= ? order by trial_id"
)
FAILURE_COUNTS = "select trial_id, consecutive_failures from studies where trial_id in ({ids})"
# Watched ids failing before any version is stored (migration 0009): failing watches.
WATCH_FAILURES = "select * from watch_failures where trial_id in ({ids})"
WATCHES_FAILING_AT_LEAST = (
    "select trial_id, consecutive_failures, last_error from watch_failures "
    "where consecutive_failures >= ? order by trial_id"
)
FIRST_RUN = "select min(started_at) from runs"
DELIVERIES_WITH_STATUS = (
    "select id, run_id, channel, attempts, last_error, created_at from deliveries "
    "where status = ? order by id"
)


class Reads(Part):
    """Reads of studies, snapshots, changes, runs and deliveries."""

    # ------------------------------------------------------------ what a cycle reads

    def latest(self, trial_ids: Sequence[str]) -> dict[str, Latest]:
        """The newest snapshot of each given study, in one query per batch."""
        return {row[0]: Latest(*row) for row in self._rows_for(LATEST, trial_ids)}

    def source_hashes(self, trial_ids: Sequence[str]) -> dict[str, str]:
        """The source key known for each given study's newest snapshot, where one is known."""
        return dict(self._rows_for(SOURCE_KEYS, trial_ids))

    def last_update_posted(self, trial_ids: Sequence[str]) -> dict[str, str | None]:
        """The stored last-update date of each given study that has a snapshot."""
        return dict(self._rows_for(LAST_UPDATE_POSTED, trial_ids))

    def known_studies(self) -> list[str]:
        return [r[0] for r in self.db.execute("select trial_id from studies order by trial_id")]

    def study(self, trial_id: str) -> dict[str, Any] | None:
        return self._one("select * from studies where trial_id = ?", [trial_id])

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("select value from meta where key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def count_studies(self) -> int:
        return int(self.db.execute("select count(*) from studies").fetchone()[0])

    # ------------------------------------------------------------ snapshots and changes

    def snapshots_of(self, trial_id: str) -> list[dict[str, Any]]:
        """A study's snapshots in timeline order: the record history's first, then the
        others in the order they were stored (not by their times: a clock set back between
        two cycles does not reorder them)."""
        return self._dicts(SNAPSHOTS_OF, [trial_id])

    def snapshot(self, snapshot_id: int) -> dict[str, Any] | None:
        return self._one("select * from snapshots where id = ?", [snapshot_id])

    def changes_into(self, snapshot_id: int) -> list[dict[str, Any]]:
        """The changes that led to a snapshot."""
        return self._dicts(CHANGES_INTO, [snapshot_id])

    def changes_between(self, from_id: int | None, to_id: int) -> list[dict[str, Any]]:
        return self._dicts(CHANGES_BETWEEN, [to_id, from_id])

    def run_changes(self, run_id: int) -> list[dict[str, Any]]:
        return self._dicts("select * from changes where run_id = ? order by id", [run_id])

    def find_changes(
        self,
        *,
        since: str | None = None,
        study: str | None = None,
        category: str | None = None,
        min_severity: str | None = None,
    ) -> list[dict[str, Any]]:
        """Recorded changes, filtered; newest stored first and, within one cycle, most severe
        first (a cycle reads top-down)."""
        where, params = ["1 = 1"], []
        for clause, value in (("c.detected_at >= ?", since), ("c.trial_id = ?", study)):
            if value:
                where.append(clause)
                params.append(value)
        if category:
            where.append("c.category = ?")
            params.append(category)
        if min_severity:
            allowed = [s for s in SEVERITIES if severity_rank(s) >= severity_rank(min_severity)]
            where.append(f"c.severity in ({marks(len(allowed))})")
            params.extend(allowed)
        sql = FIND_CHANGES.format(where=" and ".join(where)) + f" order by {NEWEST_MOST_SEVERE}"
        return self._dicts(sql, params)

    def changes_with_version_date(self, trial_id: str) -> list[dict[str, Any]]:
        """A study's changes, newest version first (the timeline's order), each with the
        registry date of its version."""
        return self._dicts(CHANGES_WITH_VERSION_DATE, [trial_id])

    def study_overview(self) -> list[dict[str, Any]]:
        """Every stored study with its check state and its numbers of versions and changes."""
        return self._dicts(STUDY_OVERVIEW)

    # ------------------------------------------------------------ runs, failures, deliveries

    def last_cycles(self) -> list[dict[str, Any]]:
        """The two newest monitoring runs (backfills left out), newest first."""
        return self._dicts(LAST_CYCLES)

    def failing(self) -> list[dict[str, Any]]:
        """Studies whose last checks failed, most failures first."""
        return self._dicts(FAILING)

    def failing_at_least(self, threshold: int) -> dict[str, tuple[int, str]]:
        """Studies, and watched ids never stored, failing ``threshold`` cycles in a row or
        more: (failures, last error)."""
        found: dict[str, tuple[int, str]] = {}
        for sql in (FAILING_AT_LEAST, WATCHES_FAILING_AT_LEAST):
            rows = self.db.execute(sql, [threshold]).fetchall()
            found |= {nct: (int(count), str(error or "")) for nct, count, error in rows}
        return found

    def failure_counts(self, trial_ids: Sequence[str]) -> dict[str, int]:
        """Current failure counts of these studies and watched ids never stored (an id in
        neither is left out)."""
        counts = {nct: int(count or 0) for nct, count in self._rows_for(FAILURE_COUNTS, trial_ids)}
        watches = self.watch_failures(trial_ids)
        return counts | {nct: int(row["consecutive_failures"]) for nct, row in watches.items()}

    def watch_failures(self, trial_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Failures of watched ids never stored (a mistyped id ...), by id."""
        names = ("trial_id", "consecutive_failures", "last_error", "first_failed", "last_failed")
        rows = self._rows_for(WATCH_FAILURES, trial_ids)
        return {row[0]: dict(zip(names, row, strict=True)) for row in rows}

    def deliveries_with_status(self, status: str) -> list[dict[str, Any]]:
        return self._dicts(DELIVERIES_WITH_STATUS, [status])

    def first_run_started(self) -> str | None:
        """When this database's first run started: what makes its feed's ids its own."""
        row = self.db.execute(FIRST_RUN).fetchone()
        return row[0] if row else None

"""SQL views over the history: the common questions as plain SQLite, for sqlite-utils and Datasette.

``status_history``  every overall-status transition, with the version date and why it stopped;
``date_shifts``     every start / primary-completion / completion date change with its signed
                    shift in days, compared at the coarser precision of the two dates
                    (``2025-06`` → ``2025-06-30`` is a precision change with a shift of 0);
``latest_changes``  each study's most recent batch of changes, with its title and status.

Every view has the trial's id and its registry (``trial_id``, ``registry``).

The views read ``changes`` (fields ``status.overall_status`` and ``dates.start``,
``dates.primary_completion``, ``dates.completion`` as monitor.classify names them, with values
``{"date": ..., "type": ...}``) and the canonical ``snapshots.record``
(``status.why_stopped``, ``sponsor.lead.name``). A view whose stored definition is not the one
below (missing, older, or edited by hand) is recreated when the store is opened
(:func:`stale_views`, in the transaction of the migrations): a change of a view needs no
migration, and a database made by any earlier trialmon gets today's views.
"""

from __future__ import annotations

from sqlite_utils import Database

from monitor.store.db import newest_first_sql, severity_rank_sql

VIEW_NAMES: tuple[str, ...] = ("status_history", "date_shifts", "latest_changes")


DATE_FIELDS: dict[str, str] = {
    "dates.start": "start",
    "dates.primary_completion": "primary_completion",
    "dates.completion": "completion",
}


VERSION_DATE = "coalesce(s.last_update_posted, substr(s.captured_at, 1, 10))"

# A study's changes in the order its versions were stored (never by the clock's times): the
# record history's versions first, then the others by snapshot id; then by change id.
TIMELINE = "CASE WHEN {s}.source = 'history' THEN 0 ELSE 1 END, {c}.to_snapshot_id, {id}"

SEVERITY_RANK = severity_rank_sql("c.severity")

STATUS_HISTORY = f"""
SELECT
  c.id AS change_id,
  c.trial_id,
  c.registry,
  t.title,
  json_extract(c.old_value, '$') AS from_status,
  json_extract(c.new_value, '$') AS to_status,
  {VERSION_DATE} AS version_date,
  c.detected_at,
  c.severity,
  json_extract(s.record, '$.status.why_stopped') AS why_stopped,
  c.from_snapshot_id,
  c.to_snapshot_id,
  c.summary
FROM changes c
LEFT JOIN snapshots s ON s.id = c.to_snapshot_id
LEFT JOIN studies t ON t.trial_id = c.trial_id
WHERE c.category = 'status' AND c.field = 'status.overall_status'
ORDER BY c.trial_id, {TIMELINE.format(s="s", c="c", id="c.id")}
"""


def _date_part(column: str) -> str:
    """The date of a stored date value: ``"2025-06"`` or ``{"date": "2025-06", "type": ...}``."""
    raw = (
        f"CASE json_type({column}) WHEN 'object' THEN json_extract({column}, '$.date') "
        f"WHEN 'text' THEN json_extract({column}, '$') END"
    )
    return f"CASE WHEN ({raw}) GLOB '[0-9][0-9][0-9][0-9]*' THEN ({raw}) END"


def _type_part(column: str) -> str:
    """The date type (``ESTIMATED``/``ACTUAL``) of a stored value, when it has one."""
    return (
        f"CASE json_type({column}) WHEN 'object' THEN json_extract({column}, '$.type') "
        f"WHEN 'text' THEN CASE WHEN json_extract({column}, '$') "
        f"GLOB '[0-9][0-9][0-9][0-9]*' THEN NULL ELSE json_extract({column}, '$') END END"
    )


def _at_precision(column: str, length: str) -> str:
    """A date cut to ``length`` characters (4, 7 or 10) and padded to a full day for julianday."""
    return (
        f"substr({column}, 1, {length}) || "
        f"CASE {length} WHEN 4 THEN '-01-01' WHEN 7 THEN '-01' ELSE '' END"
    )


def _precision(column: str) -> str:
    return f"CASE length({column}) WHEN 4 THEN 'year' WHEN 7 THEN 'month' WHEN 10 THEN 'day' END"


DATE_SHIFTS = f"""
WITH raw AS (
  SELECT
    c.id AS change_id,
    c.trial_id,
    c.registry,
    CASE c.field {" ".join(f"WHEN '{k}' THEN '{v}'" for k, v in DATE_FIELDS.items())}
    END AS date_field,
    c.field,
    {_date_part("c.old_value")} AS old_date,
    {_date_part("c.new_value")} AS new_date,
    {_type_part("c.old_value")} AS old_type,
    {_type_part("c.new_value")} AS new_type,
    c.detected_at,
    c.severity,
    c.summary,
    c.from_snapshot_id,
    c.to_snapshot_id
  FROM changes c
  WHERE c.category = 'dates'
),
cut AS (
  SELECT raw.*, min(length(old_date), length(new_date)) AS common FROM raw
  WHERE date_field IS NOT NULL
)
SELECT
  cut.change_id,
  cut.trial_id,
  cut.registry,
  t.title,
  json_extract(s.record, '$.sponsor.lead.name') AS lead_sponsor,
  cut.date_field,
  cut.old_date,
  cut.new_date,
  cut.old_type,
  cut.new_type,
  {_precision("cut.old_date")} AS old_precision,
  {_precision("cut.new_date")} AS new_precision,
  CAST(round(
    julianday({_at_precision("cut.new_date", "cut.common")})
    - julianday({_at_precision("cut.old_date", "cut.common")})
  ) AS INTEGER) AS shift_days,
  CASE
    WHEN cut.old_date IS NULL OR cut.new_date IS NULL THEN
      CASE WHEN cut.old_date IS cut.new_date THEN 'type' ELSE 'set' END
    WHEN {_at_precision("cut.old_date", "cut.common")}
      = {_at_precision("cut.new_date", "cut.common")} THEN
      CASE WHEN cut.old_date = cut.new_date THEN 'type' ELSE 'precision' END
    ELSE 'shift'
  END AS kind,
  {VERSION_DATE} AS version_date,
  cut.detected_at,
  cut.severity,
  cut.field,
  cut.from_snapshot_id,
  cut.to_snapshot_id,
  cut.summary
FROM cut
LEFT JOIN snapshots s ON s.id = cut.to_snapshot_id
LEFT JOIN studies t ON t.trial_id = cut.trial_id
ORDER BY cut.trial_id, {TIMELINE.format(s="s", c="cut", id="cut.change_id")}
"""

LATEST_CHANGES = f"""
SELECT
  c.id AS change_id,
  c.trial_id,
  c.registry,
  t.title,
  t.overall_status,
  c.detected_at,
  c.category,
  c.field,
  c.severity,
  {SEVERITY_RANK} AS severity_rank,
  c.summary,
  c.old_value,
  c.new_value,
  c.from_snapshot_id,
  c.to_snapshot_id
FROM changes c
JOIN (
  SELECT trial_id, run_id, to_snapshot_id FROM (
    SELECT c2.trial_id, c2.run_id, c2.to_snapshot_id, row_number() OVER (
      PARTITION BY c2.trial_id
      ORDER BY CASE WHEN s2.source = 'history' THEN 0 ELSE 1 END DESC,
        c2.to_snapshot_id DESC, c2.run_id DESC, c2.id DESC
    ) AS newest
    FROM changes c2 LEFT JOIN snapshots s2 ON s2.id = c2.to_snapshot_id
  ) WHERE newest = 1
) m ON m.trial_id = c.trial_id AND m.run_id IS c.run_id AND m.to_snapshot_id IS c.to_snapshot_id
LEFT JOIN studies t ON t.trial_id = c.trial_id
LEFT JOIN runs r ON r.id = c.run_id
LEFT JOIN snapshots s ON s.id = c.to_snapshot_id
ORDER BY {newest_first_sql("c", "r", "s", last="")}
"""

VIEWS: dict[str, str] = {
    "status_history": STATUS_HISTORY,
    "date_shifts": DATE_SHIFTS,
    "latest_changes": LATEST_CHANGES,
}


def view_sql(name: str) -> str:
    """The statement that creates a view, as SQLite keeps it in ``sqlite_master``."""
    return f"CREATE VIEW {name} AS {VIEWS[name].strip()}"


def stale_views(db: Database) -> list[str]:
    """The views missing or stored with another definition than today's."""
    rows = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view'").fetchall()
    stored = dict(rows)
    return [name for name in VIEWS if stored.get(name) != view_sql(name)]


def create_views(db: Database, names: tuple[str, ...] | list[str] = VIEW_NAMES) -> None:
    """(Re)create the views named (every view by default)."""
    for name in names:
        db.execute(f"DROP VIEW IF EXISTS {name}")
        db.execute(view_sql(name))


def drop_views(db: Database) -> None:
    """Drop every view (before a migration renames the columns they read)."""
    for name in VIEW_NAMES:
        db.execute(f"DROP VIEW IF EXISTS {name}")

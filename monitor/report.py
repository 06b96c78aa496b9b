"""``trialmon report``: one self-contained HTML page for one study or a portfolio of studies.

Per study: the status timeline, the date-slippage chart (inline SVG, see :mod:`monitor.chart`)
and the change list with severities. The page has no script and loads nothing: a
Content-Security-Policy forbids every fetch, and all record text is escaped.
``collect`` reads the store; ``render_page`` is pure.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

import orjson

from monitor import chart, registries, rollup
from monitor.english import count
from monitor.errors import StoreError, UsageError
from monitor.models import SEVERITIES, severity_rank
from monitor.palette import badge_css
from monitor.store import Store
from monitor.times import iso

DATE_FIELDS: tuple[str, ...] = ("start", "primary_completion", "completion")
STATUS_CLASS = re.compile(r"^[A-Z_]+$")


@dataclass(frozen=True)
class Version:
    snapshot_id: int
    captured_at: str
    version_date: str
    status: str | None
    dates: Mapping[str, str | None]


@dataclass(frozen=True)
class Period:
    status: str
    since: str
    until: str
    days: int
    current: bool


@dataclass(frozen=True)
class StudyReport:
    study: Mapping[str, Any]
    sponsor: str | None
    versions: tuple[Version, ...]
    changes: tuple[Mapping[str, Any], ...]


# ---------------------------------------------------------------- reading the store


def section(record: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """A section of a canonical record (monitor.normalize), ``{}`` when absent or malformed."""
    value = record.get(name)
    return value if isinstance(value, Mapping) else {}


def record_dates(record: Mapping[str, Any]) -> dict[str, str | None]:
    dates = section(record, "dates")
    out: dict[str, str | None] = {}
    for name in DATE_FIELDS:
        value = dates.get(name)
        out[name] = str(value["date"]) if isinstance(value, Mapping) and value.get("date") else None
    return out


def record_sponsor(record: Mapping[str, Any]) -> str | None:
    lead = section(section(record, "sponsor"), "lead")
    return str(lead["name"]) if lead.get("name") else None


def version_of(snap: Mapping[str, Any], record: Mapping[str, Any], prior: str | None) -> Version:
    status = section(record, "status").get("overall_status") or prior
    return Version(
        snapshot_id=snap["id"],
        captured_at=snap["captured_at"],
        version_date=snap["last_update_posted"] or snap["captured_at"][:10],
        status=status,
        dates=record_dates(record),
    )


def collect(store: Store, trial_id: str) -> StudyReport:
    """Everything the page shows of one study, oldest version first."""
    study = store.study(trial_id)
    if study is None:
        raise UsageError(f"{trial_id} is not in the database (run `trialmon run` first)")
    versions: list[Version] = []
    record: dict[str, Any] = {}
    for snap in store.snapshots_of(trial_id):
        record = orjson.loads(snap["record"])
        prior = versions[-1].status if versions else None
        versions.append(version_of(snap, record, prior))
    changes = tuple(store.changes_with_version_date(trial_id))
    return StudyReport(study, record_sponsor(record), tuple(versions), changes)


def build_report(
    store: Store, trial_ids: Sequence[str], *, generated_at: datetime, min_severity: str = "minor"
) -> str:
    """The page; changes below ``min_severity`` (by default the administrative ones) are
    counted, not listed."""
    return render_page([collect(store, n) for n in trial_ids], generated_at, min_severity)


def write_report(path: Path, page: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
    except OSError as e:
        raise StoreError(f"cannot write the report to {str(path)!r}: {e}") from e


# ---------------------------------------------------------------- deriving


def periods(report: StudyReport, as_of: str) -> list[Period]:
    """Consecutive versions with one status, as periods; the current one runs to ``as_of``."""
    starts: list[tuple[str, str]] = []
    for version in report.versions:
        status = version.status or "UNKNOWN"
        if not starts or starts[-1][0] != status:
            starts.append((status, version.version_date))
    end = max(report.versions[-1].version_date, as_of)
    out = []
    for index, (status, since) in enumerate(starts):
        current = index == len(starts) - 1
        until = end if current else starts[index + 1][1]
        days = days_between(since, until) or 0
        out.append(Period(status, since, until, max(days, 0), current))
    return out


def days_between(old: str | None, new: str | None) -> int | None:
    """Signed days from ``old`` to ``new``, compared at the coarser precision of the two."""
    if not old or not new:
        return None
    common = min(len(old), len(new))
    return (chart.parse_day(new[:common]) - chart.parse_day(old[:common])).days


def series(report: StudyReport) -> dict[str, list[chart.Point]]:
    """Each planned date at the versions that set or revised it."""
    out: dict[str, list[chart.Point]] = {name: [] for name in DATE_FIELDS}
    for version in report.versions:
        for name in DATE_FIELDS:
            planned = version.dates.get(name)
            points = out[name]
            if planned and (not points or points[-1].planned != planned):
                points.append(chart.Point(version.version_date, planned))
    return out


def severity_counts(report: StudyReport) -> dict[str, int]:
    counts = dict.fromkeys(SEVERITIES, 0)
    for change in report.changes:
        counts[change["severity"]] = counts.get(change["severity"], 0) + 1
    return counts


# ---------------------------------------------------------------- HTML


def e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def status_class(status: str | None, registry: str | None = None) -> str:
    """CSS classes of a status: its neutral state in its registry's vocabulary (every
    registry's words get a colour), and the word itself when it is a plain code."""
    value = status or ""
    word = f"status-{value}" if STATUS_CLASS.match(value) else "status-OTHER"
    known = registry in registries.REGISTRIES and status is not None
    state = registries.get(str(registry)).vocabulary.state(status) if known else "unknown"
    return f"state-{state} {word}"


def study_status_class(study: Mapping[str, Any]) -> str:
    return status_class(study["overall_status"], study.get("registry"))


def anchor(trial_id: str) -> str:
    return f"study-{e(trial_id)}"


def render_page(
    reports: Sequence[StudyReport], generated_at: datetime, min_severity: str = "minor"
) -> str:
    stamp = iso(generated_at)
    names = ", ".join(r.study["trial_id"] for r in reports)
    title = f"trialmon report: {names}" if len(reports) == 1 else "trialmon portfolio report"
    body = [
        f"<header><h1>{e(title)}</h1><p class='generated'>Generated {e(stamp)} "
        f"from the trialmon database. Version dates are the registry's last-update-posted "
        f"dates.</p></header>",
        portfolio(reports) if len(reports) > 1 else "",
        *(study_section(r, stamp[:10], min_severity) for r in reports),
    ]
    return PAGE.format(title=e(title), style=STYLE, body="\n".join(body))


def portfolio(reports: Sequence[StudyReport]) -> str:
    rows = []
    for r in reports:
        counts = severity_counts(r)
        slip = net_shift(series(r)["completion"])
        rows.append(
            f"<tr><td><a href='#{anchor(r.study['trial_id'])}'>{e(r.study['trial_id'])}</a></td>"
            f"<td>{e(r.study['title'])}</td>"
            f"<td><span class='status {study_status_class(r.study)}'>"
            f"{e(r.study['overall_status'])}</span></td>"
            f"<td>{e(r.study['last_changed'])}</td>"
            f"<td class='num'>{counts['critical']}</td><td class='num'>{counts['major']}</td>"
            f"<td class='num'>{len(r.changes)}</td><td class='num'>{e(signed(slip))}</td></tr>"
        )
    head = (
        "<tr><th>Study</th><th>Title</th><th>Status</th><th>Last changed</th><th>Critical</th>"
        "<th>Major</th><th>All changes</th><th>Completion slip (days)</th></tr>"
    )
    return (
        f"<section class='portfolio'><h2>{len(reports)} studies</h2>"
        f"<table class='overview'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
        "</section>"
    )


def net_shift(points: Sequence[chart.Point]) -> int | None:
    return days_between(points[0].planned, points[-1].planned) if len(points) > 1 else None


def signed(days: int | None) -> str:
    return "" if days is None else f"{days:+d}"


def study_section(report: StudyReport, as_of: str, min_severity: str = "minor") -> str:
    study = report.study
    trial_id = study["trial_id"]
    return (
        f"<section class='study' id='{anchor(trial_id)}'>"
        f"<h2><span class='nct'>{e(trial_id)}</span> {e(study['title'])}</h2>"
        f"{facts(report)}"
        f"<h3>Status timeline</h3>{timeline(report, as_of)}"
        f"<h3>Planned dates</h3>"
        f"{chart.slippage_svg(series(report), f'Planned dates of {trial_id} by version')}"
        f"{date_table(report)}"
        f"<h3>Changes</h3>{change_table(report, min_severity)}"
        "</section>"
    )


def facts(report: StudyReport) -> str:
    study = report.study
    failures = study.get("consecutive_failures") or 0
    items = [
        ("Status", f"<span class='status {study_status_class(study)}'>"
                   f"{e(study['overall_status'])}</span>"),
        ("Lead sponsor", e(report.sponsor)),
        ("First seen", e(study["first_seen"])),
        ("Last checked", e(study["last_checked"])),
        ("Last changed", e(study["last_changed"])),
        ("Stored versions", str(len(report.versions))),
    ]  # fmt: skip
    if failures:
        items.append(("Failing", f"{failures}× {e(study.get('last_error'))}"))
    cells = "".join(f"<div><dt>{k}</dt><dd>{v}</dd></div>" for k, v in items)
    return f"<dl class='facts'>{cells}</dl>"


def timeline(report: StudyReport, as_of: str) -> str:
    spans = periods(report, as_of)
    total = sum(p.days for p in spans) or 1
    registry = report.study.get("registry")
    bar = "".join(
        f"<span class='segment {status_class(p.status, registry)}' "
        f"style='flex-grow:{max(p.days, 1) / total:.4f}' title='{e(p.status)}'></span>"
        for p in spans
    )
    items = "".join(
        f"<li class='period {status_class(p.status, registry)}'><span class='status "
        f"{status_class(p.status, registry)}'>{e(p.status)}</span> <time>{e(p.since)}</time> → "
        f"<time>{e(p.until)}</time>{' (current, as of this report)' if p.current else ''}"
        f" <span class='days'>{count(p.days, 'day')}</span></li>"
        for p in spans
    )
    return f"<div class='timeline-bar'>{bar}</div><ol class='timeline'>{items}</ol>"


def date_table(report: StudyReport) -> str:
    rows = []
    for name, points in series(report).items():
        if not points:
            continue
        history = " → ".join(e(p.planned) for p in points)
        rows.append(
            f"<tr><td>{e(chart.SERIES_LABELS[name])}</td><td>{history}</td>"
            f"<td class='num'>{e(signed(net_shift(points)))}</td></tr>"
        )
    if not rows:
        return ""
    head = "<tr><th>Date</th><th>As planned, version by version</th><th>Net shift (days)</th></tr>"
    return f"<table class='dates'><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


@dataclass(frozen=True)
class ReportChange:
    """A stored change as the roll-up reads it (monitor.rollup), with its version."""

    category: str
    field: str
    severity: str
    summary: str
    old_value: Any
    new_value: Any
    version: tuple[str, int]  # (version date, snapshot id)


def report_change(row: Mapping[str, Any]) -> ReportChange:
    return ReportChange(
        category=row["category"],
        field=row["field"],
        severity=row["severity"],
        summary=row["summary"],
        old_value=_json(row["old_value"]),
        new_value=_json(row["new_value"]),
        version=(row["version_date"] or "", row["to_snapshot_id"] or 0),
    )


def _json(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def change_table(report: StudyReport, min_severity: str = "minor") -> str:
    """Per version, newest first, its changes as the digest shows them: at most a few lines,
    sites and contacts rolled up with every row folded under them."""
    if not report.changes:
        return "<p class='none'>No change recorded: only the baseline is stored.</p>"
    floor = severity_rank(min_severity)
    changes = [report_change(row) for row in report.changes]
    shown = [c for c in changes if severity_rank(c.severity) >= floor]
    note = hidden_note([c for c in changes if severity_rank(c.severity) < floor])
    if not shown:
        return note
    versions: dict[tuple[str, int], list[ReportChange]] = {}
    for change in shown:  # newest version first, as stored (Store.changes_with_version_date)
        versions.setdefault(change.version, []).append(change)
    rows = "".join(
        change_row(version[0], line) for version, found in versions.items()
        for line in rollup.lines(found)
    )  # fmt: skip
    head = "<tr><th>Version</th><th>Severity</th><th>Category</th><th>Change</th></tr>"
    table = f"<table class='changes'><thead>{head}</thead><tbody>{rows}</tbody></table>"
    return table + note


def change_row(version_date: str, line: rollup.Line) -> str:
    text = e(line.text)
    if line.rolled_up:
        items = "".join(f"<li>{e(row.summary)}</li>" for row in line.rows)
        text = f"<details><summary>{text}</summary><ul>{items}</ul></details>"
    return (
        f"<tr class='change severity-{e(line.severity)}'><td class='version'><time>"
        f"{e(version_date)}</time></td><td><span class='badge'>{e(line.severity)}</span></td>"
        f"<td>{e(line.category)}</td><td>{text}</td></tr>"
    )


def hidden_note(hidden: Sequence[ReportChange]) -> str:
    """``2 administrative changes not shown (--min-severity info shows them)``."""
    if not hidden:
        return ""
    counts = Counter(c.severity for c in hidden)
    parts = [
        count(counts[s], "administrative change" if s == "info" else f"{s} change")
        for s in SEVERITIES if counts[s]
    ]  # fmt: skip
    lowest = min(counts, key=severity_rank)
    return (
        f"<p class='hidden-note'>{e(' and '.join(parts))} not shown "
        f"(--min-severity {e(lowest)} shows them)</p>"
    )


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
{body}
</body>
</html>
"""

STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1a202c;margin:0 auto;
 max-width:980px;padding:24px}
h1{font-size:1.5em;margin:0}h2{border-bottom:2px solid #e2e8f0;padding-bottom:4px;margin-top:2em}
h3{margin:1.4em 0 .5em}.generated{color:#4a5568;margin:.3em 0 0}.nct{font-family:monospace}
table{border-collapse:collapse;width:100%;margin:.4em 0}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e2e8f0;vertical-align:top}
th{background:#f7fafc;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.version,time{white-space:nowrap}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:6px 16px}
.facts dt{color:#718096;font-size:.8em;text-transform:uppercase}.facts dd{margin:0}
.status{padding:1px 6px;border-radius:4px;background:#e2e8f0;font-size:.9em;white-space:nowrap}
.timeline-bar{display:flex;height:18px;border-radius:4px;overflow:hidden;margin:.3em 0}
.segment{display:block;min-width:3px;background:#a0aec0}
.timeline{padding-left:1.2em;margin:.4em 0}.timeline li{margin:2px 0}.days{color:#718096}
.status.state-recruiting,.segment.state-recruiting{background:#c6f6d5}
.status.state-pending,.segment.state-pending{background:#bee3f8}
.status.state-active,.segment.state-active{background:#e9d8fd}
.status.state-completed,.segment.state-completed{background:#90cdf4}
.status.state-stopped,.segment.state-stopped,.status.state-withdrawn,
.segment.state-withdrawn{background:#fc8181}
.status.status-RECRUITING,.segment.status-RECRUITING{background:#c6f6d5}
.status.status-NOT_YET_RECRUITING,.segment.status-NOT_YET_RECRUITING{background:#bee3f8}
.status.status-ACTIVE_NOT_RECRUITING,.segment.status-ACTIVE_NOT_RECRUITING{background:#e9d8fd}
.status.status-ENROLLING_BY_INVITATION,.segment.status-ENROLLING_BY_INVITATION{background:#c4f1f9}
.status.status-COMPLETED,.segment.status-COMPLETED{background:#90cdf4}
.status.status-SUSPENDED,.segment.status-SUSPENDED{background:#fbd38d}
.status.status-WITHDRAWN,.status.status-TERMINATED,.status.status-WITHHELD,
.status.status-NO_LONGER_AVAILABLE,.segment.status-WITHDRAWN,.segment.status-TERMINATED,
.segment.status-WITHHELD,.segment.status-NO_LONGER_AVAILABLE{background:#fc8181}
.badge{padding:1px 6px;border-radius:4px;font-size:.85em;background:#edf2f7}
svg.slippage{max-width:100%;height:auto;background:#fff;border:1px solid #e2e8f0}
svg .grid{stroke:#edf2f7}svg .tick,svg .axis-label,svg .legend text{font-size:11px;fill:#4a5568}
svg .diagonal{stroke:#a0aec0;stroke-dasharray:5 4}
.no-chart,.none,.hidden-note{color:#718096}
details summary{cursor:pointer}details ul{margin:.3em 0;padding-left:1.2em;color:#4a5568}
""" + badge_css()  # the severity colours the HTML email shares

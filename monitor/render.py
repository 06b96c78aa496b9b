"""How the query commands look: rich tables on a terminal, plain lines when piped.

Each view has a ``*_table`` (a rich renderable) and a ``*_lines`` (plain text, one record per
line, stable for grep and cut) built from the same data. Record text is wrapped in ``Text`` so
that brackets in a title or summary are never read as rich markup. The CLI picks one of the two
(:func:`terminal`); nothing here prints.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from monitor.english import count
from monitor.models import Change
from monitor.textsafe import printable

SEVERITY_STYLE = {"critical": "bold red", "major": "yellow", "minor": "cyan", "info": "dim"}
STATUS_STYLE = {
    "RECRUITING": "green",
    "COMPLETED": "blue",
    "WITHDRAWN": "bold red",
    "TERMINATED": "bold red",
    "SUSPENDED": "red",
}


def terminal(console: Console | None = None) -> Console | None:
    """A console for stdout when it is a terminal, else ``None`` (plain text)."""
    console = console or Console()
    return console if console.is_terminal else None


def text(value: Any, style: str = "") -> Text:
    """A table cell; record text in it shows its control characters, never obeys them."""
    return Text("" if value is None else printable(str(value)), style=style)


def severity(value: str) -> Text:
    return text(value, SEVERITY_STYLE.get(value, ""))


def status(value: str | None) -> Text:
    return text(value or "—", STATUS_STYLE.get(value or "", ""))


WRAPPING = {"summary", "title"}


def table(title: str | None, *columns: str) -> Table:
    """Short columns (ids, times, severities) never wrap; text columns take the rest."""
    grid = Table(title=title, title_justify="left", header_style="bold", expand=False)
    for name in columns:
        if name in WRAPPING:
            grid.add_column(name, overflow="fold", ratio=1, min_width=8)
        else:
            grid.add_column(name, no_wrap=True)
    return grid


def when(value: str | None) -> Text:
    """An ISO time shortened for a terminal: ``2025-08-08T10:11:12Z`` → ``2025-08-08 10:11``."""
    if not value:
        return text("never" if value is None else value, "dim")
    return text(value[:16].replace("T", " "))


# ---------------------------------------------------------------- history


def history_title(data: Mapping[str, Any]) -> str:
    return f"{data['trial_id']}  {data.get('title') or ''}".rstrip()


def history_table(data: Mapping[str, Any]) -> RenderableType:
    grid = table(None, "#", "version date", "source", "severity", "summary")
    for index, version in enumerate(data["versions"]):
        head = [
            text(version["snapshot_id"]),
            text(version.get("last_update_posted") or version["captured_at"][:10]),
            text(version["source"]),
        ]
        changes = version["changes"]
        if not changes:
            grid.add_row(*head, text(""), text(_no_change(index), "dim"))
        for number, change in enumerate(changes):
            cells = head if number == 0 else [text("")] * len(head)
            grid.add_row(*cells, severity(change["severity"]), text(change["summary"]))
    header = Text.assemble(
        (printable(history_title(data)), "bold"),
        "\nstatus ",
        status(data.get("overall_status")),
        f", first seen {data.get('first_seen')}",
    )
    if data.get("also_registered_as"):
        header.append(f"\n{also_line(data['also_registered_as'])}")
    return Group(header, grid)


def also_line(entries: Sequence[Mapping[str, Any]]) -> str:
    """``Also registered as: <id> (<registry>), ...``."""
    return "Also registered as: " + ", ".join(f"{e['id']} ({e['title']})" for e in entries)


def _no_change(index: int) -> str:
    return "baseline" if index == 0 else "no material change"


def history_lines(data: Mapping[str, Any]) -> Iterator[str]:
    yield history_title(data)
    yield f"status {data['overall_status']}, first seen {data['first_seen']}"
    if data.get("also_registered_as"):
        yield also_line(data["also_registered_as"])
    for index, version in enumerate(data["versions"]):
        yield ""
        yield f"#{version['snapshot_id']}  {version['captured_at']}  ({version['source']})"
        if not version["changes"]:
            yield f"  {_no_change(index)}"
        for change in version["changes"]:
            yield f"  [{change['severity']}] {change['summary']}"


# ---------------------------------------------------------------- diff


def diff_header(trial_id: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    return (
        f"{trial_id}: snapshot #{old['id']} ({old['captured_at']}) → "
        f"#{new['id']} ({new['captured_at']})"
    )


def diff_table(header: str, found: Sequence[Change]) -> RenderableType:
    if not found:
        return Group(text(header, "bold"), Text("no material change", style="dim"))
    grid = table(None, "severity", "category", "field", "summary")
    for change in found:
        grid.add_row(
            severity(change.severity), text(change.category), text(change.field, "dim"),
            text(change.summary),
        )  # fmt: skip
    return Group(text(header, "bold"), grid)


def diff_lines(header: str, found: Sequence[Change]) -> Iterator[str]:
    yield header
    for change in found:
        yield f"  [{change.severity}] {change.category}: {change.summary}"
    if not found:
        yield "  no material change"


# ---------------------------------------------------------------- changes


def changes_table(rows: Sequence[Mapping[str, Any]]) -> RenderableType:
    grid = table(f"{count(len(rows), 'change')}, newest first", "detected", "study", "severity",
                 "category", "summary")  # fmt: skip
    for row in rows:
        grid.add_row(
            when(row["detected_at"]), text(row["trial_id"]), severity(row["severity"]),
            text(row["category"]), text(row["summary"]),
        )  # fmt: skip
    return grid


def changes_lines(rows: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    for row in rows:
        line = f"[{row['severity']}] {row['category']}: {row['summary']}"
        yield f"{row['detected_at']}  {row['trial_id']}  {line}"


# ---------------------------------------------------------------- studies


def failure(row: Mapping[str, Any]) -> str:
    count = row.get("consecutive_failures") or 0
    if not count:
        return ""
    return f"{count}× {failure_text(row)}"


def failure_text(row: Mapping[str, Any]) -> str:
    """The last error of a failing study, without the study's id when it starts with it
    (the line already names the study)."""
    error = str(row.get("last_error") or "failed")
    return error.removeprefix(f"{row.get('trial_id')}: ")


def unwatched(row: Mapping[str, Any]) -> bool:
    """Stored (by ``backfill``) but not in ``[watch] studies`` and never checked."""
    return bool(row.get("known")) and not row.get("watched") and not row.get("last_checked")


def watch_hint(row: Mapping[str, Any]) -> str:
    return f"not watched: trialmon watch add {row['trial_id']}"


def study_notes(row: Mapping[str, Any]) -> Text:
    """The title, then what needs the reader's attention (a failure, not being watched)."""
    notes = text(row["title"])
    if row.get("also_registered_as"):
        notes.append(f"\n{also_line(row['also_registered_as'])}", style="dim")
    if failure(row):
        notes.append("\n" + printable(f"failing: {failure(row)}"), style="red")
    if unwatched(row):
        notes.append(f"\n{watch_hint(row)}", style="yellow")
    return notes


NARROW = 100  # below this, a title column would get fewer than ~30 characters


class StudiesView:
    """A table on a wide terminal; on a narrow one a block per study, the title on its own
    line(s) with the whole width (instead of a column of a dozen characters)."""

    def __init__(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.rows = rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if options.max_width >= NARROW:
            yield studies_grid(self.rows)
            return
        yield Text(count(len(self.rows), "study"), style="italic")
        for row in self.rows:
            yield study_block(row)


def studies_table(rows: Sequence[Mapping[str, Any]]) -> RenderableType:
    return StudiesView(rows)


def studies_grid(rows: Sequence[Mapping[str, Any]]) -> Table:
    grid = table(count(len(rows), "study"), "study", "status", "checked", "changed", "chg",
                 "title")  # fmt: skip
    for row in rows:
        grid.add_row(
            text(row["trial_id"], "" if row["known"] else "dim"), status(row["overall_status"]),
            when(row["last_checked"]), text((row["last_changed"] or "")[:10]),
            text(row["changes"]), study_notes(row),
        )  # fmt: skip
    return grid


def study_block(row: Mapping[str, Any]) -> RenderableType:
    head = Text.assemble(
        (row["trial_id"], "bold" if row["known"] else "dim"), "  ", status(row["overall_status"]),
        "  checked ", when(row["last_checked"]), "  changed ",
        text((row["last_changed"] or "-")[:10]), f"  {row['changes']} changes",
    )  # fmt: skip
    notes = study_notes(row)
    return Group(head, Padding(notes, (0, 0, 0, 2))) if notes.plain.strip() else head


def studies_lines(rows: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    for row in rows:
        cells = [
            row["trial_id"],
            row["overall_status"] or "-",
            f"checked {row['last_checked'] or 'never'}"
            + (f" ({watch_hint(row)})" if unwatched(row) else ""),
            f"changed {row['last_changed'] or '-'}",
            f"{count(row['snapshots'], 'version')}, {count(row['changes'], 'change')}",
        ]
        if failure(row):
            cells.append(f"FAILING {failure(row)}")
        if row.get("also_registered_as"):
            cells.append("also " + ", ".join(e["id"] for e in row["also_registered_as"]))
        cells.append(row["title"] or "")
        yield "  ".join(cells).rstrip()

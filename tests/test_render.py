"""Rich tables for a terminal and the plain lines for a pipe, from the same data."""

from __future__ import annotations

import io

from rich.console import Console, RenderableType

from monitor import render, views
from monitor.models import Change
from monitor.store import Store
from tests.history_data import FAILING, SEED, known_history


def shown(renderable: RenderableType) -> str:
    console = Console(file=io.StringIO(), width=160, force_terminal=True, color_system=None)
    console.print(renderable)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(output, str)
    return output


def test_terminal_is_none_when_not_a_tty() -> None:
    assert render.terminal(Console(file=io.StringIO())) is None
    tty = Console(file=io.StringIO(), force_terminal=True)
    assert render.terminal(tty) is tty


def test_history_table_has_every_change() -> None:
    data = views.history(known_history(Store.memory()), SEED)
    out = shown(render.history_table(data))
    assert "NOT_YET_RECRUITING → WITHDRAWN" in out and "baseline" in out
    assert "┃" in out and "2025-08-08" in out


def test_markup_in_record_text_is_shown_literally() -> None:
    change = Change("status", "f", "major", None, "[bold]x[/bold]", "Why stopped: [red]money[/red]")
    out = shown(render.diff_table("header [b]", [change]))
    assert "[red]money[/red]" in out and "header [b]" in out


def test_diff_without_change() -> None:
    assert "no material change" in shown(render.diff_table("h", []))
    assert list(render.diff_lines("h", [])) == ["h", "  no material change"]


def test_changes_table_and_lines_agree() -> None:
    rows = views.changes(known_history(Store.memory()), min_severity="critical")
    out = shown(render.changes_table(rows))
    assert "3 changes, newest first" in out
    for row in rows:
        assert row["trial_id"] in out
    assert len(list(render.changes_lines(rows))) == 3


def test_studies_table_shows_failure_and_never_checked() -> None:
    rows = views.studies(known_history(Store.memory()), ["NCT99999999"])
    out = shown(render.studies_table(rows))
    assert "failing: 2× HTTP 503 from registry" in out
    assert "never" in out and FAILING in out


def test_when_shortens_iso_times() -> None:
    assert render.when("2025-08-08T10:11:12Z").plain == "2025-08-08 10:11"
    assert render.when(None).plain == "never"

"""Rich tables for a terminal and the plain lines for a pipe, from the same data."""

from __future__ import annotations

import io
from contextlib import closing

from rich.console import Console, RenderableType

from monitor import render, views
from monitor.models import Change
from monitor.store import Store
from tests.history_data import FAILING, SEED, TERMINATED, known_history


def shown(renderable: RenderableType, width: int = 160) -> str:
    console = Console(file=io.StringIO(), width=width, force_terminal=True, color_system=None)
    console.print(renderable)
    output = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(output, str)
    return output


def test_terminal_is_none_when_not_a_tty() -> None:
    assert render.terminal(Console(file=io.StringIO())) is None
    tty = Console(file=io.StringIO(), force_terminal=True)
    assert render.terminal(tty) is tty


def test_history_table_has_every_change() -> None:
    with closing(known_history(Store.memory())) as store:
        data = views.history(store, SEED)
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
    with closing(known_history(Store.memory())) as store:
        rows = views.changes(store, min_severity="critical")
    out = shown(render.changes_table(rows))
    assert "3 changes, newest first" in out
    for row in rows:
        assert row["trial_id"] in out
    assert len(list(render.changes_lines(rows))) == 3


def test_studies_table_shows_failure_and_never_checked() -> None:
    with closing(known_history(Store.memory())) as store:
        rows = views.studies(store, ["NCT99999999"])
    out = shown(render.studies_table(rows))
    assert "failing: 2× HTTP 503 from registry" in out
    assert "never" in out and FAILING in out


TITLE = 'A Study of HY004 Treatment in Adult r/r B-ALL <CAR-T> & "friends"'


def studies_of_a_portfolio() -> list[dict]:
    """The known history, one study imported by backfill only (never checked, not watched)."""
    store = known_history(Store.memory())
    store.db.execute("update studies set last_checked = null where trial_id = ?", [TERMINATED])
    rows = views.studies(store, [SEED, "NCT99999999"])
    store.close()
    return rows


def test_studies_on_an_80_column_terminal_give_titles_the_whole_width() -> None:
    out = shown(render.studies_table(studies_of_a_portfolio()), width=80)
    lines = [line.rstrip() for line in out.splitlines()]
    assert f"  {TITLE}" in lines  # one line, not a column of 11 characters
    assert max(len(line) for line in lines) <= 80
    assert f"{SEED}  WITHDRAWN  checked 2025-08-08 00:00  changed 2025-08-08  7 changes" in lines
    assert "  failing: 2× HTTP 503 from registry" in lines


def test_a_study_imported_by_backfill_but_not_watched_says_how_to_watch_it() -> None:
    rows = studies_of_a_portfolio()
    hint = f"not watched: trialmon watch add {TERMINATED}"
    for width in (80, 160):
        assert hint in shown(render.studies_table(rows), width=width)
    line = next(line for line in render.studies_lines(rows) if line.startswith(TERMINATED))
    assert f"checked never ({hint})" in line
    never = next(line for line in render.studies_lines(rows) if line.startswith("NCT99999999"))
    assert "not watched" not in never  # watched, just not fetched yet


def test_when_shortens_iso_times() -> None:
    assert render.when("2025-08-08T10:11:12Z").plain == "2025-08-08 10:11"
    assert render.when(None).plain == "never"

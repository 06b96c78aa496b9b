"""The progress helper: a bar on a terminal, silence elsewhere."""

from __future__ import annotations

import io

from rich.console import Console

from monitor.progress import progress, track


def console(tty: bool) -> Console:
    return Console(file=io.StringIO(), force_terminal=tty, width=80)


def output(con: Console) -> str:
    value = con.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(value, str)
    return value


def test_quiet_when_not_a_terminal() -> None:
    con = console(tty=False)
    with progress("Checking studies", total=3, console=con) as advance:
        advance(2)
        advance(1)
    assert output(con) == ""


def test_bar_on_a_terminal() -> None:
    con = console(tty=True)
    with progress("Checking studies", total=3, console=con) as advance:
        advance(3)
    assert "Checking studies" in output(con)


def test_bar_without_a_total() -> None:
    con = console(tty=True)
    with progress("Reading", console=con) as advance:
        advance(5)
    assert "Reading" in output(con)


def test_track_yields_every_item_quietly() -> None:
    con = console(tty=False)
    assert list(track(range(5), "Backfilling", total=5, console=con)) == [0, 1, 2, 3, 4]
    assert output(con) == ""


def test_track_on_a_terminal() -> None:
    con = console(tty=True)
    assert list(track(["a", "b"], "Backfilling", console=con)) == ["a", "b"]
    assert "Backfilling" in output(con)

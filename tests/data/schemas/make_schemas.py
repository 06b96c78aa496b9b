"""Make tests/data/schemas/: a database of every schema trialmon's main branch ever had.

Every commit in the history of REF (default ``main``) that touched the store or its views is
exported (``git archive``) and run with its own code, from the repository's root::

    .venv/bin/python tests/data/schemas/make_schemas.py [REF]

For each commit, that commit's ``python -m monitor`` runs two offline cycles over the seeds of
trialmon 0.1 (``seeds/earlier``, then ``seeds``: NCT06009107 withdrawn, its dates revised, so
``changes`` and the views have rows). A commit whose command line cannot run (a commit made
while the pipeline was being assembled) gets its schema only, from its own ``Store.open``.
The database's schema (tables, indexes, views and the migrations recorded) is its signature:
only the first commit of each signature is kept, as ``NN-<commit>.sql`` (the database as SQL
text, whose first line says which commit made it and how). ``tests/test_upgrade.py`` opens
each one with today's trialmon.

The Python running this script needs trialmon's dependencies (the project's ``.venv``); the
old code runs on them. Run it again when a commit changes the schema or a view: the new
signature becomes a new file, the existing files are rewritten identical in schema.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
STORE_PATHS = ("monitor/store.py", "monitor/store", "monitor/sqlviews.py")
SEEDS_COMMIT = "fd28960"  # trialmon 0.1: seeds every commit of the list can read


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=True)
    return done.stdout


def candidates(ref: str) -> list[tuple[str, str]]:
    """(commit, subject) of every commit of ``ref``'s history touching the store, oldest first."""
    lines = git("log", "--reverse", "--format=%h %s", ref, "--", *STORE_PATHS).splitlines()
    return [(line.split(" ", 1)[0], line.split(" ", 1)[1]) for line in lines]


def export(commit: str, paths: tuple[str, ...], into: Path) -> None:
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commit, *paths], cwd=REPO, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)


def trialmon(code: Path, work: Path, *args: str) -> bool:
    env = {**os.environ, "PYTHONPATH": str(code)}
    command = [sys.executable, "-m", "monitor", "--config", "config.toml", *args]
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
    return done.returncode == 0


def schema_only(code: Path, work: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(code)}
    script = "from monitor.store import Store; Store.open('history.db')"
    subprocess.run([sys.executable, "-c", script], cwd=work, env=env, check=True)


def build(commit: str, seeds: Path, root: Path) -> tuple[Path, str]:
    """The database the commit's own code makes, and how it was made."""
    code, work = root / commit / "code", root / commit / "work"
    export(commit, ("monitor",), code)
    work.mkdir()
    (work / "config.toml").write_text('database = "history.db"\n')
    cycles = [("run", "--source", str(seeds / "earlier")), ("run", "--source", str(seeds))]
    if all(trialmon(code, work, *args) for args in cycles):
        return work / "history.db", "two offline cycles over the seeds of trialmon 0.1"
    (work / "history.db").unlink(missing_ok=True)
    schema_only(code, work)
    return work / "history.db", "its schema only: its command line could not run"


def signature(database: Path) -> tuple[object, ...]:
    conn = sqlite3.connect(database)
    try:
        objects = conn.execute(
            "select type, name, sql from sqlite_master where name not like 'sqlite_%' order by 1, 2"
        ).fetchall()
        applied = conn.execute(
            "select migration_set, name from _sqlite_migrations order by migration_set, name"
        ).fetchall()
    finally:
        conn.close()
    return tuple(objects), tuple(applied)


def dump(database: Path, out: Path, head: str) -> None:
    conn = sqlite3.connect(database)
    try:
        lines = list(conn.iterdump())
    finally:
        conn.close()
    out.write_text(head + "\n" + "\n".join(lines) + "\n", encoding="utf-8")


def main(ref: str) -> None:
    root = Path(tempfile.mkdtemp(prefix="trialmon-schemas-"))
    try:
        seeds = root / "seeds"
        export(SEEDS_COMMIT, ("seeds",), root / "seeds-export")
        shutil.move(root / "seeds-export" / "seeds", seeds)
        seen: set[tuple[object, ...]] = set()
        for commit, subject in candidates(ref):
            database, how = build(commit, seeds, root)
            found = signature(database)
            if found in seen:
                continue
            seen.add(found)
            name = f"{len(seen):02d}-{commit}.sql"
            head = f"-- schema {len(seen)}: made by commit {commit} ({subject[:80]}) with {how}"
            dump(database, HERE / name, head + "; tests/data/schemas/make_schemas.py")
            print(name, "-", how)
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "main")

"""The Datasette metadata shipped in the wheel: it names only tables, views and columns the
schema has, it is keyed for any database file name, and a real `datasette serve` on 127.0.0.1
serves it and runs every canned query (the README's questions) on the demo database."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor import examples
from monitor.store import Store

from .conftest import ROOT

CONTRACT_TABLES = {"studies", "snapshots", "changes", "runs", "deliveries"}


def shipped() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(examples.read("datasette-metadata.json"))
    return data


def tables() -> dict[str, Any]:
    (entry,) = shipped()["databases"].values()
    result: dict[str, Any] = entry["tables"]
    return result


def test_contract_tables_and_every_view_are_described() -> None:
    with closing(Store.memory()) as store:
        assert set(tables()) >= CONTRACT_TABLES | set(store.db.view_names())


def test_facets_sorts_and_columns_exist() -> None:
    with closing(Store.memory()) as store:
        for name, meta in tables().items():
            columns = set(store.db[name].columns_dict)
            named = {*meta.get("facets", []), *meta.get("columns", {})}
            named |= {meta[k] for k in ("sort_desc", "label_column") if k in meta}
            assert named <= columns, (name, named - columns)
            assert meta["title"] and meta["description"]


@pytest.mark.parametrize(
    ("database", "key"),
    [("snapshots/history.db", "history"), ("/srv/my trials.sqlite", "my trials")],
)
def test_the_metadata_is_keyed_by_the_database_name(database: str, key: str) -> None:
    data = json.loads(
        examples.datasette_metadata(examples.read("datasette-metadata.json"), Path(database))
    )
    assert list(data["databases"]) == [key]
    assert data["databases"][key]["tables"] == tables()


def test_every_readme_question_is_a_canned_query() -> None:
    (entry,) = shipped()["databases"].values()
    readme = (ROOT / "README.md").read_text()
    for name, query in entry["queries"].items():
        assert query["title"], name
        first_line = query["sql"].splitlines()[0]
        assert first_line in readme or name in readme, f"{name} is neither shown nor named"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's demo, under a database name of its own."""
    folder = tmp_path_factory.mktemp("datasette")
    for source in (ROOT / "seeds" / "earlier", ROOT / "seeds"):
        cmd = [
            sys.executable,
            "-m",
            "monitor",
            "--db",
            "trials-2026.db",
            "run",
            "--source",
            str(source),
        ]
        done = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    cmd = [
        sys.executable,
        "-m",
        "monitor",
        "--db",
        "trials-2026.db",
        "example",
        "datasette-metadata.json",
        "-o",
        "metadata.json",
    ]
    done = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return folder


@pytest.fixture
def datasette(demo: Path) -> Iterator[str]:
    """``datasette serve`` as a user starts it, on a port the OS chooses; yields its URL."""
    pytest.importorskip("datasette")
    cmd = [sys.executable, "-m", "datasette", "serve", "trials-2026.db"]
    cmd += ["--metadata", "metadata.json", "--host", "127.0.0.1", "--port", "0"]
    server = subprocess.Popen(cmd, cwd=demo, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        for line in server.stderr:  # uvicorn says where it listens once it does
            found = re.search(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", line)
            if found:
                yield found.group(1)
                break
        else:
            pytest.fail(f"datasette did not start (exit {server.wait(timeout=10)})")
    finally:
        server.terminate()
        server.communicate(timeout=30)


def served(url: str, *paths: str) -> list[tuple[int, Any]]:
    with httpx.Client(base_url=url, timeout=30) as client:
        return [(r.status_code, r.json()) for r in (client.get(path) for path in paths)]


def test_datasette_serves_the_metadata_and_runs_every_canned_query(
    demo: Path, datasette: str
) -> None:
    (entry,) = json.loads((demo / "metadata.json").read_text())["databases"].values()
    names = list(entry["queries"])
    answers = served(
        datasette,
        "/-/metadata.json",
        "/trials-2026/changes.json?_shape=array",
        *(f"/trials-2026/{name}.json?_shape=array" for name in names),
    )
    assert all(code == 200 for code, _ in answers), answers
    meta, changes, *results = (body for _, body in answers)
    assert meta["databases"]["trials-2026"]["tables"]["changes"]["title"] == "Changes"
    assert {c["trial_id"] for c in changes} == {"NCT06009107", "2024-513060-26-00"}
    by_name = dict(zip(names, results, strict=True))
    slips = {r["lead_sponsor"]: r["total_days"] for r in by_name["completion_slip_by_sponsor"]}
    assert slips["Juventas Cell Therapy Ltd."] == 364
    stopped = {r["trial_id"]: r["to_status"] for r in by_name["stopped_this_month"]}
    assert stopped == {"NCT06009107": "WITHDRAWN", "2024-513060-26-00": "Ended (early termination)"}
    assert {r["severity"] for r in by_name["latest_important_changes"]} == {"critical", "major"}
    assert by_name["failing_studies"] == [] and by_name["undelivered_notifications"] == []

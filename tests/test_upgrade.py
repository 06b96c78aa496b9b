"""A database made by trialmon 0.1, opened by this version: migrated in place without loss, and
a cycle over the same records reports no change.

The database is tests/data/v01/history.sql, written by the code of trialmon 0.1 (commit
fd28960) with tests/data/v01/make_history_db.py: offline cycles over seeds/, live cycles over
the loopback fake API (an alias, a study gone, a saved search, a changed study), a backfill,
digests sent and pending. tests/data/v01/live.json is what that fake API served last.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result

from monitor import registries
from monitor.cli import cli
from monitor.errors import StoreError
from monitor.normalize import content_hash, upgrade_v1
from monitor.notify.digest import Digest
from monitor.registries.ctgov import REGISTRY
from monitor.registries.ctgov.seedtext import parse_page
from monitor.registries.ctgov.state import from_tables
from monitor.store import Store
from tests.conftest import DATA, ROOT
from tests.fakeapi import FakeApi

V01 = DATA / "v01"
SEEDS = ROOT / "seeds"
LIVE: dict[str, Any] = json.loads((V01 / "live.json").read_text(encoding="utf-8"))
TABLES = ("studies", "snapshots", "changes", "runs", "deliveries", "backfill_versions")


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    """The 0.1 database, as 0.1 left it."""
    path = tmp_path / "history.db"
    conn = sqlite3.connect(path)
    conn.executescript((V01 / "history.sql").read_text(encoding="utf-8"))
    conn.close()
    return path


def rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def columns(path: Path, table: str) -> list[str]:
    return [row[1] for row in rows(path, f"pragma table_info({table})")]


def upgraded(path: Path) -> Path:
    Store.open(path, registries.upgrades()).close()
    return path


def test_the_upgrade_keeps_every_row_and_renames_the_id(old_db: Path) -> None:
    before = {t: rows(old_db, f"select count(*) from {t}")[0][0] for t in TABLES}
    status_rows = rows(old_db, "select count(*) from status_history")[0][0]
    upgraded(old_db)
    assert {t: rows(old_db, f"select count(*) from {t}")[0][0] for t in TABLES} == before
    for table in (*TABLES[:3], "backfill_versions", "source_keys"):
        assert "trial_id" in columns(old_db, table) and "nct_id" not in columns(old_db, table)
    for table in ("studies", "snapshots", "changes"):
        assert rows(old_db, f"select distinct registry from {table}") == [("ctgov",)]
    assert rows(old_db, "select count(*) from status_history")[0][0] == status_rows
    view = rows(old_db, "select trial_id, registry, to_status from status_history limit 1")
    assert view and view[0][1] == "ctgov"


def test_stored_records_become_format_v2_with_their_new_hashes(old_db: Path) -> None:
    old = dict(rows(old_db, "select id, record from snapshots"))
    upgraded(old_db)
    stored = rows(old_db, "select id, record, content_hash from snapshots")
    for snapshot_id, record, digest in stored:
        parsed = orjson.loads(record)
        assert parsed == upgrade_v1(orjson.loads(old[snapshot_id]), "ctgov")
        assert digest == content_hash(parsed) and digest.startswith("v2:")
    latest = rows(
        old_db,
        "select count(*) from studies t join snapshots s on s.id = t.latest_snapshot_id "
        "where t.content_hash != s.content_hash",
    )
    assert latest == [(0,)]
    assert rows(old_db, "select count(*) from source_keys") == [(0,)]  # of the old format
    fields = Counter(f for (f,) in rows(old_db, "select field from changes"))
    assert fields["identification.trial_id"] == 1 and "identification.nct_id" not in fields


def test_upgraded_records_are_what_the_normalizer_makes_today(old_db: Path) -> None:
    """upgrade_v1 of a stored record equals a fresh normalization of the same raw record."""
    upgraded(old_db)
    store = Store.open(old_db)
    served = [
        *LIVE["studies"],
        parse_page((SEEDS / "NCT06009107.txt").read_text(encoding="utf-8"), "seed"),
    ]
    try:
        for study in served:
            trial_id = study["protocolSection"]["identificationModule"]["nctId"]
            stored = store.latest([trial_id]).get(trial_id)
            if stored is None:  # the study the registry now answers under another id
                continue
            fresh = REGISTRY.normalize(study, None)  # type: ignore[arg-type]
            assert stored.parsed() == fresh, trial_id
            assert stored.content_hash == content_hash(fresh)
    finally:
        store.close()


def test_the_ids_stored_records_name_elsewhere_are_filled_in(old_db: Path) -> None:
    """0010: each stored trial's ids in other registries, read from its newest record."""
    upgraded(old_db)
    links = rows(old_db, "select trial_id, registry, linked_id, kind from trial_links")
    assert ("NCT00791778", "ctgov", "2008-004429-41", "eudract") in links
    assert rows(old_db, "select count(*) from disagreements") == [(0,)]


def test_the_live_source_state_moves_into_the_keyed_state(old_db: Path) -> None:
    old_tables = {
        name: [
            dict(zip(columns(old_db, name), row, strict=True))
            for row in rows(old_db, f"select * from {name}")
        ]
        for name in ("ctgov_studies", "ctgov_queries", "ctgov_query_members")
    }
    release = rows(old_db, "select value from meta where key = 'ctgov.data_timestamp'")[0][0]
    upgraded(old_db)
    names = {n for (n,) in rows(old_db, "select name from sqlite_master where type = 'table'")}
    assert not names & set(old_tables)
    store = Store.open(old_db)
    state = store.state("ctgov")
    expected = from_tables(old_tables, {"ctgov.data_timestamp": release})
    try:
        for scope, values in expected.items():
            assert state.scope(scope) == values
        assert state.scope("studies")["NCT10000001"]["current_id"] == "NCT10000099"
        assert state.scope("studies")["NCT10000002"]["gone_since"]
        assert len(state.scope(f"query:{LIVE['query']['name']}")) == 6
        assert state.get("release", "data_timestamp") == release
        assert store.get_meta("ctgov.data_timestamp") is None
    finally:
        store.close()


def test_a_digest_queued_by_0_1_is_read_and_links_to_its_registry(old_db: Path) -> None:
    upgraded(old_db)
    pending = rows(old_db, "select payload from deliveries where status = 'pending'")
    assert pending
    for (payload,) in pending:
        digest = Digest.from_json(payload)
        assert digest.studies and all(s.trial_id.startswith("NCT") for s in digest.studies)
        url = digest.studies[0].history_url
        assert url == f"https://clinicaltrials.gov/study/{digest.studies[0].trial_id}?tab=history"


def test_an_old_database_is_not_opened_without_the_registries(old_db: Path) -> None:
    with pytest.raises(StoreError, match="made by an older trialmon"):
        Store.open(old_db)
    assert "nct_id" in columns(old_db, "studies")  # nothing half done


def trialmon(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def counts(path: Path) -> tuple[int, int]:
    return rows(path, "select (select count(*) from snapshots), (select count(*) from changes)")[0]


def test_cycles_over_the_same_records_after_the_upgrade_report_nothing(
    tmp_path: Path, old_db: Path, fake_api: FakeApi
) -> None:
    before = counts(old_db)
    files = tmp_path / "files.toml"
    files.write_text(
        f'database = "{old_db}"\n[watch]\nstudies = ["NCT06009107"]\n'  # (seeds/ has a CTIS trial)
        f'[notify.log]\nfile = "{tmp_path / "log"}"\n'
    )
    result = trialmon(files, "run", "--source", str(SEEDS))
    assert result.exit_code == 0, result.output
    assert "1 unchanged, 0 failed; 0 changes recorded" in result.output
    fake_api.add(*LIVE["studies"])
    fake_api.data_timestamp = "2026-09-04T09:00:06"  # a new release: every watermark is asked
    live = tmp_path / "live.toml"
    studies = ", ".join(f'"{n}"' for n in LIVE["watched"])
    live.write_text(
        f'database = "{old_db}"\nsource = "ctgov"\n[ctgov]\nbase_url = "{fake_api.url}"\n'
        f"requests_per_minute = 6000\n[watch]\nstudies = [{studies}]\n"
        f'[[watch.queries]]\nname = "{LIVE["query"]["name"]}"\n'
        f'params = {{ "query.cond" = "{LIVE["query"]["params"]["query.cond"]}" }}\n'
        f'[notify.log]\nfile = "{tmp_path / "log"}"\n'
    )
    # 0.1 wrote this database with two configs (offline and live, as make_history_db.py
    # did); one database serves one config now, so the live one takes it over.
    for args in (("run", "--take-over"), ("run", "--force")):
        result = trialmon(live, *args)
        assert result.exit_code == 0, result.output
        assert "0 failed; 0 changes recorded" in result.output, result.output
    assert counts(old_db) == before


# ---------------------------------------------------------------- every schema main ever had

SCHEMAS = sorted((DATA / "schemas").glob("*.sql"))
SEEDS_V01 = [SEEDS / "earlier" / "NCT06009107.txt", SEEDS / "NCT06009107.txt"]


def load_dump(dump: Path, path: Path) -> Path:
    conn = sqlite3.connect(path)
    try:
        conn.executescript(dump.read_text(encoding="utf-8"))
    finally:
        conn.close()
    return path


def view_sql(path: Path) -> dict[str, str]:
    return dict(rows(path, "select name, sql from sqlite_master where type = 'view'"))


@pytest.mark.parametrize("dump", SCHEMAS, ids=[p.stem for p in SCHEMAS])
def test_every_schema_of_main_upgrades_to_todays(dump: Path, tmp_path: Path) -> None:
    """tests/data/schemas/: a database of each schema main's history had, made by that commit's
    own code (make_schemas.py). Opened today: every migration applied, every row kept, every
    view today's, the per-sponsor question answered for every date change, and a cycle over
    the same records records no change."""
    from monitor.store import sqlviews

    path = load_dump(dump, tmp_path / "history.db")
    before = {t: rows(path, f"select count(*) from {t}")[0][0] for t in ("snapshots", "changes")}
    upgraded(path)
    fresh = upgraded(tmp_path / "fresh.db")
    applied = "select migration_set, name from _sqlite_migrations"
    assert set(rows(path, applied)) >= set(rows(fresh, applied))
    assert view_sql(path) == {name: sqlviews.view_sql(name) for name in sqlviews.VIEWS}
    assert {t: rows(path, f"select count(*) from {t}")[0][0] for t in before} == before
    shifts = rows(path, "select lead_sponsor, count(*) from date_shifts group by 1")
    v2 = rows(path, "select count(*) from snapshots where content_hash like 'v2:%'")[0][0]
    if before["changes"] and v2 == before["snapshots"]:  # records today's code can read
        assert shifts == [("Juventas Cell Therapy Ltd.", 2)], shifts
    for seed in SEEDS_V01:
        files = tmp_path / seed.parent.name
        files.mkdir(exist_ok=True)
        (files / seed.name).write_bytes(seed.read_bytes())
    config = tmp_path / "config.toml"
    config.write_text(f'database = "{path}"\n[notify.log]\nfile = "{tmp_path / "log"}"\n')
    result = trialmon(config, "run", "--source", str(tmp_path / SEEDS.name))
    assert result.exit_code == 0, result.output
    assert "0 changes recorded" in result.output, result.output


def test_a_view_changed_without_a_migration_is_recreated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Views follow their definition in monitor/store/sqlviews.py, not the migrations: a
    database whose views are older than the code gets today's when opened. (Before, views
    changed without a migration stayed as the first trialmon made them: a database of an
    earlier commit had ``date_shifts.lead_sponsor`` null in every row.)"""
    from monitor.store import sqlviews

    path = load_dump(SCHEMAS[-1], tmp_path / "history.db")
    upgraded(path)
    changed = sqlviews.VIEWS["date_shifts"].replace(
        "cut.change_id,", "cut.change_id, 'today' AS made_by,", 1
    )
    monkeypatch.setitem(sqlviews.VIEWS, "date_shifts", changed)
    upgraded(path)
    assert {r[0] for r in rows(path, "select made_by from date_shifts")} == {"today"}


def test_a_read_only_database_keeps_its_older_views_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Query commands read tables, not views: a copy this process cannot write is read as it
    is (recreating its views would need the write lock)."""
    from sqlite_utils import Database

    from monitor.store import migrations, sqlviews

    path = upgraded(load_dump(SCHEMAS[-1], tmp_path / "history.db"))
    monkeypatch.setitem(sqlviews.VIEWS, "date_shifts", "SELECT 1 AS one")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        migrations.refresh_views(Database(conn))
    finally:
        conn.close()
    assert "out of date" in caplog.text
    assert "lead_sponsor" in view_sql(path)["date_shifts"]

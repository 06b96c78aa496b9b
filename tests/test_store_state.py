"""A registry's keyed state in the store, and how a registry's older tables move into it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from monitor.models import Change, RecordEvent, StateWrite
from monitor.store import RegistryState, StateUpgrade, Store, Upgrades


def test_values_by_scope_and_key(store: Store) -> None:
    state = store.state("demo")
    state.put("queries", "q1", {"last_success": "2026-09-01T00:00:00Z", "n": 2})
    state.put_many("query:q1", {"A": "2026-09-01T00:00:00Z", "B": "2026-09-02T00:00:00Z"})
    assert state.get("queries", "q1") == {"last_success": "2026-09-01T00:00:00Z", "n": 2}
    assert state.get("queries", "q2") is None
    assert state.scope("query:q1") == {"A": "2026-09-01T00:00:00Z", "B": "2026-09-02T00:00:00Z"}
    state.replace("query:q1", {"C": "x"})
    assert state.scope("query:q1") == {"C": "x"}
    state.delete("query:q1", "C")
    assert state.scope("query:q1") == {}
    assert store.state("other").get("queries", "q1") is None  # each registry its own


def test_an_events_state_writes_commit_with_its_change(store: Store) -> None:
    """A change row and the state it teaches are one transaction: both or neither."""
    event = RecordEvent(
        "NCT00000001",
        "left_query",
        query="q1",
        writes=(StateWrite("demo", "query:q1", "NCT00000001", None),),
    )
    change = Change("record", "record.query", "minor", "q1", None, 'No longer matches query "q1"')
    store.state("demo").put("query:q1", "NCT00000001", "2026-09-01T00:00:00Z")
    real = RegistryState.apply

    def broken(self: RegistryState, writes: Any) -> None:
        real(self, writes)
        raise RuntimeError("disk gone")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RegistryState, "apply", broken)
        with pytest.raises(RuntimeError):
            store.record_event(event, change, "2026-09-02T00:00:00Z", None)
    assert store.state("demo").scope("query:q1") == {"NCT00000001": "2026-09-01T00:00:00Z"}
    assert store.db.execute("select count(*) from changes").fetchone()[0] == 0
    store.record_event(event, change, "2026-09-02T00:00:00Z", None)
    assert store.state("demo").scope("query:q1") == {}
    assert store.db.execute("select count(*) from changes").fetchone()[0] == 1


def convert(tables: Mapping[str, list[dict[str, Any]]], meta: Mapping[str, str]) -> Any:
    rows = tables.get("demo_members", [])
    return {"members": {r["id"]: r["seen"] for r in rows}, "release": dict(meta)}


def test_a_registrys_old_tables_move_into_its_state_once(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    store = Store.open(path)
    store.db.table("demo_members").insert_all([{"id": "A", "seen": "1"}, {"id": "B", "seen": "2"}])
    store.set_meta("demo.release", "R1")
    store.close()
    upgrade = StateUpgrade("0001_keyed", ("demo_members",), ("demo.release",), convert)
    upgrades = Upgrades(state={"demo": (upgrade,)})
    store = Store.open(path, upgrades)
    assert store.state("demo").scope("members") == {"A": "1", "B": "2"}
    assert store.state("demo").scope("release") == {"demo.release": "R1"}
    assert "demo_members" not in store.db.table_names() and store.get_meta("demo.release") is None
    store.state("demo").put("members", "C", "3")
    store.close()
    store = Store.open(path, upgrades)  # applied once: recorded under trialmon.demo
    assert store.state("demo").scope("members") == {"A": "1", "B": "2", "C": "3"}
    store.close()

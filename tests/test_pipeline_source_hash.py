"""A record whose source hash matches its newest snapshot's is not normalized again.

Built on the real API record tests/data/study_NCT02576665_terminated.json (edited copies
below are synthetic).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from monitor import normalize, registries
from monitor.config import ChangesConfig
from monitor.models import RawRecord
from monitor.pipeline import Cycle, run_cycle
from monitor.registries.ctgov import REGISTRY
from monitor.registries.ctgov.normalize import source_hash
from monitor.store import Store
from tests.conftest import DATA

NCT = "NCT02576665"


@pytest.fixture
def study() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads((DATA / "study_NCT02576665_terminated.json").read_bytes())
    return data


def cycle_over(store: Store, *studies: dict[str, Any]) -> Any:
    cycle = Cycle(store, ChangesConfig(), datetime(2026, 9, 1, tzinfo=UTC), "files")
    items = [RawRecord(NCT, s, "files", f"test-{n}") for n, s in enumerate(studies)]
    return run_cycle(cycle, items)


@pytest.fixture
def normalized(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Records the id of every study the pipeline normalizes."""
    calls: list[str] = []

    def counting(study: dict[str, Any], today: Any = None) -> dict[str, Any]:
        calls.append(study["protocolSection"]["identificationModule"]["nctId"])
        return REGISTRY.normalize(study, today)

    counted = dataclasses.replace(REGISTRY, normalize=counting)
    monkeypatch.setitem(registries.REGISTRIES, REGISTRY.kind, counted)
    yield calls


def test_the_same_source_is_not_normalized_again(
    store: Store, study: dict[str, Any], normalized: list[str]
) -> None:
    cycle_over(store, study)
    next_day = copy.deepcopy(study)
    next_day["derivedSection"]["miscInfoModule"]["versionHolder"] = "2026-09-02"
    report = cycle_over(store, next_day)
    assert normalized == [NCT]
    assert (report.checked, report.unchanged, report.changed) == (1, 1, 0)
    assert store.study(NCT)["last_checked"] == "2026-09-01T00:00:00Z"  # type: ignore[index]


def test_a_moved_source_of_the_same_content_is_remembered(
    store: Store, study: dict[str, Any], normalized: list[str]
) -> None:
    cycle_over(store, study)
    reordered = copy.deepcopy(study)  # same content, other bytes: modules in another order
    reordered["protocolSection"] = dict(reversed(list(study["protocolSection"].items())))
    assert source_hash(reordered) != source_hash(study)
    assert cycle_over(store, reordered).unchanged == 1
    assert cycle_over(store, reordered).unchanged == 1
    assert normalized == [NCT, NCT]  # the first cycle and the first reordered one
    assert store.source_hashes([NCT]) == {NCT: source_hash(reordered)}
    assert store.db.execute("select count(*) from snapshots").fetchone()[0] == 1


def test_a_changed_source_is_normalized_diffed_and_stored_with_its_hash(
    store: Store, study: dict[str, Any]
) -> None:
    cycle_over(store, study)
    changed = copy.deepcopy(study)
    changed["protocolSection"]["statusModule"]["overallStatus"] = "WITHDRAWN"
    report = cycle_over(store, changed)
    assert report.changed == 1
    summaries = [c.summary for _, c in report.changes]
    assert "Overall status: TERMINATED → WITHDRAWN" in summaries
    assert store.source_hashes([NCT]) == {NCT: source_hash(changed)}


def test_a_snapshot_without_a_source_hash_is_normalized(
    store: Store, study: dict[str, Any], normalized: list[str]
) -> None:
    cycle_over(store, study)
    store.db.execute("delete from source_keys")
    store.db.conn.commit()
    assert cycle_over(store, study).unchanged == 1
    assert normalized == [NCT, NCT]


def test_the_source_hash_covers_what_normalize_reads_and_the_format(
    study: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = source_hash(study)
    assert digest is not None and digest.startswith(f"{normalize.HASH_VERSION}:")
    other = copy.deepcopy(study)
    other["derivedSection"] = {}
    assert source_hash(other) == digest
    other["hasResults"] = True
    assert source_hash(other) != digest
    monkeypatch.setattr(normalize, "HASH_VERSION", "v999")
    assert source_hash(study) != digest
    assert source_hash({"protocolSection": {"n": 2**70}}) is None


def test_an_error_mid_study_leaves_no_snapshot_without_its_changes(
    store: Store, study: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    cycle_over(store, study)
    changed = copy.deepcopy(study)
    changed["protocolSection"]["statusModule"]["overallStatus"] = "WITHDRAWN"

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(Store, "_upsert_study", crash)  # after the snapshot and its changes
    with pytest.raises(RuntimeError):
        cycle_over(store, changed)
    count = store.db.execute("select count(*) from snapshots").fetchone()[0]
    assert (count, store.db.execute("select count(*) from changes").fetchone()[0]) == (1, 0)
    monkeypatch.undo()
    assert cycle_over(store, changed).changed == 1  # checked again at the next cycle


def test_offline_files_unchanged_but_for_the_daily_stamp_are_not_even_parsed(
    tmp_path: Path, study: dict[str, Any], normalized: list[str]
) -> None:
    from monitor.sources.files import iter_records

    store = Store.open(tmp_path / "h.db")
    path = tmp_path / "records" / "study.json"
    path.parent.mkdir()

    def release(day: int, status: str = "TERMINATED") -> Any:
        study["derivedSection"]["miscInfoModule"]["versionHolder"] = f"2026-09-{day:02d}"
        study["protocolSection"]["statusModule"]["overallStatus"] = status
        path.write_bytes(orjson.dumps(study))
        now = datetime(2026, 9, day, tzinfo=UTC)
        cycle = Cycle(store, ChangesConfig(), now, "files")
        return run_cycle(cycle, iter_records(path.parent, (), store.source_hashes))

    assert release(1).new == 1
    assert release(2).unchanged == 1
    assert release(3, "WITHDRAWN").changed == 1
    assert release(4, "WITHDRAWN").unchanged == 1
    assert normalized == [NCT, NCT]  # the first release and the withdrawal
    assert store.study(NCT)["last_checked"] == "2026-09-04T00:00:00Z"  # type: ignore[index]
    store.close()


def test_a_key_holds_only_while_its_snapshot_is_the_newest(
    store: Store, study: dict[str, Any]
) -> None:
    cycle_over(store, study)
    assert store.source_hashes([NCT]) == {NCT: source_hash(study)}
    store.db.execute("update studies set latest_snapshot_id = 999")  # another writer moved it
    assert store.source_hashes([NCT]) == {}

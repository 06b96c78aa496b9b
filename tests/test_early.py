"""The first pass started before the heavy imports (monitor.early): taken only when it is the
scan the cycle asks for, discarded otherwise, and a cycle through it stores what one without it
stores.

Fixtures (tests/data/README.md): SYNTHETIC one-study files cloned from the real NCT02576665
record (its id replaced), the real search page of 5 studies.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from monitor import __main__ as entry
from monitor import byteshapes, early, firstpass, registries, workers
from monitor.firstpass import scan
from monitor.registries.ctgov.byteshape import BYTES as CTGOV
from monitor.registries.ctgov.byteshape import KEY_PREFIX
from monitor.sources.fileread import Reader
from monitor.sources.listing import record_files
from tests.conftest import DATA

STUDY = "study_NCT02576665_terminated.json"


@pytest.fixture(autouse=True)
def parallel(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Workers for any directory, on two of them; records whether a scan took the early one."""
    monkeypatch.setattr(firstpass, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(firstpass, "FILES_PER_TASK", 7)
    monkeypatch.setattr(workers, "usable_cores", lambda: 2)
    taken: list[bool] = []
    take = firstpass._take_early

    def spy(*args: Any) -> firstpass.Early | None:
        found = take(*args)
        taken.append(found is not None)
        return found

    monkeypatch.setattr(firstpass, "_take_early", spy)
    yield taken
    early.discard()
    assert not firstpass._early


def clones(directory: Path, count: int = 30, status: bytes = b"TERMINATED") -> list[str]:
    directory.mkdir(exist_ok=True)
    raw = (DATA / STUDY).read_bytes()
    for n in range(count):
        clone = raw.replace(b"NCT02576665", b"NCT9%07d" % n)
        if n == 3:
            clone = clone.replace(b'"TERMINATED"', b'"%s"' % status)
        (directory / f"NCT9{n:07d}.json").write_bytes(clone)
    return sorted(str(p) for p in directory.iterdir())


def candidates(paths: list[str], processes: int | None = None) -> list[Any]:
    return list(scan(paths, CTGOV, KEY_PREFIX, processes, candidate=True))


def test_the_shape_guessed_is_the_one_the_reader_keys_files_with() -> None:
    keyed = Reader(list(registries.offline_shapes())).keyed
    assert keyed is not None and (keyed.shape, keyed.prefix) == byteshapes.KEYED


def test_the_source_is_read_from_a_run_command_line_only() -> None:
    assert early.source_of(["--config", "c.toml", "run", "--source", "d"]) == "d"
    assert early.source_of(["run", "--force", "--source=d"]) == "d"
    assert early.source_of(["run"]) is None
    assert early.source_of(["run", "--source"]) is None
    assert early.source_of(["status", "--source", "d"]) is None


def test_plain_json_files_are_listed_as_the_cycle_lists_them(tmp_path: Path) -> None:
    paths = clones(tmp_path / "d", 3)
    (tmp_path / "d" / ".hidden.json").write_bytes(b"{}")
    (tmp_path / "d" / "README.json").write_bytes(b"{}")
    (tmp_path / "d" / "sub.json").mkdir()
    listed, _ = record_files(tmp_path / "d", registries.offline_shapes()[0][1].suffixes)
    assert early.json_files(str(tmp_path / "d")) == listed == paths
    assert early.json_files(str(tmp_path / "none")) == []


def test_the_scan_asked_for_takes_the_early_one(tmp_path: Path, parallel: list[bool]) -> None:
    paths = clones(tmp_path / "d")
    expected = candidates(paths, 1)
    assert early.start(["run", "--source", str(tmp_path / "d")])
    assert not early.start(["run", "--source", str(tmp_path / "d")])  # one at a time
    assert candidates(paths) == expected
    assert parallel == [False, True] and not firstpass._early


@pytest.mark.parametrize("other", ["paths", "processes", "verified"])
def test_another_scan_discards_it_and_runs_as_always(
    tmp_path: Path, parallel: list[bool], other: str
) -> None:
    paths = clones(tmp_path / "d")
    assert early.start(["run", "--source", str(tmp_path / "d")])
    if other == "paths":
        assert candidates(paths[1:]) == candidates(paths[1:], 1)
    elif other == "processes":
        assert candidates(paths, 1) == candidates(paths, 2)
    else:
        verified = list(scan(paths, CTGOV, KEY_PREFIX, candidate=False))
        assert verified == list(scan(paths, CTGOV, KEY_PREFIX, 1, candidate=False))
    assert parallel[0] is False and not firstpass._early


def test_one_not_taken_is_discarded_at_the_end(tmp_path: Path) -> None:
    clones(tmp_path / "d")
    assert early.start(["run", "--source", str(tmp_path / "d")])
    early.discard()
    assert not firstpass._early


def cycle(root: Path, source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = root / "config.toml"
    config.write_text(f'database = "{root / "history.db"}"\n')
    argv = ["trialmon", "--config", str(config), "run", "--quiet", "--source", str(source)]
    monkeypatch.setattr("sys.argv", argv)
    with pytest.raises(SystemExit) as ended:
        entry.main()
    assert ended.value.code in (0, None)


def stored(db: Path) -> dict[str, list[Any]]:
    with closing(sqlite3.connect(db)) as conn:
        return {
            "snapshots": conn.execute(
                "select trial_id, content_hash from snapshots order by 1, 2"
            ).fetchall(),
            "keys": conn.execute(
                "select trial_id, source_key from source_keys order by 1"
            ).fetchall(),
            "changes": conn.execute(
                "select trial_id, category, field, old_value, new_value from changes order by 1, 3"
            ).fetchall(),
        }


def test_a_cycle_through_it_stores_what_one_without_it_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: list[bool]
) -> None:
    first, second = tmp_path / "r1", tmp_path / "r2"
    clones(first)
    clones(second, status=b"WITHDRAWN")
    shutil.copy(DATA / "studies_page1_phelan.json", second / "page.json")
    for root, started in ((tmp_path / "with", True), (tmp_path / "without", False)):
        root.mkdir()
        monkeypatch.setattr(early, "start", early.start if started else lambda argv: False)
        cycle(root, first, monkeypatch)
        cycle(root, second, monkeypatch)
    assert parallel == [True, True, False, False]
    with_early, without = (
        stored(tmp_path / "with" / "history.db"),
        stored(tmp_path / "without" / "history.db"),
    )
    assert with_early == without
    assert with_early["changes"] and {c[0] for c in with_early["changes"]} == {"NCT90000003"}

"""The offline reader's first pass on every core (monitor.firstpass): the same answers in order,
in worker processes as in this one.

Fixtures (tests/data/README.md): real API v2 studies, the real search page of 5 studies, the
real seed text page, and SYNTHETIC copies of them under other ids (one-study files cloned from
the real NCT02576665 record, its id replaced).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from monitor import firstpass, workers
from monitor.filekey import candidate_key, key_of
from monitor.firstpass import PARSE, One, Page, scan, verify
from monitor.registries.ctgov.byteshape import BYTES as CTGOV
from monitor.registries.ctgov.byteshape import KEY_PREFIX
from tests.conftest import DATA

STUDY = "study_NCT02576665_terminated.json"


def corpus(tmp_path: Path, clones: int = 40) -> list[str]:
    raw = (DATA / STUDY).read_bytes()
    for n in range(clones):
        (tmp_path / f"NCT9{n:07d}.json").write_bytes(raw.replace(b"NCT02576665", b"NCT9%07d" % n))
    shutil.copy(DATA / "studies_page1_phelan.json", tmp_path / "page.json")
    shutil.copy(DATA / "seed_NCT06009107.txt", tmp_path / "seed.txt")
    (tmp_path / "broken.json").write_bytes(b'{"protocolSection": ')
    return sorted(str(p) for p in tmp_path.iterdir())


def answers(paths: list[str], processes: int, candidate: bool = False) -> list:
    return list(scan(paths, CTGOV, KEY_PREFIX, processes, candidate=candidate))


def test_each_file_is_one_record_a_page_or_to_be_parsed(tmp_path: Path) -> None:
    paths = corpus(tmp_path, 2)
    found = dict(answers(paths, 1))
    by_name = {Path(paths[n]).name: a for n, a in found.items()}
    raw = (tmp_path / "NCT90000001.json").read_bytes()
    expected = One("NCT90000001", key_of(raw, CTGOV, KEY_PREFIX), size=len(raw))
    assert by_name["NCT90000001.json"] == expected
    assert isinstance(by_name["page.json"], Page) and len(by_name["page.json"].slices) == 5
    assert by_name["seed.txt"] is PARSE and by_name["broken.json"] is PARSE
    assert sorted(found) == list(range(len(paths)))


def test_worker_processes_give_the_same_answers_in_the_same_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = corpus(tmp_path)
    monkeypatch.setattr(firstpass, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(firstpass, "FILES_PER_TASK", 7)
    alone = answers(paths, 1)
    assert answers(paths, 2) == alone
    assert answers(paths, 2, candidate=True) == answers(paths, 1, candidate=True)


def test_candidates_are_the_first_id_and_a_key_to_compare(tmp_path: Path) -> None:
    paths = corpus(tmp_path, 1)
    found = {Path(paths[n]).name: a for n, a in answers(paths, 1, candidate=True)}
    raw = (tmp_path / "NCT90000000.json").read_bytes()
    expected = One("NCT90000000", candidate_key(raw, CTGOV, KEY_PREFIX), candidate=True)
    assert found["NCT90000000.json"] == expected
    assert isinstance(found["page.json"], Page) and found["page.json"].candidate
    assert found["broken.json"] is PARSE  # no id at all: parsed, which reports why
    assert verify(str(tmp_path / "NCT90000000.json"), CTGOV, KEY_PREFIX) == One(
        "NCT90000000", key_of(raw, CTGOV, KEY_PREFIX), size=len(raw)
    )


def test_a_file_that_names_two_records_is_no_one_record_once_verified(tmp_path: Path) -> None:
    two = orjson.dumps([{"nctId": "NCT00000001"}, {"nctId": "NCT00000002"}])
    (tmp_path / "two.json").write_bytes(two)
    [(_, candidate)] = answers([str(tmp_path / "two.json")], 1, candidate=True)
    assert candidate == One("NCT00000001", candidate_key(two, CTGOV, KEY_PREFIX), True)
    assert verify(str(tmp_path / "two.json"), CTGOV, KEY_PREFIX) is PARSE


def test_an_unreadable_file_is_left_to_the_parse_that_reports_it(tmp_path: Path) -> None:
    assert answers([str(tmp_path / "gone.json")], 1) == [(0, PARSE)]


def test_tasks_hold_consecutive_files_by_count_and_bytes() -> None:
    tasks = list(firstpass._tasks([10] * 600))
    assert [len(t) for t in tasks] == [256, 256, 88]
    big = list(firstpass._tasks([5 << 20] * 3 + [10] * 3))
    assert [list(t) for t in big] == [[0], [1], [2, 3, 4, 5]]


def test_spawned_workers_too_beside_other_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A daemon runs other threads: forking then could deadlock, so workers are spawned."""
    import threading

    paths = corpus(tmp_path, 8)
    monkeypatch.setattr(firstpass, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(firstpass, "FILES_PER_TASK", 3)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert workers.context().get_start_method() == "spawn"
        assert answers(paths, 2) == answers(paths, 1)
    finally:
        stop.set()
        other.join()


def test_the_size_a_record_may_have_bounds_a_one_record_file_not_a_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page is split, never parsed whole: the reader refuses each record over the limit; a
    one-study file over the limit is left to the parse, which refuses it with its message."""
    paths = corpus(tmp_path, 1)
    limit = (tmp_path / "page.json").stat().st_size // 3  # the page is over it, its records not
    assert (tmp_path / "NCT90000000.json").stat().st_size > limit
    monkeypatch.setattr(firstpass, "MAX_RECORD_BYTES", limit)
    for candidate in (False, True):
        found = {Path(paths[n]).name: a for n, a in answers(paths, 1, candidate)}
        assert isinstance(found["page.json"], Page) and len(found["page.json"].slices) == 5
        assert found["NCT90000000.json"] is PARSE


def test_a_page_of_any_layout_is_split_by_its_brackets(tmp_path: Path) -> None:
    doc = orjson.loads((DATA / "studies_page1_phelan.json").read_bytes())
    sorted_page = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
    (tmp_path / "sorted.json").write_bytes(sorted_page)
    (tmp_path / "numbers.json").write_bytes(b'{"studies": [1, 2]}')
    paths = sorted(str(p) for p in tmp_path.iterdir())
    found = {Path(paths[n]).name: a for n, a in answers(paths, 1)}
    assert found["numbers.json"] is PARSE
    page = found["sorted.json"]
    assert isinstance(page, Page)
    assert [orjson.loads(sorted_page[s.start : s.end]) for s in page.slices] == doc["studies"]

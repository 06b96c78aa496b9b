"""Page files in the offline DIR source: read one record at a time, never parsed whole.

Fixtures (tests/data/README.md): real API v2 studies and the real search page of 5 studies;
the pages written here from them (compact as ``GET /api/v2/studies`` sends them, or saved with
sorted keys and indented) are SYNTHETIC pages of real studies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from monitor import firstpass
from monitor.filekey import key_of
from monitor.models import RawRecord, StudyError, Unchanged
from monitor.registries.ctgov.byteshape import BYTES, KEY_PREFIX
from monitor.sources import fileread, files
from monitor.sources.fileread import Reader
from monitor.sources.files import iter_records
from tests.conftest import DATA

REAL = [
    "study_NCT00791778_completed_with_results.json",
    "study_NCT02576665_terminated.json",
    "NCT06009107_api_synthetic.json",
    "history_version_NCT03690141.json",
]
IDS = ["NCT00791778", "NCT02576665", "NCT06009107", "NCT03690141"]


def studies() -> list[dict[str, Any]]:
    found = []
    for name in REAL:
        doc = orjson.loads((DATA / name).read_bytes())
        found.append(doc.get("study", doc))
    return found


def compact_page(items: list[dict[str, Any]]) -> bytes:
    return b'{"studies":[' + b",".join(map(orjson.dumps, items)) + b'],"nextPageToken":"x"}'


def sorted_page(items: list[Any]) -> bytes:
    doc = {"studies": items, "nextPageToken": "x"}
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)


def ranges(raw: bytes) -> list[bytes]:
    """Each study's bytes, as the page holds them (found the slow way, by parsing)."""
    out, at = [], 0
    for study in orjson.loads(raw)["studies"]:
        text = orjson.dumps(study)
        at = raw.index(text, at)
        out.append(raw[at : at + len(text)])
    return out


def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every parse of a whole file (its name) and of one record of a page (name[place])."""
    seen: list[str] = []
    read, element = files.read, Reader.element

    def whole(reader: Any, path: str, raw: bytes | None = None) -> Any:
        seen.append(Path(path).name)
        return read(reader, path, raw)

    def alone(reader: Reader, path: str, raw: bytes, position: int) -> Any:
        seen.append(f"{Path(path).name}[{position}]")
        return element(reader, path, raw, position)

    monkeypatch.setattr(files, "read", whole)
    monkeypatch.setattr(Reader, "element", alone)
    return seen


def test_records_whose_keys_did_not_move_are_unchanged_and_only_the_others_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = compact_page(studies())
    (tmp_path / "page.json").write_bytes(raw)
    keys = [key_of(r, BYTES, KEY_PREFIX) for r in ranges(raw)]
    stored = {IDS[0]: keys[0], IDS[2]: keys[2], IDS[3]: keys[3], IDS[1]: "v2:file:older"}
    seen = parses(monkeypatch)
    items = list(iter_records(tmp_path, (), lambda ids: {i: stored[i] for i in ids}))
    assert items[0] == Unchanged((IDS[0], IDS[2], IDS[3]))  # one item, no step per study
    assert [(type(i).__name__, i.trial_id) for i in items[1:]] == [("RawRecord", IDS[1])]
    record = items[1]
    assert isinstance(record, RawRecord) and record.source_key == keys[1]
    assert record.data == studies()[1] and record.size == len(ranges(raw)[1])
    assert seen == ["page.json[1]"]


def test_a_page_over_the_size_of_a_record_is_read_one_record_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The limit holds per record: the page is over it, each record but one under it."""
    items = studies()
    raw = compact_page(items)
    sizes = sorted(len(r) for r in ranges(raw))
    limit = sizes[-2] + 1  # the largest record is over it
    for module in (fileread, firstpass):
        monkeypatch.setattr(module, "MAX_RECORD_BYTES", limit)
    (tmp_path / "page.json").write_bytes(raw)
    found = list(iter_records(tmp_path, ()))
    records = [i for i in found if isinstance(i, RawRecord)]
    (error,) = [i for i in found if isinstance(i, StudyError)]
    largest = max(range(4), key=lambda n: len(ranges(raw)[n]))
    assert sorted(r.trial_id for r in records) == sorted(
        i for n, i in enumerate(IDS) if n != largest
    )
    assert error.message == (
        f"{tmp_path / 'page.json'}: studies[{largest}]: {sizes[-1]:,} bytes, more than a record "
        "may have (10 MB): not read"
    )


@pytest.mark.parametrize("layout", [compact_page, sorted_page], ids=["compact", "sorted"])
def test_every_record_of_a_page_is_read_and_keyed_whatever_its_layout(
    tmp_path: Path, layout: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "page.json").write_bytes(layout(studies()))
    first = list(iter_records(tmp_path, ()))
    assert [r.trial_id for r in first] == IDS
    assert all(isinstance(r, RawRecord) and r.source_key for r in first)
    stored = {r.trial_id: r.source_key for r in first if isinstance(r, RawRecord)}
    seen = parses(monkeypatch)
    again = list(iter_records(tmp_path, (), lambda ids: {i: stored[i] for i in ids}))
    assert again == [Unchanged(tuple(IDS))]
    assert seen == []
    monkeypatch.setattr(files, "RUN", 2)  # runs of at most RUN studies
    again = list(iter_records(tmp_path, (), lambda ids: {i: stored[i] for i in ids}))
    assert again == [Unchanged(tuple(IDS[at : at + 2])) for at in range(0, len(IDS), 2)]


def test_an_element_without_an_id_is_its_error_and_the_others_are_read(tmp_path: Path) -> None:
    items: list[Any] = studies()
    del items[1]["protocolSection"]["identificationModule"]["nctId"]
    items.insert(3, [1, 2])
    for name, layout in (("compact.json", compact_page), ("sorted.json", sorted_page)):
        directory = tmp_path / name
        directory.mkdir()
        (directory / name).write_bytes(layout(items))
        found = list(iter_records(directory, ()))
        assert [i.trial_id for i in found if isinstance(i, RawRecord)] == [IDS[0], IDS[2], IDS[3]]
        errors = [i.message for i in found if isinstance(i, StudyError)]
        assert [e.split(": ")[1] for e in errors] == ["studies[1]", "studies[3]"], errors


def test_a_page_that_changes_between_the_passes_is_read_as_it_is_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = tmp_path / "page.json"
    before = studies()
    page.write_bytes(compact_page(before))
    after = studies()
    after[0]["protocolSection"]["statusModule"]["overallStatus"] = "WITHDRAWN"
    after.insert(0, after.pop())  # the records move in the file
    duplicates = files._duplicates

    def rewrite(*args: Any) -> Any:  # between the first pass and the second
        page.write_bytes(compact_page(after))
        return duplicates(*args)

    monkeypatch.setattr(files, "_duplicates", rewrite)
    found = list(iter_records(tmp_path, ()))
    records = {r.trial_id: r for r in found if isinstance(r, RawRecord)}
    assert sorted(records) == sorted(IDS) and len(found) == 4
    assert records[IDS[0]].data["protocolSection"]["statusModule"]["overallStatus"] == "WITHDRAWN"
    raw = page.read_bytes()
    assert records[IDS[0]].source_key == key_of(ranges(raw)[1], BYTES, KEY_PREFIX)


def test_the_first_pass_on_worker_processes_reads_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "page.json").write_bytes(compact_page(studies()))
    (tmp_path / "sorted.json").write_bytes(
        sorted_page(studies()[:1]).replace(b"NCT00791778", b"NCT90000001")
    )
    for n in range(30):
        one = (DATA / REAL[1]).read_bytes().replace(b"NCT02576665", b"NCT8%07d" % n)
        (tmp_path / f"{n}.json").write_bytes(one)
    alone = list(iter_records(tmp_path, (), workers=1))
    monkeypatch.setattr(firstpass, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(firstpass, "FILES_PER_TASK", 4)
    assert list(iter_records(tmp_path, (), workers=2)) == alone
    assert len(alone) == 35


def test_what_a_page_file_may_hold_is_bounded_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = compact_page(studies())
    (tmp_path / "page.json").write_bytes(raw)
    (tmp_path / "numbers.json").write_bytes(b'{"studies": [' + b"1, " * 100 + b"2]}")
    for module in (fileread, firstpass):
        monkeypatch.setattr(module, "MAX_PAGE_BYTES", len(raw) - 1)
        monkeypatch.setattr(module, "MAX_RECORD_BYTES", 200)
    found = [i.message for i in iter_records(tmp_path, ()) if isinstance(i, StudyError)]
    assert found == [
        f"{tmp_path / 'numbers.json'}: 316 bytes of a page file whose records cannot be read one "
        "at a time (not valid JSON, or not a list of records), more than a record may have "
        "(10 MB): not read",
        f"{tmp_path / 'page.json'}: {len(raw):,} bytes, more than a page file may have (200 MB): "
        "not read",
    ]

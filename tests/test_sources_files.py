"""The offline DIR source.

Fixtures in tests/data (see tests/data/README.md):
- ``study_NCT02576665_terminated.json``: real, from ../shared/ctgov-samples (API v2 study).
- ``studies_page1_phelan.json``: real, from ../shared/ctgov-samples (a studies page).
- ``history_version_NCT03690141.json``: SYNTHETIC wrapper ``{"studyVersion": 9, "study": ...}``
  around the real ``study`` object of ../shared/ctgov-samples/int_history_NCT03690141.json.
- ``seed_NCT06009107.txt``: real, byte-identical copy of the seed document.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest

from monitor.errors import SourceError
from monitor.filekey import key_of
from monitor.limits import MAX_RECORD_BYTES
from monitor.models import RawRecord, StudyError
from monitor.registries.ctgov.byteshape import BYTES, KEY_PREFIX
from monitor.registries.ctgov.seedtext import parse_page
from monitor.sources.files import iter_records

DATA = Path(__file__).parent / "data"


def file_key(raw: bytes) -> str | None:
    return key_of(raw, BYTES, KEY_PREFIX)


SEEDS = Path(__file__).parent.parent / "seeds"
STUDY = "study_NCT02576665_terminated.json"
PAGE = "studies_page1_phelan.json"
HISTORY = "history_version_NCT03690141.json"
TEXT = "seed_NCT06009107.txt"
PAGE_IDS = ["NCT02710084", "NCT05105685", "NCT01525901", "NCT03493607", "NCT07119606"]


def _dir(tmp_path: Path, *names: str) -> Path:
    for name in names:
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path


def _split(items: list[RawRecord | StudyError]) -> tuple[list[RawRecord], list[StudyError]]:
    records = [i for i in items if isinstance(i, RawRecord)]
    errors = [i for i in items if isinstance(i, StudyError)]
    return records, errors


def _read(
    directory: Path, watched: tuple[str, ...] = ()
) -> tuple[list[RawRecord], list[StudyError]]:
    return _split(list(iter_records(directory, watched)))


def test_api_v2_study(tmp_path: Path) -> None:
    records, errors = _read(_dir(tmp_path, STUDY))
    assert errors == []
    assert records == [
        RawRecord(
            trial_id="NCT02576665",
            data=orjson.loads((DATA / STUDY).read_bytes()),
            source="files",
            origin=str(tmp_path / STUDY),
            source_key=file_key((DATA / STUDY).read_bytes()),
            registry="ctgov",
        )
    ]


def test_studies_page(tmp_path: Path) -> None:
    records, errors = _read(_dir(tmp_path, PAGE))
    assert errors == []
    assert [r.trial_id for r in records] == PAGE_IDS
    page = orjson.loads((DATA / PAGE).read_bytes())
    assert [r.data for r in records] == page["studies"]
    assert {r.origin for r in records} == {str(tmp_path / PAGE)}


def test_history_version(tmp_path: Path) -> None:
    (record,) = _read(_dir(tmp_path, HISTORY))[0]
    assert record.trial_id == "NCT03690141"
    assert record.version == 9
    assert record.data == orjson.loads((DATA / HISTORY).read_bytes())["study"]
    assert record.source == "files"


def test_text_page(tmp_path: Path) -> None:
    (record,) = _read(_dir(tmp_path, TEXT))[0]
    assert record.trial_id == "NCT06009107"
    expected = parse_page((DATA / TEXT).read_text(encoding="utf-8"), str(tmp_path / TEXT))
    assert record.data == expected
    assert record.origin == str(tmp_path / TEXT)


def test_all_forms_together_in_file_name_order(tmp_path: Path) -> None:
    records, errors = _read(_dir(tmp_path, STUDY, PAGE, HISTORY, TEXT))
    assert errors == []
    assert [r.trial_id for r in records] == [
        "NCT03690141",
        "NCT06009107",
        *PAGE_IDS,
        "NCT02576665",
    ]


def test_only_watched_studies(tmp_path: Path) -> None:
    directory = _dir(tmp_path, STUDY, PAGE, HISTORY, TEXT)
    records, errors = _read(directory, ("nct06009107", "NCT05105685", "NCT09999999"))
    assert errors == []  # a watched study in no file is for the pipeline to report
    assert [r.trial_id for r in records] == ["NCT06009107", "NCT05105685"]


def test_malformed_files_are_reported_and_the_others_go_on(tmp_path: Path) -> None:
    directory = _dir(tmp_path, STUDY, TEXT)
    (directory / "bad.json").write_bytes(b'{"protocolSection": ')
    broken = (DATA / TEXT).read_text(encoding="utf-8").replace("\nWITHDRAWN\n", "\nGONE\n")
    (directory / "broken.txt").write_text(broken, encoding="utf-8")
    records, errors = _read(directory)
    assert [r.trial_id for r in records] == ["NCT06009107", "NCT02576665"]
    assert [e.trial_id for e in errors] == [None, None]
    assert errors[0].message.startswith(f"{directory / 'bad.json'}: not valid JSON")
    assert errors[1].message.startswith(f"{directory / 'broken.txt'}:19: ")
    assert "GONE" in errors[1].message
    assert not any(e.transient for e in errors)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"[1, 2]", "expected a JSON object, found list"),
        (b'{"hello": 1}', "not an API v2 study, a studies page or a history version"),
        (b'{"protocolSection": {}}', "no valid protocolSection.identificationModule.nctId"),
        (
            b'{"protocolSection": {"identificationModule": {"nctId": "NCT123"}}}',
            "'NCT123'",
        ),
        (b'{"studyVersion": "x", "study": {}}', "studyVersion is not a version number"),
        (b'{"studyVersion": 1, "study": []}', "'study' has no protocolSection"),
        (b'{"studies": {}}', "'studies' is not a list"),
        (b"\xff\xfe", "not valid JSON"),
    ],
)
def test_wrong_shapes(tmp_path: Path, content: bytes, words: str) -> None:
    (tmp_path / "x.json").write_bytes(content)
    records, errors = _read(tmp_path)
    assert records == []
    (error,) = errors
    assert error.message.startswith(f"{tmp_path / 'x.json'}: ")
    assert words in error.message


def test_text_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_bytes(b"NCT ID: NCT06009107\n\xff\n")
    (error,) = _read(tmp_path)[1]
    assert error.message.startswith(f"{tmp_path / 'x.txt'}: not UTF-8 text")


def test_a_bad_study_in_a_page_does_not_stop_the_others(tmp_path: Path) -> None:
    page = orjson.loads((DATA / PAGE).read_bytes())
    page["studies"][1]["protocolSection"]["identificationModule"]["nctId"] = "nope"
    page["studies"][3] = "not a study"
    (tmp_path / "page.json").write_bytes(orjson.dumps(page))
    records, errors = _read(tmp_path)
    assert [r.trial_id for r in records] == [PAGE_IDS[0], PAGE_IDS[2], PAGE_IDS[4]]
    assert [e.message.split(": ")[1] for e in errors] == ["studies[1]", "studies[3]"]


def test_one_study_in_two_files_names_both_and_yields_neither(tmp_path: Path) -> None:
    directory = _dir(tmp_path, STUDY, TEXT)
    shutil.copy(DATA / STUDY, directory / "again.json")
    records, errors = _read(directory)
    assert [r.trial_id for r in records] == ["NCT06009107"]
    (error,) = errors
    assert error.trial_id == "NCT02576665"
    assert str(directory / "again.json") in error.message
    assert str(directory / STUDY) in error.message
    assert not error.transient


def test_duplicate_between_a_page_and_a_study_file(tmp_path: Path) -> None:
    directory = _dir(tmp_path, PAGE)
    page = orjson.loads((DATA / PAGE).read_bytes())
    (directory / "one.json").write_bytes(orjson.dumps(page["studies"][2]))
    records, errors = _read(directory)
    assert [r.trial_id for r in records] == [PAGE_IDS[0], PAGE_IDS[1], PAGE_IDS[3], PAGE_IDS[4]]
    assert [e.trial_id for e in errors] == [PAGE_IDS[2]]


def test_duplicate_of_an_unwatched_study_is_not_reported(tmp_path: Path) -> None:
    directory = _dir(tmp_path, STUDY, TEXT)
    shutil.copy(DATA / STUDY, directory / "again.json")
    records, errors = _read(directory, ("NCT06009107",))
    assert [r.trial_id for r in records] == ["NCT06009107"]
    assert errors == []


def test_docs_hidden_files_other_suffixes_and_subfolders_are_skipped(tmp_path: Path) -> None:
    directory = _dir(tmp_path, TEXT)
    (directory / "README.md").write_text("# about these files\n", encoding="utf-8")
    (directory / "README.txt").write_text("not a page\n", encoding="utf-8")
    (directory / ".hidden.json").write_bytes(b"garbage")
    (directory / "notes.md").write_text("garbage\n", encoding="utf-8")
    (directory / "sub").mkdir()
    shutil.copy(DATA / STUDY, directory / "sub" / STUDY)
    (directory / "folder.json").mkdir()
    assert [r.trial_id for r in _read(directory)[0]] == ["NCT06009107"]
    assert _read(directory)[1] == []


def test_a_bad_symbolic_link_is_that_files_error_and_the_others_go_on(tmp_path: Path) -> None:
    """A link loop, a dangling link and a link leaving DIR: one error each, naming the file."""
    directory, outside = tmp_path / "dir", tmp_path / "elsewhere"
    directory.mkdir()
    outside.mkdir()
    _dir(directory, TEXT)
    _dir(outside, STUDY)
    (directory / "loop-a.json").symlink_to("loop-b.json")
    (directory / "loop-b.json").symlink_to("loop-a.json")
    (directory / "dangling.json").symlink_to("missing.json")
    (directory / "outside.json").symlink_to(outside / STUDY)
    records, errors = _read(directory)
    assert [r.trial_id for r in records] == ["NCT06009107"]
    messages = sorted(e.message for e in errors)
    assert len(messages) == 4, messages
    assert messages[0].startswith(f"{directory / 'dangling.json'}: cannot follow the symbolic link")
    assert "loop-a.json: cannot follow the symbolic link" in messages[1]
    assert "loop-b.json: cannot follow the symbolic link" in messages[2]
    assert messages[3] == (
        f"{directory / 'outside.json'}: a symbolic link to {outside / STUDY}, outside "
        f"{directory}: not followed (copy the file into the directory)"
    )
    assert all(e.trial_id is None and not e.transient for e in errors)


def test_a_symbolic_link_to_a_file_inside_dir_is_read(tmp_path: Path) -> None:
    directory = _dir(tmp_path, TEXT)
    (directory / "store").mkdir()
    shutil.copy(DATA / STUDY, directory / "store" / STUDY)
    (directory / "linked.json").symlink_to(Path("store") / STUDY)
    (directory / "linked-dir.json").symlink_to("store")  # a folder: skipped like one
    records, errors = _read(directory)
    assert errors == []
    assert sorted(r.trial_id for r in records) == ["NCT02576665", "NCT06009107"]


def oversized(study: dict[str, Any], size: int) -> bytes:
    """A valid record of exactly ``size`` bytes: its detailed description padded with words."""
    study = copy.deepcopy(study)
    module = study["protocolSection"].setdefault("descriptionModule", {})
    module["detailedDescription"] = ""
    room = size - len(orjson.dumps(study))
    module["detailedDescription"] = ("word " * (room // 5 + 1))[:room]
    raw = orjson.dumps(study)
    assert len(raw) == size
    return raw


def test_a_file_over_the_record_size_limit_is_refused_and_the_others_go_on(
    tmp_path: Path,
) -> None:
    directory = _dir(tmp_path, TEXT)
    study = orjson.loads((DATA / STUDY).read_bytes())
    (directory / "at-the-limit.json").write_bytes(oversized(study, MAX_RECORD_BYTES))
    study["protocolSection"]["identificationModule"]["nctId"] = "NCT09999999"
    big = directory / "big.json"
    big.write_bytes(oversized(study, MAX_RECORD_BYTES + 1))
    records, errors = _read(directory)
    assert sorted(r.trial_id for r in records) == ["NCT02576665", "NCT06009107"]
    assert [e.message for e in errors] == [
        f"{big}: 10,000,001 bytes, more than a record may have (10 MB): not read"
    ]
    assert errors[0].transient is False


def test_not_a_directory(tmp_path: Path) -> None:
    """Raised by the call itself, before any record is asked for."""
    with pytest.raises(SourceError, match="is not a directory"):
        iter_records(_dir(tmp_path, STUDY) / STUDY, ())
    with pytest.raises(SourceError, match="does not exist"):
        iter_records(tmp_path / "missing", ())


def test_empty_directory(tmp_path: Path) -> None:
    assert list(iter_records(tmp_path, ())) == []


def test_the_bundled_seeds_show_the_withdrawal() -> None:
    """seeds/NCT06009107.txt is the real seed; seeds/earlier/ is a SYNTHETIC earlier version."""
    assert (SEEDS / "NCT06009107.txt").read_bytes() == (DATA / TEXT).read_bytes()
    (earlier,) = _read(SEEDS / "earlier", ("NCT06009107",))[0]
    (later,) = _read(SEEDS, ("NCT06009107",))[0]
    old, new = earlier.data["protocolSection"], later.data["protocolSection"]
    assert old["statusModule"] == {
        "overallStatus": "NOT_YET_RECRUITING",
        "startDateStruct": {"date": "2024-12-31"},
        "completionDateStruct": {"date": "2026-12-31"},
        "lastUpdatePostDateStruct": {"date": "2023-08-23"},
    }
    assert new["statusModule"]["overallStatus"] == "WITHDRAWN"
    assert {k: v for k, v in old.items() if k != "statusModule"} == {
        k: v for k, v in new.items() if k != "statusModule"
    }


# -- the first pass's shortcut: a file naming one study is indexed by a scan, parsed once ------


def test_a_file_naming_one_study_is_parsed_once_and_a_page_one_record_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.sources import files
    from monitor.sources.fileread import Reader

    directory = _dir(tmp_path, STUDY, PAGE, HISTORY, TEXT)
    parsed: list[str] = []
    real, element = files.read, Reader.element

    def counting(reader: Any, path: str, raw: bytes | None = None) -> Any:
        parsed.append(Path(path).name)
        return real(reader, path, raw)

    def one_element(reader: Reader, path: str, raw: bytes, position: int) -> Any:
        parsed.append(f"{Path(path).name}[{position}]")
        return element(reader, path, raw, position)

    monkeypatch.setattr(files, "read", counting)
    monkeypatch.setattr(Reader, "element", one_element)
    records, errors = _read(directory)
    assert errors == []
    assert len(records) == 8
    pages = [f"{PAGE}[{n}]" for n in range(5)]
    assert sorted(parsed) == sorted([HISTORY, *pages, STUDY, TEXT, TEXT])


def test_a_scanned_file_that_does_not_parse_is_reported_once(tmp_path: Path) -> None:
    data = (DATA / STUDY).read_bytes()
    (tmp_path / "cut.json").write_bytes(data[: len(data) // 2])  # holds the nctId, then ends
    records, errors = _read(tmp_path, ("NCT02576665",))
    assert records == []
    (error,) = errors
    assert error.message.startswith(f"{tmp_path / 'cut.json'}: not valid JSON")


def test_a_scanned_page_with_one_id_reports_its_other_entries(tmp_path: Path) -> None:
    page = orjson.loads((DATA / PAGE).read_bytes())
    del page["studies"][1]["protocolSection"]["identificationModule"]["nctId"]
    page["studies"] = page["studies"][:2]
    (tmp_path / "page.json").write_bytes(orjson.dumps(page))
    records, errors = _read(tmp_path)
    assert [r.trial_id for r in records] == [PAGE_IDS[0]]
    assert [e.message.split(": ")[1] for e in errors] == ["studies[1]"]


def test_an_unwatched_scanned_file_that_does_not_parse_is_still_reported(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_bytes(b'{"nctId": "NCT00000001", ')
    records, errors = _read(tmp_path, ("NCT06009107",))
    assert records == []
    assert [e.message.split(": ")[1] for e in errors] == ["not valid JSON"]


# -- the source key: a file's bytes but for the daily versionHolder; unchanged files unparsed --


def _with_holder(day: str) -> bytes:
    return (DATA / STUDY).read_bytes().replace(b'"2026-09-03"', f'"{day}"'.encode())


def test_the_file_key_ignores_only_the_daily_version_holder() -> None:
    key = file_key(_with_holder("2026-09-04"))
    assert key is not None and key.startswith(KEY_PREFIX)
    assert file_key(_with_holder("2026-10-01")) == key
    assert b'"versionHolder": "2026-09-03"' in (DATA / STUDY).read_bytes()
    edited = _with_holder("2026-09-04").replace(b'"TERMINATED"', b'"WITHDRAWN"')
    assert file_key(edited) != key


@pytest.mark.parametrize(
    "raw",
    [
        b'{"derivedSection": {"miscInfoModule": {"versionHolder": "a"}}, "versionHolder": "b"}',
        b'{"protocolSection": {"versionHolder": "a"}}',
        b'{"a": {"miscInfoModule": {"x": {"versionHolder": "a"}}}}',
    ],
    ids=["two-holders", "holder-elsewhere", "holder-in-a-nested-object"],
)
def test_no_file_key_where_the_version_holder_is_ambiguous(raw: bytes) -> None:
    assert file_key(raw) is None


def test_the_version_holder_after_a_nested_object_is_left_out_of_the_key() -> None:
    """Keys sorted put modelPredictions or removedCountries before versionHolder: keyed."""
    raw = b'{"a": {"miscInfoModule": {"x": {"y": [1]}, "versionHolder": "%s"}}}'
    assert file_key(raw % b"a") == file_key(raw % b"b") != file_key(raw.replace(b"1", b"2") % b"a")
    assert file_key(raw % b"a") is not None


def test_a_file_without_a_version_holder_is_keyed_by_all_its_bytes() -> None:
    raw = (DATA / "study_NCT02576665_fields_subset.json").read_bytes()
    assert file_key(raw) == file_key(raw) != file_key(raw + b" ")


def test_a_file_whose_key_is_known_is_unchanged_and_is_not_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.models import Unchanged
    from monitor.sources import files

    (tmp_path / STUDY).write_bytes(_with_holder("2026-09-05"))
    shutil.copy(DATA / TEXT, tmp_path / TEXT)
    stored = {"NCT02576665": file_key(_with_holder("2026-09-04")), "NCT06009107": "v1:x"}
    asked: list[list[str]] = []

    def known(ids: Any) -> dict[str, str]:
        asked.append(list(ids))
        return {i: stored[i] for i in ids if i in stored}

    real = files.read

    def only_the_text_page(reader: Any, path: str, raw: bytes | None = None) -> Any:
        assert Path(path).name == TEXT, f"{path} parsed"
        return real(reader, path, raw)

    monkeypatch.setattr(files, "read", only_the_text_page)
    items = list(iter_records(tmp_path, (), known))
    assert [i.trial_id for i in items] == ["NCT06009107", None]  # in file name order
    assert isinstance(items[0], RawRecord)  # a text page has no file key
    assert items[1] == Unchanged(("NCT02576665",))
    assert asked == [["NCT02576665"]]


def test_a_moved_key_yields_the_record_with_its_new_key(tmp_path: Path) -> None:
    (tmp_path / STUDY).write_bytes(_with_holder("2026-09-05"))
    (record,) = iter_records(tmp_path, (), lambda ids: {i: "v2:file:old" for i in ids})
    assert isinstance(record, RawRecord)
    assert record.source_key == file_key(_with_holder("2026-09-05"))


def test_a_moved_record_deferred_loads_what_the_source_would_have_yielded(tmp_path: Path) -> None:
    import pickle

    from monitor.models import Deferred

    raw = _with_holder("2026-09-05")
    (tmp_path / STUDY).write_bytes(raw)
    shutil.copy(DATA / TEXT, tmp_path / TEXT)  # no file key: read by the source, never deferred
    (tmp_path / "NCT00000001.json").write_bytes(b'{"nctId": "NCT00000001", ')  # will not parse
    moved = lambda ids: {i: "v2:file:old" for i in ids}  # noqa: E731
    here = list(iter_records(tmp_path, (), moved))
    items = list(iter_records(tmp_path, (), moved, defer=True))
    deferred = [i for i in items if isinstance(i, Deferred)]
    assert [(d.trial_id, d.size) for d in deferred] == [
        ("NCT00000001", 25),
        ("NCT02576665", len(raw)),
    ]
    sent = [pickle.loads(pickle.dumps(i)) for i in items]  # as a worker gets them
    assert [x for i in sent for x in (i.load() if isinstance(i, Deferred) else [i])] == here
    assert [type(i).__name__ for i in here] == ["StudyError", "RawRecord", "RawRecord"]

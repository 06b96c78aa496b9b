"""Keys of a record's bytes without its daily stamp (monitor.filekey), found without parsing.

Fixtures (tests/data/README.md): real API v2 studies (NCT00791778 compact with results,
NCT02576665 re-indented, NCT06131398 saved with sorted keys), the real NCT03690141 study in a
SYNTHETIC history-version wrapper. The "sorted" variants are those real records saved with
sorted keys (as the NCT06131398 capture was), which puts ``modelPredictions`` or
``removedCountries`` before ``versionHolder``.
"""

from __future__ import annotations

import re

import orjson
import pytest
from blake3 import blake3

from monitor.filekey import candidate_key, first_id, key_of, one_study
from monitor.registries.ctgov.byteshape import BYTES as CTGOV
from monitor.registries.ctgov.byteshape import KEY_PREFIX
from tests.conftest import DATA

# The key the offline reader stored before monitor.filekey (CtgovFiles.file_key, up to issue
# 16): the versionHolder's value blanked only when nothing but scalars came before it in
# miscInfoModule. Kept here to show that every key stored then is still the key of its bytes.
OLD_HOLDER = re.compile(rb'("miscInfoModule"\s*:\s*\{[^{}\[\]]*?"versionHolder"\s*:\s*)"[^"\\]*"')


def file_key(raw: bytes) -> str | None:
    holder = raw.rfind(b'"versionHolder"')
    if holder < 0:
        return KEY_PREFIX + blake3(raw).hexdigest()
    module = raw.find(b'"miscInfoModule"')
    once = raw.find(b'"versionHolder"') == holder and raw.rfind(b'"miscInfoModule"') == module
    found = OLD_HOLDER.match(raw, module) if once and module >= 0 else None
    if found is None:
        return None
    return KEY_PREFIX + blake3(raw[: found.end(1)] + raw[found.end() :]).hexdigest()


RECORDS = [
    "study_NCT00791778_completed_with_results.json",
    "study_NCT02576665_terminated.json",
    "study_NCT06131398_completed_sorted_keys.json",
    "study_NCT02576665_fields_subset.json",
    "NCT06009107_api_synthetic.json",
]


def study(name: str) -> dict:
    doc = orjson.loads((DATA / name).read_bytes())
    return doc.get("study", doc)


def sorted_save(name: str) -> bytes:
    return orjson.dumps(study(name), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)


def key(raw: bytes) -> str | None:
    return key_of(raw, CTGOV, KEY_PREFIX)


def stamped(raw: bytes, day: str) -> bytes:
    holder = raw.rindex(b'"versionHolder"')
    at = raw.index(b'"', raw.index(b":", holder)) + 1
    return raw[:at] + day.encode() + raw[at + 10 :]


@pytest.mark.parametrize("name", RECORDS)
def test_the_same_key_as_the_older_file_key_where_it_had_one(name: str) -> None:
    raw = (DATA / name).read_bytes()
    assert file_key(raw) is not None
    assert key(raw) == file_key(raw)


@pytest.mark.parametrize(
    "name", ["study_NCT00791778_completed_with_results.json", "history_version_NCT03690141.json"]
)
def test_a_record_saved_with_sorted_keys_is_keyed_without_its_version_holder(name: str) -> None:
    raw = sorted_save(name)
    assert key(raw) is not None
    assert key(stamped(raw, "2030-01-02")) == key(raw)
    edited = raw.replace(b'"COMPLETED"', b'"TERMINATED"', 1)
    assert edited != raw and key(edited) != key(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"derivedSection": {"miscInfoModule": {"versionHolder": "a"}}, "versionHolder": "b"}',
        b'{"protocolSection": {"versionHolder": "a"}}',
        b'{"a": {"miscInfoModule": {"x": {"versionHolder": "a"}}}}',
        b'{"a": {"miscInfoModule": {"x": 1}, "versionHolder": "a"}}',
        b'{"versionHolder": "a", "b": {"miscInfoModule": {}}}',
        b'{"a": {"miscInfoModule": {"versionHolder": "a"}}, "b": {"miscInfoModule": {}}}',
        b'{"a": {"miscInfoModule": {"versionHolder": 5}}}',
    ],
    ids=[
        "two-holders",
        "no-stamp-object",
        "holder-in-a-nested-object",
        "holder-after-the-object",
        "holder-before-the-object",
        "two-stamp-objects",
        "not-a-string",
    ],
)
def test_no_key_where_the_stamp_is_ambiguous(raw: bytes) -> None:
    assert key(raw) is None


def test_strings_with_brackets_and_escapes_are_stepped_over() -> None:
    raw = b'{"d": {"miscInfoModule": {"r": ["]}\\"{[", {"k": "}"}], "versionHolder": "x"}}}'
    assert key(raw) is not None
    assert key(raw.replace(b'"x"', b'"y"')) == key(raw)
    assert key(raw.replace(b'"]}', b'"]]')) != key(raw)


def test_bytes_without_a_stamp_are_keyed_whole() -> None:
    raw = (DATA / "study_NCT02576665_fields_subset.json").read_bytes()
    assert key(raw) == key(raw) != key(raw + b" ")


def test_one_study_gives_the_id_and_key_of_a_file_naming_one_record() -> None:
    raw = sorted_save("study_NCT00791778_completed_with_results.json")
    assert one_study(raw, CTGOV, KEY_PREFIX) == ("NCT00791778", key(raw))
    page = (DATA / "studies_page1_phelan.json").read_bytes()
    assert one_study(page, CTGOV, KEY_PREFIX) is None  # five ids
    assert one_study(b'{"nctId": "NCT123"}', CTGOV, KEY_PREFIX) is None  # not an NCT number
    assert one_study(b'{"nctId": 5}', CTGOV, KEY_PREFIX) is None


@pytest.mark.parametrize("name", RECORDS)
def test_a_candidate_key_equals_the_proven_key_of_the_same_bytes(name: str) -> None:
    for raw in ((DATA / name).read_bytes(), sorted_save(name)):
        assert candidate_key(raw, CTGOV, KEY_PREFIX) == key(raw)
        assert (
            first_id(raw, CTGOV) == study(name)["protocolSection"]["identificationModule"]["nctId"]
        )


def test_a_candidate_matches_a_stored_key_only_for_the_same_bytes_but_the_stamp() -> None:
    raw = (DATA / "study_NCT02576665_terminated.json").read_bytes()
    stored = key(raw)
    assert candidate_key(stamped(raw, "2031-05-06"), CTGOV, KEY_PREFIX) == stored
    holder = raw.rindex(b'"versionHolder"')
    forged = [
        raw[:holder] + b'"versionHolder": "b", ' + raw[holder:],  # a second stamp key before
        raw.replace(b'"TERMINATED"', b'"WITHDRAWN"', 1),
        raw + b" ",
    ]
    for bad in forged:
        assert candidate_key(bad, CTGOV, KEY_PREFIX) != stored
    no_value = raw[: raw.index(b'"', raw.index(b":", holder))] + b"null}}, \n}"
    assert candidate_key(no_value, CTGOV, KEY_PREFIX) == ""  # a stamp without a plain value

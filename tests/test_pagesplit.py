"""A page of records split into byte ranges without parsing it (monitor.pagesplit).

Fixtures (tests/data/README.md): the real search page ``studies_page1_phelan.json`` (indented,
5 studies, ``totalCount`` and ``nextPageToken``), and pages built here from the real records
(compact, as ``GET /api/v2/studies`` sends them): SYNTHETIC pages of real studies.
"""

from __future__ import annotations

import orjson
import pytest

from monitor.filekey import key_of
from monitor.pagesplit import split_elements, split_page
from monitor.registries.ctgov.byteshape import BYTES as CTGOV
from monitor.registries.ctgov.byteshape import KEY_PREFIX
from tests.conftest import DATA

REAL = [
    "study_NCT00791778_completed_with_results.json",
    "study_NCT02576665_terminated.json",
    "NCT06009107_api_synthetic.json",
]


def studies() -> list[dict]:
    found = []
    for name in [*REAL, "history_version_NCT03690141.json"]:
        doc = orjson.loads((DATA / name).read_bytes())
        found.append(doc.get("study", doc))
    return found


def page(items: list[bytes], tail: bytes = b',"nextPageToken":"abc"}') -> bytes:
    return b'{"studies":[' + b",".join(items) + b"]" + tail


def split(raw: bytes, candidate: bool = False) -> list | None:
    return split_page(raw, CTGOV, KEY_PREFIX, candidate)


def test_the_real_search_page_splits_into_its_studies() -> None:
    raw = (DATA / "studies_page1_phelan.json").read_bytes()
    slices = split(raw)
    doc = orjson.loads(raw)
    assert slices is not None
    assert [s.trial_id for s in slices] == [
        d["protocolSection"]["identificationModule"]["nctId"] for d in doc["studies"]
    ]
    assert [orjson.loads(raw[s.start : s.end]) for s in slices] == doc["studies"]
    assert all(s.key == key_of(raw, CTGOV, KEY_PREFIX, s.start, s.end) for s in slices)


def test_a_compact_page_of_whole_records_splits_and_keys_each_without_its_stamp() -> None:
    items = [orjson.dumps(s) for s in studies()]
    raw = page(items)
    slices = split(raw)
    assert slices is not None
    assert [raw[s.start : s.end] for s in slices] == items
    restamped = raw.replace(b'"versionHolder":"2026-09-03"', b'"versionHolder":"2027-01-01"')
    assert restamped != raw
    assert [s.key for s in split(restamped) or []] == [s.key for s in slices]
    edited = raw.replace(b'"TERMINATED"', b'"WITHDRAWN"', 1)
    changed = [a.key != b.key for a, b in zip(split(edited) or [], slices, strict=True)]
    assert changed == [False, True, False, False]


def test_candidate_keys_equal_the_proven_ones_on_unambiguous_records() -> None:
    raw = page([orjson.dumps(s) for s in studies()])
    assert split(raw, candidate=True) == split(raw)


@pytest.mark.parametrize(
    "raw",
    [
        page([orjson.dumps(studies()[0], option=orjson.OPT_SORT_KEYS)]),  # id not first
        page([orjson.dumps(studies()[1]), b"5", orjson.dumps(studies()[2])]),
        page([orjson.dumps(studies()[1])], tail=b"]}"),  # the frame does not parse
        page([orjson.dumps(studies()[1])], tail=b',"studies":[1]}'),  # the list is not the page's
        b'{"studies":[]}',
        b'{"other":[' + orjson.dumps(studies()[1]) + b"]}",
    ],
    ids=["id-not-first", "a-number-between", "bad-frame", "two-lists", "empty", "no-studies-key"],
)
def test_what_cannot_be_split_for_sure_is_left_to_a_parse(raw: bytes) -> None:
    assert split(raw) is None


def test_a_foreign_element_glues_to_a_range_that_does_not_parse() -> None:
    """The caller's contract: a range it must read that does not parse means parse the page."""
    first, second = orjson.dumps(studies()[1]), orjson.dumps(studies()[2])
    raw = page([first, b'{"x":1}', second])
    slices = split(raw)
    assert slices is not None and len(slices) == 2
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(raw[slices[0].start : slices[0].end])


# -- any layout: split_elements walks the brackets ------------------------------------------------


def elements(raw: bytes, candidate: bool = False) -> list | None:
    return split_elements(raw, CTGOV, KEY_PREFIX, candidate)


def test_a_page_saved_with_sorted_keys_and_indented_splits_by_its_brackets() -> None:
    doc = {"studies": studies(), "nextPageToken": "abc", "totalCount": 4}
    raw = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2)
    assert split(raw) is None  # the id is not each record's first leaf
    slices = elements(raw)
    assert slices is not None
    assert [orjson.loads(raw[s.start : s.end]) for s in slices] == orjson.loads(raw)["studies"]
    assert [s.trial_id for s in slices] == [
        d["protocolSection"]["identificationModule"]["nctId"] for d in doc["studies"]
    ]
    assert all(s.key == key_of(raw, CTGOV, KEY_PREFIX, s.start, s.end) for s in slices)
    assert elements(raw, candidate=True) == slices


def test_the_fast_split_and_the_bracket_walk_agree_on_a_compact_page() -> None:
    raw = page([orjson.dumps(s) for s in studies()])
    assert elements(raw) == split(raw)


def test_strings_with_brackets_quotes_and_escapes_are_stepped_over() -> None:
    first = orjson.loads(orjson.dumps(studies()[1]))
    first["protocolSection"]["descriptionModule"]["briefSummary"] = 'a "[{" \\ ]} \\"x'
    raw = page([orjson.dumps(first), orjson.dumps(studies()[2])])
    slices = elements(raw)
    assert slices is not None
    assert [orjson.loads(raw[s.start : s.end]) for s in slices] == orjson.loads(raw)["studies"]


def test_an_element_whose_id_is_not_in_its_bytes_once_has_no_id() -> None:
    first, second = orjson.dumps(studies()[1]), orjson.dumps(studies()[2])
    raw = page([first, b'{"x": [1, {"y": 2}]}', second])
    slices = elements(raw)
    assert slices is not None
    assert [s.trial_id for s in slices] == ["NCT02576665", None, "NCT06009107"]
    assert raw[slices[1].start : slices[1].end] == b'{"x": [1, {"y": 2}]}'


@pytest.mark.parametrize(
    "raw",
    [
        page([orjson.dumps(studies()[1]), b"5", orjson.dumps(studies()[2])]),
        page([orjson.dumps(studies()[1]), b"[1]"]),
        page([orjson.dumps(studies()[1])], tail=b"]}"),
        page([orjson.dumps(studies()[1])], tail=b',"studies":[1]}'),
        b'{"other":[' + orjson.dumps(studies()[1]) + b"]}",
        b"[" + orjson.dumps(studies()[1]) + b"]",
        page([orjson.dumps(studies()[1])])[:-40],
        b'{"studies":[{"a": "unterminated}]}',
    ],
    ids=[
        "a-number",
        "a-list",
        "bad-frame",
        "two-lists",
        "no-page-key",
        "top-list",
        "cut",
        "string",
    ],
)
def test_what_is_not_a_page_of_objects_is_not_split_by_its_brackets(raw: bytes) -> None:
    assert elements(raw) is None


def test_an_empty_page_has_no_elements() -> None:
    assert elements(b'{"studies": [ ], "totalCount": 0}') == []

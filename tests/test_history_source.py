"""The record-history source: validation of the undocumented shapes, no HTTP.

Real data: ``int_history_NCT03690141.json`` (the ``{study, topics, history}`` form) and
``history_version_NCT03690141.json`` (a real study in a synthetic version wrapper), see
``tests/data/README.md``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import pytest

from monitor.errors import NotFoundError, PermanentFetchError
from monitor.registries.ctgov.history import (
    HistoryFormatError,
    VersionInfo,
    fetch_version,
    fetch_versions,
    history_path,
    parse_version,
    parse_version_list,
    version_path,
)
from tests.conftest import DATA

NCT = "NCT03690141"
LIST = history_path(NCT)


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


class DictGetter:
    """Answers ``get_json`` from a dict of path -> body (an exception is raised)."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.paths: list[str] = []

    def get_json(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        self.paths.append(path)
        answer = self.answers[path]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_the_real_capture_gives_ten_versions_in_date_order() -> None:
    versions = parse_version_list(load("int_history_NCT03690141.json"), LIST)
    assert [v.version for v in versions] == list(range(10))
    assert versions[0] == VersionInfo(0, "2018-09-27", "NOT_YET_RECRUITING")
    assert versions[-1] == VersionInfo(9, "2020-04-27", "COMPLETED")
    assert versions[-1].captured_at == "2020-04-27T00:00:00Z"


def test_the_history_endpoint_form_is_accepted() -> None:
    summary = load("int_history_NCT03690141.json")["history"]
    assert len(parse_version_list(summary, LIST)) == 10


def test_versions_are_ordered_by_date_not_by_number() -> None:
    body = {
        "changes": [
            {"version": 1, "date": "2020-01-02", "status": "RECRUITING"},
            {"version": 0, "date": "2020-01-01"},
            {"version": 2, "date": "2020-01-01"},
        ]
    }
    assert [v.version for v in parse_version_list(body, LIST)] == [0, 2, 1]


def test_an_empty_list_is_no_history() -> None:
    assert parse_version_list({"changes": [], "originalData": {}}, LIST) == []


BAD_LISTS = [
    pytest.param([], "expected a JSON object, got a list", id="not-an-object"),
    pytest.param({"study": {}}, "neither 'changes' nor 'history' (keys: study)", id="no-changes"),
    pytest.param({"history": []}, "'history' is a list, not an object", id="history-list"),
    pytest.param({"changes": {}}, "'changes' is an object, not a list", id="changes-object"),
    pytest.param({"changes": [3]}, "changes[0] is int, not an object", id="item-number"),
    pytest.param(
        {"changes": [{"version": "0", "date": "2018-09-27"}]},
        "changes[0].version is '0', not a number >= 0",
        id="version-text",
    ),
    pytest.param(
        {"changes": [{"version": 0, "date": "27/09/2018"}]},
        "changes[0].date is '27/09/2018', not a yyyy-MM-dd date",
        id="date-format",
    ),
    pytest.param(
        {"changes": [{"version": 0, "date": "2018-02-30"}]},
        "changes[0].date is '2018-02-30', not a yyyy-MM-dd date",
        id="date-impossible",
    ),
    pytest.param(
        {"changes": [{"version": 0, "date": "2018-09-27", "status": 7}]},
        "changes[0].status is 7, not text",
        id="status-number",
    ),
    pytest.param(
        {"changes": [{"version": 0, "date": "2018-09-27"}, {"version": 0, "date": "2018-09-28"}]},
        "version 0 is listed twice",
        id="duplicate",
    ),
]


@pytest.mark.parametrize(("body", "problem"), BAD_LISTS)
def test_an_unexpected_list_names_the_endpoint_and_the_problem(body: Any, problem: str) -> None:
    with pytest.raises(HistoryFormatError) as caught:
        parse_version_list(body, LIST)
    message = str(caught.value)
    assert message.startswith(f"GET {LIST}: unexpected record-history format: ")
    assert problem in message
    assert isinstance(caught.value, PermanentFetchError)


def test_a_real_version_is_accepted() -> None:
    study = parse_version(load("history_version_NCT03690141.json"), "/x", 9, NCT)
    assert study["protocolSection"]["identificationModule"]["nctId"] == NCT


def version_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = copy.deepcopy(load("history_version_NCT03690141.json"))
    body.update(changes)
    return body


BAD_VERSIONS = [
    pytest.param(version_body(studyVersion=8), "studyVersion is 8, expected 9", id="number"),
    pytest.param(version_body(studyVersion=None), "studyVersion is None", id="no-number"),
    pytest.param(version_body(study=[]), "'study' is a list, not an object", id="study-list"),
    pytest.param(version_body(study={"a": 1}), "'study' has no protocolSection", id="no-protocol"),
    pytest.param("<html>", "expected a JSON object, got text", id="text"),
]


@pytest.mark.parametrize(("body", "problem"), BAD_VERSIONS)
def test_an_unexpected_version_names_the_endpoint(body: Any, problem: str) -> None:
    endpoint = version_path(NCT, 9)
    with pytest.raises(HistoryFormatError, match=f"^GET {endpoint}: unexpected") as caught:
        parse_version(body, endpoint, 9, NCT)
    assert problem in str(caught.value)


def test_a_version_of_another_study_is_refused() -> None:
    with pytest.raises(HistoryFormatError, match="is of 'NCT03690141', not of NCT00000001"):
        parse_version(version_body(), "/x", 9, "NCT00000001")


def test_a_version_under_an_alias_is_accepted() -> None:
    body = version_body()
    body["study"]["protocolSection"]["identificationModule"]["nctIdAliases"] = ["NCT00000001"]
    assert parse_version(body, "/x", 9, "NCT00000001")


def test_a_study_without_history_has_no_versions() -> None:
    getter = DictGetter({LIST: NotFoundError(f"{LIST}: not found (404)")})
    assert fetch_versions(getter, NCT) == []


def test_other_fetch_errors_are_not_swallowed() -> None:
    getter = DictGetter({LIST: PermanentFetchError("HTTP 400")})
    with pytest.raises(PermanentFetchError, match="HTTP 400"):
        fetch_versions(getter, NCT)


def test_a_version_becomes_a_history_record_dated_by_the_version() -> None:
    getter = DictGetter({version_path(NCT, 9): load("history_version_NCT03690141.json")})
    raw = fetch_version(getter, NCT, VersionInfo(9, "2020-04-27", "COMPLETED"))
    assert (raw.trial_id, raw.source, raw.version) == (NCT, "history", 9)
    assert raw.captured_at == "2020-04-27T00:00:00Z"
    assert raw.origin == "/api/int/studies/NCT03690141/history/9"
    assert getter.paths == [raw.origin]

"""The ClinicalTrials.gov normalizer and the canonical record's helpers (canonical_json,
content_hash, facts) on the real records in tests/data (copied unchanged from
../shared/ctgov-samples; edited copies are synthetic)."""

from __future__ import annotations

import copy
import json
import random
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from monitor.errors import RecordError
from monitor.normalize import canonical_json, clean_text, content_hash, facts
from monitor.registries.ctgov.normalize import normalize
from tests.casefile import load_raw

TERMINATED = "study_NCT02576665_terminated.json"
RESULTS = "study_NCT00791778_completed_with_results.json"
SORTED = "study_NCT06131398_completed_sorted_keys.json"
SUBSET = "study_NCT02576665_fields_subset.json"
HISTORY = "int_history_NCT03690141.json"
REAL = (TERMINATED, RESULTS, SORTED, SUBSET)


def study(name: str) -> dict[str, Any]:
    return copy.deepcopy(load_raw(name))


def test_sections_of_a_terminated_study() -> None:
    record = normalize(study(TERMINATED))
    assert record["status"] == {
        "overall_status": "TERMINATED",
        "why_stopped": "Sponsor decision",
        "expanded_access": {"has_expanded_access": False},
    }
    assert record["dates"]["start"] == {"date": "2016-07", "type": "ACTUAL"}  # precision kept
    assert record["enrollment"] == {"count": 21, "type": "ACTUAL"}
    assert record["results"] == {"has_results": False}
    assert "derivedSection" not in canonical_json(record)
    assert "versionHolder" not in canonical_json(record)
    assert "geo" not in canonical_json(record)
    assert [loc["city"] for loc in record["locations"]] == [
        "Houston",
        "Denver",
        "Miami",
    ]  # by facility


def test_text_is_cleaned() -> None:
    record = normalize(study(TERMINATED))
    assert "[rHGG]" in record["description"]["brief_summary"]  # was \[rHGG\]
    assert '\\"TOCA FC\\"' not in record["interventions"][1]["description"]  # was \\"
    assert '"TOCA FC"' in record["interventions"][1]["description"]
    assert "\n" not in record["eligibility"]["criteria"]


def test_results_dates_are_kept() -> None:
    record = normalize(study(RESULTS))
    assert record["results"]["has_results"] is True
    assert record["results"]["first_posted"] == {"date": "2012-11-30", "type": "ESTIMATED"}
    assert "resultsSection" not in canonical_json(record)


def test_a_fields_subset_is_sparse_not_an_error() -> None:
    record = normalize(study(SUBSET))
    assert facts(record).trial_id == "NCT02576665"
    assert "results" not in record


def test_record_history_html_is_plain_text() -> None:
    """The internal endpoint's study has <mark> highlighting, <ul> lists and &#x2F;."""
    record = normalize(study(HISTORY)["study"])
    text = canonical_json(record)
    assert "<mark" not in text and "<li>" not in text and "&#x2F;" not in text
    assert "≥2 ng/mL" in text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("18\\~65 years", "18~65 years"),
        ("A \\[B\\] \\& C \\^ \\> D", "A [B] & C ^ > D"),
        ("x &amp; y &lt; 5 &#x2F; z&nbsp;w", "x & y < 5 / z w"),
        ('<mark class="hl-term">CRPC</mark>, with', "CRPC, with"),
        ("<ul><li>one</li><li>two</li></ul>", "one two"),
        ("age < 18 or > 65 and <ULN", "age < 18 or > 65 and <ULN"),
        ("  lines\n\n  and\ttabs ", "lines and tabs"),
        ("Montre\u0301al", "Montr\u00e9al"),
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


@given(
    st.text(alphabet=st.sampled_from(list("ab <>/&;#x2Fmark\\~[]*\n\t\u0301éltgp")), max_size=40)
)
def test_cleaning_clean_text_changes_nothing(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once


_FRAGMENTS = ["a", " ", "\n", "\u00a0", "<b>", "</p>", "<br/>", "&amp;", "&lt;", "&gt;", "b&gt;"]
_FRAGMENTS += ["&amp;lt;", "&#60;", "&#x2F;", "&nbsp;", "\\", "~", "\\&", "e", "\u0301", "é", "<"]


def _rounds(text: str) -> str:
    """clean_text as it was written first: every round until one changes nothing (four at most)."""
    from monitor.normalize import _clean_once

    for _ in range(4):
        cleaned = _clean_once(text)
        if cleaned == text:
            break
        text = cleaned
    return text


@settings(max_examples=500)
@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=16).map("".join))
@example("\\\\~ &amp;lt;b&amp;gt;x &amp;amp;nbsp;")  # an escaped escape, entities of tags: rounds
@example("e&#769; \\<b\\>")  # a combining accent from an entity, an escaped tag
def test_clean_text_stops_when_a_round_would_change_nothing(text: str) -> None:
    """clean_text skips the round that would only confirm its result: same text as all rounds."""
    assert clean_text(text) == _rounds(text)


@pytest.mark.parametrize("name", REAL)
def test_normalizing_is_idempotent_on_real_records(name: str) -> None:
    """A study rebuilt with its already-normalized text normalizes to the same record."""
    raw = study(name)
    rebuilt = _map_strings(raw, clean_text)
    assert normalize(rebuilt) == normalize(raw)


def _map_strings(value: Any, fn: Any) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: _map_strings(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, fn) for v in value]
    return value


def _shuffle(value: Any, rng: random.Random) -> Any:
    """Every object's keys and every list of the protocol section shuffled."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {k: _shuffle(value[k], rng) for k in keys}
    if isinstance(value, list):
        items = [_shuffle(v, rng) for v in value]
        rng.shuffle(items)
        return items
    return value


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(REAL))
def test_shuffling_lists_and_keys_changes_no_hash(seed: int, name: str) -> None:
    raw = study(name)
    assert content_hash(normalize(_shuffle(raw, random.Random(seed)))) == content_hash(
        normalize(raw)
    )


def test_canonical_json_and_hash() -> None:
    record = normalize(study(SORTED))
    text = canonical_json(record)
    assert json.loads(text) == record
    assert ", " not in text[:200] and ": " not in text[:200]  # compact
    assert list(json.loads(text)) == sorted(record)
    digest = content_hash(record)
    assert digest.startswith("v2:") and len(digest) == 3 + 64


def test_facts() -> None:
    f = facts(normalize(study(SORTED)))
    assert (f.trial_id, f.overall_status, f.last_update_posted) == (
        "NCT06131398",
        "COMPLETED",
        "2026-08-11",
    )
    assert f.title and f.title.startswith("A Study of AMG 355")


def test_minimal_study() -> None:
    record = normalize({"protocolSection": {"identificationModule": {"nctId": "NCT00000001"}}})
    assert record == {"identification": {"trial_id": "NCT00000001", "registry": "ctgov"}}
    assert facts(record).title is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "a study must be a JSON object"),
        ({}, "protocolSection: expected an object, got nothing"),
        ({"protocolSection": []}, "protocolSection: expected an object, got list"),
        ({"protocolSection": {"statusModule": "x"}}, "protocolSection.statusModule: expected"),
        (
            {"protocolSection": {"identificationModule": {"nctId": 7}}},
            "identificationModule.nctId: expected text",
        ),
        (
            {"protocolSection": {"conditionsModule": {"conditions": "x"}}},
            "conditionsModule.conditions: expected a list",
        ),
        (
            {"protocolSection": {"statusModule": {}}},
            "no protocolSection.identificationModule.nctId",
        ),
        (
            {
                "protocolSection": {
                    "identificationModule": {"nctId": "NCT00000001"},
                    "designModule": {"enrollmentInfo": {"count": "many"}},
                }
            },
            "enrollmentInfo.count",
        ),
    ],
)
def test_wrong_shapes_are_record_errors(raw: Any, message: str) -> None:
    with pytest.raises(RecordError, match=message.replace("(", r"\(").replace("[", r"\[")):
        normalize(raw)


def test_unknown_fields_are_kept_under_other() -> None:
    raw = study(TERMINATED)
    raw["protocolSection"]["statusModule"]["newFlag"] = True
    raw["protocolSection"]["fancyModule"] = {"someList": ["b", "a"]}
    other = normalize(raw)["other"]
    assert other == {"status_module": {"new_flag": True}, "fancy_module": {"some_list": ["a", "b"]}}


def test_normalize_is_fast_enough() -> None:
    """Generous bound for CI; measured about 0.5 ms for this 90 KB study (see the report)."""
    raw = study(RESULTS)
    normalize(raw)
    start = time.perf_counter()
    for _ in range(20):
        normalize(raw)
    assert (time.perf_counter() - start) / 20 < 0.02

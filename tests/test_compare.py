"""compare(): deepdiff wrapped; differences on canonical records (tests/data real records,
edited copies are synthetic)."""

from __future__ import annotations

import copy
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.classify import classify
from monitor.compare import Difference, compare, ignore_regex
from monitor.config import ChangesConfig
from monitor.normalize import keyed
from monitor.registries.ctgov.normalize import normalize
from tests.casefile import load_raw
from tests.test_normalize import REAL, _shuffle

BASE = {
    "identification": {"trial_id": "NCT00000001"},
    "conditions": {"conditions": ["Asthma", "COPD"]},
    "locations": [
        {"facility": "A", "city": "Oslo", "country": "Norway", "status": "RECRUITING"},
        {"facility": "B", "city": "Bergen", "country": "Norway"},
    ],
}


def edited(**changes: Any) -> dict[str, Any]:
    record = copy.deepcopy(BASE)
    record.update(changes)
    return record


def test_equal_records_have_no_differences() -> None:
    assert compare(BASE, copy.deepcopy(BASE)) == []


def test_an_item_is_compared_with_the_item_of_same_identity() -> None:
    new = edited(locations=[BASE["locations"][1], {**BASE["locations"][0], "status": "COMPLETED"}])
    assert compare(BASE, new) == [
        Difference(
            ("locations", "A | Oslo | Norway", "status"), "changed", "RECRUITING", "COMPLETED"
        )
    ]


def test_items_added_and_removed_carry_the_whole_item() -> None:
    added = {"facility": "C", "city": "Tromsø", "country": "Norway"}
    new = edited(locations=[BASE["locations"][0], added])
    assert compare(BASE, new) == [
        Difference(("locations", "B | Bergen | Norway"), "removed", BASE["locations"][1], None),
        Difference(("locations", "C | Tromsø | Norway"), "added", None, added),
    ]


def test_set_items_are_reported_on_the_list_path() -> None:
    new = edited(conditions={"conditions": ["COPD", "Emphysema"]})
    assert compare(BASE, new) == [
        Difference(("conditions", "conditions"), "added", None, "Emphysema"),
        Difference(("conditions", "conditions"), "removed", "Asthma", None),
    ]


def test_ignore_paths_with_wildcards() -> None:
    new = edited(
        locations=[{**BASE["locations"][0], "status": "COMPLETED"}, BASE["locations"][1]],
        conditions={"conditions": ["COPD"]},
    )
    assert compare(BASE, new, ignore=("locations.*.status", "conditions")) == []
    assert [d.path[0] for d in compare(BASE, new, ignore=("conditions",))] == ["locations"]
    assert ignore_regex("dates.start") == r"^root\['dates'\]\['start'\](?=\[|$)"


def test_ignore_does_not_hide_a_sibling_with_a_longer_name() -> None:
    old = {"status": {"why_stopped": "a", "why_stopped_note": "x"}}
    new = {"status": {"why_stopped": "b", "why_stopped_note": "y"}}
    assert [d.path for d in compare(old, new, ignore=("status.why_stopped",))] == [
        ("status", "why_stopped_note")
    ]


def test_duplicate_identities_are_numbered() -> None:
    items = [{"city": "Oslo", "zip": "1"}, {"city": "Oslo", "zip": "2"}]
    view = keyed({"locations": items})
    assert list(view["locations"]) == [" | Oslo | ", " | Oslo |  #2"]


def test_keyed_view_does_not_change_the_record() -> None:
    record = copy.deepcopy(BASE)
    keyed(record)
    assert record == BASE


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(REAL))
def test_shuffled_study_has_no_differences_and_no_changes(seed: int, name: str) -> None:
    raw = copy.deepcopy(load_raw(name))
    old, new = normalize(raw), normalize(_shuffle(raw, random.Random(seed)))
    assert compare(old, new) == []
    assert classify(old, new, compare(old, new), ChangesConfig()) == []


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_shuffling_does_not_change_the_changes_found(seed: int) -> None:
    raw = copy.deepcopy(load_raw("study_NCT06131398_completed_sorted_keys.json"))
    later = copy.deepcopy(raw)
    later["protocolSection"]["statusModule"]["overallStatus"] = "TERMINATED"
    later["protocolSection"]["contactsLocationsModule"]["locations"].pop(3)
    old, new = normalize(raw), normalize(later)
    shuffled = normalize(_shuffle(later, random.Random(seed)))
    rules = ChangesConfig()
    assert classify(old, shuffled, compare(old, shuffled), rules) == classify(
        old, new, compare(old, new), rules
    )

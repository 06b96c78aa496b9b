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


# ---------------------------------------------------------------- deepdiff over everything

# compare() hands deepdiff only the lists that differ and finds the differences between
# objects itself: the reference below hands it both records whole (less their equal parts,
# as compare did before), and the two must agree on any records, any ignore paths.

_KEYS = st.sampled_from(["a", "b", "it's", 'say "hi"', "x]y", ""])
_SCALARS = st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([1.0, 2.5, "", "A"])
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=12,
)
_RECORDS = st.dictionaries(_KEYS, _VALUES, max_size=5)
_IGNORES = st.lists(
    st.lists(st.sampled_from(["a", "it's", 'say "hi"', "x]y", "*"]), min_size=1, max_size=3),
    max_size=2,
).map(lambda paths: tuple(".".join(p) for p in paths))


def _by_deepdiff(old: dict[str, Any], new: dict[str, Any], ignore: tuple[str, ...]) -> list:
    """What compare found before it walked objects itself: DeepDiff (with compare's settings)
    over the whole keyed views, unless the records are equal."""
    from monitor.compare import _list_differences

    if old == new:  # compare's first test, as before it walked objects itself
        return []
    found = _list_differences(keyed(old), keyed(new), ignore)
    return sorted(found, key=lambda d: (d.path, d.kind, repr(d.old), repr(d.new)))


@settings(max_examples=400, deadline=None)
@given(old=_RECORDS, new=_RECORDS, ignore=_IGNORES)
def test_compare_finds_what_deepdiff_finds_over_the_whole_records(
    old: dict[str, Any], new: dict[str, Any], ignore: tuple[str, ...]
) -> None:
    assert compare(old, new, ignore) == _by_deepdiff(old, new, ignore)


@settings(max_examples=200, deadline=None)
@given(old=_RECORDS, edits=_RECORDS, ignore=_IGNORES)
def test_compare_finds_what_deepdiff_finds_in_records_alike(
    old: dict[str, Any], edits: dict[str, Any], ignore: tuple[str, ...]
) -> None:
    new = {**copy.deepcopy(old), **edits}
    assert compare(old, new, ignore) == _by_deepdiff(old, new, ignore)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(REAL), ignore=_IGNORES)
def test_compare_finds_what_deepdiff_finds_in_edited_studies(
    seed: int, name: str, ignore: tuple[str, ...]
) -> None:
    rng = random.Random(seed)
    old = normalize(copy.deepcopy(load_raw(name)))
    new = _edit(copy.deepcopy(old), rng)
    ignore = ignore + tuple(rng.sample(["admin", "locations.*.status", "conditions"], 1))
    assert compare(old, new, ignore) == _by_deepdiff(old, new, ignore)


def _edit(record: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A few random edits of a canonical record: values changed, keys and list items gone."""
    for _ in range(rng.randint(1, 6)):
        node: Any = record
        while isinstance(node, dict | list) and node and rng.random() < 0.8:
            parent = node
            key = rng.choice(list(node) if isinstance(node, dict) else range(len(node)))
            node = parent[key]
            if rng.random() < 0.25:
                if isinstance(parent, dict):
                    del parent[key]
                else:
                    parent.pop(key)
                break
            if not isinstance(node, dict | list):
                parent[key] = rng.choice(["edited", 7, None, ["x"], {"k": "v"}])
                break
    return record


def test_a_change_of_type_alone_is_a_difference_as_deepdiff_says() -> None:
    """``True == 1 == 1.0`` in Python; deepdiff reports a change of type, and so does compare
    (beside another change, and inside a list or an object that is otherwise equal)."""
    old = {"a": True, "b": {"n": 1, "m": [1, 2]}, "c": "x"}
    new = {"a": 1, "b": {"n": 1.0, "m": [1, 2.0]}, "c": "y"}
    found = compare(old, new)
    assert [(d.path, d.kind, d.old, d.new) for d in found] == [
        (("a",), "changed", True, 1),
        (("b", "m"), "changed", 2, 2.0),
        (("b", "n"), "changed", 1, 1.0),
        (("c",), "changed", "x", "y"),
    ]
    assert found == _by_deepdiff(old, new, ())

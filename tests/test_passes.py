"""Full and incremental passes of a live source (monitor.registries.passes, pure)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import orjson

from monitor.models import RecordEvent
from monitor.registries.passes import (
    BASELINE,
    FULL,
    INCREMENTAL,
    DictState,
    Passes,
    PassState,
    news_events,
    params_hash,
)

NOW = datetime(2026, 10, 5, 6, 0, tzinfo=UTC)
PASSES = Passes(NOW, overlap_days=2, full_pass_every=3)


def entry(cycles: int | None, members: list[str], params: object = "q") -> dict[str, object]:
    return {
        "params_hash": params_hash(params),
        "last_success": "2026-10-01T06:00:00Z",
        "cycles_since_full": cycles,
        "members": members,
    }


def test_params_hashes_saved_before_stay_the_same() -> None:
    """Hashes stored by earlier cycles: of a text as JSON, of criteria with sorted keys."""
    assert params_hash("q") == hashlib.sha256(orjson.dumps("q")).hexdigest()[:16]
    criteria = {"status": [4], "medicalCondition": "diabetes"}
    old = orjson.dumps(dict(criteria), option=orjson.OPT_SORT_KEYS)
    assert params_hash(criteria) == hashlib.sha256(old).hexdigest()[:16]
    assert params_hash({"b": 1, "a": 2}) == params_hash({"a": 2, "b": 1})


def test_the_window_starts_the_overlap_before_the_last_success() -> None:
    assert PASSES.since("2026-10-01T06:00:00Z") == "2026-09-29"
    assert PASSES.since(None) == "2026-10-03"  # never succeeded: from today
    assert PASSES.stamp == "2026-10-05T06:00:00Z"


def test_the_watched_trials_full_pass_is_forced_or_due() -> None:
    assert [PASSES.watched_full(n) for n in (None, 0, 1, 2)] == [False, False, False, True]
    assert Passes(NOW, force=True).watched_full(None)


def test_a_search_is_new_changed_due_or_incremental() -> None:
    assert PASSES.search("s", "q", None).mode == BASELINE
    assert PASSES.search("s", "other q", entry(0, ["A"])).mode == BASELINE
    assert PASSES.search("s", "q", entry(None, ["A"])).mode == FULL  # the last did not finish
    assert PASSES.search("s", "q", entry(2, ["A"])).mode == FULL
    search = PASSES.search("s", "q", entry(1, ["A"]))
    assert (search.mode, search.members, search.last_success) == (
        INCREMENTAL,
        {"A"},
        "2026-10-01T06:00:00Z",
    )
    assert search.read_all().mode == FULL
    assert PASSES.search("s", "other q", entry(0, ["A"])).members == set()  # all is news


def test_the_saved_entry_keeps_a_failed_record_for_the_next_pass() -> None:
    incremental = PASSES.search("s", "q", entry(1, ["A", "B"]))
    assert incremental.entry_after(["C"], set(), PASSES.stamp) == {
        "params_hash": params_hash("q"),
        "last_success": PASSES.stamp,
        "cycles_since_full": 2,
        "members": ["A", "B", "C"],
    }
    full = PASSES.search("s", "q", entry(2, ["A", "B"]))
    after = full.entry_after(["B", "C"], {"B"}, PASSES.stamp)
    assert after["members"] == ["B", "C"]  # A left; B failed but stays a member
    assert after["last_success"] == "2026-10-01T06:00:00Z"
    assert after["cycles_since_full"] is None  # a full pass next time


def test_news_is_told_except_for_a_failed_record() -> None:
    news = [("s", ["A", "B"]), ("t", ["C"])]
    assert list(news_events(news, {"B"})) == [
        RecordEvent("A", "new_in_query", query="s"),
        RecordEvent("C", "new_in_query", query="t"),
    ]


def test_the_shared_scopes_over_a_plain_mapping() -> None:
    data: dict[str, object] = {}
    state = PassState(DictState(data))
    assert (state.last_success(), state.cycles_since_full(), state.query("s")) == (None,) * 3
    state.set_updates(PASSES.stamp, 0)
    state.set_query("s", {"members": []})
    assert data == {
        "updates": {"last_success": PASSES.stamp, "cycles_since_full": 0},
        "queries": {"s": {"members": []}},
    }
    assert (state.last_success(), state.cycles_since_full()) == (PASSES.stamp, 0)

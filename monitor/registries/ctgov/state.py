"""What the live source remembers between cycles, in its keyed state (``monitor.store.state``).

=================  ============  ==========================================================
scope              key           value
=================  ============  ==========================================================
``release``        ``data_timestamp``  the registry's data release the last complete cycle saw
``release``        ``watch_passes``    ``{cycles_since_full}``: the watch list's cycles since
                                 its last full pass by id
``studies``        watched id    ``{current_id, gone_since}``: the id it answers under, gone
``queries``        search name   ``{name, params_hash, last_success, last_full_pass,
                                 cycles_since_full, release}``: the search's passes (``release``:
                                 the data release its last success saw)
``query:NAME``     NCT id        when the search first found the study (its members)
=================  ============  ==========================================================

Before the keyed state, trialmon 0.1 kept these in tables of its own; :data:`UPGRADES` moves
them here once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitor.store.state import StateUpgrade, Values

RELEASE = "release"
DATA_TIMESTAMP = "data_timestamp"
WATCH_PASSES = "watch_passes"
STUDIES = "studies"
QUERIES = "queries"


def members_scope(query: str) -> str:
    """The scope of one saved search's members."""
    return f"query:{query}"


def study_state(current_id: str | None, gone_since: str | None) -> dict[str, Any]:
    return {"current_id": current_id, "gone_since": gone_since}


# ---------------------------------------------------------------- from trialmon 0.1

OLD_TABLES = ("ctgov_studies", "ctgov_queries", "ctgov_query_members")
OLD_META = ("ctgov.data_timestamp",)


def from_tables(tables: Mapping[str, list[dict[str, Any]]], meta: Mapping[str, str]) -> Values:
    """The 0.1 tables (and meta key) as keyed state."""
    state: dict[str, dict[str, Any]] = {}
    for row in tables.get("ctgov_studies", []):
        value = study_state(row.get("current_id"), row.get("gone_since"))
        state.setdefault(STUDIES, {})[row["nct_id"]] = value
    for row in tables.get("ctgov_queries", []):
        state.setdefault(QUERIES, {})[row["name"]] = dict(row)
    for row in tables.get("ctgov_query_members", []):
        state.setdefault(members_scope(row["query"]), {})[row["nct_id"]] = row["first_seen"]
    if "ctgov.data_timestamp" in meta:
        state[RELEASE] = {DATA_TIMESTAMP: meta["ctgov.data_timestamp"]}
    return state


UPGRADES = (StateUpgrade("0001_keyed_state", OLD_TABLES, OLD_META, from_tables),)

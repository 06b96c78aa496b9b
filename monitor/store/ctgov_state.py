"""(Temporary) the live source's state tables."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from monitor.models import RecordEvent
from monitor.store.live import Writes


class CtgovState(Writes):
    def _apply_event(self, event: RecordEvent, now: str) -> None:
        nct, studies = event.nct_id, self.db.table("ctgov_studies")
        if event.kind in ("gone", "returned"):
            gone = now if event.kind == "gone" else None
            studies.upsert({"nct_id": nct, "gone_since": gone, "updated_at": now}, pk="nct_id")
        elif event.kind == "alias":
            row = {"nct_id": nct, "current_id": event.detail, "updated_at": now}
            studies.upsert(row, pk="nct_id")
        elif event.kind == "new_in_query":
            self.add_query_members(str(event.query), [nct], now)
        elif event.kind == "left_query":
            self.db.execute(
                "delete from ctgov_query_members where query = ? and nct_id = ?",
                [event.query, nct],
            )

    def ctgov_studies(self) -> dict[str, dict[str, Any]]:
        """Alias and gone state of every study the live source has an opinion on."""
        return {r["nct_id"]: r for r in self.db.table("ctgov_studies").rows}

    def query_state(self, name: str) -> dict[str, Any] | None:
        rows = list(self.db.table("ctgov_queries").rows_where("name = ?", [name]))
        return rows[0] if rows else None

    def query_members(self, name: str) -> set[str]:
        sql = "select nct_id from ctgov_query_members where query = ?"
        return {r[0] for r in self.db.execute(sql, [name])}

    def add_query_members(self, name: str, nct_ids: Iterable[str], now: str) -> None:
        rows = ({"query": name, "nct_id": n, "first_seen": now} for n in nct_ids)
        self.db.table("ctgov_query_members").insert_all(rows, pk=("query", "nct_id"), ignore=True)

    def save_query_state(
        self, state: dict[str, Any], baseline: Iterable[str] | None = None
    ) -> None:
        """A saved search's progress; on its first pass also its members (the baseline)."""
        with self.db.atomic():
            self.db.table("ctgov_queries").upsert(state, pk="name")
            if baseline is not None:
                sql = "delete from ctgov_query_members where query = ?"
                self.db.execute(sql, [state["name"]])
                self.add_query_members(state["name"], baseline, str(state["last_success"]))

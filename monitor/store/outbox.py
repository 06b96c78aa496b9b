"""The outbox rows: digests waiting in ``deliveries``, and what a digest needs to be built.

The delivery rules (order, attempts, doubt after a crash) are :mod:`monitor.notify.outbox`'s;
this part only reads and writes the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from monitor.store.db import Part

HAS_DELIVERY = "select 1 from deliveries where run_id = ? and channel = ? limit 1"
PENDING = (
    "select id, channel, attempts, payload, last_error from deliveries "
    "where status = 'pending' order by id"
)
QUERY_FINDINGS = (
    "select trial_id, summary from changes where category = 'record' "
    "and summary like ? and trial_id in ({ids}) order by id"
)


class OutboxRows(Part):
    """Rows of ``deliveries``, and the change rows a digest quotes."""

    def has_delivery(self, run_id: int, channel: str) -> bool:
        return self.db.execute(HAS_DELIVERY, [run_id, channel]).fetchone() is not None

    def queue_delivery(self, row: dict[str, Any]) -> int:
        pk = self.db.table("deliveries").insert(row).last_pk
        assert isinstance(pk, int)
        return pk

    def pending_deliveries(self) -> list[tuple[int, str, int, str, str | None]]:
        """(id, channel, attempts, payload, last_error) of each pending row, oldest first."""
        return [
            (i, channel, attempts or 0, payload, error)
            for i, channel, attempts, payload, error in self.db.execute(PENDING).fetchall()
        ]

    def update_delivery(self, delivery_id: int, values: dict[str, Any]) -> None:
        with self.db.atomic():
            self.db.table("deliveries").update(delivery_id, values)

    def summaries_like(self, prefix: str, trial_ids: Sequence[str]) -> list[tuple[str, str]]:
        """(study, summary) of the ``record`` changes whose summary starts with ``prefix``,
        in the order they were recorded (per batch of studies)."""
        rows = self._rows_for(QUERY_FINDINGS, sorted(trial_ids), before=[prefix + "%"])
        return [(str(nct), str(summary)) for nct, summary in rows]

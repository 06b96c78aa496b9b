"""The outbox: digests enter ``deliveries`` as ``pending`` and leave as ``sent`` exactly once.

A digest is stored with its full payload, so a retry sends exactly what the first attempt
would have sent. Runs interrupted by a crash get their digests at the next cycle's start.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from monitor.errors import DeliveryError
from monitor.notify.digest import Digest, build_digest
from monitor.store import Store

log = logging.getLogger(__name__)


class Notifier(Protocol):
    channel: str
    min_severity: str

    def send(self, digest: Digest) -> None:
        """Deliver the digest or raise DeliveryError."""


class Outbox:
    def __init__(self, store: Store, notifiers: Sequence[Notifier], max_attempts: int = 10) -> None:
        self.store = store
        self.notifiers = {n.channel: n for n in notifiers}
        self.max_attempts = max_attempts

    def recover(self, now: str) -> None:
        """Digests of runs a killed process left behind enter the outbox."""
        for run_id in self.store.mark_interrupted_runs(now):
            self.enqueue(run_id, now)

    def enqueue(self, run_id: int, now: str) -> None:
        """One pending digest per channel that has something at its severity (idempotent)."""
        rows = self.store.run_changes(run_id)
        titles = self._titles({r["nct_id"] for r in rows})
        db = self.store.db
        with db.atomic():
            for channel, notifier in self.notifiers.items():
                if self._has_delivery(run_id, channel):
                    continue
                digest = build_digest(run_id, now, rows, titles, notifier.min_severity)
                if digest.studies:
                    db.table("deliveries").insert(self._row(run_id, channel, now, digest))

    def _row(self, run_id: int, channel: str, now: str, digest: Digest) -> dict[str, object]:
        return {
            "run_id": run_id,
            "channel": channel,
            "status": "pending",
            "attempts": 0,
            "created_at": now,
            "payload": digest.to_json(),
        }

    def _has_delivery(self, run_id: int, channel: str) -> bool:
        sql = "select 1 from deliveries where run_id = ? and channel = ?"
        return self.store.db.execute(sql, [run_id, channel]).fetchone() is not None

    def _titles(self, nct_ids: set[str]) -> dict[str, str | None]:
        return {n: (s or {}).get("title") for n in nct_ids for s in [self.store.study(n)]}

    def deliver(self, now: str) -> tuple[int, int]:
        """Send pending digests, oldest first; returns (sent, failed attempts)."""
        sent = failed = 0
        sql = (
            "select id, channel, attempts, payload from deliveries "
            "where status = 'pending' order by id"
        )
        for delivery_id, channel, attempts, payload in self.store.db.execute(sql).fetchall():
            notifier = self.notifiers.get(channel)
            if notifier is None:
                continue  # channel disabled since: keep the digest for when it comes back
            ok = self._attempt(delivery_id, notifier, attempts, payload, now)
            sent, failed = sent + ok, failed + (not ok)
        return sent, failed

    def _attempt(
        self, delivery_id: int, notifier: Notifier, attempts: int, payload: str, now: str
    ) -> bool:
        try:
            notifier.send(Digest.from_json(payload))
        except DeliveryError as e:
            self._failed(delivery_id, notifier.channel, attempts + 1, str(e))
            return False
        with self.store.db.atomic():
            self.store.db.table("deliveries").update(
                delivery_id,
                {"status": "sent", "attempts": attempts + 1, "sent_at": now, "last_error": None},
            )
        return True

    def _failed(self, delivery_id: int, channel: str, attempts: int, error: str) -> None:
        status = "failed" if attempts >= self.max_attempts else "pending"
        with self.store.db.atomic():
            self.store.db.table("deliveries").update(
                delivery_id, {"status": status, "attempts": attempts, "last_error": error}
            )
        if status == "failed":
            log.error(
                "digest %s on %s given up after %s attempts: %s",
                delivery_id,
                channel,
                attempts,
                error,
            )
        else:
            log.warning(
                "digest %s on %s not delivered (attempt %s): %s",
                delivery_id,
                channel,
                attempts,
                error,
            )

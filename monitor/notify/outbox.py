"""The outbox: digests enter ``deliveries`` as ``pending`` and leave as ``sent`` exactly once.

Rules:

- A cycle's digests are queued (one row per channel, or per recipient set / URL when a channel
  splits its digest) with their full payload, so a retry sends exactly what the first attempt
  would have sent. Runs interrupted by a crash get their digests at the next cycle's start.
- Each cycle delivers every pending row, oldest first. A failure keeps the row ``pending`` with
  ``attempts`` and ``last_error``; later rows of the same destination wait for the next cycle,
  so digests arrive in order. After ``max_attempts`` the row becomes ``failed`` and this is
  reported once on the log channel.
- A row is marked ``sent`` as soon as the channel returns, i.e. once the server acknowledged it.
- A crash between the channel accepting a digest and the row turning ``sent`` leaves the row
  in doubt (``last_error`` reads ``IN_DOUBT``, written before every send). At the next attempt
  a channel that can tell (``delivered(digest)``: the log file) is asked first, so the digest
  is not written twice; a channel that cannot tell sends it again (at least once).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from monitor import crosscheck
from monitor.errors import DeliveryError
from monitor.models import severity_rank
from monitor.notify.channel import Channel
from monitor.notify.digest import Digest, build_digest
from monitor.notify.failures import take_notices
from monitor.store import Store

log = logging.getLogger(__name__)
NOTICE_SEVERITY = "major"  # a channel at min_severity critical does not get failure notices
QUERY_PREFIX = 'New study matching query "'
IN_DOUBT = "interrupted while sending"


@dataclass(frozen=True)
class Pending:
    id: int
    channel: str
    attempts: int
    digest: Digest
    in_doubt: bool = False

    @property
    def destination(self) -> tuple[str, tuple[str, ...]]:
        return self.channel, self.digest.route


class Outbox:
    def __init__(
        self,
        store: Store,
        notifiers: Sequence[Channel],
        max_attempts: int = 10,
        alert_after_failures: int = 3,
    ) -> None:
        self.store = store
        self.notifiers = {n.channel: n for n in notifiers}
        self.max_attempts = max_attempts
        self.alert_after_failures = alert_after_failures

    # ------------------------------------------------------------ queueing

    def recover(self, now: str) -> None:
        """Digests of runs a killed process left behind enter the outbox.

        Queued before the runs are closed, so a crash in between leaves them to the next try.
        """
        for run_id in self.store.runs_left_running():
            self.enqueue(run_id, now)
        self.store.mark_interrupted_runs(now)

    def enqueue(self, run_id: int, now: str) -> None:
        """Queue this run's digests for every channel with something to say (idempotent)."""
        rows = self.store.run_changes(run_id)
        trial_ids = {r["trial_id"] for r in rows}
        titles, queries = self._titles(trial_ids), query_names(self.store, trial_ids)
        also = crosscheck.also_text(self.store, sorted(trial_ids))
        with self.store.transaction():
            notices = take_notices(self.store, self.alert_after_failures)
            for channel, notifier in self.notifiers.items():
                if self._has_delivery(run_id, channel):
                    continue
                news = notices if _gets_notices(notifier) else []
                digest = build_digest(
                    run_id,
                    now,
                    rows,
                    titles,
                    notifier.min_severity,
                    queries=queries,
                    notices=news,
                    also=also,
                )
                self._insert(channel, notifier, digest)

    def _insert(self, channel: str, notifier: Channel, digest: Digest) -> None:
        if digest.empty:
            return
        for part in notifier.split(digest):
            if not part.empty:
                self.store.queue_delivery(_row(channel, part))

    def _has_delivery(self, run_id: int, channel: str) -> bool:
        return self.store.has_delivery(run_id, channel)

    def _titles(self, trial_ids: set[str]) -> dict[str, str | None]:
        return {n: (s or {}).get("title") for n in trial_ids for s in [self.store.study(n)]}

    # ------------------------------------------------------------ delivering

    def pending(self) -> list[Pending]:
        return [
            Pending(i, ch, att, Digest.from_json(p), err == IN_DOUBT)
            for i, ch, att, p, err in self.store.pending_deliveries()
        ]

    def deliver(self, now: str) -> tuple[int, int]:
        """Send pending digests, oldest first; returns (sent, not delivered)."""
        sent = failed = 0
        blocked: set[tuple[str, tuple[str, ...]]] = set()
        for item in self.pending():
            notifier = self.notifiers.get(item.channel)
            if notifier is None:
                continue  # channel disabled since: keep the digest for when it comes back
            if item.destination in blocked:
                failed += 1  # keep the order: wait behind the older digest that failed
                continue
            if self._attempt(item, notifier, now):
                sent += 1
            else:
                failed += 1
                blocked.add(item.destination)
        return sent, failed

    def _attempt(self, item: Pending, notifier: Channel, now: str) -> bool:
        if item.in_doubt and notifier.delivered(item.digest):
            log.info("digest %s on %s was delivered before a crash", item.id, item.channel)
            self._update(item.id, status="sent", sent_at=now, last_error=None)
            return True
        self._update(item.id, last_error=IN_DOUBT)
        try:
            notifier.send(item.digest)
        except DeliveryError as e:
            self._failed(item, str(e))
            return False
        self._update(
            item.id, status="sent", attempts=item.attempts + 1, sent_at=now, last_error=None
        )
        log.info("digest %s sent on %s %s", item.id, item.channel, notifier.describe(item.digest))
        return True

    def _failed(self, item: Pending, error: str) -> None:
        attempts = item.attempts + 1
        status = "failed" if attempts >= self.max_attempts else "pending"
        self._update(item.id, status=status, attempts=attempts, last_error=error)
        if status == "failed":
            self._report_given_up(item, attempts, error)
        else:
            log.warning(
                "digest %s on %s not delivered (attempt %s of %s, will retry): %s",
                *(item.id, item.channel, attempts, self.max_attempts, error),
            )

    def _update(self, delivery_id: int, **values: Any) -> None:
        self.store.update_delivery(delivery_id, values)

    def _report_given_up(self, item: Pending, attempts: int, error: str) -> None:
        """Said once, when the row turns ``failed``: on the other channels that carry notices
        (the log channel), else as a log error."""
        text = (
            f"digest {item.id} of run {item.digest.run_id} on {item.channel} given up after "
            f"{attempts} attempts (status failed): {error}"
        )
        fields = {"event": "delivery_failed", "delivery_id": item.id, "channel": item.channel}
        others = [n for kind, n in self.notifiers.items() if kind != item.channel]
        if not any(_notice(n, text, {**fields, "run_id": item.digest.run_id}) for n in others):
            log.error("%s", text)


def _row(channel: str, digest: Digest) -> dict[str, object]:
    return {
        "run_id": digest.run_id,
        "channel": channel,
        "status": "pending",
        "attempts": 0,
        "created_at": digest.created_at,
        "payload": digest.to_json(),
    }


def _notice(channel: Channel, text: str, fields: dict[str, Any]) -> bool:
    """Whether ``channel`` carried the notice (a channel that cannot write it: no)."""
    try:
        return channel.notice(text, **fields)
    except DeliveryError:
        return False


def _gets_notices(notifier: Channel) -> bool:
    return severity_rank(notifier.min_severity) <= severity_rank(NOTICE_SEVERITY)


def query_names(store: Store, trial_ids: set[str]) -> dict[str, tuple[str, ...]]:
    """The watched queries that found each study, from its ``New study matching query`` rows."""
    found: dict[str, list[str]] = {}
    for nct, summary in store.summaries_like(QUERY_PREFIX, sorted(trial_ids)):
        name = summary[len(QUERY_PREFIX) :].removesuffix('"')
        found.setdefault(nct, []).append(name)
    return {nct: tuple(dict.fromkeys(names)) for nct, names in found.items()}

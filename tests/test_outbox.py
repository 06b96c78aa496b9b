"""The outbox: queued with the run, delivered oldest first, retried, given up once, never twice."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import pytest

from monitor.errors import DeliveryError
from monitor.models import Change
from monitor.notify.channel import ChannelBase
from monitor.notify.digest import Digest
from monitor.notify.log import LogNotifier, LogNotifyConfig
from monitor.notify.outbox import Outbox, query_names
from monitor.store import NewSnapshot, Store

NOW = "2026-11-26T20:03:14Z"
WITHDRAWN = Change(
    "status",
    "overallStatus",
    "critical",
    "RECRUITING",
    "WITHDRAWN",
    "Overall status: RECRUITING → WITHDRAWN",
)
TYPO = Change("description", "briefSummary", "minor", "a", "b", "Brief summary reworded")


@dataclass
class FakeNotifier(ChannelBase):
    """Records what it sent; fails while ``down`` is true."""

    channel: str = "fake"
    min_severity: str = "minor"
    down: bool = False
    sent: list[Digest] = field(default_factory=list)
    routes: tuple[tuple[str, ...], ...] = ((),)

    def split(self, digest: Digest) -> list[Digest]:
        return [digest.only(digest.trial_ids(), route) for route in self.routes]

    def send(self, digest: Digest) -> None:
        if self.down:
            raise DeliveryError("fake channel is down")
        self.sent.append(digest)

    def describe(self, digest: Digest) -> str:
        return "to the fake"


def run_with(store: Store, *changes: tuple[str, Change]) -> int:
    run_id = store.start_run(NOW, "files")
    for nct, change in changes:
        snap = NewSnapshot(
            nct, NOW, "files", f"h-{nct}-{run_id}", None, "{}", f"Title {nct}", None, [change]
        )
        store.save_snapshot(snap, None, run_id)
    return run_id


def deliveries(store: Store) -> list[dict]:
    return list(store.db.table("deliveries").rows_where(order_by="id"))


def test_a_cycle_queues_one_digest_per_channel_and_sends_it(store: Store) -> None:
    fake = FakeNotifier()
    critical_only = FakeNotifier(channel="pager", min_severity="critical")
    outbox = Outbox(store, [fake, critical_only])
    run_id = run_with(store, ("NCT00000001", WITHDRAWN), ("NCT00000002", TYPO))
    outbox.enqueue(run_id, NOW)
    outbox.enqueue(run_id, NOW)  # idempotent
    assert outbox.deliver(NOW) == (2, 0)
    assert [d.change_count for d in fake.sent] == [2]
    assert [s.trial_id for s in critical_only.sent[0].studies] == ["NCT00000001"]
    rows = deliveries(store)
    assert [(r["channel"], r["status"], r["attempts"], r["sent_at"]) for r in rows] == [
        ("fake", "sent", 1, NOW),
        ("pager", "sent", 1, NOW),
    ]
    assert outbox.deliver(NOW) == (0, 0)  # nothing twice


def test_nothing_is_queued_below_min_severity(store: Store) -> None:
    outbox = Outbox(store, [FakeNotifier(min_severity="major")])
    outbox.enqueue(run_with(store, ("NCT00000002", TYPO)), NOW)
    assert deliveries(store) == []


def test_a_failure_stays_pending_and_the_next_cycle_sends_oldest_first(store: Store) -> None:
    fake = FakeNotifier(down=True)
    outbox = Outbox(store, [fake])
    first = run_with(store, ("NCT00000001", WITHDRAWN))
    outbox.enqueue(first, NOW)
    assert outbox.deliver(NOW) == (0, 1)
    [row] = deliveries(store)
    assert (row["status"], row["attempts"], row["last_error"]) == (
        "pending",
        1,
        "fake channel is down",
    )
    fake.down = False
    second = run_with(store, ("NCT00000002", TYPO))
    outbox.enqueue(second, "2026-11-27T02:00:00Z")
    assert outbox.deliver("2026-11-27T02:00:00Z") == (2, 0)
    assert [d.run_id for d in fake.sent] == [first, second]
    assert [(r["status"], r["attempts"], r["last_error"]) for r in deliveries(store)] == [
        ("sent", 2, None),
        ("sent", 1, None),
    ]


def test_younger_digests_wait_behind_a_failed_one_of_the_same_destination(store: Store) -> None:
    fake = FakeNotifier(down=True)
    outbox = Outbox(store, [fake])
    for nct in ("NCT00000001", "NCT00000002"):
        outbox.enqueue(run_with(store, (nct, WITHDRAWN)), NOW)
    assert outbox.deliver(NOW) == (0, 2)
    assert [r["attempts"] for r in deliveries(store)] == [1, 0]


def test_each_route_is_its_own_delivery(store: Store) -> None:
    fake = FakeNotifier(routes=(("a@example.org",), ("b@example.org",)))
    outbox = Outbox(store, [fake])
    outbox.enqueue(run_with(store, ("NCT00000001", WITHDRAWN)), NOW)
    rows = deliveries(store)
    assert [json.loads(r["payload"])["route"] for r in rows] == [
        ["a@example.org"],
        ["b@example.org"],
    ]
    outbox.deliver(NOW)
    assert [d.route for d in fake.sent] == [("a@example.org",), ("b@example.org",)]


def test_given_up_after_max_attempts_and_said_once_on_the_log_channel(store: Store) -> None:
    stream = io.StringIO()
    log_channel = LogNotifier(LogNotifyConfig(min_severity="critical"), stream=stream)
    fake = FakeNotifier(down=True)
    outbox = Outbox(store, [fake, log_channel], max_attempts=3)
    outbox.enqueue(run_with(store, ("NCT00000002", TYPO)), NOW)
    for _ in range(5):
        outbox.deliver(NOW)
    [row] = deliveries(store)
    assert (row["status"], row["attempts"]) == ("failed", 3)
    assert stream.getvalue().count("given up after 3 attempts") == 1
    assert "on fake given up" in stream.getvalue()


def test_given_up_without_a_log_channel_is_a_log_error(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = Outbox(store, [FakeNotifier(down=True)], max_attempts=1)
    outbox.enqueue(run_with(store, ("NCT00000002", TYPO)), NOW)
    outbox.deliver(NOW)
    outbox.deliver(NOW)
    assert [r.levelname for r in caplog.records if "given up" in r.message] == ["ERROR"]


def test_a_disabled_channel_keeps_its_digests(store: Store) -> None:
    Outbox(store, [FakeNotifier(down=True)]).enqueue(
        run_with(store, ("NCT00000001", WITHDRAWN)), NOW
    )
    assert Outbox(store, [FakeNotifier(channel="other")]).deliver(NOW) == (0, 0)
    assert deliveries(store)[0]["status"] == "pending"


def test_an_interrupted_run_gets_its_digest_at_the_next_start(store: Store) -> None:
    fake = FakeNotifier()
    run_id = run_with(store, ("NCT00000001", WITHDRAWN))  # never finished: a killed process
    outbox = Outbox(store, [fake])
    outbox.recover(NOW)
    outbox.deliver(NOW)
    assert [d.run_id for d in fake.sent] == [run_id]


# ---------------------------------------------------------------- errors as news


def fail(store: Store, nct: str, times: int) -> None:
    for _ in range(times):
        store.record_failure(nct, f"{nct}: HTTP 503 from the registry", NOW)


def test_a_study_failing_three_cycles_is_news_once_and_its_recovery_once(store: Store) -> None:
    fake = FakeNotifier()
    outbox = Outbox(store, [fake], alert_after_failures=3)
    run_with(store, ("NCT00000001", WITHDRAWN))
    outbox.deliver(NOW)
    events = []
    for failures in (1, 1, 1, 1, 0, 0):
        fail(store, "NCT00000001", failures)
        if not failures:
            store.touch(["NCT00000001"], NOW)
        outbox.enqueue(store.start_run(NOW, "files"), NOW)
        outbox.deliver(NOW)
        events.append([(n.event, n.failures) for d in fake.sent for n in d.notices])
        fake.sent.clear()
    assert events == [[], [], [("failing", 3)], [], [("recovered", 0)], []]


def test_a_short_failure_streak_is_not_news(store: Store) -> None:
    fake = FakeNotifier()
    outbox = Outbox(store, [fake], alert_after_failures=3)
    run_with(store, ("NCT00000001", WITHDRAWN))
    fail(store, "NCT00000001", 2)
    store.touch(["NCT00000001"], NOW)
    outbox.enqueue(store.start_run(NOW, "files"), NOW)
    outbox.deliver(NOW)
    assert [d.notices for d in fake.sent if d.notices] == []


def test_failure_notices_skip_critical_only_channels(store: Store) -> None:
    pager = FakeNotifier(channel="pager", min_severity="critical")
    outbox = Outbox(store, [pager], alert_after_failures=1)
    run_with(store, ("NCT00000001", TYPO))
    fail(store, "NCT00000001", 1)
    outbox.enqueue(store.start_run(NOW, "files"), NOW)
    assert deliveries(store) == []


def test_query_names_come_from_new_study_rows(store: Store) -> None:
    found = Change(
        "record", "query", "major", None, "adult CAR-T", 'New study matching query "adult CAR-T"'
    )
    run_with(store, ("NCT00000001", found), ("NCT00000002", TYPO))
    assert query_names(store, {"NCT00000001", "NCT00000002"}) == {"NCT00000001": ("adult CAR-T",)}

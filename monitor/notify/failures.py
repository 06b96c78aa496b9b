"""Errors as news: a study failing several cycles in a row is reported once, its recovery once.

The store counts ``studies.consecutive_failures`` (reset to 0 by a successful check). Which
studies have been reported as failing is kept in the ``meta`` table, and it is read and written
in the same transaction that puts the notices into the outbox, so each notice is queued once.
"""

from __future__ import annotations

import orjson

from monitor.notify.digest import Notice
from monitor.store import Store

META_KEY = "notify.failing_reported"


def take_notices(store: Store, threshold: int) -> list[Notice]:
    """The new failing and recovered notices; remembers them (call inside a transaction)."""
    reported = _reported(store)
    failing = store.failing_at_least(threshold)
    counts = store.failure_counts(sorted(reported))
    news = [
        Notice(nct, "failing", count, message)
        for nct, (count, message) in failing.items()
        if nct not in reported
    ]
    recovered = sorted(n for n in reported if counts.get(n) == 0)
    news += [Notice(nct, "recovered", 0, "") for nct in recovered]
    still = {n for n in reported if counts.get(n, 0) > 0} | set(failing)
    if still != reported:
        store.set_meta(META_KEY, orjson.dumps(sorted(still)).decode())
    return news


def _reported(store: Store) -> set[str]:
    text = store.get_meta(META_KEY)
    return set(orjson.loads(text)) if text else set()

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
    failing = _failing(store, threshold)
    counts = _failure_counts(store, reported)
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


def _failing(store: Store, threshold: int) -> dict[str, tuple[int, str]]:
    sql = (
        "select nct_id, consecutive_failures, last_error from studies "
        "where consecutive_failures >= ? order by nct_id"
    )
    rows = store.db.execute(sql, [threshold]).fetchall()
    found = {nct: (int(count), str(error or "")) for nct, count, error in rows}
    return found | store.failing_watches(threshold)  # and watched ids never stored


def _failure_counts(store: Store, nct_ids: set[str]) -> dict[str, int]:
    """Current failure counts of these studies (a study no longer stored is left out)."""
    if not nct_ids:
        return {}
    ids = sorted(nct_ids)
    marks = ",".join("?" * len(ids))
    sql = f"select nct_id, consecutive_failures from studies where nct_id in ({marks})"
    counts = {nct: int(count or 0) for nct, count in store.db.execute(sql, ids).fetchall()}
    failing = store.watch_failures(ids)  # watched ids never stored, still failing
    return counts | {nct: int(row["consecutive_failures"]) for nct, row in failing.items()}

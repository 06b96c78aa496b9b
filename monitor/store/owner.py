"""Which configuration keeps the database: one database serves one config.

Besides the history, a database holds one config's bookkeeping: each registry's keyed state
(the data release its last complete cycle saw, its saved searches' passes and members), the
digests pending for its channels, and the runs a crash of its cycles left open. None of it is
scoped by watch list or channel: a second config cycling on the same file would take the first
one's release for its own and report nothing changed, and would recover the first one's
interrupted runs and send their digests to its own channels. So the first cycle on a database
records its config here (``meta``), and a cycle of another config is refused, unless it takes
the database over on purpose (a config that moved).
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from monitor.store.db import Part, to_json

OWNER_KEY = "owner.config"
GET = "select value from meta where key = ?"
PUT = "insert or replace into meta (key, value) values (?, ?)"


@dataclass(frozen=True)
class Owner:
    """The config keeping a database (its file's absolute path) and since when."""

    config: str
    since: str


class Ownership(Part):
    """The ``owner.config`` entry of ``meta``."""

    def owner(self) -> Owner | None:
        row = self.db.execute(GET, [OWNER_KEY]).fetchone()
        if row is None:
            return None
        try:
            data = orjson.loads(row[0])
            return Owner(str(data["config"]), str(data["since"]))
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return None  # unreadable: as if unowned (the next claim writes it again)

    def claim(self, config: str, now: str, *, take_over: bool = False) -> Owner | None:
        """Make ``config`` the keeper of a database nobody keeps (or, with ``take_over``, of
        one another config keeps), in one write transaction.

        Returns the other config that keeps it (refused: nothing written), or, when it was
        taken over, the config it was taken from; None when ``config`` keeps it already or now.
        """
        with self.db.atomic():
            current = self.owner()
            if current is not None and current.config == config:
                return None
            if current is not None and not take_over:
                return current
            self.db.execute(PUT, [OWNER_KEY, to_json({"config": config, "since": now})])
            return current

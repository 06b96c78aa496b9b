"""trialmon run --source ctgov against the loopback fake of the API, serving the same releases.

The fake (``tests/fakeapi.py``, a real HTTP server on 127.0.0.1) runs in the harness process
and holds the release's studies; trialmon runs as a child process that watches every one of
them by id (``[watch].studies``). The rate limit is lifted (``requests_per_minute``) so that
the cycle measures trialmon, not the limiter; the requests it made are counted by the fake,
and the report says what they would cost at the registry's 50 requests per minute.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import orjson
from corpus import Corpus
from measure import Measured, check, run_child

REPO = Path(__file__).resolve().parent.parent
LIFTED_RATE = 600_000  # requests per minute: no waiting on the limiter in the benchmark
CONFIG = """\
database = "{db}"
source = "ctgov"

[ctgov]
base_url = "{url}"
requests_per_minute = {rate}

[watch]
studies = [{ids}]

[notify.log]
enabled = true
format = "text"
min_severity = "minor"
"""


class LoopbackApi:
    """The fake API, the config that points trialmon at it, and trialmon's database."""

    def __init__(self, root: Path, corpus: Corpus) -> None:
        if str(REPO) not in sys.path:
            sys.path.insert(0, str(REPO))
        from tests.fakeapi import FakeApi

        self.corpus = corpus
        self.fake = FakeApi().start()
        self.db = root / "api.db"
        self.config = root / "api.toml"
        self.log = root / "api.log"
        ids = ", ".join(f'"{corpus.nct_id(i)}"' for i in range(corpus.n))
        text = CONFIG.format(db=self.db, url=self.fake.url, rate=LIFTED_RATE, ids=ids)
        self.config.write_text(text)

    def publish(self) -> None:
        """Serve the corpus's current release (every study, and the day's data timestamp)."""
        studies = {}
        for index in range(self.corpus.n):
            studies[self.corpus.nct_id(index)] = orjson.loads(self.corpus.path(index).read_bytes())
        with self.fake.lock:
            self.fake.studies = studies
            self.fake.data_timestamp = f"{self.corpus.day.isoformat()}T09:00:06"
            self.fake.requests.clear()

    def run(self) -> tuple[Measured, int]:
        self.publish()
        argv = [sys.executable, "-m", "monitor", "--config", str(self.config), "run"]
        measured = check(run_child(argv, self.log), "trialmon run --source ctgov", self.log)
        return measured, self.fake.count()

    def size(self) -> int:
        return sum(p.stat().st_size for p in self.db.parent.glob("api.db*"))

    def versions(self) -> int:
        with sqlite3.connect(self.db) as conn:
            return int(conn.execute("select count(*) from snapshots").fetchone()[0])

    def stop(self) -> None:
        self.fake.stop()

"""ClinicalTrials.gov through the loopback fake API: watch lists and a whole registry.

``api`` (``CtgovWatchLists``): a registry holding ``--watch-large`` whole records (cloned real
records, ``RealCorpus(api_only=True)``) and ``--background`` more studies known by id and date
only. Each daily release moves ``--registry-updates`` of the background studies and changes
``--watched-changed`` watched ones (all of them also in the small list), so a cycle must find
exactly those. trialmon runs twice per release, each with its own database: watching
``--watch-small`` studies and watching all ``--watch-large``.

``registry`` (``CtgovRegistry``): ``--registry-n`` whole records and one saved search that
matches every study (``filter.advanced = AREA[LastUpdatePostDate]RANGE[MIN,MAX]``); each
release changes ``--registry-changed`` of them. The first cycle is the first pass over the
registry; the later ones are daily cycles.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date, timedelta
from pathlib import Path

from fakeregistry import Entry, Registry, Server
from pages import write_pages
from programs import Trialmon, live_config
from rows import HEADER, Row, say, show
from scenario_offline import Program, make_corpus

BACKGROUND_FIRST = 50_000_000  # ids of the studies the fake knows by id and date only


class LiveScenario:
    """Shared by the ctgov shapes: a corpus served by the fake, releases, programs."""

    name = "live"

    def __init__(self, root: Path, args: argparse.Namespace, n: int, day: date) -> None:
        self.root, self.args = root, args
        self.corpus = make_corpus(root / "records", n, args, day, api=True)
        self.registry = Registry()
        self.server = Server(self.registry)
        self.programs: list[Program] = []

    def trialmon(self, name: str, ids: list[str], every_study: bool = False) -> Trialmon:
        url = self.server.url
        return Trialmon(
            name,
            self.root,
            lambda db: live_config(db, url, ids, every_study),
            requests=self.registry.count,
            before=self.registry.clear,
        )

    def background(self) -> list[Entry]:
        return []

    def changes(self, number: int) -> list[int] | None:
        return None

    def publish(self) -> None:
        start = time.perf_counter()
        entries = write_pages(self.corpus, self.root / "bodies", self.args.per_page)
        entries += self.background()
        self.registry.publish(entries, f"{self.corpus.day.isoformat()}T09:00:06")
        say(f"  the fake API serves {len(entries)} studies ({time.perf_counter() - start:.1f} s)")

    def run(self) -> list[Row]:
        start = time.perf_counter()
        written = self.corpus.generate()
        n = self.corpus.n
        say(
            f"[{self.name}] generated {n} studies, {written / n / 1024:.1f} KB each on average "
            f"({time.perf_counter() - start:.1f} s)"
        )
        rows: list[Row] = []
        try:
            self.publish()
            say(HEADER)
            for number in range(1, self.cycles + 1):
                if number > 1:
                    self.release(number)
                for program in self.programs:
                    rows.append(program.run(self.name, number, self.studies(program)))
                    show(rows[-1])
        finally:
            self.server.stop()
        return rows

    def release(self, number: int) -> None:
        chosen = self.changes(number)
        changed = self.corpus.cycle(number, self.fraction, chosen)
        say(f"release {number}: {len(changed)} served studies changed{self.release_note()}")
        self.publish()

    @property
    def cycles(self) -> int:
        return int(self.args.cycles)

    @property
    def fraction(self) -> float:
        return 0.0

    def release_note(self) -> str:
        return ""

    def studies(self, program: Program) -> int:
        return int(self.corpus.n)


class CtgovWatchLists(LiveScenario):
    """Small and large watch lists against a registry that updates far more than they hold."""

    name = "api"

    def __init__(self, root: Path, args: argparse.Namespace, day: date) -> None:
        super().__init__(root, args, args.watch_large, day)
        n = self.corpus.n
        step = max(1, n // args.watch_small)
        self.small = list(range(0, n, step))[: args.watch_small]
        self.posted = {i: _old_date(i) for i in range(args.background)}
        ids = [self.corpus.nct_id(i) for i in range(n)]
        self.programs = [
            self.trialmon(f"trialmon API, {len(self.small)} watched", [ids[i] for i in self.small]),
            self.trialmon(f"trialmon API, {n} watched", ids),
        ]

    def changes(self, number: int) -> list[int]:
        rng = random.Random(f"{self.args.seed}:watched:{number}")
        moved = rng.sample(range(self.args.background), self.args.registry_updates)
        day = (self.corpus.day + timedelta(days=1)).isoformat()  # the day corpus.cycle moves to
        for index in moved:
            self.posted[index] = day
        return rng.sample(self.small, min(len(self.small), self.args.watched_changed))

    def background(self) -> list[Entry]:
        return [Entry(f"NCT{BACKGROUND_FIRST + i:08d}", d, ()) for i, d in self.posted.items()]

    def release_note(self) -> str:
        return f", and {self.args.registry_updates} studies nobody watches"

    def studies(self, program: Program) -> int:
        return len(self.small) if program is self.programs[0] else int(self.corpus.n)


class CtgovRegistry(LiveScenario):
    """A whole registry through one saved search that matches every study."""

    name = "registry"

    def __init__(self, root: Path, args: argparse.Namespace, day: date) -> None:
        super().__init__(root, args, args.registry_n, day)
        self.programs = [self.trialmon("trialmon API, search: every study", [], True)]
        pages = root / "bodies"
        if "pages" in args.registry_parts:
            from programs import offline_config

            config = lambda db: offline_config(db, pages)  # noqa: E731
            self.programs.append(Trialmon("trialmon pages", root, config, ["--source", str(pages)]))
        if "parse-limit" in args.registry_parts:
            from programs import ParseLimit

            self.programs.append(ParseLimit(pages, root / "parse-limit.log"))

    @property
    def cycles(self) -> int:
        return int(self.args.registry_cycles)

    @property
    def fraction(self) -> float:
        return float(self.args.registry_changed)


def _old_date(index: int) -> str:
    return f"20{15 + index % 10:02d}-{1 + index % 12:02d}-{1 + index % 28:02d}"


SHAPES = {"api": CtgovWatchLists, "registry": CtgovRegistry}

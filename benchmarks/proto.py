"""The prototypes of issue 16, measured beside trialmon on the same releases.

- ``proto live`` (``proto_live.py``): the planned live cycle's requests against the same fake
  API as ``trialmon API``: registry-wide updates since the last release or watermarks by id,
  whichever the first page's ``totalCount`` says is cheaper.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from measure import check, run_child
from programs import HERE, slug
from rows import Row, load_average


def live_prototypes(scenario: Any) -> list[Any]:
    small = [scenario.corpus.nct_id(i) for i in scenario.small]
    large = [scenario.corpus.nct_id(i) for i in range(scenario.corpus.n)]
    return [
        LivePrototype(scenario, small, 1),
        LivePrototype(scenario, large, 1),
        LivePrototype(scenario, large, 0),
    ]


@dataclass
class LivePrototype:
    """``proto_live.py`` on the watch list, against the scenario's fake, its state kept."""

    scenario: Any
    ids: list[str]
    overlap_days: int

    def __post_init__(self) -> None:
        overlap = f"overlap {self.overlap_days} day{'s' if self.overlap_days != 1 else ''}"
        self.name = f"proto live, {len(self.ids)} watched, {overlap}"
        self.folder = self.scenario.root / slug(self.name)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.id_file = self.folder / "ids.json"
        self.id_file.write_text(json.dumps(self.ids))
        self.state = self.folder / "state.json"
        self.log = self.folder / "proto.log"

    def run(self, shape: str, cycle: int, studies: int) -> Row:
        registry = self.scenario.registry
        registry.clear()
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "out.json"
            argv = [sys.executable, str(HERE / "proto_live.py"), self.scenario.server.url]
            argv += [str(self.id_file), str(self.state), str(out)]
            argv += ["--overlap-days", str(self.overlap_days)]
            load = load_average()
            measured = check(run_child(argv, self.log), self.name, self.log)
            result = json.loads(out.read_text())
        note = f"{result['way']}: {len(result['changed'])} changed"
        if result.get("updates") is not None:
            note += f"; {result['updates']} registry updates listed"
        note += "; detection only (records fetched, not stored)"
        row = Row(shape, cycle, self.name, len(self.ids), measured.seconds, measured.cpu_seconds)
        row.peak_rss_mb, row.requests, row.load = measured.peak_rss_mb, registry.count(), load
        row.note = note
        return row

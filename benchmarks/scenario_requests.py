"""Registry request scenarios (``registry_requests.py``) as rows of the benchmark's report.

``registry_requests.py`` drives each EU CTIS and ISRCTN scenario through the registry table and
the pipeline against the loopback fakes (``tests/fake_ctis.py``, ``tests/fake_isrctn.py``) on a
fake clock, and prints each cycle's requests. :class:`RequestScenarios` runs the same scenario
functions and also makes each cycle a :class:`rows.Row` of the report: its requests in the
``reqs`` column, the cycle's wall and CPU seconds in this process (the fake's serving
included), what it found in the note. ``shapes_ctis.py`` and ``shapes_isrctn.py`` register
them as shapes (``run.py --shapes ctis isrctn``).
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from typing import Any

import registry_requests
from rows import HEADER, Row, say, show

Scenarios = Callable[[float, int], None]


class RequestScenarios:
    """One registry's scenarios; every cycle they run is a row."""

    def __init__(self, kind: str, scenarios: Scenarios, args: argparse.Namespace) -> None:
        self.kind, self.scenarios, self.args = kind, scenarios, args
        self.rows: list[Row] = []
        self.report: Any = None

    def run(self) -> list[Row]:
        say(f"[{self.kind}] requests per cycle against the loopback fake (a fake clock)")
        real_cycle, real_run = registry_requests.run_cycle, registry_requests.Cycles.run
        setattr(registry_requests, "run_cycle", self._keeping(real_cycle))  # noqa: B010
        setattr(registry_requests.Cycles, "run", self._measuring(real_run))  # noqa: B010
        logging.disable(logging.WARNING)  # the errors a scenario provokes are counted
        try:
            self.scenarios(float(self.args.rpm), int(self.args.registry_watched))
        finally:
            setattr(registry_requests, "run_cycle", real_cycle)  # noqa: B010
            setattr(registry_requests.Cycles, "run", real_run)  # noqa: B010
            logging.disable(logging.NOTSET)
        say(HEADER)
        for row in self.rows:
            show(row)
        return self.rows

    def _keeping(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def run_cycle(cycle: Any, items: Any) -> Any:
            self.report = real(cycle, items)
            return self.report

        return run_cycle

    def _measuring(self, real: Callable[..., int]) -> Callable[..., int]:
        def run(cycles: Any, label: str) -> int:
            start, cpu = time.perf_counter(), time.process_time()
            count = real(cycles, label)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            report = self.report
            note = f"{report.new + report.changed} new or changed, {report.failed} failed"
            row = Row(self.kind, len(self.rows) + 1, label, report.checked, seconds, cpu)
            row.requests, row.note = count, note
            self.rows.append(row)
            return count

        return run


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rpm", type=float, default=50, help="ctis, isrctn: requests per minute")
    parser.add_argument(
        "--registry-watched", type=int, default=200, help="ctis, isrctn: N watched (200)"
    )

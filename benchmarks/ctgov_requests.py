"""Measure what a live cycle costs, in requests and seconds, against the loopback fake API.

Real clock, real rate limit (requests_per_minute = 50), real HTTP on 127.0.0.1; `trialmon run`
is invoked in-process through its click entry point. Run from the repository root:

    .venv/bin/python benchmarks/ctgov_requests.py            # both scenarios (about 1 minute)
    .venv/bin/python benchmarks/ctgov_requests.py --studies 500 --throttle 0

Scenario 1: N watched studies (SYNTHETIC copies of tests/data/study_NCT02576665_terminated.json);
cycle 1 stores the baselines, 10 studies change and a new data release is published, cycle 2
picks them up, cycle 3 runs with no new release.
Scenario 2: the server answers 429 (no Retry-After) to every request for T seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from monitor.cli import cli  # noqa: E402
from tests.fakeapi import FakeApi, Fault, studies_range, synthetic_study  # noqa: E402

TEMPLATE = json.loads((ROOT / "tests/data/study_NCT02576665_terminated.json").read_text())


def config_file(folder: Path, api: FakeApi, ids: list[str], rpm: int) -> Path:
    path = folder / "config.toml"
    path.write_text(
        f'database = "history.db"\nsource = "ctgov"\n[ctgov]\nbase_url = "{api.url}"\n'
        f"requests_per_minute = {rpm}\n[watch]\nstudies = {json.dumps(ids)}\n"
        "[notify.log]\nenabled = false\n"
    )
    return path


def run(config: Path, api: FakeApi) -> tuple[int, float, str]:
    api.clear_log()
    start = time.monotonic()
    result = CliRunner().invoke(cli, ["--config", str(config), "run"])
    elapsed = time.monotonic() - start
    return api.count(), elapsed, result.output.strip().splitlines()[-1]


def withdraw(study: dict[str, Any]) -> None:
    study["protocolSection"]["statusModule"]["overallStatus"] = "WITHDRAWN"


def cost(count: int, rpm: int) -> None:
    with FakeApi() as api, tempfile.TemporaryDirectory() as tmp:
        ids = list(studies_range(1, count))
        api.add(*(synthetic_study(TEMPLATE, n, status="RECRUITING") for n in ids))
        config = config_file(Path(tmp), api, ids, rpm)
        rows = [("1: baseline", *run(config, api))]
        for nct in ids[:: max(1, count // 10)][:10]:
            api.update(nct, "2026-09-05", withdraw)
        api.data_timestamp = "2026-09-05T09:00:06"
        rows.append(("2: 10 changed, new release", *run(config, api)))
        rows.append(("3: no new release", *run(config, api)))
    print(f"\n{count} watched studies, requests_per_minute = {rpm}")
    for name, requests, seconds, summary in rows:
        print(f"  cycle {name:28} {requests:3} requests  {seconds:6.1f} s   {summary}")


def throttled(seconds: float, rpm: int) -> None:
    with FakeApi() as api, tempfile.TemporaryDirectory() as tmp:
        ids = list(studies_range(1, 30))
        api.add(*(synthetic_study(TEMPLATE, n) for n in ids))
        config = config_file(Path(tmp), api, ids, rpm)
        until = time.monotonic() + seconds
        api.fault = lambda seen: (
            Fault(429, "Too Many Requests") if time.monotonic() < until else None
        )
        requests, elapsed, summary = run(config, api)
        times = [r.at for r in api.seen()]
        worst = max(sum(1 for u in times if t <= u < t + 60) for t in times)
        refused = sum(1 for r in api.seen() if r.at < until)
    print(f"\n429 (no Retry-After) for {seconds:.0f} s, 30 watched, requests_per_minute = {rpm}")
    print(f"  {requests} requests ({refused} refused), completed after {elapsed:.1f} s")
    print(f"  most requests in any 60 s window: {worst} (limit {rpm})")
    print(f"  {summary}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=2000)
    parser.add_argument("--rpm", type=int, default=50)
    parser.add_argument("--throttle", type=float, default=20.0, help="seconds of 429 (0: skip)")
    args = parser.parse_args()
    cost(args.studies, args.rpm)
    if args.throttle:
        throttled(args.throttle, args.rpm)


if __name__ == "__main__":
    main()

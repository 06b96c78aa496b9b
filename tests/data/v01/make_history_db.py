"""Make tests/data/v01/: a database written by trialmon 0.1, for tests/test_upgrade.py.

Run it with the code of trialmon 0.1 (commit fd28960, before the registries redesign), from
an export of that commit, with a Python that has trialmon's dependencies::

    git archive fd28960 | tar -x -C /tmp/trialmon-0.1
    cd /tmp/trialmon-0.1 && python <this repository>/tests/data/v01/make_history_db.py \\
        <this repository>/tests/data/v01

It drives the 0.1 command line (``python -m monitor``) against the 0.1 loopback fake API:

1. offline: ``run --source seeds/earlier`` then ``run --source seeds`` (NCT06009107 withdrawn);
2. live: 4 watched studies (2 REAL records of tests/data, 2 SYNTHETIC small ones) and a saved
   search finding 3 SYNTHETIC small studies; a second release where one watched study moved
   to another id, one is gone (404) and a watched one changed; a third release with nothing
   new; digests to the log file (sent) and to an apprise URL that refuses (kept pending);
3. ``backfill NCT03690141`` over the SYNTHETIC versions of tests/backfill_data.py.

and writes ``history.sql`` (the database as SQL text) and ``live.json`` (what the fake API
served last: its studies, the watched ids, the saved search and the data release), so that a
test can serve the same records to the new code and expect no change.
"""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, os.getcwd())  # the 0.1 export: its monitor/ and tests/

from tests.backfill_data import NCT_ID as BACKFILLED
from tests.backfill_data import build_versions, version_dates
from tests.fakeapi import FakeApi

CONDITION = "Glioblastoma"
WATCHED = ["NCT02576665", "NCT00791778", "NCT10000001", "NCT10000002"]
QUERY = {"name": "glioblastoma studies", "params": {"query.cond": CONDITION}}


def small(nct: str, posted: str, status: str = "RECRUITING") -> dict[str, Any]:
    """A SYNTHETIC small study that the saved search finds."""
    return {
        "protocolSection": {
            "identificationModule": {"nctId": nct, "briefTitle": f"Synthetic study {nct}"},
            "statusModule": {
                "overallStatus": status,
                "lastUpdatePostDateStruct": {"date": posted, "type": "ACTUAL"},
                "startDateStruct": {"date": "2025-03", "type": "ESTIMATED"},
            },
            "conditionsModule": {"conditions": [CONDITION]},
            "designModule": {"enrollmentInfo": {"count": 40, "type": "ESTIMATED"}},
        }
    }


def real(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((Path("tests/data") / name).read_text())
    return data


def trialmon(work: Path, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    # exit 1 is fine: a cycle whose only digest (to the refusing URL) stayed pending
    done = subprocess.run([sys.executable, "-m", "monitor", *args], cwd=work, env=env)
    assert done.returncode in (0, 1), args


def live_config(work: Path, api: FakeApi) -> Path:
    path = work / "live.toml"
    studies = ", ".join(f'"{n}"' for n in WATCHED)
    path.write_text(
        f'database = "history.db"\nsource = "ctgov"\n[ctgov]\nbase_url = "{api.url}"\n'
        f"requests_per_minute = 6000\n[watch]\nstudies = [{studies}]\n"
        f'[[watch.queries]]\nname = "{QUERY["name"]}"\n'
        f'params = {{ "query.cond" = "{CONDITION}" }}\n'
        '[notify.log]\nformat = "json"\nfile = "notify.log"\n'
        '[notify.apprise]\nenabled = true\nurls = ["json://127.0.0.1:9/hook"]\n'
    )
    return path


def first_release(api: FakeApi) -> None:
    api.data_timestamp = "2026-09-01T09:00:06"
    api.add(real("study_NCT02576665_terminated.json"))
    api.add(real("study_NCT00791778_completed_with_results.json"))
    api.add(small("NCT10000001", "2026-01-05"), small("NCT10000002", "2026-01-05"))
    api.add(*(small(f"NCT2000000{n}", "2026-02-01") for n in (1, 2, 3)))


def second_release(api: FakeApi) -> None:
    api.data_timestamp = "2026-09-02T09:00:06"
    moved = small("NCT10000099", "2026-09-01")
    moved["protocolSection"]["identificationModule"]["nctIdAliases"] = ["NCT10000001"]
    with api.lock:
        del api.studies["NCT10000001"]
        del api.studies["NCT10000002"]
    api.add(moved)

    def enrolled(study: dict[str, Any]) -> None:
        study["protocolSection"]["designModule"]["enrollmentInfo"]["count"] = 12

    api.update("NCT02576665", "2026-09-01", enrolled)


def backfill_history(api: FakeApi) -> None:
    versions = build_versions()
    dates = {number: day for number, day, _ in version_dates()}
    api.add_history(BACKFILLED, [(dates[n], copy.deepcopy(versions[n])) for n in sorted(versions)])


def dump(database: Path, out: Path) -> None:
    conn = sqlite3.connect(database)
    lines = [line for line in conn.iterdump()]
    conn.close()
    head = "-- trialmon 0.1 (commit fd28960) database made by tests/data/v01/make_history_db.py\n"
    (out / "history.sql").write_text(head + "\n".join(lines) + "\n", encoding="utf-8")


def main(out: Path) -> None:
    work = Path("/tmp/trialmon-v01-work")
    subprocess.run(["rm", "-rf", str(work)], check=True)
    work.mkdir()
    (work / "files.toml").write_text(
        'database = "history.db"\n[notify.log]\nformat = "json"\nfile = "notify.log"\n'
    )
    seeds = Path.cwd() / "seeds"
    trialmon(work, "--config", "files.toml", "run", "--source", str(seeds / "earlier"))
    trialmon(work, "--config", "files.toml", "run", "--source", str(seeds))
    with FakeApi() as api:
        config = str(live_config(work, api))
        first_release(api)
        trialmon(work, "--config", config, "run")
        second_release(api)
        trialmon(work, "--config", config, "run")
        api.data_timestamp = "2026-09-03T09:00:06"
        trialmon(work, "--config", config, "run")
        backfill_history(api)
        trialmon(work, "--config", config, "backfill", BACKFILLED)
        served = {"studies": list(api.studies.values()), "data_timestamp": api.data_timestamp}
    out.mkdir(parents=True, exist_ok=True)
    dump(work / "history.db", out)
    live = {**served, "watched": WATCHED, "query": QUERY}
    (out / "live.json").write_text(json.dumps(live, sort_keys=True), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

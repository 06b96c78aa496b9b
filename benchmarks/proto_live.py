"""PROTOTYPE of the live cycle of issue 16 for watched ids: which records changed, in requests.

    python benchmarks/proto_live.py URL IDS.json STATE.json OUT.json [--full-pass-every 7]
                                    [--overlap-days 1]

Detection only (the records it would hand to the pipeline are fetched and counted, not
stored): ``GET /api/v2/version``; on a full-pass cycle (the first, then every
``--full-pass-every``) the watermarks of every watched id, as trialmon does today; otherwise
the first page of the registry's updates since the last release seen
(``filter.advanced=AREA[LastUpdatePostDate]RANGE[since,MAX]``, ``fields=NCTId,NCTIdAlias,
LastUpdatePostDate``, ``countTotal=true``), then whichever way ``monitor.liveplan`` says is
cheaper from its ``totalCount``; then the full records of the watched studies whose
last-update date moved, by ``filter.ids``. STATE.json keeps the release seen, each study's
last-update date and the cycles since the last full pass.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import httpx

from monitor import liveplan
from monitor.registries.ctgov.live import (
    MAX_URL,
    TOKEN_RESERVE,
    WATERMARK_FIELDS,
    id_batches,
    to_mark,
)

STUDIES = "/api/v2/studies"
PAGE = 1000


class Client:
    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=120)
        self.requests = 0

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        self.requests += 1
        response = self.http.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def pages(self, params: dict[str, Any], first: Any = None) -> list[Any]:
        body = first if first is not None else self.get(STUDIES, params)
        found = list(body["studies"])
        while body.get("nextPageToken"):
            body = self.get(STUDIES, {**params, "pageToken": body["nextPageToken"]})
            found += body["studies"]
        return found

    def batches(self, ids: list[str], params: dict[str, Any]) -> list[list[str]]:
        probe = {**params, "filter.ids": "", "pageToken": "x" * TOKEN_RESERVE}
        room = MAX_URL - len(str(self.http.build_request("GET", STUDIES, params=probe).url))
        return list(id_batches(ids, room, PAGE))


def marks_by_ids(client: Client, ids: list[str]) -> list[Any]:
    params = {"fields": WATERMARK_FIELDS, "pageSize": PAGE}
    out = []
    for batch in client.batches(ids, params):
        out += client.pages({**params, "filter.ids": ",".join(batch)})
    return out


def cycle(client: Client, ids: list[str], state: dict[str, Any], args: argparse.Namespace) -> dict:
    release = client.get("/api/v2/version")["dataTimestamp"]
    if state.get("release") == release:
        return {"way": "no new release", "changed": []}
    per = len(client.batches(ids, {"fields": WATERMARK_FIELDS, "pageSize": PAGE})[0])
    way, total, rows = choose(client, ids, state, args, per)
    posted: dict[str, str] = state.setdefault("posted", {})
    changed = sorted(changes(rows, set(ids), posted))
    fetched = fetch(client, changed)
    for nct in changed:
        posted[nct] = fetched.get(nct, posted.get(nct, ""))
    state["release"] = release
    return {"way": way, "updates": total, "changed": changed, "ids_per_request": per}


def choose(
    client: Client, ids: list[str], state: dict[str, Any], args: argparse.Namespace, per: int
) -> tuple[str, int | None, list[Any]]:
    if liveplan.full_pass_due(state.get("cycles_since_full"), args.full_pass_every):
        state["cycles_since_full"] = 0
        return "full pass by id", None, marks_by_ids(client, ids)
    state["cycles_since_full"] += 1
    if not liveplan.ask_updates_first(len(ids), per):
        return "by id (one request)", None, marks_by_ids(client, ids)
    last = date.fromisoformat(state["release"][:10])
    since = liveplan.updates_since(last, args.overlap_days)
    params: dict[str, Any] = {"filter.advanced": f"AREA[LastUpdatePostDate]RANGE[{since},MAX]"}
    params |= {"fields": WATERMARK_FIELDS, "pageSize": PAGE, "countTotal": "true"}
    first = client.get(STUDIES, params)
    total = int(first.get("totalCount", 0))
    costs = liveplan.way_after_first_page(total, PAGE, len(ids), per)
    if costs.cheaper == "updates":  # the next pages: every other parameter unchanged
        return "by updates", total, client.pages(params, first)
    return "by id (updates too many)", total, marks_by_ids(client, ids)


def changes(rows: list[Any], watched: set[str], posted: dict[str, str]) -> set[str]:
    out = set()
    for row in rows:
        mark = to_mark(row)
        if mark is None:
            continue
        for nct in (mark.nct_id, *mark.aliases):
            if nct in watched and posted.get(nct) != mark.posted:
                out.add(nct)
    return out


def fetch(client: Client, ids: list[str]) -> dict[str, str]:
    got: dict[str, str] = {}
    for batch in client.batches(ids, {"pageSize": PAGE}) if ids else []:
        for study in client.pages({"filter.ids": ",".join(batch), "pageSize": PAGE}):
            mark = to_mark(study)
            if mark is not None and mark.posted:
                got[mark.nct_id] = mark.posted
    return got


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("ids")
    p.add_argument("state")
    p.add_argument("out")
    p.add_argument("--full-pass-every", type=int, default=7)
    p.add_argument("--overlap-days", type=int, default=1)
    args = p.parse_args(argv)
    ids = json.loads(Path(args.ids).read_text())
    state_file = Path(args.state)
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    client = Client(args.url)
    result = cycle(client, ids, state, args)
    result["requests"] = client.requests
    state_file.write_text(json.dumps(state))
    Path(args.out).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

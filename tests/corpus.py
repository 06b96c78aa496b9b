"""A SYNTHETIC corpus of a few hundred offline records, over several cycles, for the
reliability tests (crash, concurrency).

Every study is a copy of a REAL record from tests/data (the API v2 captures listed in
tests/data/README.md, and the seed text page) with a new, made-up NCT id (``NCT9xxxxxxx``),
then changed deterministically from cycle to cycle: status, enrollment, dates, conditions,
administrative dates. The records are therefore synthetic, built from real ones.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .conftest import DATA, ROOT

TEMPLATES = (
    "NCT06009107_api_synthetic.json",
    "study_NCT02576665_terminated.json",
    "study_NCT00791778_completed_with_results.json",
    "study_NCT06131398_completed_sorted_keys.json",
)
TEXT_EVERY = 40  # every 40th study is a registry page as text (the seed's format)
PAGE_EVERY = 25  # every 25th study goes into one /api/v2/studies page file


def templates() -> list[dict[str, Any]]:
    found = [json.loads((DATA / name).read_text()) for name in TEMPLATES]
    found.extend(json.loads((DATA / "studies_page1_phelan.json").read_text())["studies"])
    return found


def nct(i: int) -> str:
    return f"NCT9{i:07d}"


Mutation = Callable[[dict[str, Any], int], None]


def _status(p: dict[str, Any], i: int) -> None:
    p["statusModule"]["overallStatus"] = "WITHDRAWN" if i % 2 else "SUSPENDED"


def _enrollment(p: dict[str, Any], i: int) -> None:
    info = p.setdefault("designModule", {}).setdefault("enrollmentInfo", {"count": 10})
    info["count"] = int(info.get("count", 10)) + 7 + i % 13
    info["type"] = "ACTUAL"


def _start(p: dict[str, Any], i: int) -> None:
    p["statusModule"]["startDateStruct"] = {"date": f"2031-{1 + i % 12:02d}", "type": "ESTIMATED"}


def _condition(p: dict[str, Any], i: int) -> None:
    module = p.setdefault("conditionsModule", {})
    module["conditions"] = [*module.get("conditions", []), f"Synthetic condition {i}"]


def _admin(p: dict[str, Any], i: int) -> None:
    p["statusModule"]["lastUpdatePostDateStruct"] = {"date": "2031-01-02", "type": "ACTUAL"}


# (first cycle it applies from, applies to study i when i % modulus == 0, mutation)
MUTATIONS: tuple[tuple[int, int, Mutation], ...] = (
    (1, 3, _status),
    (1, 5, _enrollment),
    (1, 11, _admin),
    (2, 4, _start),
    (2, 7, _condition),
)


def study(i: int, cycle: int, pool: list[dict[str, Any]]) -> dict[str, Any]:
    """Study ``i`` as it reads at ``cycle`` (0 = the baseline)."""
    record = copy.deepcopy(pool[i % len(pool)])
    record.pop("resultsSection", None)  # keep files small; results are not what is tested
    p = record["protocolSection"]
    p["identificationModule"]["nctId"] = nct(i)
    for start, modulus, mutate in MUTATIONS:
        if cycle >= start and i % modulus == 0:
            mutate(p, i)
    return record


def text_page(i: int, cycle: int) -> str:
    seed = ROOT / "seeds" / ("earlier" if cycle == 0 else "") / "NCT06009107.txt"
    return seed.read_text(encoding="utf-8").replace("NCT06009107", nct(i))


def write_cycle(directory: Path, cycle: int, count: int) -> Path:
    """Write the records of ``cycle`` for studies 1..count into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    pool = templates()
    page: list[dict[str, Any]] = []
    for i in range(1, count + 1):
        if i % TEXT_EVERY == 0:
            (directory / f"{nct(i)}.txt").write_text(text_page(i, cycle), encoding="utf-8")
        elif i % PAGE_EVERY == 0:
            page.append(study(i, cycle, pool))
        else:
            (directory / f"{nct(i)}.json").write_text(json.dumps(study(i, cycle, pool)))
    (directory / "page.json").write_text(json.dumps({"studies": page}))
    (directory / "broken.json").write_text('{"protocolSection": ')  # refused every cycle
    return directory


def write_cycles(root: Path, cycles: int, count: int) -> list[Path]:
    return [write_cycle(root / f"cycle{c}", c, count) for c in range(cycles)]

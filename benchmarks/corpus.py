"""A SYNTHETIC corpus of API v2 studies built from real records, and realistic cycles of change.

Every study is a deep copy of one real record (``tests/data``: copies of the captures in
``../shared/ctgov-samples``, plus the hand-built NCT06009107) with its id, titles, texts,
statuses, dates, enrollment and list lengths (outcomes, conditions, locations) varied by a
seeded random generator. None of the generated studies exists in the registry.

A cycle changes a given fraction of the studies the way the registry's weekly updates do: an
overall-status transition, revised dates, a new enrollment figure, an added or reworded outcome,
a site added or changing status, always with a new last-update date. Every study also gets the
day's ``derivedSection.miscInfoModule.versionHolder``, which the registry rewrites daily even when
the record did not change.

Studies are written one compact JSON file each (``NCT........json``), the API's own format, and
nothing here keeps the whole corpus in memory: files are generated, mutated and rewritten one
at a time.
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"

# (file in tests/data, weight): about one study in eight has posted results, as in the registry.
TEMPLATES: tuple[tuple[str, int], ...] = (
    ("study_NCT02576665_terminated.json", 3),
    ("study_NCT06131398_completed_sorted_keys.json", 3),
    ("history_version_NCT03690141.json", 3),
    ("NCT06009107_api_synthetic.json", 2),
    ("study_NCT00791778_completed_with_results.json", 1),
)

STATUSES = (
    ("RECRUITING", 30),
    ("COMPLETED", 30),
    ("NOT_YET_RECRUITING", 8),
    ("ACTIVE_NOT_RECRUITING", 10),
    ("TERMINATED", 7),
    ("WITHDRAWN", 3),
    ("UNKNOWN", 10),
    ("ENROLLING_BY_INVITATION", 2),
)
NEXT_STATUS = {
    "NOT_YET_RECRUITING": ("RECRUITING", "WITHDRAWN"),
    "RECRUITING": ("ACTIVE_NOT_RECRUITING", "COMPLETED", "TERMINATED", "SUSPENDED"),
    "ENROLLING_BY_INVITATION": ("ACTIVE_NOT_RECRUITING", "COMPLETED"),
    "ACTIVE_NOT_RECRUITING": ("COMPLETED", "TERMINATED"),
    "SUSPENDED": ("RECRUITING", "TERMINATED"),
    "UNKNOWN": ("COMPLETED", "RECRUITING"),
}
WHY_STOPPED = ("Sponsor decision", "Slow accrual", "Funding ended", "Safety review")
SITE_STATUSES = ("RECRUITING", "NOT_YET_RECRUITING", "ACTIVE_NOT_RECRUITING", "COMPLETED")
_WORD_TEXT = (
    "randomized open-label phase study of safety efficacy tolerability dose escalation "
    "expansion cohort patients with advanced relapsed refractory metastatic solid tumors "
    "adjuvant neoadjuvant chemotherapy immunotherapy combination versus placebo controlled "
    "multicenter double-blind pharmacokinetics biomarker quality of life survival response "
    "children adults elderly healthy volunteers registry observational cohort long-term "
    "follow-up pilot feasibility device behavioral dietary supplement vaccine gene therapy"
)
WORDS = tuple(_WORD_TEXT.split())
CITIES = (
    ("Boston", "Massachusetts", "United States"),
    ("Houston", "Texas", "United States"),
    ("Seattle", "Washington", "United States"),
    ("Toronto", "Ontario", "Canada"),
    ("Paris", None, "France"),
    ("Berlin", None, "Germany"),
    ("Madrid", None, "Spain"),
    ("Milan", None, "Italy"),
    ("Seoul", None, "Korea, Republic of"),
    ("Tokyo", None, "Japan"),
    ("Sydney", "New South Wales", "Australia"),
    ("Sao Paulo", None, "Brazil"),
    ("Shanghai", "Shanghai", "China"),
    ("Warsaw", None, "Poland"),
)
MARK_RE = re.compile(r"</?mark[^>]*>")
VERSION_HOLDER = b'"versionHolder":"'


def _strip_marks(value: Any) -> Any:
    """The int-history capture highlights query terms with <mark>; the API v2 does not."""
    if isinstance(value, str):
        return MARK_RE.sub("", value)
    if isinstance(value, list):
        return [_strip_marks(v) for v in value]
    if isinstance(value, dict):
        return {k: _strip_marks(v) for k, v in value.items()}
    return value


def load_templates() -> list[tuple[dict[str, Any], int]]:
    out = []
    for name, weight in TEMPLATES:
        doc = orjson.loads((DATA / name).read_bytes())
        study = doc.get("study", doc)
        study.setdefault("derivedSection", {}).setdefault("miscInfoModule", {})
        out.append((_strip_marks(study), weight))
    return out


@dataclass
class Corpus:
    """N synthetic studies in ``directory``; ``cycle`` moves them on by one release."""

    directory: Path
    n: int
    seed: int = 8
    day: date = date(2026, 9, 1)

    def __post_init__(self) -> None:
        self.templates = load_templates()
        self.weights = [w for _, w in self.templates]
        self.pool = _text_pool(self.templates)

    def nct_id(self, index: int) -> str:
        return f"NCT{10_000_000 + index * 37:08d}"

    def path(self, index: int) -> Path:
        return self.directory / f"{self.nct_id(index)}.json"

    def paths(self) -> Iterator[Path]:
        return (self.path(i) for i in range(self.n))

    def aliases(self, index: int) -> tuple[str, ...]:
        return ()

    def posted(self, index: int) -> str | None:
        study = orjson.loads(self.path(index).read_bytes())
        return str(study["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"])

    def compact(self, index: int) -> bytes:
        return self.path(index).read_bytes()  # written compact

    # ---------------------------------------------------------------- generation

    def generate(self) -> int:
        """Write the first release of every study; returns the bytes written."""
        self.directory.mkdir(parents=True, exist_ok=True)
        total = 0
        for index in range(self.n):
            data = orjson.dumps(self.study(index))
            self.path(index).write_bytes(data)
            total += len(data)
        return total

    def study(self, index: int) -> dict[str, Any]:
        rng = random.Random(f"{self.seed}:{index}")
        template = rng.choices(self.templates, weights=self.weights)[0][0]
        study = copy.deepcopy(template)
        protocol = study["protocolSection"]
        _identify(protocol, self.nct_id(index), rng)
        _vary_status(protocol, rng, self.day)
        _vary_design(protocol, rng)
        _vary_texts(protocol, rng, self.pool)
        _vary_lists(protocol, rng, self.pool)
        study["derivedSection"]["miscInfoModule"]["versionHolder"] = self.day.isoformat()
        return study

    # ---------------------------------------------------------------- cycles

    def cycle(self, number: int, fraction: float) -> list[int]:
        """Release ``number``: a new ``versionHolder`` everywhere, ``fraction`` changed."""
        self.day = self.day + timedelta(days=1)
        rng = random.Random(f"{self.seed}:cycle:{number}")
        changed = sorted(rng.sample(range(self.n), round(self.n * fraction)))
        chosen = set(changed)
        for index in range(self.n):
            if index in chosen:
                self._change(index, rng)
            else:
                self._bump_version_holder(index)
        return changed

    def _change(self, index: int, rng: random.Random) -> None:
        path = self.path(index)
        study = orjson.loads(path.read_bytes())
        mutate(study, rng, self.day)
        study["derivedSection"]["miscInfoModule"]["versionHolder"] = self.day.isoformat()
        path.write_bytes(orjson.dumps(study))

    def _bump_version_holder(self, index: int) -> None:
        path = self.path(index)
        data = path.read_bytes()
        at = data.rindex(VERSION_HOLDER) + len(VERSION_HOLDER)
        path.write_bytes(data[:at] + self.day.isoformat().encode() + data[at + 10 :])


# -------------------------------------------------------------------- varying a new study


def _text_pool(templates: list[tuple[dict[str, Any], int]]) -> dict[str, list[Any]]:
    pool: dict[str, list[Any]] = {"conditions": [], "outcomes": [], "locations": []}
    for study, _ in templates:
        p = study["protocolSection"]
        pool["conditions"] += p.get("conditionsModule", {}).get("conditions", [])
        outcomes = p.get("outcomesModule", {})
        pool["outcomes"] += outcomes.get("primaryOutcomes", [])
        pool["outcomes"] += outcomes.get("secondaryOutcomes", [])
        pool["locations"] += p.get("contactsLocationsModule", {}).get("locations", [])
    return pool


def _phrase(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _identify(protocol: dict[str, Any], nct_id: str, rng: random.Random) -> None:
    ident = protocol["identificationModule"]
    ident["nctId"] = nct_id
    ident.pop("nctIdAliases", None)
    ident["orgStudyIdInfo"] = {"id": f"ORG-{rng.randrange(10**6):06d}"}
    ident["briefTitle"] = f"A {_phrase(rng, rng.randint(4, 12))} ({nct_id[-4:]})"
    if "officialTitle" in ident:
        ident["officialTitle"] = f"{ident['briefTitle']}: {_phrase(rng, rng.randint(6, 20))}"


def _random_date(rng: random.Random, around: date, spread: int) -> str:
    day = around + timedelta(days=rng.randint(-spread, spread))
    return day.isoformat() if rng.random() < 0.6 else day.isoformat()[:7]


def _vary_status(protocol: dict[str, Any], rng: random.Random, today: date) -> None:
    status = protocol["statusModule"]
    names, weights = zip(*STATUSES, strict=True)
    overall = rng.choices(names, weights=weights)[0]
    status["overallStatus"] = overall
    if overall in ("TERMINATED", "WITHDRAWN"):
        status["whyStopped"] = rng.choice(WHY_STOPPED)
    else:
        status.pop("whyStopped", None)
    done = "ACTUAL" if overall in ("COMPLETED", "TERMINATED") else "ESTIMATED"
    start = today - timedelta(days=rng.randint(30, 3000))
    status["startDateStruct"] = {"date": _random_date(rng, start, 0), "type": "ACTUAL"}
    end = start + timedelta(days=rng.randint(200, 2000))
    status["primaryCompletionDateStruct"] = {"date": _random_date(rng, end, 0), "type": done}
    end += timedelta(days=rng.randint(0, 400))
    status["completionDateStruct"] = {"date": _random_date(rng, end, 0), "type": done}
    posted = today - timedelta(days=rng.randint(1, 700))
    status["lastUpdateSubmitDate"] = posted.isoformat()
    status["lastUpdatePostDateStruct"] = {"date": posted.isoformat(), "type": "ACTUAL"}
    status["statusVerifiedDate"] = posted.isoformat()[:7]


def _vary_design(protocol: dict[str, Any], rng: random.Random) -> None:
    design = protocol.setdefault("designModule", {})
    kind = "ACTUAL" if protocol["statusModule"]["overallStatus"] == "COMPLETED" else "ESTIMATED"
    design["enrollmentInfo"] = {"count": int(rng.lognormvariate(4, 1.2)) + 1, "type": kind}


def _vary_texts(protocol: dict[str, Any], rng: random.Random, pool: dict[str, list[Any]]) -> None:
    description = protocol.setdefault("descriptionModule", {})
    summary = description.get("briefSummary", "")
    description["briefSummary"] = f"{_phrase(rng, rng.randint(10, 60))}. {summary}"
    if "detailedDescription" in description:
        words = description["detailedDescription"].split(" ")
        cut = rng.randint(0, len(words))
        description["detailedDescription"] = " ".join(words[cut:] + words[:cut])
    eligibility = protocol.get("eligibilityModule", {})
    if "eligibilityCriteria" in eligibility:
        lines = eligibility["eligibilityCriteria"].split("\n")
        keep = rng.randint(max(1, len(lines) // 2), len(lines))
        eligibility["eligibilityCriteria"] = "\n".join(lines[:keep])


def _vary_lists(protocol: dict[str, Any], rng: random.Random, pool: dict[str, list[Any]]) -> None:
    conditions = protocol.setdefault("conditionsModule", {})
    conditions["conditions"] = rng.sample(pool["conditions"], rng.randint(1, 4))
    outcomes = protocol.setdefault("outcomesModule", {})
    outcomes["primaryOutcomes"] = _outcomes(rng, pool, rng.randint(1, 3))
    outcomes["secondaryOutcomes"] = _outcomes(rng, pool, int(rng.expovariate(1 / 5)))
    module = protocol.setdefault("contactsLocationsModule", {})
    count = min(400, int(rng.paretovariate(1.2)) + rng.randint(0, 2))
    module["locations"] = [_site(rng, pool, k) for k in range(count)]


def _outcomes(rng: random.Random, pool: dict[str, list[Any]], n: int) -> list[dict[str, Any]]:
    out = []
    for k in range(n):
        outcome = dict(rng.choice(pool["outcomes"]))
        outcome["measure"] = f"{outcome['measure']} ({_phrase(rng, 2)} {k + 1})"
        out.append(outcome)
    return out


def _site(rng: random.Random, pool: dict[str, list[Any]], k: int) -> dict[str, Any]:
    site = copy.deepcopy(rng.choice(pool["locations"]))
    city, state, country = rng.choice(CITIES)
    site.update({"city": city, "country": country, "status": rng.choice(SITE_STATUSES)})
    site["facility"] = f"{site.get('facility', 'Site')} {_phrase(rng, 1).title()} {k + 1}"
    if state:
        site["state"] = state
    else:
        site.pop("state", None)
    return site


# -------------------------------------------------------------------- one release's change


def mutate(study: dict[str, Any], rng: random.Random, today: date) -> list[str]:
    """Change a study the way one registry update does; returns what was changed."""
    protocol = study["protocolSection"]
    kinds = rng.sample(list(MUTATIONS), rng.choice((1, 1, 1, 2, 2, 3)))
    for kind in kinds:
        MUTATIONS[kind](protocol, rng, today)
    status = protocol["statusModule"]
    status["lastUpdateSubmitDate"] = today.isoformat()
    status["lastUpdatePostDateStruct"] = {"date": today.isoformat(), "type": "ACTUAL"}
    status["statusVerifiedDate"] = today.isoformat()[:7]
    return kinds


def _status_change(protocol: dict[str, Any], rng: random.Random, today: date) -> None:
    status = protocol["statusModule"]
    options = NEXT_STATUS.get(status["overallStatus"], ("RECRUITING",))
    status["overallStatus"] = rng.choice(options)
    if status["overallStatus"] in ("TERMINATED", "SUSPENDED", "WITHDRAWN"):
        status["whyStopped"] = rng.choice(WHY_STOPPED)


def _dates_change(protocol: dict[str, Any], rng: random.Random, today: date) -> None:
    status = protocol["statusModule"]
    key = rng.choice(("primaryCompletionDateStruct", "completionDateStruct", "startDateStruct"))
    struct = status.setdefault(key, {"date": today.isoformat()})
    old = struct["date"]
    moment = date.fromisoformat(old if len(old) == 10 else f"{old[:7]}-01")
    moved = (moment + timedelta(days=rng.randint(30, 400))).isoformat()
    struct["date"] = moved[: len(old)] if len(old) in (7, 10) else moved
    if rng.random() < 0.3:
        struct["type"] = "ACTUAL"


def _enrollment_change(protocol: dict[str, Any], rng: random.Random, today: date) -> None:
    info = protocol.setdefault("designModule", {}).setdefault("enrollmentInfo", {"count": 10})
    info["count"] = max(0, int(info.get("count", 10) * rng.uniform(0.5, 1.6)))
    if rng.random() < 0.4:
        info["type"] = "ACTUAL"


def _outcome_change(protocol: dict[str, Any], rng: random.Random, today: date) -> None:
    outcomes = protocol.setdefault("outcomesModule", {})
    if rng.random() < 0.5 and outcomes.get("primaryOutcomes"):
        primary = outcomes["primaryOutcomes"][0]
        primary["timeFrame"] = f"Up to {rng.randint(4, 104)} weeks"
    else:
        measure = f"Change in {_phrase(rng, 4)} from baseline"
        added = {"measure": measure, "timeFrame": f"Week {rng.randint(2, 52)}"}
        outcomes.setdefault("secondaryOutcomes", []).append(added)


def _location_change(protocol: dict[str, Any], rng: random.Random, today: date) -> None:
    locations = protocol.setdefault("contactsLocationsModule", {}).setdefault("locations", [])
    if locations and rng.random() < 0.5:
        rng.choice(locations)["status"] = rng.choice(SITE_STATUSES)
        return
    city, state, country = rng.choice(CITIES)
    site = {"facility": f"{city} {_phrase(rng, 2).title()} Hospital", "city": city}
    site.update({"country": country, "status": "RECRUITING"})
    if state:
        site["state"] = state
    locations.append(site)


MUTATIONS = {
    "status": _status_change,
    "dates": _dates_change,
    "enrollment": _enrollment_change,
    "outcomes": _outcome_change,
    "locations": _location_change,
}

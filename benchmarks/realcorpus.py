"""The benchmark corpus: REAL records kept whole, cloned with new ids (seeded, fast).

Every study is one of the records in ``tests/data`` (copies of ``../shared/ctgov-samples``),
byte for byte in its captured layout, with only its ids replaced (its NCT id, its org study id
and secondary ids: no two clones share one, as no two trials do) and, for about one clone in a
hundred, an ``nctIdAliases`` list added (SYNTHETIC: the captures have none). Nothing is dropped:
results sections, derived sections, ``<mark>`` highlighting of the int-history capture, sorted
keys of the NCT06131398 capture, the indentation of the re-indented captures all stay.

| record (tests/data)                                  | layout  | KB  | share |
|------------------------------------------------------|---------|-----|-------|
| NCT00791778, completed, results section              | compact | 91  | 12%   |
| NCT02576665, terminated                              | indent  | 21  | 20%   |
| NCT06131398, completed, keys sorted by the saver     | indent  | 22  | 20%   |
| NCT03690141 (the int-history capture's ``study``)    | indent  | 20  | 20%   |
| NCT06009107 (SYNTHETIC, hand-built from a real page) | indent  | 6   | 10%   |
| NCT02576665 requested with ``fields=``               | indent  | 10  | 8%    |
| the 5 studies of a ``fields=`` search page (phelan)  | indent  | 2-3 | 10%   |

``api_only=True`` keeps the first five (full API records with a last-update date): the shapes
served by the fake API, which always answers with whole records.

A clone is its record's bytes with the id (and the day's ``versionHolder``) spliced in, so
20,000 studies take a few seconds. A release (``cycle``) rewrites ``versionHolder`` in every
file that has one (the registry stamps every record daily) and changes some studies the way a
registry update does (``corpus.mutate``: status, dates, enrollment, outcomes, sites; a new
last-update date), rewritten in the file's own layout.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
from corpus import mutate

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
ID_SLOT = b"NCT99999999"
ALIAS_SLOT = b"NCT99999998"
DAY_SLOT = b"9999-12-31"
OTHER_SLOTS = tuple(b"OTHER-ID-SLOT-%d" % k for k in range(10))  # org study id, secondary ids
SLOTS = re.compile(b"(" + b"|".join((ID_SLOT, ALIAS_SLOT, DAY_SLOT, *OTHER_SLOTS)) + b")")
EUDRACT = re.compile(r"^\d{4}-\d{6}-\d{2}$")
HOLDER_VALUE = re.compile(rb'"versionHolder"\s*:\s*"')


@dataclass(frozen=True)
class Source:
    """Where a real record comes from and how it was laid out when captured."""

    file: str
    indent: bool
    share: float
    page_item: int | None = None  # the study at this position of a search page
    full: bool = True  # a whole API record (the fake API serves only these)


SOURCES: tuple[Source, ...] = (
    Source("study_NCT00791778_completed_with_results.json", False, 0.12),
    Source("study_NCT02576665_terminated.json", True, 0.20),
    Source("study_NCT06131398_completed_sorted_keys.json", True, 0.20),
    Source("history_version_NCT03690141.json", True, 0.20),
    Source("NCT06009107_api_synthetic.json", True, 0.10),
    Source("study_NCT02576665_fields_subset.json", True, 0.08, full=False),
    *(Source("studies_page1_phelan.json", True, 0.02, k, full=False) for k in range(5)),
)


@dataclass
class Template:
    """One real record, as pieces between the slots a clone fills in."""

    name: str
    study: dict[str, Any]
    indent: bool
    share: float
    pieces: dict[tuple[bool, bool], list[bytes]] = field(default_factory=dict)  # (sorted, alias)
    others: dict[bytes, str] = field(default_factory=dict)  # slot -> the record's own id there

    @property
    def posted(self) -> str | None:
        status = self.study["protocolSection"].get("statusModule", {})
        return (status.get("lastUpdatePostDateStruct") or {}).get("date")

    @property
    def stamped(self) -> bool:
        return "versionHolder" in self.study.get("derivedSection", {}).get("miscInfoModule", {})

    def dump(self, study: dict[str, Any], sort: bool) -> bytes:
        option = (orjson.OPT_INDENT_2 if self.indent else 0) | (orjson.OPT_SORT_KEYS if sort else 0)
        return orjson.dumps(study, option=option)

    def build(self) -> Template:
        for sort in (False, True):
            for aliased in (False, True):
                self.pieces[sort, aliased] = SLOTS.split(self.dump(self._slotted(aliased), sort))
        return self

    def _slotted(self, aliased: bool) -> dict[str, Any]:
        study = orjson.loads(orjson.dumps(self.study))
        ident = study["protocolSection"]["identificationModule"]
        old = ident["nctId"]
        ident["nctId"] = ID_SLOT.decode()
        if aliased:  # right after nctId, where the registry puts it
            items = list(ident.items())
            items.insert(1, ("nctIdAliases", [ALIAS_SLOT.decode()]))
            study["protocolSection"]["identificationModule"] = dict(items)
        if self.stamped:
            study["derivedSection"]["miscInfoModule"]["versionHolder"] = DAY_SLOT.decode()
        holders = [ident.get("orgStudyIdInfo") or {}, *(ident.get("secondaryIdInfos") or [])]
        for slot, holder in zip(OTHER_SLOTS, (h for h in holders if "id" in h), strict=False):
            self.others[slot] = holder["id"]
            holder["id"] = slot.decode()
        text = orjson.dumps(study)
        if old.encode() in text:
            raise ValueError(f"{self.name}: the id {old} occurs outside nctId")
        return study


def other_id(value: str, index: int) -> bytes:
    """A clone's own org study id or secondary id: no two trials share one, as in a registry.

    A EudraCT number stays one (``crossref`` links it), numbered by the clone.
    """
    if EUDRACT.match(value):
        return f"{value[:4]}-{index % 1_000_000:06d}-{value[-2:]}".encode()
    return f"{value}-{index:06d}".encode()


def load_templates(api_only: bool = False) -> list[Template]:
    out = []
    for source in SOURCES:
        if api_only and not source.full:
            continue
        doc = orjson.loads((DATA / source.file).read_bytes())
        if source.page_item is not None:
            study = doc["studies"][source.page_item]
        else:
            study = doc.get("study", doc)
        name = f"{source.file}" + (f"[{source.page_item}]" if source.page_item is not None else "")
        out.append(Template(name, study, source.indent, source.share).build())
    return out


@dataclass
class RealCorpus:
    """N clones of real records in ``directory``, one file each; ``cycle`` moves them on."""

    directory: Path
    n: int
    seed: int = 8
    day: date = date(2026, 9, 1)
    api_only: bool = False
    alias_share: float = 0.01
    sorted_share: float = 1 / 3

    def __post_init__(self) -> None:
        self.templates = load_templates(self.api_only)
        rng = random.Random(f"{self.seed}:kinds")
        weights = [t.share for t in self.templates]
        self.kinds = rng.choices(range(len(self.templates)), weights=weights, k=self.n)
        alias = random.Random(f"{self.seed}:aliases")
        self.with_alias = [alias.random() < self.alias_share for _ in range(self.n)]
        layout = random.Random(f"{self.seed}:layout")
        self.sort_keys = [layout.random() < self.sorted_share for _ in range(self.n)]
        self.changed_on: dict[int, str] = {}  # study -> the day it last changed

    # ---------------------------------------------------------------- ids and paths

    def nct_id(self, index: int) -> str:
        return f"NCT{10_000_000 + index * 37:08d}"

    def alias_id(self, index: int) -> str:
        return f"NCT{30_000_000 + index * 37:08d}"

    def aliases(self, index: int) -> tuple[str, ...]:
        return (self.alias_id(index),) if self.with_alias[index] else ()

    def path(self, index: int) -> Path:
        return self.directory / f"{self.nct_id(index)}.json"

    def paths(self) -> Iterator[Path]:
        return (self.path(i) for i in range(self.n))

    def template(self, index: int) -> Template:
        return self.templates[self.kinds[index]]

    def posted(self, index: int) -> str | None:
        return self.changed_on.get(index) or self.template(index).posted

    def describe(self) -> str:
        counts = [0] * len(self.templates)
        for kind in self.kinds:
            counts[kind] += 1
        parts = [f"{t.name} x{c}" for t, c in zip(self.templates, counts, strict=True) if c]
        return "; ".join(parts)

    # ---------------------------------------------------------------- generation

    def clone(self, index: int) -> bytes:
        template = self.template(index)
        pieces = template.pieces[self.sort_keys[index], self.with_alias[index]]
        fill = {
            ID_SLOT: self.nct_id(index).encode(),
            ALIAS_SLOT: self.alias_id(index).encode(),
            DAY_SLOT: self.day.isoformat().encode(),
        }
        fill |= {slot: other_id(value, index) for slot, value in template.others.items()}
        return b"".join(fill.get(p, p) if k % 2 else p for k, p in enumerate(pieces))

    def generate(self) -> int:
        """Write the first release of every study; returns the bytes written."""
        self.directory.mkdir(parents=True, exist_ok=True)
        return sum(write(self.path(i), self.clone(i)) for i in range(self.n))

    # ---------------------------------------------------------------- releases

    def cycle(
        self, number: int, fraction: float = 0.0, chosen: list[int] | None = None
    ) -> list[int]:
        """Release ``number``: the day's ``versionHolder`` everywhere and some studies changed.

        ``chosen`` names the studies to change; otherwise ``fraction`` of them, at random.
        """
        self.day = self.day + timedelta(days=1)
        rng = random.Random(f"{self.seed}:cycle:{number}")
        if chosen is None:
            chosen = rng.sample(range(self.n), round(self.n * fraction))
        changed = sorted(chosen)
        picked = set(changed)
        for index in range(self.n):
            if index in picked:
                self.change(index, rng)
            elif self.template(index).stamped:
                self.stamp(index)
        return changed

    def change(self, index: int, rng: random.Random) -> None:
        path = self.path(index)
        study = orjson.loads(path.read_bytes())
        mutate(study, rng, self.day)
        if self.template(index).stamped:
            study["derivedSection"]["miscInfoModule"]["versionHolder"] = self.day.isoformat()
        write(path, self.template(index).dump(study, self.sort_keys[index]))
        self.changed_on[index] = self.day.isoformat()

    def stamp(self, index: int) -> None:
        path = self.path(index)
        data = path.read_bytes()
        found = HOLDER_VALUE.search(data, data.rindex(b'"versionHolder"'))
        assert found is not None, path
        at = found.end()
        write(path, data[:at] + self.day.isoformat().encode() + data[at + 10 :])

    # ---------------------------------------------------------------- as the API sends it

    def compact(self, index: int) -> bytes:
        """The study as ``GET /api/v2/studies`` sends it: compact, in the API's key order."""
        data = self.path(index).read_bytes()
        if not self.template(index).indent and not self.sort_keys[index]:
            return data  # the byte-exact API capture, its id spliced in
        return orjson.dumps(api_order(orjson.loads(data)))


# The API's order (the byte-exact capture of NCT00791778 and the API's documentation): the
# captures saved with sorted keys are put back in it when served or paged.
SECTIONS: tuple[str, ...] = ("protocolSection", "resultsSection", "annotationSection")
SECTIONS += ("documentSection", "derivedSection", "hasResults")
MODULES: tuple[str, ...] = ("identificationModule", "statusModule", "sponsorCollaboratorsModule")
MODULES += ("oversightModule", "descriptionModule", "conditionsModule", "designModule")
MODULES += ("armsInterventionsModule", "outcomesModule", "eligibilityModule")
MODULES += ("contactsLocationsModule", "referencesModule", "ipdSharingStatementModule")
IDENTIFICATION: tuple[str, ...] = ("nctId", "nctIdAliases", "orgStudyIdInfo", "secondaryIdInfos")
IDENTIFICATION += ("organization", "briefTitle", "officialTitle", "acronym")


def ordered(value: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    rank = {key: k for k, key in enumerate(order)}
    return dict(sorted(value.items(), key=lambda item: rank.get(item[0], len(order))))


def api_order(study: dict[str, Any]) -> dict[str, Any]:
    study = ordered(study, SECTIONS)
    protocol = ordered(study["protocolSection"], MODULES)
    protocol["identificationModule"] = ordered(protocol["identificationModule"], IDENTIFICATION)
    study["protocolSection"] = protocol
    return study


def write(path: Path, data: bytes) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    return len(data)

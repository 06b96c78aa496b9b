"""A digest: one cycle's changes for one channel, grouped by study, highest severity first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from monitor.models import severity_rank

HISTORY_URL = "https://clinicaltrials.gov/study/{nct_id}?tab=history"


@dataclass(frozen=True)
class DigestChange:
    category: str
    field: str
    severity: str
    summary: str
    old_value: Any
    new_value: Any
    detected_at: str


@dataclass(frozen=True)
class StudyDigest:
    nct_id: str
    title: str | None
    changes: tuple[DigestChange, ...]

    @property
    def top_severity(self) -> str:
        return max((c.severity for c in self.changes), key=severity_rank)

    @property
    def history_url(self) -> str:
        return HISTORY_URL.format(nct_id=self.nct_id)


@dataclass(frozen=True)
class Digest:
    run_id: int
    created_at: str
    studies: tuple[StudyDigest, ...]

    @property
    def change_count(self) -> int:
        return sum(len(s.changes) for s in self.studies)

    @property
    def critical_count(self) -> int:
        return sum(c.severity == "critical" for s in self.studies for c in s.changes)

    def subject(self) -> str:
        n, m, k = self.change_count, len(self.studies), self.critical_count
        # The exact wording of CONTRACT.md, singular counts included, so filters can match it.
        return f"[trialmon] {n} changes in {m} studies ({k} critical)"

    def to_json(self) -> str:
        return orjson.dumps(asdict(self)).decode()

    @classmethod
    def from_json(cls, text: str) -> Digest:
        data = orjson.loads(text)
        studies = tuple(
            StudyDigest(s["nct_id"], s["title"], tuple(DigestChange(**c) for c in s["changes"]))
            for s in data["studies"]
        )
        return cls(data["run_id"], data["created_at"], studies)


def build_digest(
    run_id: int,
    created_at: str,
    rows: Iterable[Mapping[str, Any]],
    titles: Mapping[str, str | None],
    min_severity: str,
) -> Digest:
    """Group change rows by study, keep those at or above ``min_severity``, order them."""
    floor = severity_rank(min_severity)
    grouped: dict[str, list[DigestChange]] = {}
    for row in rows:
        if severity_rank(row["severity"]) >= floor:
            grouped.setdefault(row["nct_id"], []).append(_change(row))
    studies = [
        StudyDigest(
            nct, titles.get(nct), tuple(sorted(cs, key=lambda c: -severity_rank(c.severity)))
        )
        for nct, cs in grouped.items()
    ]
    studies.sort(key=lambda s: (-severity_rank(s.top_severity), s.nct_id))
    return Digest(run_id, created_at, tuple(studies))


def _change(row: Mapping[str, Any]) -> DigestChange:
    return DigestChange(
        category=row["category"],
        field=row["field"],
        severity=row["severity"],
        summary=row["summary"],
        old_value=_loads(row["old_value"]),
        new_value=_loads(row["new_value"]),
        detected_at=row["detected_at"],
    )


def _loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def render_text(digest: Digest) -> str:
    """The plain-text digest: a header line, then each study with its changes."""
    lines = [digest.subject().removeprefix("[trialmon] ").capitalize()]
    for study in digest.studies:
        title = f" — {study.title}" if study.title else ""
        lines.append("")
        lines.append(f"{study.nct_id}{title}")
        lines.extend(f"  [{c.severity}] {c.category}: {c.summary}" for c in study.changes)
        lines.append(f"  history: {study.history_url}")
    return "\n".join(lines)

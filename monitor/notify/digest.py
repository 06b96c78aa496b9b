"""A digest: one cycle's news for one channel, grouped by study, highest severity first.

News is the cycle's changes plus *notices*: a study that has failed several cycles in a row,
or one that recovered. ``route`` says where a part of a digest goes (email addresses, or the
id of an Apprise URL); it is empty for channels with a single destination. Each study links
to the page of its registry that shows what changed (``Registry.links``).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson

from monitor import registries, rollup
from monitor.english import count
from monitor.models import severity_rank
from monitor.registries.base import Registry
from monitor.rollup import Line
from monitor.textsafe import printable

TEST_SUBJECT = "[trialmon] test message"
TEST_TEXT = "This is a test message from trialmon: if you read it, this channel works."


def _registry(trial_id: str, registry: str) -> Registry:
    kind = registry if registry in registries.REGISTRIES else registries.kind_of(trial_id)
    return registries.get(kind)


def history_url(trial_id: str, registry: str = "") -> str:
    """The registry's page of what changed in a trial (its history tab, else its page)."""
    return _registry(trial_id, registry).links.history_page(trial_id)


def link_label(trial_id: str, registry: str = "") -> str:
    """``history`` for a registry's page of changes, ``record`` for the trial's page."""
    return "history" if _registry(trial_id, registry).links.history else "record"


@dataclass(frozen=True)
class DigestChange:
    category: str
    field: str
    severity: str
    summary: str
    old_value: Any
    new_value: Any
    detected_at: str
    from_snapshot_id: int | None = None  # the snapshots compared (None in older payloads)
    to_snapshot_id: int | None = None


@dataclass(frozen=True)
class StudyDigest:
    trial_id: str
    title: str | None
    changes: tuple[DigestChange, ...]
    queries: tuple[str, ...] = ()  # the watched queries that found this study
    registry: str = ""  # its registry's kind (empty: the one whose ids have its form)
    also: tuple[str, ...] = ()  # its registrations elsewhere: "<id> (<registry's name>)"

    @property
    def top_severity(self) -> str:
        return max((c.severity for c in self.changes), key=severity_rank)

    @property
    def history_url(self) -> str:
        return history_url(self.trial_id, self.registry)

    @property
    def link_label(self) -> str:
        """What its link shows: ``history`` (the registry's page of changes) or ``record``."""
        return link_label(self.trial_id, self.registry)

    def lines(self) -> list[Line]:
        """The changes as a person reads them: sites, contacts ... rolled up (monitor.rollup)."""
        return rollup.lines(self.changes)

    def full_list(self) -> str:
        """The command listing every change this part of the digest rolls up."""
        pairs = [(c.from_snapshot_id, c.to_snapshot_id) for c in self.changes]
        return rollup.full_list_command(self.trial_id, pairs)


@dataclass(frozen=True)
class Notice:
    """A study failing ``failures`` cycles in a row (``event="failing"``), or recovered."""

    trial_id: str
    event: str
    failures: int
    message: str

    def line(self) -> str:
        if self.event == "failing":
            return f"failing for {self.failures} cycles in a row: {self.message}"
        return "recovered, checked successfully again"


@dataclass(frozen=True)
class Digest:
    run_id: int
    created_at: str
    studies: tuple[StudyDigest, ...]
    notices: tuple[Notice, ...] = ()
    route: tuple[str, ...] = ()
    test: bool = False

    @property
    def change_count(self) -> int:
        return sum(len(s.changes) for s in self.studies)

    @property
    def critical_count(self) -> int:
        return sum(c.severity == "critical" for s in self.studies for c in s.changes)

    @property
    def empty(self) -> bool:
        return not (self.studies or self.notices or self.test)

    def subject(self) -> str:
        if self.test:
            return TEST_SUBJECT
        notices = self._notice_parts()
        if notices and not self.studies:  # an outage (or its end) is the news itself
            return "[trialmon] " + "; ".join(notices)
        n, m, k = self.change_count, len(self.studies), self.critical_count
        # The exact wording of CONTRACT.md, singular counts included, so filters can match it;
        # notices only ever add a suffix.
        changes = f"{count(n, 'change')} in {count(m, 'study')} ({k} critical)"
        return f"[trialmon] {changes}" + "".join(f"; {part}" for part in notices)

    def _notice_parts(self) -> list[str]:
        failing = sum(n.event == "failing" for n in self.notices)
        recovered = len(self.notices) - failing
        parts = [f"{count(failing, 'study')} cannot be checked"] if failing else []
        parts += [f"{count(recovered, 'study')} can be checked again"] if recovered else []
        return parts

    def only(self, trial_ids: Collection[str], route: tuple[str, ...]) -> Digest:
        """The part of this digest about ``trial_ids``, addressed to ``route``."""
        studies = tuple(s for s in self.studies if s.trial_id in trial_ids)
        notices = tuple(n for n in self.notices if n.trial_id in trial_ids)
        return replace(self, studies=studies, notices=notices, route=route)

    def trial_ids(self) -> list[str]:
        ids = [s.trial_id for s in self.studies] + [n.trial_id for n in self.notices]
        return list(dict.fromkeys(ids))

    def to_json(self) -> str:
        # orjson writes a dataclass as its fields in order, as ``asdict`` would give them,
        # without ``asdict``'s deep copy of every value (0.1 s for 2,000 changes)
        return orjson.dumps(self).decode()

    @classmethod
    def from_json(cls, text: str) -> Digest:
        data = orjson.loads(text)
        return cls(
            run_id=data["run_id"],
            created_at=data["created_at"],
            studies=tuple(_study(s) for s in data["studies"]),
            notices=tuple(_notice(n) for n in data.get("notices", ())),
            route=tuple(data.get("route", ())),
            test=bool(data.get("test", False)),
        )


def _study(data: Mapping[str, Any]) -> StudyDigest:
    changes = tuple(DigestChange(**c) for c in data["changes"])
    queries = tuple(data.get("queries", ()))
    also = tuple(data.get("also", ()))
    return StudyDigest(
        _trial(data), data["title"], changes, queries, data.get("registry", ""), also
    )


def _notice(data: Mapping[str, Any]) -> Notice:
    return Notice(_trial(data), data["event"], data["failures"], data["message"])


def _trial(data: Mapping[str, Any]) -> str:
    """The trial id of a stored digest part (``nct_id`` in digests queued by trialmon 0.1)."""
    return str(data["trial_id"] if "trial_id" in data else data["nct_id"])


def build_digest(
    run_id: int,
    created_at: str,
    rows: Iterable[Mapping[str, Any]],
    titles: Mapping[str, str | None],
    min_severity: str,
    *,
    queries: Mapping[str, tuple[str, ...]] | None = None,
    notices: Iterable[Notice] = (),
    also: Mapping[str, tuple[str, ...]] | None = None,
) -> Digest:
    """Group change rows by study, keep those at or above ``min_severity``, order them."""
    floor = severity_rank(min_severity)
    grouped: dict[str, list[DigestChange]] = {}
    kinds: dict[str, str] = {}
    for row in rows:
        if severity_rank(row["severity"]) >= floor:
            grouped.setdefault(row["trial_id"], []).append(_change(row))
            kinds[row["trial_id"]] = row.get("registry") or ""
    studies = [
        StudyDigest(
            trial_id,
            titles.get(trial_id),
            tuple(sorted(cs, key=lambda c: -severity_rank(c.severity))),
            (queries or {}).get(trial_id, ()),
            kinds[trial_id],
            (also or {}).get(trial_id, ()),
        )
        for trial_id, cs in grouped.items()
    ]
    studies.sort(key=lambda s: (-severity_rank(s.top_severity), s.trial_id))
    return Digest(run_id, created_at, tuple(studies), tuple(notices))


def _change(row: Mapping[str, Any]) -> DigestChange:
    return DigestChange(
        category=row["category"],
        field=row["field"],
        severity=row["severity"],
        summary=row["summary"],
        old_value=_loads(row["old_value"]),
        new_value=_loads(row["new_value"]),
        detected_at=row["detected_at"],
        from_snapshot_id=row.get("from_snapshot_id"),
        to_snapshot_id=row.get("to_snapshot_id"),
    )


def _loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def make_test_digest(now: str) -> Digest:
    """The digest ``trialmon notify --test`` sends."""
    return Digest(run_id=0, created_at=now, studies=(), test=True)


# ---------------------------------------------------------------- rendering


def headline(digest: Digest) -> str:
    """The subject without its ``[trialmon]`` tag: ``3 changes in 2 studies (1 critical)``."""
    text = digest.subject().removeprefix("[trialmon] ")
    return text[:1].upper() + text[1:]


def study_text(study: StudyDigest) -> list[str]:
    """A study's part of a text digest: heading, one line per change (rolled up), links."""
    title = f" — {study.title}" if study.title else ""
    lines = [printable(f"{study.trial_id}{title}")]
    if study.also:
        lines.append(printable(f"  also registered as {', '.join(study.also)}"))
    shown = study.lines()
    lines += [printable(f"  [{line.severity}] {line.text}") for line in shown]
    if any(line.rolled_up for line in shown):
        lines.append(f"  full list: {study.full_list()}")
    lines.append(f"  {study.link_label}: {study.history_url}")
    return lines


def render_text(digest: Digest, header: str | None = None) -> str:
    """The plain-text digest: a header line, then each study with its changes.

    Record text is :func:`~monitor.textsafe.printable`: one line per change, no escapes obeyed.
    """
    if digest.test:
        return TEST_TEXT
    lines = [header or headline(digest)]
    for study in digest.studies:
        lines.append("")
        lines.extend(study_text(study))
    for heading, groups in notice_sections(digest.notices):
        lines += ["", f"{heading}:"]
        lines += [printable(f"  {ids_text(ids)}: {text}") for ids, text in groups]
    return "\n".join(lines)


NOTICE_HEADINGS = (
    ("failing", "Studies that cannot be checked"),
    ("recovered", "Studies that can be checked again"),
)
LISTED_IDS = 10  # ids named in one line of notices; the rest are counted


def notice_sections(notices: Iterable[Notice]) -> list[tuple[str, list[tuple[list[str], str]]]]:
    """Per heading, the studies sharing one reason: one line per failed request, not per study."""
    sections = []
    for event, heading in NOTICE_HEADINGS:
        groups: dict[str, list[str]] = {}
        for notice in notices:
            if notice.event == event:
                groups.setdefault(notice.line(), []).append(notice.trial_id)
        if groups:
            sections.append((heading, [(ids, text) for text, ids in groups.items()]))
    return sections


def ids_text(ids: list[str]) -> str:
    """``NCT1, NCT2``; past ten, ``... and 30 more (40 studies)``."""
    shown = ", ".join(ids[:LISTED_IDS])
    if len(ids) <= LISTED_IDS:
        return shown
    return f"{shown} and {len(ids) - LISTED_IDS} more ({count(len(ids), 'study')})"


def render_log_text(digest: Digest) -> str:
    """The text digest of a log: its first line says when and which run (``2026-11-26T20:03:14Z
    trialmon run 12: 3 changes in 2 studies (1 critical)``), so a log file reads as a journal."""
    if digest.test:
        return render_text(digest)
    return render_text(
        digest, f"{digest.created_at} trialmon run {digest.run_id}: {headline(digest)}"
    )

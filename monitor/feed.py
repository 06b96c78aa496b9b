"""``trialmon feed``: an Atom feed (RFC 4287) of recorded changes, for feed readers.

One entry per study and cycle: the changes one cycle recorded for one study, most severe
first, linking to the registry's record-history page of the study. Entry ids are stable
(derived from the installation, the study and the cycle), so writing the feed again after
every cycle never shows a reader an entry twice. Pure: rows in, XML bytes out.
"""

from __future__ import annotations

import html
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from monitor import __version__
from monitor.models import severity_rank
from monitor.notify.digest import history_url

ATOM = "http://www.w3.org/2005/Atom"
TITLE = "trialmon: changes in watched trials"
SUMMARY_LENGTH = 200


@dataclass(frozen=True)
class Entry:
    """The changes one cycle recorded for one study."""

    trial_id: str
    cycle: str  # "run-12", or "snapshot-34" for changes recorded outside any run
    title: str | None
    changes: tuple[Mapping[str, Any], ...]

    @property
    def registry(self) -> str:
        return str(self.changes[0].get("registry") or "")

    @property
    def link(self) -> str:
        return history_url(self.trial_id, self.registry)

    @property
    def updated(self) -> str:
        return max(c["detected_at"] for c in self.changes)

    @property
    def ordered(self) -> list[Mapping[str, Any]]:
        """Most severe first; within a severity, as recorded."""
        return sorted(self.changes, key=lambda c: (-severity_rank(c["severity"]), c["id"]))


def entries(rows: Iterable[Mapping[str, Any]], titles: Mapping[str, str | None]) -> list[Entry]:
    """Changes, newest first as the store lists them (``Store.find_changes``: in the order
    they were stored, not by the clock's times), grouped per study and cycle; the entries in
    that order, the newest first."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        cycle = f"run-{row['run_id']}" if row.get("run_id") else f"snapshot-{row['to_snapshot_id']}"
        groups.setdefault((row["trial_id"], cycle), []).append(row)
    return [Entry(n, c, titles.get(n), tuple(group)) for (n, c), group in groups.items()]


def entry_title(entry: Entry) -> str:
    first, *rest = entry.ordered
    more = f" (+{len(rest)} more)" if rest else ""
    return f"{entry.trial_id} [{first['severity']}] {first['summary']}{more}"


def entry_html(entry: Entry) -> str:
    """The entry's content: the study title, every change, the link to the record history."""
    items = "".join(
        f"<li><strong>{html.escape(c['severity'])}</strong> {html.escape(c['category'])}: "
        f"{html.escape(c['summary'])}</li>"
        for c in entry.ordered
    )
    title = f"<p>{html.escape(entry.title)}</p>" if entry.title else ""
    link = html.escape(entry.link)
    return f'{title}<ul>{items}</ul><p><a href="{link}">Record history</a></p>'


def summary_text(entry: Entry) -> str:
    text = "; ".join(c["summary"] for c in entry.ordered)
    return text if len(text) <= SUMMARY_LENGTH else text[: SUMMARY_LENGTH - 1] + "…"


def atom(found: Sequence[Entry], *, installation: str, generated_at: str, subtitle: str) -> bytes:
    """The feed document; ``installation`` makes the ids of this database's feed its own."""
    base = uuid.uuid5(uuid.NAMESPACE_URL, f"trialmon:{installation}")
    feed = ET.Element("feed", xmlns=ATOM)
    _text(feed, "id", base.urn)
    _text(feed, "title", TITLE)
    _text(feed, "subtitle", subtitle)
    _text(feed, "updated", max((e.updated for e in found), default=generated_at))
    ET.SubElement(_text(feed, "author", None), "name").text = "trialmon"
    _text(feed, "generator", "trialmon").set("version", __version__)
    for entry in found:
        feed.append(_entry(entry, base))
    ET.indent(feed)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True) + b"\n"


def _entry(entry: Entry, base: uuid.UUID) -> ET.Element:
    node = ET.Element("entry")
    _text(node, "id", uuid.uuid5(base, f"{entry.trial_id}/{entry.cycle}").urn)
    _text(node, "title", entry_title(entry))
    _text(node, "updated", entry.updated)
    ET.SubElement(node, "link", rel="alternate", type="text/html", href=entry.link)
    for severity in sorted({c["severity"] for c in entry.changes}, key=severity_rank):
        ET.SubElement(node, "category", term=severity, label=f"severity {severity}")
    _text(node, "summary", summary_text(entry))
    _text(node, "content", entry_html(entry)).set("type", "html")
    return node


def _text(parent: ET.Element, tag: str, text: str | None) -> ET.Element:
    node = ET.SubElement(parent, tag)
    node.text = text
    return node

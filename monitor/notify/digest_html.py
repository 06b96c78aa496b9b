"""The HTML digest of the email channel, styled like the HTML report (monitor.report).

Each study is a heading linked to its registry page, each change a line with a coloured
severity badge (the report's colours, :mod:`monitor.palette`), sites and contacts rolled up
as in the text digest (:mod:`monitor.rollup`). Styles are inline, as mail readers keep them;
the message loads nothing and every piece of record text is escaped.
"""

from __future__ import annotations

import html

from monitor.notify.digest import (
    LISTED_IDS,
    TEST_TEXT,
    Digest,
    StudyDigest,
    headline,
    history_url,
    ids_text,
    notice_sections,
)
from monitor.palette import FONT, LINK, MUTED, RULE, SEVERITY_COLOURS, TEXT
from monitor.rollup import Line
from monitor.textsafe import printable

BODY = f"font:15px/1.45 {FONT};color:{TEXT};margin:0 auto;max-width:760px;padding:16px"
H1 = "font-size:1.3em;margin:0 0 .6em"
H2 = f"font-size:1.1em;margin:1.4em 0 .4em;padding-bottom:4px;border-bottom:2px solid {RULE}"
A = f"color:{LINK};font-family:monospace;text-decoration:none"
UL = "list-style:none;margin:0;padding:0"
LI = "margin:3px 0;padding-left:5.6em;text-indent:-5.6em"
BADGE = (
    "display:inline-block;min-width:4.6em;margin-right:.5em;padding:1px 6px;border-radius:4px;"
    "font-size:.85em;text-align:center;text-indent:0"
)
NOTE = f"color:{MUTED};font-size:.9em;margin:.4em 0 0"
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
</head>
<body style="{body}">
{content}
</body>
</html>"""


def render_html(digest: Digest) -> str:
    """The whole message as an HTML page."""
    if digest.test:
        parts = [f"<p>{esc(TEST_TEXT)}</p>"]
    else:
        parts = [f'<h1 style="{H1}">{esc(headline(digest))}</h1>']
        parts += [study_html(study) for study in digest.studies]
        parts += notices_html(digest)
    title = esc(digest.subject())
    return PAGE.format(title=title, body=BODY, content="\n".join(parts))


def study_html(study: StudyDigest) -> str:
    link = f'<a href="{esc(study.history_url)}" style="{A}">{esc(study.trial_id)}</a>'
    title = f" {esc(study.title)}" if study.title else ""
    shown = study.lines()
    items = "".join(change_html(line) for line in shown)
    notes = [f"Record {study.link_label}: {link_to(study.history_url)}"]
    if study.also:
        notes.insert(0, f"Also registered as {esc(', '.join(study.also))}")
    if any(line.rolled_up for line in shown):
        notes.insert(0, f"Full list: <code>{esc(study.full_list())}</code>")
    return (
        f'<section class="study"><h2 class="study-heading" style="{H2}">{link}{title}</h2>'
        f'<ul class="changes" style="{UL}">{items}</ul>'
        f'<p class="links" style="{NOTE}">{" · ".join(notes)}</p></section>'
    )


def change_html(line: Line) -> str:
    background, colour = SEVERITY_COLOURS.get(line.severity, SEVERITY_COLOURS["info"])
    badge = f"{BADGE};background:{background};color:{colour}"
    return (
        f'<li class="change severity-{esc(line.severity)}" style="{LI}">'
        f'<span class="badge" style="{badge}">{esc(line.severity)}</span>{esc(line.text)}</li>'
    )


def notices_html(digest: Digest) -> list[str]:
    parts = []
    for heading, groups in notice_sections(digest.notices):
        items = "".join(
            f'<li style="margin:3px 0">{ids_html(ids)}: {esc(text)}</li>' for ids, text in groups
        )
        parts.append(
            f'<section class="notices"><h2 style="{H2}">{esc(heading)}</h2>'
            f'<ul style="{UL}">{items}</ul></section>'
        )
    return parts


def ids_html(ids: list[str]) -> str:
    """Each study a link to its registry page; past ten, the rest counted (as ids_text)."""
    shown = ", ".join(
        f'<a href="{esc(history_url(trial_id))}" style="color:{LINK}">{esc(trial_id)}</a>'
        for trial_id in ids[:LISTED_IDS]
    )
    return shown + esc(ids_text(ids)[len(", ".join(ids[:LISTED_IDS])) :])


def link_to(url: str) -> str:
    return f'<a href="{esc(url)}" style="color:{LINK}">{esc(url)}</a>'


def esc(text: str) -> str:
    """HTML-escaped, control characters shown (:func:`monitor.textsafe.printable`)."""
    return html.escape(printable(text), quote=True)

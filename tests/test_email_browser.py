"""The HTML email as a mail reader shows it, checked in headless Chromium like the report.

The digest holds the SYNTHETIC real-shaped edits of tests/realedits.py (a study reopening,
a results-delay certification ...) and a study that cannot be checked.
"""

from __future__ import annotations

from pathlib import Path

from monitor.notify.digest import Digest, Notice, StudyDigest
from monitor.notify.digest_html import render_html
from monitor.palette import SEVERITY_COLOURS
from tests.browser import dom, measure, pixels, rgb, run_browser, screenshot
from tests.test_rollup import AT, changes_of, digest_changes

LABELS = ("results-delay-certification", "sites-reopen-en-masse", "outcome-rewording")
HOSTILE = 'Toca 6 <script>alert(1)</script> & "dose <5 mg"'


def email_digest() -> Digest:
    studies = tuple(
        StudyDigest(f"NCT9900000{n}", f"{HOSTILE} ({label})", digest_changes(changes_of(label)))
        for n, label in enumerate(LABELS, start=1)
    )
    failing = (Notice("NCT00000009", "failing", 3, "registry request failed: HTTP 500"),)
    return Digest(7, AT, studies, failing)


def write(tmp_path: Path) -> Path:
    page = tmp_path / "email.html"
    page.write_text(render_html(email_digest()), encoding="utf-8")
    return page


def test_each_study_is_a_heading_linked_to_its_registry_page(browser: str, tmp_path: Path) -> None:
    rendered = dom(run_browser(browser, tmp_path, "--dump-dom", write(tmp_path).as_uri()))
    assert rendered.classes["study"] == len(LABELS)
    assert rendered.classes["study-heading"] == len(LABELS)
    assert rendered.classes["badge"] == rendered.classes["change"]
    assert rendered.classes["severity-major"] == 2 and "script" not in rendered.tags
    links = measure(
        browser, tmp_path, render_html(email_digest()),
        "[...document.querySelectorAll('h2.study-heading a')].map(a => [a.textContent, a.href])",
    )  # fmt: skip
    assert links == [
        [f"NCT9900000{n}", f"https://clinicaltrials.gov/study/NCT9900000{n}?tab=history"]
        for n in range(1, len(LABELS) + 1)
    ]


def test_severities_have_the_report_colours_and_text_is_not_serif(
    browser: str, tmp_path: Path
) -> None:
    found = measure(
        browser, tmp_path, render_html(email_digest()),
        "{badges: [...document.querySelectorAll('.change')].map(li => [li.className, "
        "getComputedStyle(li.querySelector('.badge')).backgroundColor]), "
        "font: getComputedStyle(document.body).fontFamily, "
        "items: [...document.querySelectorAll('.change')].map(li => li.lastChild.textContent)}",
    )  # fmt: skip
    for class_name, colour in found["badges"]:
        severity = class_name.split("severity-")[1].split()[0]
        r, g, b = rgb(SEVERITY_COLOURS[severity][0])
        assert colour == f"rgb({r}, {g}, {b})", (severity, colour)
    assert "sans-serif" in found["font"] and not found["font"].startswith("serif")
    categories = ("status:", "locations:", "results:")  # the summary names the field itself
    assert not any(item.startswith(categories) for item in found["items"])
    assert any("Locations: 230 sites' status set" in item for item in found["items"])


def test_the_colours_are_drawn(browser: str, tmp_path: Path) -> None:
    drawn = pixels(screenshot(browser, tmp_path, write(tmp_path), 900, 1000))
    for severity in ("major", "minor"):
        assert drawn[rgb(SEVERITY_COLOURS[severity][0])] > 200, severity

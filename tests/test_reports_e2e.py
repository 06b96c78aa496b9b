"""What people read, end to end: `trialmon run` over the real-shaped edits of
tests/realedits.py (SYNTHETIC, built from the REAL records of tests/data), with the log to a
file, email to a real SMTP server and Apprise to a real webhook, all at min_severity minor.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .realedits import EDITS, SITES, as_study, ids
from .servers import SmtpHandler, Webhook, smtp_server, webhook_server

LIMIT = 30  # lines of a study's part of a text digest (issue 15)
STUDY_LINE = re.compile(r"^NCT\d{8}( — |$)")


def trialmon(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


def write_versions(root: Path) -> tuple[Path, Path]:
    """v1: every edit's record before, v2: after; each edit under its own made-up id."""
    v1, v2 = root / "v1", root / "v2"
    v1.mkdir()
    v2.mkdir()
    for label, nct in ids().items():
        before, after = EDITS[label]()
        (v1 / f"{nct}.json").write_text(json.dumps(as_study(before, nct)), encoding="utf-8")
        (v2 / f"{nct}.json").write_text(json.dumps(as_study(after, nct)), encoding="utf-8")
    return v1, v2


def study_blocks(text: str) -> dict[str, list[str]]:
    """A text digest cut into the parts of each study (heading to the line before a blank)."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if STUDY_LINE.match(line):
            current = blocks.setdefault(line[:11], [])
        elif not line.strip():
            current = None
        if current is not None:
            current.append(line)
    return blocks


@dataclass
class Outputs:
    root: Path
    log: str
    mail: SmtpHandler
    hook: Webhook
    summary: str


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outputs]:
    root = tmp_path_factory.mktemp("reports")
    v1, v2 = write_versions(root)
    mail, hook = SmtpHandler(), Webhook()
    with smtp_server(mail) as smtp, webhook_server(hook) as port:
        (root / "config.toml").write_text(
            f"[watch]\nstudies = {json.dumps(list(ids().values()))}\n"
            '[notify.log]\nenabled = true\nfile = "logs/trialmon.log"\nmin_severity = "minor"\n'
            f'[notify.email]\nenabled = true\nhost = "127.0.0.1"\nport = {smtp.port}\n'
            'security = "none"\nsender = "trialmon@example.org"\n'
            'recipients = ["team@example.org"]\nmin_severity = "minor"\ntimeout = 10\n'
            f'[notify.apprise]\nenabled = true\nurls = ["json://127.0.0.1:{port}/hook"]\n'
            'min_severity = "minor"\n',
            encoding="utf-8",
        )
        first = trialmon("run", "--source", str(v1), cwd=root)
        assert first.returncode == 0, first.stderr
        second = trialmon("run", "--source", str(v2), cwd=root)
        assert second.returncode == 0, second.stderr
    log = (root / "logs" / "trialmon.log").read_text(encoding="utf-8")
    yield Outputs(root, log, mail, hook, second.stdout)


def test_the_log_file_shows_each_study_in_under_30_lines(outputs: Outputs) -> None:
    blocks = study_blocks(outputs.log)
    assert set(blocks) == set(ids().values())
    for nct, block in blocks.items():
        assert len(block) < LIMIT, (nct, len(block))
    reopen = "\n".join(blocks[ids()["sites-reopen-en-masse"]])
    assert f"Locations: {SITES} sites' status set (176 RECRUITING, 54 NOT_YET_RECRUITING)" in reopen


def test_the_email_shows_each_study_in_under_30_lines(outputs: Outputs) -> None:
    [received] = outputs.mail.received
    plain = received.message.get_body(("plain",)).get_content()
    for nct, block in study_blocks(plain).items():
        assert len(block) < LIMIT, (nct, len(block))
    html = received.message.get_body(("html",)).get_content()
    sections = html.split('<section class="study"')[1:]
    assert len(sections) == len(EDITS)
    for section in sections:
        assert section.count("<li") < LIMIT


def test_apprise_shows_each_study_in_under_30_lines(outputs: Outputs) -> None:
    [body] = outputs.hook.accepted
    message = json.loads(body)["message"]
    blocks = study_blocks(message)
    assert len(blocks) == len(EDITS)
    assert all(len(block) < LIMIT for block in blocks.values())


def test_the_changes_table_keeps_one_row_per_site(outputs: Outputs) -> None:
    nct = ids()["sites-reopen-en-masse"]
    db = sqlite3.connect(outputs.root / "snapshots" / "history.db")
    try:
        sites = db.execute(
            "select count(*) from changes where trial_id = ? and field = 'locations.status'", [nct]
        ).fetchone()[0]
        pair = db.execute(
            "select from_snapshot_id, to_snapshot_id, count(*) from changes where trial_id = ? "
            "group by 1, 2",
            [nct],
        ).fetchall()
    finally:
        db.close()
    assert sites == SITES
    [(old, new, rows)] = pair
    assert f"full list: trialmon diff {nct} --from {old} --to {new}" in outputs.log
    full = trialmon("diff", nct, "--from", str(old), "--to", str(new), cwd=outputs.root)
    assert full.returncode == 0, full.stderr
    assert len(full.stdout.splitlines()) == rows + 1  # the header, then one line per row


def test_each_log_digest_starts_with_a_timestamp_and_the_run_id(outputs: Outputs) -> None:
    first = outputs.log.splitlines()[0]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ trialmon run 2: .+", first), first


def test_the_html_report_lists_each_version_in_under_30_lines(outputs: Outputs) -> None:
    nct = ids()["everything-at-once"]
    for floor, administrative in (("minor", False), ("info", True)):
        path = outputs.root / f"report-{floor}.html"
        made = trialmon("report", nct, "--html", str(path), "--min-severity", floor,
                        cwd=outputs.root)  # fmt: skip
        assert made.returncode == 0, made.stderr
        page = path.read_text(encoding="utf-8")
        assert 1 < page.count("<tr class='change") < LIMIT
        assert ("Last update posted" in page) is administrative
    default = trialmon("report", nct, "--html", str(outputs.root / "r.html"), cwd=outputs.root)
    assert default.returncode == 0
    assert "administrative changes not shown" in (outputs.root / "r.html").read_text()


def test_the_rules_hold_in_every_output(outputs: Outputs) -> None:
    [mail] = outputs.mail.received
    texts = {
        "log": outputs.log,
        "email": mail.message.get_body(("plain",)).get_content(),
        "email html": mail.message.get_body(("html",)).get_content(),
        "apprise": json.loads(outputs.hook.accepted[0])["message"],
    }
    for name, text in texts.items():
        blocks = study_blocks(text) if name != "email html" else {}
        assert "Disp " not in text and "reworded changed" not in text, name
        assert "[major] Results delay requested: the sponsor certified" in text or blocks == {}
        if blocks:
            rewording = blocks[ids()["outcome-rewording"]]
            assert len(rewording) == 3, rewording  # heading, one row, history
            assert "Locations: 12 renamed" in "\n".join(blocks[ids()["re-encoded-names"]])
    assert "Results delay requested" in texts["email html"]
    assert mail.message["Subject"].startswith("[trialmon] 1098 changes in 7 studies (0 critical)")


def test_renamed_sites_and_contacts_in_the_changes_table_and_diff(outputs: Outputs) -> None:
    db = sqlite3.connect(outputs.root / "snapshots" / "history.db")
    try:
        fields = dict(
            db.execute(
                "select field, count(*) from changes where trial_id = ? group by field",
                [ids()["re-encoded-names"]],
            ).fetchall()
        )
    finally:
        db.close()
    assert fields == {"locations.facility": 12}  # renamed, never removed and added
    churn = trialmon("diff", ids()["contact-churn"], cwd=outputs.root)
    assert churn.returncode == 0, churn.stderr
    assert '"Study Coordinator" phone "+1 555 01000" → "+1 555 02000"' in churn.stdout
    assert '"Study Coordinator" → "Study Coordinator"' not in churn.stdout

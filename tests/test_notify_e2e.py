"""Notifications end to end: `trialmon run --source DIR` in a subprocess, real loopback servers.

Records: versions of NCT02576665 built by the test from the REAL record
tests/data/study_NCT02576665_terminated.json (copy of ../shared/ctgov-samples/). Version 1 is
SYNTHETIC (status set back to RECRUITING, enrollment 40 ESTIMATED, a title with HTML-hostile
characters added); version 2 is the real record; version 3 is SYNTHETIC (completion date moved).
"""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from monitor.notify.apprise import REQUIREMENT

from .conftest import DATA, ROOT
from .servers import (
    SMTP_PASSWORD,
    SMTP_USER,
    SmtpHandler,
    Tls,
    Webhook,
    make_tls,
    smtp_server,
    webhook_server,
)

NCT = "NCT02576665"
HOSTILE = 'Toca 6 <script>alert(1)</script> & "dose <5 mg"'


def real_record() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "study_NCT02576665_terminated.json").read_text())
    return data


def version(n: int) -> dict[str, Any]:
    record = copy.deepcopy(real_record())
    p = record["protocolSection"]
    if n == 1:  # synthetic: before the termination
        p["statusModule"]["overallStatus"] = "RECRUITING"
        p["statusModule"].pop("whyStopped", None)
        p["designModule"]["enrollmentInfo"] = {"count": 40, "type": "ESTIMATED"}
    if n == 3:  # synthetic: completion date moved after the real record
        p["statusModule"]["completionDateStruct"] = {"date": "2020-06-30", "type": "ACTUAL"}
    p["identificationModule"]["acronym"] = HOSTILE
    p["identificationModule"]["briefTitle"] += f" ({HOSTILE})"
    return record


def records_dir(root: Path, n: int, studies: dict[str, dict[str, Any]] | None = None) -> Path:
    folder = root / f"v{n}"
    folder.mkdir()
    for name, record in (studies or {NCT: version(n)}).items():
        (folder / f"{name}.json").write_text(json.dumps(record))
    return folder


def trialmon(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "monitor", *args]
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        cmd, cwd=cwd, capture_output=True, text=True, timeout=60, check=False, env=full_env
    )


def email_config(port: int, tls: Tls, *, log: bool) -> str:
    return f"""
[watch]
studies = ["{NCT}"]

[notify.log]
enabled = {str(log).lower()}

[notify.email]
enabled = true
host = "127.0.0.1"
port = {port}
security = "starttls"
username = "{SMTP_USER}"
password_env = "TEST_SMTP_PASSWORD"
sender = "trialmon@example.org"
recipients = ["team@example.org"]
min_severity = "major"
ca_file = "{tls.ca_file}"
timeout = 5
"""


@pytest.fixture
def tls(tmp_path: Path) -> Tls:
    return make_tls(tmp_path)


def test_smtp_down_one_cycle_then_up_delivers_once_and_in_order(tmp_path: Path, tls: Tls) -> None:
    env = {"TEST_SMTP_PASSWORD": SMTP_PASSWORD}
    handler = SmtpHandler()
    with smtp_server(handler, tls=tls) as server:
        port = server.port  # learn a free port, then the server goes down
    (tmp_path / "config.toml").write_text(email_config(port, tls, log=False))
    outputs = []

    baseline = trialmon(
        "-vv", "run", "--source", str(records_dir(tmp_path, 1)), cwd=tmp_path, env=env
    )
    assert baseline.returncode == 0, baseline.stderr
    down = trialmon("-vv", "run", "--source", str(records_dir(tmp_path, 2)), cwd=tmp_path, env=env)
    outputs += [baseline.stdout + baseline.stderr, down.stdout + down.stderr]
    assert down.returncode == 1, down.stderr  # the only channel failed: exit 1, kept pending
    assert "connection refused" in down.stderr and "kept pending" in down.stderr

    with smtp_server(handler, tls=tls, port=port):
        up = trialmon(
            "-vv", "run", "--source", str(records_dir(tmp_path, 3)), cwd=tmp_path, env=env
        )
        again = trialmon("run", "--source", str(tmp_path / "v3"), cwd=tmp_path, env=env)
    outputs += [up.stdout + up.stderr, again.stdout + again.stderr]
    assert up.returncode == 0, up.stderr
    assert again.returncode == 0, again.stderr

    runs = [int(r.message["X-Trialmon-Run"]) for r in handler.received]
    assert runs == [2, 3]  # the down cycle's digest exactly once, then the new cycle's
    first = handler.received[0].message
    assert first["Subject"].startswith("[trialmon] ") and "(1 critical)" in first["Subject"]
    assert "Overall status: RECRUITING → TERMINATED" in first.get_body(("plain",)).get_content()
    html = first.get_body(("html",)).get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;dose &lt;5 mg&quot;" in html
    assert "<script>" not in html
    assert f"https://clinicaltrials.gov/study/{NCT}?tab=history" in html
    assert "Completion date" in handler.received[1].message.get_body(("plain",)).get_content()
    assert all(ok for _, ok in handler.logins)

    db = sqlite3.connect(tmp_path / "snapshots/history.db")
    rows = db.execute("select run_id, status, attempts, last_error from deliveries order by id")
    assert rows.fetchall() == [(2, "sent", 2, None), (3, "sent", 1, None)]
    db.close()

    # The password never lands in the database, the output, or the logs.
    stored = b"".join(p.read_bytes() for p in (tmp_path / "snapshots").iterdir())
    assert SMTP_PASSWORD.encode() not in stored
    assert all(SMTP_PASSWORD not in text for text in outputs)


def test_notify_test_sends_on_each_channel_and_says_so(tmp_path: Path, tls: Tls) -> None:
    handler = SmtpHandler()
    env = {"TEST_SMTP_PASSWORD": SMTP_PASSWORD}
    with smtp_server(handler, tls=tls) as server:
        (tmp_path / "config.toml").write_text(email_config(server.port, tls, log=True))
        result = trialmon("notify", "--test", cwd=tmp_path, env=env)
        only_email = trialmon("notify", "--test", "email", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "log: sent to stderr" in result.stdout
    assert f"email: sent to team@example.org via 127.0.0.1:{server.port}" in result.stdout
    assert "test message from trialmon" in result.stderr  # the log channel's own output
    assert only_email.returncode == 0 and "log:" not in only_email.stdout
    assert [r.message["Subject"] for r in handler.received] == ["[trialmon] test message"] * 2


def test_notify_test_failure_exits_1_and_names_the_reason(tmp_path: Path, tls: Tls) -> None:
    with smtp_server(SmtpHandler(), tls=tls) as server:
        port = server.port
    (tmp_path / "config.toml").write_text(email_config(port, tls, log=False))
    result = trialmon("notify", "--test", cwd=tmp_path, env={"TEST_SMTP_PASSWORD": SMTP_PASSWORD})
    assert result.returncode == 1
    assert "email: FAILED" in result.stdout and "connection refused" in result.stdout
    assert "Traceback" not in result.stderr


def test_notify_test_of_a_disabled_channel_exits_2(tmp_path: Path) -> None:
    result = trialmon("notify", "--test", "email", cwd=tmp_path)
    assert result.returncode == 2
    assert "[notify.email] is not enabled" in result.stderr


def test_missing_password_variable_exits_2_before_any_work(tmp_path: Path, tls: Tls) -> None:
    (tmp_path / "config.toml").write_text(email_config(2525, tls, log=False))
    env = {k: v for k, v in os.environ.items() if k != "TEST_SMTP_PASSWORD"}
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "run", "--source", str(records_dir(tmp_path, 1))],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert result.returncode == 2
    assert "TEST_SMTP_PASSWORD is not set" in result.stderr
    assert not (tmp_path / "snapshots").exists()


def test_apprise_webhook_failing_once_is_delivered_once(tmp_path: Path) -> None:
    hook = Webhook(fail_first=1)
    with webhook_server(hook) as port:
        (tmp_path / "config.toml").write_text(
            f'[watch]\nstudies = ["{NCT}"]\n[notify.log]\nenabled = false\n'
            f'[notify.apprise]\nenabled = true\nurls = ["json://127.0.0.1:{port}/hook"]\n'
        )
        for n in (1, 2, 3):
            result = trialmon("run", "--source", str(records_dir(tmp_path, n)), cwd=tmp_path)
            assert result.returncode == (1 if n == 2 else 0), result.stderr
    titles = [json.loads(body)["title"] for body in hook.accepted]
    assert len(hook.requests) == 3 and len(titles) == 2
    assert "(1 critical)" in titles[0] and "(0 critical)" in titles[1]


def test_apprise_enabled_without_apprise_installed_exits_2(tmp_path: Path) -> None:
    fake = tmp_path / "no_apprise" / "apprise"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named apprise')\n")
    (tmp_path / "config.toml").write_text(
        '[notify.apprise]\nenabled = true\nurls = ["json://127.0.0.1/hook"]\n'
    )
    env = {"PYTHONPATH": str(fake.parent)}
    result = trialmon("run", "--source", str(records_dir(tmp_path, 1)), cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert f"install it with: {sys.executable} -m pip install 'apprise>=1.9'" in result.stderr
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert extras["optional-dependencies"]["apprise"] == [REQUIREMENT]


def test_a_study_failing_three_cycles_is_reported_once_and_its_recovery_once(
    tmp_path: Path,
) -> None:
    """The record of a watched study goes missing from DIR for four cycles, then comes back."""
    (tmp_path / "config.toml").write_text(f'[watch]\nstudies = ["{NCT}", "NCT06131398"]\n')
    other = json.loads((DATA / "study_NCT06131398_completed_sorted_keys.json").read_text())
    both = {NCT: version(2), "NCT06131398": other}
    streams = []
    for n, studies in enumerate([both] + [{"NCT06131398": other}] * 4 + [both, both], start=1):
        result = trialmon("run", "--source", str(records_dir(tmp_path, n, studies)), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        streams.append(result.stderr)
    failing = [s.count(f"{NCT}: failing for 3 cycles in a row") for s in streams]
    recovered = [s.count(f"{NCT}: recovered") for s in streams]
    assert failing == [0, 0, 0, 1, 0, 0, 0]
    assert recovered == [0, 0, 0, 0, 0, 1, 0]

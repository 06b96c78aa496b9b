"""Security: secrets, escaping, transport and SQL, end to end where a user would see them.

- The SMTP password (and the base64 forms AUTH sends) appears nowhere: not in stdout/stderr of
  successful, refused and failing runs at -vv, not in a traceback printed by -v, not in
  ``status`` (text and JSON), not in any file trialmon writes (database, WAL, log file, locks).
- Record text carrying HTML/script reaches the email escaped in the HTML part.
- ``[ctgov] base_url`` must be https unless its host really is loopback (through the CLI).
- TLS certificates are verified: an HTTPS registry whose certificate no system CA signed is
  refused; and no code in monitor/ turns verification off.
- SQL: every f-string that builds SQL in monitor/ interpolates only placeholders and constants
  (user values travel as parameters); hostile option values are refused or stored verbatim.

Records: tests/test_notify_e2e.py's versions of the REAL record NCT02576665 (some SYNTHETIC,
with an HTML-hostile acronym and title).
"""

from __future__ import annotations

import ast
import http.server
import json
import os
import signal
import ssl
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult

from monitor.notify.email import secret_forms

from .conftest import ROOT
from .servers import (
    SMTP_PASSWORD,
    SMTP_USER,
    SmtpHandler,
    Tls,
    Webhook,
    make_tls,
    serve_http,
    smtp_server,
    webhook_server,
)
from .test_notify_e2e import HOSTILE, NCT, email_config, records_dir, trialmon

ENV = {"TEST_SMTP_PASSWORD": SMTP_PASSWORD}
SECRETS = secret_forms(SMTP_USER, SMTP_PASSWORD)


@pytest.fixture
def tls(tmp_path: Path) -> Tls:
    return make_tls(tmp_path)


class RefusingHandler(SmtpHandler):
    """A server that refuses every login (the client has sent the password by then)."""

    def authenticate(self, *args: Any) -> AuthResult:
        super().authenticate(*args)
        return AuthResult(success=False, handled=False)


def assert_no_secret(texts: list[str], root: Path) -> None:
    files = [p for p in root.rglob("*") if p.is_file()]
    for secret in SECRETS:
        assert all(secret not in text for text in texts), f"{secret!r} in the output"
        leaked = [p for p in files if secret.encode() in p.read_bytes()]
        assert not leaked, f"{secret!r} in {leaked}"


def test_the_smtp_password_appears_nowhere(tmp_path: Path, tls: Tls) -> None:
    work = tmp_path / "work"
    work.mkdir()
    outputs: list[str] = []

    def run(*args: str) -> int:
        result = trialmon(*args, cwd=work, env=ENV)
        outputs.append(result.stdout + result.stderr)
        return result.returncode

    handler = SmtpHandler()
    with smtp_server(handler, tls=tls) as server:
        (work / "config.toml").write_text(email_config(server.port, tls, log=True))
        assert run("-vv", "run", "--source", str(records_dir(tmp_path, 1))) == 0
        assert run("-vv", "run", "--source", str(records_dir(tmp_path, 2))) == 0
    assert len(handler.received) == 1  # the password was really used: a login, a message
    html = handler.received[0].message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    plain = handler.received[0].message.get_body(("plain",)).get_content()
    assert HOSTILE in plain

    with smtp_server(RefusingHandler(), tls=tls) as server:  # login refused
        (work / "config.toml").write_text(email_config(server.port, tls, log=False))
        assert run("-vv", "run", "--source", str(records_dir(tmp_path, 3))) == 1
    untrusted = email_config(server.port, tls, log=False).replace(f'ca_file = "{tls.ca_file}"', "")
    with smtp_server(SmtpHandler(), tls=tls, port=server.port):  # certificate not trusted
        (work / "config.toml").write_text(untrusted)
        assert run("-vv", "run", "--source", str(tmp_path / "v3")) == 1
    assert run("status") == 0
    assert run("status", "--format", "json") == 0
    (work / "not-a-db").mkdir()
    assert run("-v", "--db", "not-a-db", "run", "--source", str(tmp_path / "v3")) == 1
    assert "Traceback" in outputs[-1]  # -v printed one, and it is clean too
    assert_no_secret(outputs, tmp_path)


# ---------------------------------------------------------------- apprise URLs

# Parts of chat webhook URLs that are credentials: a Slack-like token path, a password, a
# Telegram-like bot token as host, a query signature. Apprise rebuilds URLs when it logs them
# (json:// becomes http://, the password becomes ****), so each part is looked for alone.
HOOK_SECRETS = ("T0SECRET1", "B0SECRET2", "XoXoSECRET3token", "pAss-SECRET4", "sig-SECRET5")


def apprise_config(good: int, bad: int) -> str:
    urls = [
        f"json://user:pAss-SECRET4@127.0.0.1:{good}/services/T0SECRET1/B0SECRET2/XoXoSECRET3token",
        f"json://127.0.0.1:{bad}/hooks/XoXoSECRET3token?sig=sig-SECRET5",  # refuses connections
    ]
    return (
        f'[watch]\nstudies = ["{NCT}"]\n[notify.log]\nenabled = false\n'
        f'[notify.apprise]\nenabled = true\nmin_severity = "info"\nurls = {json.dumps(urls)}\n'
    )


def test_apprise_url_secrets_appear_nowhere(tmp_path: Path) -> None:
    """At every verbosity, in a traceback, in status and notify --test, in every file written."""
    work = tmp_path / "work"
    work.mkdir()
    outputs: list[str] = []

    def run(*args: str) -> int:
        result = trialmon(*args, cwd=work)
        outputs.append(result.stdout + result.stderr)
        return result.returncode

    with webhook_server(Webhook()) as closed:
        pass  # a port nothing listens on any more
    hook = Webhook(fail_first=1)  # the first post fails (500), the next ones are accepted
    with webhook_server(hook) as good:
        (work / "config.toml").write_text(apprise_config(good, closed))
        for n, verbosity in enumerate([["-vvv"], ["-vv"], ["-v"], []], start=1):
            run(*verbosity, "run", "--source", str(records_dir(tmp_path, n)))
        run("-vvv", "notify", "--test")
        run("-vv", "status")
        run("status", "--format", "json")
    assert hook.accepted, "the good URL was really used"
    assert any("Traceback" in out for out in outputs)  # -v printed one; it is clean too
    for secret in HOOK_SECRETS:
        assert all(secret not in out for out in outputs), f"{secret!r} printed: {outputs}"
        written = [f for f in work.rglob("*") if f.is_file() and f.name != "config.toml"]
        leaked = [f for f in written if secret.encode() in f.read_bytes()]
        assert not leaked, f"{secret!r} in {leaked}"


# ---------------------------------------------------------------- file permissions


def test_files_trialmon_creates_are_private_whatever_the_umask(tmp_path: Path) -> None:
    """The database (it holds recipients' addresses), its WAL and shared memory, the log, the
    lock and the seal of the last clean cycle: 0600 under the usual umask 022. Looked at while
    the writer is stopped mid-cycle (tests.crashrun pause), when the WAL and the lock exist."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "config.toml").write_text(
        f'database = "db/history.db"\n[watch]\nstudies = ["{NCT}"]\n'
        '[notify.log]\nfile = "logs/trialmon.log"\n'
    )
    first = [sys.executable, "-m", "monitor", "run", "--source", str(records_dir(tmp_path, 1))]
    subprocess.run(first, cwd=work, check=True, capture_output=True, umask=0o022)
    pausing = [sys.executable, "-m", "tests.crashrun", "pause:between-studies", "1"]
    command = [*pausing, "--config", str(work / "config.toml"), "run", "--source"]
    writer = subprocess.Popen([*command, str(records_dir(tmp_path, 2))], cwd=ROOT, umask=0o022)
    try:
        _, status = os.waitpid(writer.pid, os.WUNTRACED)
        assert os.WIFSTOPPED(status)
        names = ["db/history.db", "db/history.db-wal", "db/history.db-shm", "db/history.db.lock"]
        modes = {name: stat.S_IMODE((work / name).stat().st_mode) for name in names}
    finally:
        writer.send_signal(signal.SIGCONT)
        writer.wait(timeout=60)
    assert writer.returncode == 0
    for name in ("logs/trialmon.log", "db/history.db.checked"):  # the last: health.seal
        modes[name] = stat.S_IMODE((work / name).stat().st_mode)
    assert modes == dict.fromkeys(modes, 0o600), {k: oct(v) for k, v in modes.items()}


# ---------------------------------------------------------------- base_url and TLS


def ctgov_config(work: Path, base_url: str) -> None:
    work.mkdir(exist_ok=True)
    (work / "config.toml").write_text(
        f'source = "ctgov"\n[ctgov]\nbase_url = "{base_url}"\nmax_attempts = 1\ntimeout = 5\n'
        '[watch]\nstudies = ["NCT02576665"]\n'
    )


@pytest.mark.parametrize(
    "base_url",
    [
        "http://clinicaltrials.gov",
        "http://127.0.0.1@example.org",
        "http://127.0.0.1.example.org",
        "http://localhost.example.org:8080",
        "ftp://127.0.0.1",
    ],
)
def test_plain_http_to_a_host_that_is_not_loopback_is_refused(
    tmp_path: Path, base_url: str
) -> None:
    ctgov_config(tmp_path, base_url)
    result = trialmon("run", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "base_url" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "snapshots").exists()


@contextmanager
def https_server(context: ssl.SSLContext) -> Iterator[int]:
    """An HTTPS server on 127.0.0.1 answering 200 "{}" to everything."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    with serve_http(Handler, tls=context) as port:
        yield port


def test_a_registry_certificate_no_trusted_ca_signed_is_refused(tmp_path: Path, tls: Tls) -> None:
    with https_server(tls.server_context) as port:
        ctgov_config(tmp_path / "work", f"https://127.0.0.1:{port}")
        result = trialmon("run", cwd=tmp_path / "work")
    assert result.returncode == 1, result.stderr + result.stdout
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr or "certificate" in result.stderr
    assert "Traceback" not in result.stderr


UNVERIFIED = (
    "verify=False",
    "verify = False",
    "CERT_NONE",
    "check_hostname = False",
    "check_hostname=False",
    "_create_unverified_context",
)


def test_no_code_turns_certificate_verification_off() -> None:
    for path in (ROOT / "monitor").rglob("*.py"):
        text = path.read_text()
        found = [needle for needle in UNVERIFIED if needle in text]
        assert not found, f"{path}: {found}"


# ---------------------------------------------------------------- SQL

SQL_WORDS = ("select ", "insert ", "update ", "delete ", "create ", "drop ", " where ")
# Interpolations reviewed in monitor/: placeholders ("?,?,?"), fixed column lists and view names.
SAFE = {
    "marks",
    "RUN_COLUMNS",
    "NEWEST_MOST_SEVERE",
    "TIMELINE",
    "name",
    "sql.strip()",
    "' and '.join(where)",
    "','.join('?' * len(allowed))",
}


# sqlviews.py assembles its CREATE VIEW statements at import from its own constants only.
CONSTANT_SQL = {"sqlviews.py"}


def sql_fstrings() -> Iterator[tuple[Path, int, str]]:
    for path in sorted((ROOT / "monitor").rglob("*.py")):
        if path.name in CONSTANT_SQL:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.JoinedStr):
                continue
            text = "".join(
                v.value
                for v in node.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            ).lower()
            if any(word in text for word in SQL_WORDS):
                for value in node.values:
                    if isinstance(value, ast.FormattedValue):
                        yield path, node.lineno, ast.unparse(value.value)


def test_sql_built_with_f_strings_interpolates_only_placeholders_and_constants() -> None:
    found = list(sql_fstrings())
    assert found, "the scan found no SQL f-string at all: is it still looking?"
    unsafe = [(str(p.relative_to(ROOT)), line, expr) for p, line, expr in found if expr not in SAFE]
    assert not unsafe, f"review these interpolations (user values must be parameters): {unsafe}"


@pytest.mark.parametrize(
    "args",
    [
        ("changes", "--since", "2020-01-01' or '1'='1"),
        ("changes", "--study", "NCT02576665' or 1=1 --"),
        ("history", "NCT02576665; drop table changes"),
    ],
)
def test_hostile_option_values_are_refused_and_the_database_is_intact(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    (tmp_path / "config.toml").write_text('[watch]\nstudies = ["NCT02576665"]\n')
    assert trialmon("run", "--source", str(records_dir(tmp_path, 1)), cwd=tmp_path).returncode == 0
    result = trialmon(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    after = trialmon("history", "NCT02576665", "--format", "json", cwd=tmp_path)
    assert after.returncode == 0 and '"NCT02576665"' in after.stdout

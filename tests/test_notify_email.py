"""The email channel against a real SMTP server (aiosmtpd) on 127.0.0.1, STARTTLS included.

The TLS certificate is made by the test (trustme); the client must verify it through ca_file.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from monitor.config import QueryWatch, parse_config
from monitor.errors import ConfigError, DeliveryError
from monitor.notify.digest import Digest, DigestChange, Notice, StudyDigest, make_test_digest
from monitor.notify.email import EmailNotifier, EmailNotifyConfig

from .servers import SMTP_PASSWORD, SMTP_USER, SmtpHandler, Tls, make_tls, smtp_server

ENV = {"TRIALMON_SMTP_PASSWORD": SMTP_PASSWORD}
HOSTILE_TITLE = 'CAR-T <script>alert("x")</script> & "friends"'


def change(severity: str, summary: str) -> DigestChange:
    return DigestChange(
        "status", "overallStatus", severity, summary, "A", "B", "2026-11-26T20:03:14Z"
    )


def digest() -> Digest:
    withdrawn = change("critical", "Overall status: NOT_YET_RECRUITING → WITHDRAWN")
    dates = change("major", "Completion date: 2026-12-31 → 2027-12-30 (+364 days)")
    return Digest(
        run_id=7,
        created_at="2026-11-26T20:03:14Z",
        studies=(
            StudyDigest("NCT06009107", HOSTILE_TITLE, (withdrawn, dates)),
            StudyDigest("NCT02576665", "Plain title", (change("major", "Enrollment: 30 → 16"),)),
        ),
    )


def config(port: int, tls: Tls | None, **overrides: object) -> EmailNotifyConfig:
    values: dict[str, object] = {
        "enabled": True,
        "host": "127.0.0.1",
        "port": port,
        "security": "starttls" if tls else "none",
        "username": SMTP_USER if tls else "",
        "sender": "trialmon@example.org",
        "recipients": ("team@example.org",),
        "ca_file": str(tls.ca_file) if tls else None,
        "timeout": 5,
    }
    values.update(overrides)
    return EmailNotifyConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def tls(tmp_path: Path) -> Tls:
    return make_tls(tmp_path)


def send_one(notifier: EmailNotifier, d: Digest) -> None:
    for part in notifier.split(d):
        notifier.send(part)


def test_starttls_login_subject_both_parts_and_escaped_html(tls: Tls) -> None:
    handler = SmtpHandler()
    with smtp_server(handler, tls=tls) as server:
        send_one(EmailNotifier(config(server.port, tls), env=ENV), digest())
    assert handler.logins == [(SMTP_USER, True)]
    [got] = handler.received
    msg = got.message
    assert got.rcpt_tos == ["team@example.org"]
    assert msg["Subject"] == "[trialmon] 3 changes in 2 studies (1 critical)"
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "Overall status: NOT_YET_RECRUITING → WITHDRAWN" in plain
    assert HOSTILE_TITLE in plain
    assert "<script>" not in html
    assert (
        "CAR-T &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &quot;friends&quot;" in html
    )
    assert 'href="https://clinicaltrials.gov/study/NCT06009107?tab=history"' in html
    assert "https://clinicaltrials.gov/study/NCT02576665?tab=history" in plain
    assert html.index("NCT06009107") < html.index("NCT02576665")  # critical study first


def test_implicit_tls(tls: Tls) -> None:
    handler = SmtpHandler()
    with smtp_server(handler, tls=tls, implicit_tls=True) as server:
        send_one(EmailNotifier(config(server.port, tls, security="ssl"), env=ENV), digest())
    assert len(handler.received) == 1


def test_an_untrusted_certificate_is_refused(tls: Tls) -> None:
    handler = SmtpHandler()
    with smtp_server(handler, tls=tls) as server:
        notifier = EmailNotifier(config(server.port, tls, ca_file=None), env=ENV)
        with pytest.raises(DeliveryError, match="TLS certificate is not trusted"):
            send_one(notifier, digest())
    assert handler.received == []


def test_a_wrong_password_is_a_delivery_error_without_the_password(tls: Tls) -> None:
    handler = SmtpHandler()
    wrong = "not-the-" + SMTP_PASSWORD
    with smtp_server(handler, tls=tls) as server:
        notifier = EmailNotifier(config(server.port, tls), env={"TRIALMON_SMTP_PASSWORD": wrong})
        with pytest.raises(DeliveryError) as info:
            send_one(notifier, digest())
    assert "refused the login (535)" in str(info.value)
    assert wrong not in str(info.value) and SMTP_PASSWORD not in str(info.value)
    assert info.value.__cause__ is None and info.value.__context__ is not None


def test_connection_refused_is_a_plain_delivery_error(tls: Tls) -> None:
    handler = SmtpHandler()
    with smtp_server(handler) as server:
        port = server.port
    with pytest.raises(DeliveryError, match=r"127\.0\.0\.1:\d+: connection refused"):
        send_one(EmailNotifier(config(port, None)), digest())


def test_plain_smtp_without_login(tls: Tls) -> None:
    handler = SmtpHandler()
    with smtp_server(handler) as server:
        send_one(EmailNotifier(config(server.port, None)), digest())
    assert handler.logins == [] and len(handler.received) == 1


def test_missing_password_variable_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="TRIALMON_SMTP_PASSWORD is not set"):
        EmailNotifier(config(25, None, username="me"), env={})


def test_a_non_ascii_password_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="outside ASCII"):
        EmailNotifier(config(25, None, username="me"), env={"TRIALMON_SMTP_PASSWORD": "wörd"})


def test_routing_gives_each_address_one_message_with_its_studies() -> None:
    cfg = config(
        25,
        None,
        recipients=("all@example.org",),
        study_recipients={"NCT02576665": ("pi@example.org",)},
    )
    query = QueryWatch("car-t", {"query.intr": "CAR-T"}, ("cart@example.org", "pi@example.org"))
    d = digest()
    studies = (d.studies[0].__class__(**{**d.studies[0].__dict__, "queries": ("car-t",)}),)
    d = Digest(d.run_id, d.created_at, (*studies, d.studies[1]))
    parts = EmailNotifier(cfg, [query]).split(d)
    routes = {p.route: [s.trial_id for s in p.studies] for p in parts}
    assert routes == {
        ("all@example.org", "pi@example.org"): ["NCT06009107", "NCT02576665"],
        ("cart@example.org",): ["NCT06009107"],
    }
    assert parts[1].subject() == "[trialmon] 2 changes in 1 study (1 critical)"


def test_notices_follow_the_study_routes() -> None:
    cfg = config(25, None, recipients=(), study_recipients={"NCT02576665": ("pi@example.org",)})
    notices = (
        Notice("NCT02576665", "failing", 3, "HTTP 503"),
        Notice("NCT0000001", "recovered", 0, ""),
    )
    d = Digest(1, "2026-11-26T20:03:14Z", (), notices)
    [part] = EmailNotifier(cfg).split(d)
    assert part.route == ("pi@example.org",)
    assert [n.trial_id for n in part.notices] == ["NCT02576665"]
    assert part.subject() == "[trialmon] 1 study cannot be checked"


def test_the_test_message_goes_to_every_address() -> None:
    cfg = config(25, None, study_recipients={"NCT02576665": ("pi@example.org",)})
    [part] = EmailNotifier(cfg).split(make_test_digest("2026-11-26T20:03:14Z"))
    assert part.route == ("pi@example.org", "team@example.org")
    assert part.subject() == "[trialmon] test message"


def test_the_password_never_shows_in_errors_or_logs(
    tls: Tls, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever fails, neither the password nor its base64 wire forms leak into messages."""
    caplog.set_level(logging.DEBUG, logger="monitor")
    handler = SmtpHandler()
    with smtp_server(handler, tls=tls) as server:
        notifier = EmailNotifier(config(server.port, tls, ca_file=None), env=ENV)
        with pytest.raises(DeliveryError) as untrusted:
            send_one(notifier, digest())
        notifier = EmailNotifier(config(server.port, tls), env=ENV)
        send_one(notifier, digest())
    assert SMTP_PASSWORD not in str(untrusted.value)
    assert SMTP_PASSWORD not in caplog.text
    assert SMTP_PASSWORD not in repr(notifier.config)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        pytest.param(
            {"ca_file": "/no/such/ca.pem"}, "[notify.email] ca_file: '/no/such/ca.pem'", id="ca"
        ),
        pytest.param({"enabled": True}, "[notify.email] recipients: email is enabled", id="rcpt"),
    ],
)
def test_email_config_refusals(data: dict, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"notify": {"email": data}})
    assert needle in str(info.value)


def test_query_recipients_alone_are_enough() -> None:
    query = {"name": "q", "params": {"query.cond": "ALL"}, "recipients": ["q@example.org"]}
    config = parse_config({"watch": {"queries": [query]}, "notify": {"email": {"enabled": True}}})
    assert config.watch.queries[0].recipients == ("q@example.org",)

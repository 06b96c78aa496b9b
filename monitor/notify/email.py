"""The email channel: one multipart (plain text + HTML) message per recipient set, via smtplib.

Routing. Every study in a digest has a set of addresses: the channel's ``recipients`` (who get
everything), its ``study_recipients[NCT]`` and the ``recipients`` of every watched query that
found the study. Each address receives exactly one message per cycle holding all the studies
routed to it; addresses that would get the same studies share one message. The outbox stores
each such message as its own delivery, so a retry never re-sends a message already accepted.

Security. TLS certificates are always verified (``ca_file`` adds a private CA); the password is
read from the variable named by ``password_env`` when ``username`` is set, and it is scrubbed
from every error message.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import TYPE_CHECKING

from monitor import registries
from monitor.configkit import MAX_TIMEOUT, QueryWatch, Table, WatchConfig, check_header
from monitor.errors import ConfigError, DeliveryError
from monitor.models import SEVERITIES
from monitor.notify.channel import ChannelBase, ChannelSpec
from monitor.notify.digest import Digest, render_text
from monitor.notify.digest_html import render_html

if TYPE_CHECKING:  # smtplib and ssl are imported when a message is sent, not at config load
    import smtplib
    import ssl

log = logging.getLogger(__name__)
KIND = "email"


@dataclass(frozen=True)
class EmailNotifyConfig:
    enabled: bool = False
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password_env: str = "TRIALMON_SMTP_PASSWORD"
    sender: str = "trialmon@localhost"
    recipients: tuple[str, ...] = ()
    min_severity: str = "major"
    timeout: float = 30
    study_recipients: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ca_file: str | None = None  # extra CA certificates (PEM) to trust, e.g. a private CA


def parse(t: Table) -> EmailNotifyConfig:
    """``[notify.email]``."""
    d = EmailNotifyConfig()
    routes = t.get("study_recipients", dict, {})
    study_recipients = {}
    for nct, rcpts in routes.items():
        where = t.key(f"study_recipients.{nct}")
        key = registries.trial_id(nct, where)
        if not isinstance(rcpts, list) or not all(isinstance(r, str) for r in rcpts):
            raise ConfigError(f"{where}: expected a list of addresses, got {rcpts!r}")
        study_recipients[key] = tuple(check_header(r, f"{where}[{i}]") for i, r in enumerate(rcpts))
    cfg = EmailNotifyConfig(
        enabled=t.get("enabled", bool, d.enabled),
        host=t.header("host", d.host),
        port=t.positive("port", d.port, int),
        security=t.choice("security", ("starttls", "ssl", "none"), d.security),
        username=_username(t, d.username),
        password_env=t.get("password_env", str, d.password_env),
        sender=t.header("sender", d.sender),
        recipients=t.headers("recipients"),
        min_severity=t.choice("min_severity", SEVERITIES, d.min_severity),
        timeout=t.positive("timeout", d.timeout, high=MAX_TIMEOUT, unit=" (seconds)"),
        study_recipients=study_recipients,
        ca_file=_ca_file(t),
    )
    if "password" in t.data:
        raise ConfigError(
            f"{t.key('password')}: passwords are never read from the file; "
            f"put it in the variable named by password_env ({cfg.password_env})"
        )
    if cfg.port > 65535:
        raise ConfigError(f"{t.key('port')}: {cfg.port} is not a TCP port (1 to 65535)")
    t.done()
    return cfg


def _username(t: Table, default: str) -> str:
    """Optional (empty: a relay without login); when set, it goes into an SMTP command."""
    value = t.get("username", str, default)
    return check_header(value, t.key("username")) if value else value


def _ca_file(t: Table) -> str | None:
    """From the config file's folder when relative."""
    value = t.path("ca_file", None)
    if value is not None and not Path(value).is_file():
        raise ConfigError(f"{t.key('ca_file')}: {value!r} is not a readable file")
    return value


def check(email: EmailNotifyConfig, watch: WatchConfig) -> None:
    """Refused at load: email enabled with nobody to write to."""
    routed = email.recipients or email.study_recipients or any(q.recipients for q in watch.queries)
    if email.enabled and not routed:
        raise ConfigError(
            "[notify.email] recipients: email is enabled but no recipient is set "
            "(recipients, study_recipients or a query's recipients)"
        )


class EmailNotifier(ChannelBase):
    channel = KIND

    def __init__(
        self,
        config: EmailNotifyConfig,
        queries: Sequence[QueryWatch] = (),
        *,
        env: Mapping[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.config = config
        self.min_severity = config.min_severity
        self.query_recipients = {q.name: q.recipients for q in queries if q.recipients}
        self.env = os.environ if env is None else env
        self.ssl_context = ssl_context
        if config.username:
            self._check_password()

    def _check_password(self) -> None:
        name = self.config.password_env
        password = self.env.get(name)
        if not password:
            raise ConfigError(
                f"[notify.email] password_env: the variable {name} is not set "
                "(a password is needed because username is set)"
            )
        if not (password + self.config.username).isascii():
            raise ConfigError(
                f"[notify.email] password_env: the password in {name} (or the username) has "
                "characters outside ASCII, which Python's SMTP login cannot send"
            )

    # ------------------------------------------------------------ routing

    def recipients_for(self, trial_id: str, queries: Sequence[str]) -> set[str]:
        found = set(self.config.recipients) | set(self.config.study_recipients.get(trial_id, ()))
        for name in queries:
            found |= set(self.query_recipients.get(name, ()))
        return found

    def split(self, digest: Digest) -> list[Digest]:
        """One digest per set of addresses that receive the same studies."""
        if digest.test:
            return [digest.only((), tuple(sorted(self.all_recipients())))]
        queries = {s.trial_id: s.queries for s in digest.studies}
        studies_of: dict[str, set[str]] = {}
        for trial_id in digest.trial_ids():
            for address in self.recipients_for(trial_id, queries.get(trial_id, ())):
                studies_of.setdefault(address, set()).add(trial_id)
        groups: dict[frozenset[str], list[str]] = {}
        for address, ncts in studies_of.items():
            groups.setdefault(frozenset(ncts), []).append(address)
        parts = [digest.only(ncts, tuple(sorted(addrs))) for ncts, addrs in groups.items()]
        return sorted(parts, key=lambda d: d.route)

    def all_recipients(self) -> set[str]:
        found = set(self.config.recipients)
        for addresses in [*self.config.study_recipients.values(), *self.query_recipients.values()]:
            found |= set(addresses)
        return found

    # ------------------------------------------------------------ sending

    def send(self, digest: Digest) -> None:
        if not digest.route:
            raise DeliveryError("email digest has no recipient")
        message = self.message(digest)
        import smtplib

        try:
            self._deliver(message, list(digest.route))
        except (smtplib.SMTPException, OSError) as e:
            raise DeliveryError(self._scrub(self._describe(e))) from None

    def describe(self, digest: Digest) -> str:
        return f"to {', '.join(digest.route)} via {self.config.host}:{self.config.port}"

    def message(self, digest: Digest) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = digest.subject()
        msg["From"] = self.config.sender
        msg["To"] = ", ".join(digest.route)
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        msg["Message-ID"] = self._message_id(digest)
        msg["X-Trialmon-Run"] = str(digest.run_id)
        msg.set_content(render_text(digest) + "\n")
        msg.add_alternative(render_html(digest) + "\n", subtype="html")
        return msg

    def _message_id(self, digest: Digest) -> str:
        """Stable across retries, so a mail client can drop a duplicate if one ever slips by."""
        key = f"{digest.run_id}|{digest.created_at}|{'|'.join(digest.route)}|{digest.test}"
        token = hashlib.sha256(key.encode()).hexdigest()[:24]
        domain = self.config.sender.rpartition("@")[2] or "trialmon.invalid"
        return f"<trialmon.{digest.run_id}.{token}@{domain}>"

    def _deliver(self, message: EmailMessage, recipients: list[str]) -> None:
        with self._connect() as smtp:
            if self.config.username:
                smtp.login(self.config.username, self._password())
            refused = smtp.send_message(message, self.config.sender, recipients)
        if refused:
            log.warning("email: the server refused %s", ", ".join(sorted(refused)))

    def _connect(self) -> smtplib.SMTP:
        import smtplib

        c = self.config
        if c.security == "ssl":
            return smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=self._context())
        smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
        try:
            if c.security == "starttls":
                smtp.starttls(context=self._context())
                smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _context(self) -> ssl.SSLContext:
        import ssl

        if self.ssl_context is not None:
            return self.ssl_context
        return ssl.create_default_context(cafile=self.config.ca_file)

    def _password(self) -> str:
        return self.env.get(self.config.password_env, "")

    # ------------------------------------------------------------ errors

    def _describe(self, e: BaseException) -> str:
        where = f"email via {self.config.host}:{self.config.port}"
        return f"{where}: {plain_reason(e)}"

    def _scrub(self, text: str) -> str:
        """Remove the password, and its base64 forms, from a message."""
        password = self._password()
        if not password:
            return text
        for secret in secret_forms(self.config.username, password):
            text = text.replace(secret, "***")
        return text


def secret_forms(username: str, password: str) -> list[str]:
    """The password as it may travel on the wire (AUTH PLAIN / LOGIN encode it in base64)."""
    plain = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
    login = base64.b64encode(password.encode()).decode()
    return [password, plain, login]


def plain_reason(e: BaseException) -> str:
    """A one-line reason in plain words for an smtplib, socket or ssl error."""
    import smtplib
    import ssl

    if isinstance(e, smtplib.SMTPAuthenticationError):
        return f"the server refused the login ({e.smtp_code})"
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        return f"the server refused every recipient ({', '.join(sorted(e.recipients))})"
    if isinstance(e, smtplib.SMTPResponseException):
        return f"the server answered {e.smtp_code} {_text(e.smtp_error)}"
    if isinstance(e, smtplib.SMTPNotSupportedError):
        return f"the server does not support this ({e})"
    if isinstance(e, ssl.SSLCertVerificationError):
        return f"the server's TLS certificate is not trusted ({e.verify_message})"
    if isinstance(e, ssl.SSLError):
        return f"TLS failed ({e.reason or e})"
    return _socket_reason(e)


def _socket_reason(e: BaseException) -> str:
    import smtplib

    if isinstance(e, ConnectionRefusedError):
        return "connection refused (is the SMTP server running?)"
    if isinstance(e, TimeoutError | socket.timeout):
        return "the server did not answer in time"
    if isinstance(e, socket.gaierror):
        return f"the host name cannot be resolved ({e.strerror})"
    if isinstance(e, smtplib.SMTPServerDisconnected):
        return f"the server closed the connection ({e})"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return f"{type(e).__name__}: {e}"


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def build(config: EmailNotifyConfig, watch: WatchConfig) -> EmailNotifier:
    return EmailNotifier(config, watch.queries)


def secrets(config: EmailNotifyConfig) -> set[str]:
    """The SMTP password and the forms AUTH sends it in, when a login is configured."""
    password = os.environ.get(config.password_env, "") if config.username else ""
    return set(secret_forms(config.username, password)) if password else set()


SPEC = ChannelSpec(KIND, parse, build, check, secrets)

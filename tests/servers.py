"""Real loopback servers for the notification tests: SMTP (aiosmtpd) and a tiny HTTP webhook.

Both listen on 127.0.0.1 on a port the OS chooses.
"""

from __future__ import annotations

import email
import email.policy
import http.server
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

SMTP_USER = "trialmon"
SMTP_PASSWORD = "s3cret-Pa55-w0rd!"  # a test password, never a real one


# ---------------------------------------------------------------- SMTP


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class SmtpHandler:
    received: list[Received] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), msg))
        self.arrived.set()
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == SMTP_USER
            and auth_data.password.decode() == SMTP_PASSWORD
        )
        self.logins.append((auth_data.login.decode(), ok))
        return AuthResult(success=ok, handled=False)


class LoopbackController(Controller):
    """aiosmtpd's controller on port 0: learn the port the OS chose before the ready check."""

    def _trigger_server(self) -> None:
        if self.port == 0:
            assert self.server is not None
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class Tls:
    ca: trustme.CA
    ca_file: Path
    server_context: ssl.SSLContext


def make_tls(tmp_path: Path) -> Tls:
    """A private CA made by the test, and a server certificate for 127.0.0.1 it signed."""
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    ca_file = tmp_path / "test-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return Tls(ca, ca_file, server_context)


@contextmanager
def smtp_server(
    handler: SmtpHandler, *, tls: Tls | None = None, implicit_tls: bool = False, port: int = 0
) -> Iterator[LoopbackController]:
    """STARTTLS + required login when ``tls`` is given (implicit TLS with ``implicit_tls``)."""
    kwargs: dict[str, Any] = {}
    if tls and implicit_tls:
        kwargs = {
            "ssl_context": tls.server_context,
            "authenticator": handler.authenticate,
            "auth_require_tls": False,  # the whole connection is TLS; aiosmtpd cannot tell
        }
    elif tls:
        kwargs = {
            "tls_context": tls.server_context,
            "require_starttls": True,
            "authenticator": handler.authenticate,
            "auth_required": True,
        }
    controller = LoopbackController(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


# ---------------------------------------------------------------- HTTP webhook


@contextmanager
def serve_http(
    handler: type[http.server.BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None
) -> Iterator[int]:
    """Serve ``handler`` on 127.0.0.1 (an OS-chosen port, TLS when given) in a thread."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@dataclass
class Webhook:
    """Answers 500 to the first ``fail_first`` requests, then 200; records every request."""

    fail_first: int = 0
    requests: list[tuple[str, bytes]] = field(default_factory=list)
    accepted: list[bytes] = field(default_factory=list)


@contextmanager
def webhook_server(hook: Webhook) -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hook.requests.append((self.path, body))
            failing = len(hook.requests) <= hook.fail_first
            if not failing:
                hook.accepted.append(body)
            self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    with serve_http(Handler) as port:
        yield port

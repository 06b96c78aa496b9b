"""Real loopback servers: SMTP (aiosmtpd) and a tiny HTTP webhook for the notification tests,
and what every fake registry API is served with (:class:`LoopbackApi`, :class:`LoopbackHandler`).

All listen on 127.0.0.1 on a port the OS chooses.
"""

from __future__ import annotations

import email
import email.policy
import http.server
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Generic, Self, TypeVar

import orjson
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


# ---------------------------------------------------------------- fake registry APIs


@dataclass
class Fault:
    """A misbehaviour to answer with instead of the normal response."""

    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # real seconds to wait before answering (for client timeouts)
    close: bool = False  # drop the connection without answering
    cut: int | None = None  # announce the whole body, send this many bytes, drop the connection
    content_type: str | None = None


SeenT = TypeVar("SeenT")


class LoopbackApi(Generic[SeenT]):
    """A fake API as a real HTTP server on 127.0.0.1 (an OS-chosen port), in a thread.

    ``start()`` / ``stop()`` or a ``with`` block; ``url`` to point a client at. The fake keeps
    its state under ``lock``; its handler (a :class:`LoopbackHandler`, given ``api = self``)
    logs each request it receives (a ``SeenT``, timed by ``clock``) with :meth:`arrived`, which
    answers with the :class:`Fault` that ``fault`` returns for it, if any.
    """

    def __init__(
        self, handler: type[LoopbackHandler], clock: Callable[[], float], name: str
    ) -> None:
        self.handler = handler
        self.name = name  # "the fake API", for the message when it is not started
        self.clock = clock
        self.lock = threading.RLock()
        self.requests: list[SeenT] = []
        self.fault: Callable[[SeenT], Fault | None] | None = None
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        handler = type("Handler", (self.handler,), {"api": self})
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, f"{self.name} is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def arrived(self, seen: SeenT) -> Fault | None:
        """Log a request; the fault to answer it with (None: answer normally)."""
        with self.lock:
            self.requests.append(seen)
            hook = self.fault
        return hook(seen) if hook else None

    def clear_log(self) -> None:
        with self.lock:
            self.requests.clear()

    def storm(self, count: int, status: int = 429, retry_after: str | None = None) -> None:
        """The next ``count`` requests are throttled: ``status``, with ``Retry-After`` if given."""
        left = [count]
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        body = self.throttled_body(status)

        def hook(seen: SeenT) -> Fault | None:
            with self.lock:
                if left[0] <= 0:
                    return None
                left[0] -= 1
            return Fault(status=status, body=body, headers=headers)

        self.fault = hook

    def throttled_body(self, status: int) -> str:
        return "Too Many Requests"


class LoopbackHandler(http.server.BaseHTTPRequestHandler):
    """Answers a :class:`LoopbackApi`'s requests: sends bodies and faults, keeps quiet."""

    api: LoopbackApi[Any]
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass

    def send_fault(self, fault: Fault) -> None:
        if fault.delay:
            time.sleep(fault.delay)
            self.close_connection = True
        if fault.close:
            self.close_connection = True
            return
        body = fault.body
        if isinstance(body, dict | list):
            body, kind = orjson.dumps(body), "application/json"
        else:
            body = body.encode() if isinstance(body, str) else body
            kind = "text/html" if body.lstrip().startswith(b"<") else "text/plain"
        if fault.cut is not None:
            self.close_connection = True
            self.send(fault.status, body, fault.content_type or kind, fault.headers, fault.cut)
            return
        self.send(fault.status, body, fault.content_type or kind, fault.headers)

    def send(
        self,
        status: int,
        body: bytes,
        kind: str,
        headers: dict[str, str] | None = None,
        cut: int | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(body if cut is None else body[:cut])
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
            self.close_connection = True

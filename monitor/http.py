"""The polite HTTP layer: one rate limiter, retries with backoff, error translation.

Every request trialmon sends to a registry goes through that registry's one :class:`Http`,
which owns one :class:`RateLimiter` (never above its ``requests_per_minute``, all endpoints
together),
retries throttling, server errors, timeouts and broken connections with exponential backoff
and jitter (honouring ``Retry-After``), and turns what is left into the exception tree of
:mod:`monitor.errors`. The ``httpx.Client`` is built by the CLI and passed in, so tests can
hand over a respx-mocked client or one pointed at a loopback server; the clock is injectable
so tests never really sleep.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
import orjson

from monitor import __version__
from monitor.configkit import LiveConfig
from monitor.english import count
from monitor.errors import (
    NotFoundError,
    PermanentFetchError,
    TooLargeError,
    TransientFetchError,
)
from monitor.limits import MAX_RECORD_BYTES, too_large

log = logging.getLogger(__name__)

USER_AGENT = f"trialmon/{__version__} (clinical-trial registry monitor; python-httpx)"
RETRY_STATUSES = frozenset({403, 408, 429, 500, 502, 503, 504})
Params = Mapping[str, str | int]


class Clock(Protocol):
    """Where the HTTP layer reads time and sleeps; tests pass a fake one."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class RateLimiter:
    """At most ``per_minute`` request starts in any minute: a minimum interval between starts.

    ``defer`` pushes the next start later (a backoff), so a pause asked for by the server
    holds for every request, not only the one that was throttled.
    """

    def __init__(self, per_minute: float, clock: Clock | None = None) -> None:
        if per_minute <= 0:
            raise ValueError(f"requests per minute must be positive, got {per_minute!r}")
        self.interval = 60.0 / per_minute
        self.clock = clock or SystemClock()
        self._next: float | None = None
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Wait until a request may start, and claim that slot."""
        with self._lock:
            now = self.clock.monotonic()
            if self._next is not None and self._next > now:
                self.clock.sleep(self._next - now)
                now = max(self.clock.monotonic(), self._next)
            self._next = now + self.interval

    def defer(self, seconds: float) -> None:
        """Let no request start for ``seconds`` from now."""
        with self._lock:
            until = self.clock.monotonic() + seconds
            self._next = max(self._next or until, until)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry; delays in seconds."""

    max_attempts: int = 6
    base_delay: float = 2.0
    max_delay: float = 120.0
    max_retry_after: float = 900.0

    def delay(self, attempt: int, jitter: float) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random (jitter in 0..1)."""
        full = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return full / 2 + full / 2 * jitter


class Http:
    """GET requests to the registry with one rate limiter, retries and plain-words errors."""

    def __init__(
        self,
        client: httpx.Client,
        limiter: RateLimiter,
        policy: RetryPolicy | None = None,
        jitter: Callable[[], float] = random.random,
        max_bytes: int = MAX_RECORD_BYTES,
    ) -> None:
        self.client = client
        self.limiter = limiter
        self.policy = policy or RetryPolicy()
        self.jitter = jitter
        self.max_bytes = max_bytes
        self.requests = 0

    def url(self, path: str, params: Params | None = None) -> str:
        """The full URL a GET of ``path`` with ``params`` goes to."""
        return str(self.client.build_request("GET", path, params=params).url)

    def get(
        self, path: str, params: Params | None = None, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """A response with status 2xx or 3xx; retries what is worth retrying, raises the rest."""
        return self.request("GET", path, params=params, headers=headers)

    def post_json(self, path: str, body: Any, params: Params | None = None) -> Any:
        """The parsed JSON answer to a POST of ``body`` as JSON (a search API's request)."""
        return json_body(self.request("POST", path, params=params, json=body))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Any request, with the same rate limit, retries and errors as :meth:`get`
        (``headers``: beside the client's, e.g. the ``Accept`` of an XML API)."""
        request = self.client.build_request(
            method,
            path,
            params=params,
            json=json,
            headers={"User-Agent": USER_AGENT, **(headers or {})},
        )
        url = str(request.url)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send(request)
            except httpx.TransportError as e:
                self._retry_or_raise(attempt, url, f"{type(e).__name__}: {e}", None, e)
                continue
            except httpx.RequestError as e:  # e.g. a body that cannot be decoded
                raise PermanentFetchError(f"{url}: {type(e).__name__}: {e}") from e
            if response.status_code not in RETRY_STATUSES:
                return check_status(response)
            self._retry_or_raise(attempt, url, describe(response), retry_after(response), None)

    def get_json(self, path: str, params: Params | None = None) -> Any:
        """The parsed JSON body of a 200 answer (see :func:`json_body`)."""
        return json_body(self.get(path, params))

    def _send(self, request: httpx.Request) -> httpx.Response:
        self.limiter.acquire()
        self.requests += 1
        log.debug("%s %s", request.method, request.url)
        response = self.client.send(request, stream=True)
        try:
            read_within(response, self.max_bytes)
        finally:
            response.close()
        return response

    def _retry_or_raise(
        self,
        attempt: int,
        url: str,
        why: str,
        wait: float | None,
        cause: Exception | None,
    ) -> None:
        if attempt >= self.policy.max_attempts:
            message = f"{url}: {why} (gave up after {count(attempt, 'attempt')})"
            raise TransientFetchError(message) from cause
        if wait is not None and wait > self.policy.max_retry_after:
            raise TransientFetchError(f"{url}: {why}, asked to retry after {wait:.0f} s") from cause
        delay = wait if wait is not None else self.policy.delay(attempt, self.jitter())
        log.info("%s: %s; retrying in %.1f s (attempt %s)", url, why, delay, attempt + 1)
        self.limiter.defer(delay)


def read_within(response: httpx.Response, limit: int) -> None:
    """Read the body of a streamed response, refusing one over ``limit`` bytes (decoded).

    The body is then ``response.content``, as after ``response.read()`` (which keeps it in
    ``_content``, the attribute set here; ``test_http`` checks that this stays so).
    """
    url = str(response.request.url)
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLargeError(f"{url}: the answer has {too_large(int(declared))}")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise TooLargeError(f"{url}: the answer has {too_large(None)}")
        chunks.append(chunk)
    response._content = b"".join(chunks)


def check_status(response: httpx.Response) -> httpx.Response:
    """Pass 2xx and 3xx through; 404 -> NotFoundError; any other status -> PermanentFetchError."""
    status = response.status_code
    if status < 400:
        return response
    url = str(response.request.url)
    if status == 404:
        raise NotFoundError(f"{url}: not found (404)")
    raise PermanentFetchError(f"{url}: {describe(response)}")


def describe(response: httpx.Response) -> str:
    """``HTTP 400 Bad Request: <first line of the plain-text body>``."""
    text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
    head = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
    return f"{head}: {text}" if text and text != response.reason_phrase else head


def json_body(response: httpx.Response) -> Any:
    """Parse a JSON body; HTML, empty or truncated bodies are a PermanentFetchError."""
    url = str(response.request.url)
    kind = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    if response.status_code != 200:
        raise PermanentFetchError(f"{url}: expected 200 with JSON, got {describe(response)}")
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as e:
        start = response.text[:60].strip().replace("\n", " ")
        raise PermanentFetchError(
            f"{url}: the answer is not valid JSON ({kind}, {len(response.content)} bytes, "
            f"starting {start!r}): {e}"
        ) from e


def retry_after(response: httpx.Response) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (seconds or an HTTP date), if any."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def polite(client: httpx.Client, config: LiveConfig, clock: Clock | None = None) -> Http:
    """The :class:`Http` for a registry's section: its rate limit and its number of attempts."""
    limiter = RateLimiter(config.requests_per_minute, clock)
    return Http(client, limiter, RetryPolicy(max_attempts=config.max_attempts))


def build_client(base_url: str, timeout: float) -> httpx.Client:
    """The one ``httpx.Client`` of a process (the CLI builds it and passes it down)."""
    return httpx.Client(
        base_url=base_url,
        timeout=timeout,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        follow_redirects=False,
    )

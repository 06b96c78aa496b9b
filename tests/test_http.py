"""The HTTP layer: rate limit, retries with backoff, error translation (respx, fake clock)."""

from __future__ import annotations

import gzip
import itertools
from collections.abc import Iterator

import httpx
import pytest
import respx

from monitor import __version__
from monitor.errors import (
    NotFoundError,
    PermanentFetchError,
    TooLargeError,
    TransientFetchError,
)
from monitor.http import USER_AGENT, Http, RateLimiter, RetryPolicy, build_client, retry_after
from tests.fakeapi import FakeClock

BASE = "https://clinicaltrials.gov"
VERSION = f"{BASE}/api/v2/version"


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def make_http(clock: FakeClock, per_minute: float = 60, attempts: int = 4) -> Http:
    client = httpx.Client(base_url=BASE)
    policy = RetryPolicy(max_attempts=attempts, base_delay=2, max_delay=60)
    return Http(client, RateLimiter(per_minute, clock), policy, jitter=lambda: 0.5)


def max_in_window(times: list[float], window: float = 60.0) -> int:
    """The most request starts in any half-open window [t, t + window)."""
    return max(sum(1 for u in times if t <= u < t + window) for t in times)


# ---------------------------------------------------------------- rate limiter


def test_limiter_spaces_requests_and_never_exceeds_the_rate(clock: FakeClock) -> None:
    limiter = RateLimiter(50, clock)
    starts = []
    for _ in range(120):
        limiter.acquire()
        starts.append(clock.monotonic())
    assert max_in_window(starts) == 50
    assert starts[1] - starts[0] == pytest.approx(1.2)


def test_limiter_does_not_wait_when_requests_are_already_slow(clock: FakeClock) -> None:
    limiter = RateLimiter(60, clock)
    limiter.acquire()
    clock.now += 5
    limiter.acquire()
    assert clock.slept == []


def test_defer_holds_every_later_request(clock: FakeClock) -> None:
    limiter = RateLimiter(60, clock)
    limiter.acquire()
    limiter.defer(30)
    start = clock.monotonic()
    limiter.acquire()
    assert clock.monotonic() - start == pytest.approx(30)


def test_limiter_refuses_a_non_positive_rate() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    policy = RetryPolicy(base_delay=2, max_delay=60)
    assert [policy.delay(n, 0.0) for n in (1, 2, 3)] == [1, 2, 4]
    assert [policy.delay(n, 1.0) for n in (1, 2, 3)] == [2, 4, 8]
    assert policy.delay(10, 1.0) == 60


# ---------------------------------------------------------------- answers


def test_json_answer_with_the_user_agent(mock: respx.MockRouter, clock: FakeClock) -> None:
    route = mock.get("/api/v2/version").respond(json={"dataTimestamp": "2026-09-04T09:00:06"})
    body = make_http(clock).get_json("/api/v2/version")
    assert body == {"dataTimestamp": "2026-09-04T09:00:06"}
    agent = route.calls.last.request.headers["User-Agent"]
    assert agent == USER_AGENT and agent.startswith(f"trialmon/{__version__} (")


@pytest.mark.parametrize("status", [429, 403, 500, 502, 503, 504])
def test_retryable_statuses_back_off_then_succeed(
    mock: respx.MockRouter, clock: FakeClock, status: int
) -> None:
    mock.get("/api/v2/version").mock(
        side_effect=[httpx.Response(status), httpx.Response(status), httpx.Response(200, json={})]
    )
    http = make_http(clock)
    assert http.get_json("/api/v2/version") == {}
    assert http.requests == 3
    assert clock.slept == pytest.approx([1.5, 3.0])  # 2 s and 4 s with half of the jitter


def test_retry_after_seconds_is_honoured(mock: respx.MockRouter, clock: FakeClock) -> None:
    mock.get("/api/v2/version").mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "17"}),
            httpx.Response(200, json={}),
        ]
    )
    make_http(clock).get_json("/api/v2/version")
    assert clock.slept == pytest.approx([17])


def test_retry_after_too_long_gives_up_at_once(mock: respx.MockRouter, clock: FakeClock) -> None:
    mock.get("/api/v2/version").respond(503, headers={"Retry-After": "86400"})
    with pytest.raises(TransientFetchError, match="retry after 86400 s"):
        make_http(clock).get_json("/api/v2/version")
    assert clock.slept == []


def test_retry_after_as_an_http_date() -> None:
    response = httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert retry_after(response) == 0.0  # a date in the past: retry now
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None


def test_attempts_are_bounded(mock: respx.MockRouter, clock: FakeClock) -> None:
    route = mock.get("/api/v2/version").respond(503, text="Service Unavailable")
    with pytest.raises(TransientFetchError) as caught:
        make_http(clock, attempts=3).get_json("/api/v2/version")
    assert route.call_count == 3
    assert VERSION in str(caught.value) and "HTTP 503" in str(caught.value)
    assert "gave up after 3 attempts" in str(caught.value)


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
)
def test_transport_errors_are_retried_then_transient(
    mock: respx.MockRouter, clock: FakeClock, error: Exception
) -> None:
    route = mock.get("/api/v2/version").mock(side_effect=error)
    with pytest.raises(TransientFetchError, match=type(error).__name__):
        make_http(clock).get_json("/api/v2/version")
    assert route.call_count == 4


def test_not_found_is_not_retried(mock: respx.MockRouter, clock: FakeClock) -> None:
    route = mock.get("/api/v2/studies/NCT00000001").respond(404, text="Study not found")
    with pytest.raises(NotFoundError, match="NCT00000001"):
        make_http(clock).get("/api/v2/studies/NCT00000001")
    assert route.call_count == 1


def test_bad_request_names_the_reason(mock: respx.MockRouter, clock: FakeClock) -> None:
    mock.get("/api/v2/studies/NCT1").respond(400, text="Invalid NCT number: NCT1\nmore")
    expected = r"HTTP 400 Bad Request: Invalid NCT number: NCT1$"
    with pytest.raises(PermanentFetchError, match=expected):
        make_http(clock).get("/api/v2/studies/NCT1")


def test_redirects_are_returned_not_followed(mock: respx.MockRouter, clock: FakeClock) -> None:
    mock.get("/api/v2/studies/NCT00000001").respond(
        301, headers={"Location": "/api/v2/studies/NCT00000002"}
    )
    response = make_http(clock).get("/api/v2/studies/NCT00000001")
    assert response.status_code == 301


def test_html_with_200_is_a_permanent_error_naming_the_url(
    mock: respx.MockRouter, clock: FakeClock
) -> None:
    mock.get("/api/v2/studies").respond(200, html="<html><body>Maintenance</body></html>")
    with pytest.raises(PermanentFetchError) as caught:
        make_http(clock).get_json("/api/v2/studies", {"filter.ids": "NCT00000001"})
    message = str(caught.value)
    assert f"{BASE}/api/v2/studies?filter.ids=NCT00000001" in message
    assert "not valid JSON" in message and "text/html" in message


def test_truncated_json_is_a_permanent_error(mock: respx.MockRouter, clock: FakeClock) -> None:
    mock.get("/api/v2/version").respond(
        200, content=b'{"studies": [{"protocolSe', headers={"Content-Type": "application/json"}
    )
    with pytest.raises(PermanentFetchError, match="not valid JSON"):
        make_http(clock).get_json("/api/v2/version")


def test_a_redirect_is_not_json(mock: respx.MockRouter, clock: FakeClock) -> None:
    mock.get("/api/v2/version").respond(302, headers={"Location": "/elsewhere"})
    with pytest.raises(PermanentFetchError, match="expected 200 with JSON, got HTTP 302"):
        make_http(clock).get_json("/api/v2/version")


def test_retries_count_against_the_rate_limit(mock: respx.MockRouter, clock: FakeClock) -> None:
    """Even retries after a short Retry-After never start faster than the limit allows."""
    starts: list[float] = []

    def answer(request: httpx.Request) -> httpx.Response:
        starts.append(clock.monotonic())
        if len(starts) < 5:
            return httpx.Response(429, headers={"Retry-After": "0"})
        return httpx.Response(200, json={})

    mock.get("/api/v2/version").mock(side_effect=answer)
    http = make_http(clock, per_minute=30, attempts=6)
    http.get_json("/api/v2/version")
    http.get_json("/api/v2/version")
    assert all(b - a >= 2.0 - 1e-9 for a, b in itertools.pairwise(starts))


def test_build_client_names_trialmon() -> None:
    with build_client(BASE, 5) as client:
        assert client.headers["User-Agent"] == USER_AGENT
        assert str(client.base_url).rstrip("/") == BASE
        assert client.timeout.read == 5
        assert client.follow_redirects is False


def test_a_post_with_a_json_body_is_retried_like_a_get(
    mock: respx.MockRouter, clock: FakeClock
) -> None:
    """A search API asked by POST (EU CTIS) gets the same rate limit, retries and errors."""
    route = mock.post("/search").mock(
        side_effect=[
            httpx.Response(429, text="slow down"),
            httpx.Response(200, json={"data": [1, 2]}),
        ]
    )
    http = make_http(clock)
    body = {"pagination": {"page": 1, "size": 100}, "searchCriteria": {"number": "x"}}
    assert http.post_json("/search", body) == {"data": [1, 2]}
    assert route.call_count == 2 and http.requests == 2
    sent = route.calls[-1].request
    assert sent.headers["content-type"] == "application/json"
    assert sent.headers["user-agent"] == USER_AGENT
    assert httpx.Response(200, content=sent.content).json() == body


# ---------------------------------------------------------------- size limit


def test_an_answer_over_the_limit_is_refused_without_a_retry(
    mock: respx.MockRouter, clock: FakeClock
) -> None:
    """Counted as it streams in (no Content-Length, gzip decoded): never held whole."""
    body = gzip.compress(b"[" + b"1," * 600 + b"1]")
    chunks = [body[i : i + 100] for i in range(0, len(body), 100)]
    mock.get("/api/v2/version").mock(
        return_value=httpx.Response(200, content=iter(chunks), headers={"content-encoding": "gzip"})
    )
    http = make_http(clock)
    http.max_bytes = 1000
    with pytest.raises(TooLargeError, match="the answer has more than a record may have"):
        http.get_json("/api/v2/version")
    assert http.requests == 1


def test_an_answer_declaring_a_length_over_the_limit_is_not_read(
    mock: respx.MockRouter, clock: FakeClock
) -> None:
    mock.get("/api/v2/version").mock(return_value=httpx.Response(200, content=b"x" * 1001))
    http = make_http(clock)
    http.max_bytes = 1000
    with pytest.raises(TooLargeError, match="1,001 bytes, more than a record may have"):
        http.get("/api/v2/version")


def test_an_answer_within_the_limit_is_whole(mock: respx.MockRouter, clock: FakeClock) -> None:
    chunks = [b'{"dataTimestamp": ', b'"2026-01-01"}']
    mock.get("/api/v2/version").mock(return_value=httpx.Response(200, content=iter(chunks)))
    http = make_http(clock)
    http.max_bytes = len(b"".join(chunks))
    response = http.get("/api/v2/version")
    assert response.content == b"".join(chunks)  # httpx keeps a read body in _content
    assert response.json() == {"dataTimestamp": "2026-01-01"}

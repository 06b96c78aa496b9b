"""A fake of the ISRCTN API as a real HTTP server on 127.0.0.1 (an OS-chosen port).

Built from the five real trials of ``tests/data/isrctn/query_colchicine.xml`` (their
``<fullTrial>`` text kept byte for byte). Start it with ``FakeIsrctn().start()`` (or as a
context manager), point a client at ``.url`` and change it between cycles:

- ``trials``: ``{ISRCTN id: <fullTrial> text}``, served by
  ``GET /api/query/format/default?q=...&limit=n`` as ``<allTrials totalCount="N">`` with up to
  ``limit`` trials (10 by default; ``limit=0`` answers the count alone). ``q`` takes
  ``field:value`` and ``field:"quoted value"`` (condition, intervention, recruitmentCountry,
  title, gender: substrings of those elements), free words (substrings of the whole trial,
  its number included), ``AND``/``OR``/parentheses and ``lastEdited``/``overallEndDate`` with
  ``LT``/``LE``/``GT``/``GE``/``NE`` and an ISO time (``lastEdited`` is the trial's
  ``lastUpdated``). A query it cannot read, or an unknown field with a one-word value, finds
  nothing (answered 200 with a count of 0, as the real API fails silently).
- ``update(id, edit, last_updated)``: an edit of the trial's text (a function), its ``version``
  bumped by one and its ``lastUpdated`` set, as the registry would on an edit.
- ``storm(n, status, retry_after=None)``: the next ``n`` requests answer 429 or 403;
  ``fault`` takes any hook of :class:`tests.servers.Fault`.
- ``requests``: every request (path, parameters, clock time); ``count()``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.servers import LoopbackApi, LoopbackHandler

DATA = Path(__file__).parent / "data" / "isrctn"
QUERY = "/api/query/format/default"
NAMESPACE = "http://www.67bricks.com/isrctn"
TOKEN = re.compile(r'\(|\)|[A-Za-z]+:"[^"]*"|[^\s()]+')
FIELDS = {
    "condition": ("condition",),
    "intervention": ("intervention",),
    "recruitmentcountry": ("recruitmentCountries",),
    "title": ("title", "scientificTitle"),
    "gender": ("gender",),
}
DATES = {"lastedited": ("trial", "lastUpdated"), "overallenddate": ("overallEndDate", None)}
OPERATORS = {"LT", "LE", "GT", "GE", "NE"}


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    params: dict[str, str]
    at: float


def real_trials() -> dict[str, str]:
    """The ``<fullTrial>`` texts of the real answer, by ISRCTN number."""
    text = (DATA / "query_colchicine.xml").read_text(encoding="utf-8")
    blocks = re.findall(r"<fullTrial>.*?</fullTrial>", text, flags=re.DOTALL)
    return {re.search(r'publicIdentifierCanonical="(ISRCTN\d{8})"', b).group(1): b for b in blocks}  # type: ignore[union-attr]


def element_texts(trial: str, name: str) -> str:
    """Every text inside the elements called ``name`` (lower case)."""
    found = re.findall(rf"<{name}\b[^>]*>(.*?)</{name}>", trial, flags=re.DOTALL)
    return " ".join(re.sub(r"<[^>]+>", " ", f) for f in found).casefold()


def attribute(trial: str, element: str, name: str | None) -> str:
    if name is None:
        match = re.search(rf"<{element}>([^<]*)</{element}>", trial)
    else:
        match = re.search(rf'<{element}\b[^>]*\b{name}="([^"]*)"', trial)
    return match.group(1) if match else ""


class Unreadable(Exception):
    pass


class Parser:
    """``q`` -> a predicate over a trial's text (see the module docstring)."""

    def __init__(self, q: str) -> None:
        self.tokens = TOKEN.findall(q)
        self.at = 0

    def parse(self) -> Callable[[str], bool]:
        expression = self.either()
        if self.at != len(self.tokens):
            raise Unreadable(self.tokens[self.at])
        return expression

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise Unreadable("end of query")
        self.at += 1
        return token

    def either(self) -> Callable[[str], bool]:
        parts = [self.both()]
        while self.peek() == "OR":
            self.take()
            parts.append(self.both())
        return lambda t: any(p(t) for p in parts)

    def both(self) -> Callable[[str], bool]:
        parts = [self.one()]
        while self.peek() not in (None, ")", "OR"):
            if self.peek() == "AND":
                self.take()
            parts.append(self.one())
        return lambda t: all(p(t) for p in parts)

    def one(self) -> Callable[[str], bool]:
        token = self.take()
        if token == "(":
            inner = self.either()
            if self.take() != ")":
                raise Unreadable("(")
            return inner
        if token.casefold() in DATES and self.peek() in OPERATORS:
            return self.comparison(token.casefold(), self.take(), self.take())
        if ":" in token:
            name, value = token.split(":", 1)
            return self.field(name.casefold(), value)
        word = token.casefold()
        return lambda t: word in t.casefold()

    def field(self, name: str, value: str) -> Callable[[str], bool]:
        quoted = value.startswith('"')
        value = value.strip('"').casefold()
        if name not in FIELDS:
            if quoted and " " in value:  # falls back to free text
                return lambda t: value in t.casefold()
            return lambda t: False
        return lambda t: any(value in element_texts(t, e) for e in FIELDS[name])

    def comparison(self, name: str, operator: str, value: str) -> Callable[[str], bool]:
        element, attr = DATES[name]
        bound = value[:19]

        def test(trial: str) -> bool:
            own = attribute(trial, element, attr)[:19]
            return {
                "LT": own < bound,
                "LE": own <= bound,
                "GT": own > bound,
                "GE": own >= bound,
                "NE": own != bound,
            }[operator]

        return test


class FakeIsrctn(LoopbackApi[Seen]):
    """The fake registry; see the module docstring."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(IsrctnHandler, clock, "the fake ISRCTN")
        self.trials: dict[str, str] = {}

    # ------------------------------------------------------------ state

    def add_real(self) -> None:
        with self.lock:
            self.trials.update(real_trials())

    def update(self, trial_id: str, edit: Callable[[str], str], last_updated: str) -> None:
        """An edit as the registry makes one: the text changes, the version moves by one."""
        with self.lock:
            text = edit(self.trials[trial_id])
            version = int(attribute(text, "trial", "version")) + 1
            text = re.sub(r'(<trial\b[^>]*\bversion=")\d+', rf"\g<1>{version}", text, count=1)
            text = re.sub(
                r'(<trial\b[^>]*\blastUpdated=")[^"]*', rf"\g<1>{last_updated}", text, count=1
            )
            self.trials[trial_id] = text

    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def seen(self) -> list[Seen]:
        with self.lock:
            return list(self.requests)

    # ------------------------------------------------------------ answers

    def query(self, params: dict[str, str]) -> str:
        limit = int(params["limit"]) if params.get("limit", "").isdigit() else 10
        try:
            test = Parser(params.get("q", "")).parse()
        except Unreadable:
            test = lambda t: False  # noqa: E731  (the real API fails silently)
        found = [text for _, text in sorted(self.trials.items()) if test(text)]
        body = "".join(found[:limit])
        head = f'<allTrials totalCount="{len(found)}" xmlns="{NAMESPACE}"'
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n{head}>{body}</allTrials>'
            if body
            else f"{head}/>"
        )


class IsrctnHandler(LoopbackHandler):
    api: FakeIsrctn

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        fault = self.api.arrived(Seen("GET", parts.path, params, self.api.clock()))
        if fault is not None:
            self.send_fault(fault)
            return
        if parts.path != QUERY:
            self.send(404, b"<html><body>Page not found</body></html>", "text/html")
            return
        with self.api.lock:
            body = self.api.query(params)
        self.send(200, body.encode(), "application/xml")


def trial_ids() -> Iterator[str]:
    yield from real_trials()


def serve(**kwargs: Any) -> FakeIsrctn:
    fake = FakeIsrctn(**kwargs)
    fake.add_real()
    return fake.start()

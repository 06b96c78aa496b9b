"""A loopback fake of the ClinicalTrials.gov API sized for a whole registry (real HTTP, 127.0.0.1).

``tests/fakeapi.py`` holds every study as parsed JSON, which a 100,000-study registry cannot
afford. This fake holds an index (id, aliases, last-update date) and serves whole records as
the compact bytes written in the release's page files (``pages.write_pages``), read with
``os.pread``; studies without a body (the rest of a registry: ids and dates only) can be found
by date and watermarked, but asking for their full record is an error (HTTP 500), so a
benchmark that fetches what it should not fails loudly.

What it answers, as the registry does (``../shared/ctgov-samples/SOURCES.md``):

- ``GET /api/v2/version``: ``{"apiVersion", "dataTimestamp"}``.
- ``GET /api/v2/studies``: ``filter.ids`` (comma or pipe, aliases resolved),
  ``filter.advanced`` made of ``AREA[LastUpdatePostDate]RANGE[a,b]`` terms (``MIN``/``MAX``;
  terms joined by AND, parentheses ignored), ``fields`` (``NCTId``, ``NCTIdAlias``,
  ``LastUpdatePostDate``), ``pageSize`` (1-1000, default 10), ``pageToken`` bound to the other
  parameters, ``countTotal=true`` (``totalCount`` on the first page). Other parameters: 400.
- ``GET /api/v2/studies/{id}``: the record, 301 to the current id for an alias, 404.

Every request is counted (``count``), by path, for the harness's requests-per-cycle column.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

NCT_RE = re.compile(r"^NCT\d{8}$")
RANGE_RE = re.compile(r"AREA\[(\w+)\]RANGE\[([^,\]]*),([^\]]*)\]")
FIELDS = {"NCTId", "NCTIdAlias", "LastUpdatePostDate"}
KNOWN = {"filter.ids", "filter.advanced", "fields", "pageSize", "pageToken", "countTotal"}
KNOWN |= {"format"}


@dataclass(frozen=True)
class Entry:
    """One study of the registry: what the index knows, and where its record's bytes are."""

    nct_id: str
    posted: str | None
    aliases: tuple[str, ...] = ()
    body: tuple[str, int, int] | None = None  # page file, start, end


class Answer(Exception):
    def __init__(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(text)
        self.status, self.text, self.headers = status, text, headers or {}


class Registry:
    """The registry's state for one data release; ``publish`` swaps it whole."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}
        self.alias_of: dict[str, str] = {}
        self.order: list[str] = []
        self.data_timestamp = "2026-09-01T09:00:06"
        self.lock = threading.Lock()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._fds: dict[str, int] = {}

    def publish(self, entries: Iterable[Entry], data_timestamp: str) -> None:
        table = {e.nct_id: e for e in entries}
        aliases = {a: e.nct_id for e in table.values() for a in e.aliases}
        with self.lock:
            self._close_files()
            self.entries, self.alias_of = table, aliases
            self.order = sorted(table)
            self.data_timestamp = data_timestamp
            self.requests.clear()

    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()

    def close(self) -> None:
        with self.lock:
            self._close_files()

    def _close_files(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    # ------------------------------------------------------------ answers

    def answer(self, path: str, params: dict[str, str]) -> bytes:
        if path == "/api/v2/version":
            return orjson.dumps({"apiVersion": "2.0.5", "dataTimestamp": self.data_timestamp})
        if path == "/api/v2/studies":
            return self.search(params)
        if match := re.fullmatch(r"/api/v2/studies/([^/]+)", path):
            return self.one(match.group(1))
        raise Answer(404, f"Not found: {path}")

    def resolve(self, raw: str) -> str | None:
        nct = raw.strip().upper()
        if not NCT_RE.match(nct):
            raise Answer(400, f"Invalid NCT number: {raw}")
        return nct if nct in self.entries else self.alias_of.get(nct)

    def one(self, raw: str) -> bytes:
        current = self.resolve(raw)
        if current is None:
            raise Answer(404, f"Study {raw} not found")
        if current != raw.upper():
            raise Answer(301, "Moved", {"Location": f"/api/v2/studies/{current}"})
        return self.body(self.entries[current])

    def body(self, entry: Entry) -> bytes:
        if entry.body is None:
            raise Answer(500, f"the benchmark's fake has no record for {entry.nct_id}")
        file, start, end = entry.body
        fd = self._fds.get(file)
        if fd is None:
            fd = self._fds[file] = os.open(file, os.O_RDONLY)
        return os.pread(fd, end - start, start)

    def select(self, params: dict[str, str]) -> list[Entry]:
        unknown = set(params) - KNOWN
        if unknown:
            raise Answer(400, f"the benchmark's fake does not answer {sorted(unknown)}")
        if "filter.ids" in params:
            found = {self.resolve(r) for r in re.split(r"[,|]", params["filter.ids"]) if r}
            chosen = [self.entries[n] for n in self.order if n in found]
        else:
            chosen = [self.entries[n] for n in self.order]
        for area, low, high in RANGE_RE.findall(params.get("filter.advanced", "")):
            if area != "LastUpdatePostDate":
                raise Answer(400, f"the benchmark's fake does not evaluate AREA[{area}]")
            chosen = [e for e in chosen if in_range(e.posted, low, high)]
        return chosen

    def search(self, params: dict[str, str]) -> bytes:
        size = page_size(params)
        found = self.select(params)
        token = params.get("pageToken")
        offset = decode(token, signature(params)) if token else 0
        page = found[offset : offset + size]
        fields = params.get("fields")
        items = [self.project(e, fields) for e in page] if fields else [self.body(e) for e in page]
        out = [b'{"studies":[', b",".join(items), b"]"]
        if offset == 0 and params.get("countTotal") == "true":
            out.append(b',"totalCount":%d' % len(found))
        if offset + size < len(found):
            out.append(b',"nextPageToken":"%s"' % encode(offset + size, signature(params)))
        out.append(b"}")
        return b"".join(out)

    def project(self, entry: Entry, fields: str) -> bytes:
        wanted = {f.strip() for f in re.split(r"[,|]", fields) if f.strip()}
        if wanted - FIELDS:
            raise Answer(400, f"Unknown field in fields: {sorted(wanted - FIELDS)}")
        ident: dict[str, Any] = {"nctId": entry.nct_id}
        if "NCTIdAlias" in wanted and entry.aliases:
            ident["nctIdAliases"] = list(entry.aliases)
        protocol: dict[str, Any] = {"identificationModule": ident}
        if "LastUpdatePostDate" in wanted and entry.posted:
            struct = {"date": entry.posted, "type": "ACTUAL"}
            protocol["statusModule"] = {"lastUpdatePostDateStruct": struct}
        return orjson.dumps({"protocolSection": protocol})


def in_range(value: str | None, low: str, high: str) -> bool:
    if value is None:
        return False
    return (low in ("", "MIN") or value >= low) and (high in ("", "MAX") or value <= high)


def page_size(params: dict[str, str]) -> int:
    raw = params.get("pageSize", "10")
    if not raw.isdigit() or not 0 < int(raw) <= 1000:
        raise Answer(400, f"pageSize must be between 1 and 1000, got {raw}")
    return int(raw)


def signature(params: dict[str, str]) -> str:
    rest = {k: v for k, v in params.items() if k != "pageToken"}
    return hashlib.sha256(orjson.dumps(rest, option=orjson.OPT_SORT_KEYS)).hexdigest()[:12]


def encode(offset: int, sign: str) -> bytes:
    return base64.urlsafe_b64encode(orjson.dumps({"o": offset, "s": sign})).rstrip(b"=")


def decode(token: str, sign: str) -> int:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset, given = int(data["o"]), str(data["s"])
    except (ValueError, KeyError, TypeError) as e:
        raise Answer(400, f"Invalid pageToken: {token}") from e
    if given != sign:
        raise Answer(400, "pageToken was issued for different parameters")
    return offset


class Handler(BaseHTTPRequestHandler):
    registry: Registry
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        params = dict(parse_qsl(parts.query, keep_blank_values=True))
        with self.registry.lock:
            self.registry.requests.append((parts.path, params))
            try:
                status, body, kind = 200, self.registry.answer(parts.path, params), "json"
                headers: dict[str, str] = {}
            except Answer as e:
                status, body, kind, headers = e.status, e.text.encode(), "plain", e.headers
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if kind == "json" else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class Server:
    """The registry behind a real HTTP server on 127.0.0.1 (port chosen by the OS)."""

    def __init__(self, registry: Registry) -> None:
        handler = type("BoundHandler", (Handler,), {"registry": registry})
        self.registry = registry
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.http.daemon_threads = True
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.http.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.thread.join(timeout=5)
        self.registry.close()

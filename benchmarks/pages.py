"""A release written as ``GET /api/v2/studies`` pages, and as one array for git-history.

Page files hold ``per_page`` studies each (1,000: the API's largest page), compact, in id
order, with the ``nextPageToken`` the API adds to every page but the last: exactly what a
user saves when paging through a search. The same pass can write git-history's input (every
study in one JSON array, one study per line) and returns, per study, where its bytes sit in
the page files: the loopback fake API (``fakeregistry``) serves records from there.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from fakeregistry import Entry


class Release(Protocol):
    n: int

    def nct_id(self, index: int) -> str: ...
    def aliases(self, index: int) -> tuple[str, ...]: ...
    def posted(self, index: int) -> str | None: ...
    def compact(self, index: int) -> bytes: ...


def page_name(number: int) -> str:
    return f"page-{number:05d}.json"


def token(number: int) -> bytes:
    return base64.urlsafe_b64encode(f"page {number + 1} of the benchmark".encode()).rstrip(b"=")


def write_pages(
    release: Release, directory: Path, per_page: int = 1000, array: Path | None = None
) -> list[Entry]:
    """Write the release's pages (and ``array``); returns where each study's bytes are."""
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("page-*.json"):
        old.unlink()
    entries: list[Entry] = []
    sink = array.open("wb") if array else None
    try:
        if sink:
            sink.write(b"[\n")
        for number, first in enumerate(range(0, release.n, per_page), start=1):
            last = min(release.n, first + per_page)
            path = directory / page_name(number)
            more = last < release.n
            entries += _page(release, range(first, last), path, token(number) if more else None)
            if sink:
                _append(sink, path, entries[first:last], more)
        if sink:
            sink.write(b"]\n")
    finally:
        if sink:
            sink.close()
    return entries


def _page(release: Release, indexes: range, path: Path, next_token: bytes | None) -> list[Entry]:
    out = bytearray(b'{"studies":[')
    entries = []
    for k, index in enumerate(indexes):
        if k:
            out += b","
        body = release.compact(index)
        start = len(out)
        out += body
        where = (str(path), start, len(out))
        entries.append(
            Entry(release.nct_id(index), release.posted(index), release.aliases(index), where)
        )
    out += b"]"
    if next_token:
        out += b',"nextPageToken":"' + next_token + b'"'
    out += b"}"
    path.write_bytes(out)
    return entries


def _append(sink: BinaryIO, path: Path, entries: list[Entry], more: bool) -> None:
    data = path.read_bytes()
    for k, entry in enumerate(entries):
        assert entry.body is not None
        _, start, end = entry.body
        sink.write(data[start:end])
        sink.write(b",\n" if more or k < len(entries) - 1 else b"\n")


def bodies(entries: list[Entry]) -> Iterator[bytes]:
    """Each study's bytes back from the pages (for checks and the naive peer)."""
    files: dict[str, bytes] = {}
    for entry in entries:
        assert entry.body is not None
        file, start, end = entry.body
        if file not in files:
            files.clear()
            files[file] = Path(file).read_bytes()
        yield files[file][start:end]

"""Headless Chromium for the tests of what people see: the HTML report and the HTML email.

The browser is Debian's ``chromium`` package. When it is missing and we are root with apt-get,
the ``browser`` fixture (tests/conftest.py) installs it (``apt-get update && apt-get install -y
chromium``); set ``TRIALMON_NO_BROWSER_INSTALL=1`` to forbid that. A test is skipped, with the
reason, only when no browser can be had. Pages are opened from files with networking disabled.

``measure`` renders a page with a small script appended that writes what the browser computed
(styles, sizes) into the DOM, then reads it back from ``--dump-dom``; ``pixels`` reads a
screenshot (an 8-bit RGB or RGBA PNG, as Chromium writes them) without any image library.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
CSP = re.compile(r'<meta http-equiv="Content-Security-Policy"[^>]*>', re.DOTALL)
RESULT = re.compile(r'<pre id="measured">(.*?)</pre>', re.DOTALL)


def find_browser() -> str | None:
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def apt_install_chromium() -> str:
    """Why no browser could be installed, or "" when it was."""
    if os.environ.get("TRIALMON_NO_BROWSER_INSTALL"):
        return "TRIALMON_NO_BROWSER_INSTALL is set"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "no chromium on PATH, and not root with apt-get to install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200)
        if done.returncode:
            return f"{' '.join(command)} failed: {done.stderr.strip()[-300:]}"
    return ""


def run_browser(browser: str, tmp_path: Path, *args: str) -> str:
    profile = tmp_path / "profile"
    command = [browser, *FLAGS, f"--user-data-dir={profile}", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class Dom(HTMLParser):
    """Counts of elements by tag and by class in the rendered DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.classes: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for name in (dict(attrs).get("class") or "").split():
            self.classes[name] = self.classes.get(name, 0) + 1


def dom(html: str) -> Dom:
    parsed = Dom()
    parsed.feed(html)
    return parsed


def measure(browser: str, tmp_path: Path, html: str, script: str, width: int = 1000) -> Any:
    """What ``script`` (a JavaScript expression) computes on the rendered page, as JSON.

    The page's Content-Security-Policy is taken out for this: the page itself has no script.
    """
    probe = (
        '<pre id="measured"></pre><script>document.getElementById("measured").textContent = '
        f"JSON.stringify({script});</script>"
    )
    page = tmp_path / "measured.html"
    page.write_text(CSP.sub("", html).replace("</body>", probe + "</body>"), encoding="utf-8")
    out = run_browser(
        browser, tmp_path, f"--window-size={width},1200", "--virtual-time-budget=2000",
        "--dump-dom", page.as_uri(),
    )  # fmt: skip
    found = RESULT.search(out)
    assert found, out[-2000:]
    text = found.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
    return json.loads(text.replace("&amp;", "&"))


def screenshot(browser: str, tmp_path: Path, page: Path, width: int, height: int) -> bytes:
    shot = tmp_path / "shot.png"
    run_browser(
        browser, tmp_path, "--hide-scrollbars", f"--window-size={width},{height}",
        f"--screenshot={shot}", page.as_uri(),
    )  # fmt: skip
    return shot.read_bytes()


def pixels(png: bytes) -> Counter[tuple[int, int, int]]:
    """How many pixels of each RGB colour an 8-bit, non-interlaced RGB(A) PNG has."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, data, header = 8, b"", b""
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            data += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and not interlace, header
    step = 4 if colour == 6 else 3
    rows = _unfilter(zlib.decompress(data), width * step, height, step)
    return Counter(
        (row[i], row[i + 1], row[i + 2]) for row in rows for i in range(0, len(row), step)
    )


def _unfilter(raw: bytes, stride: int, height: int, step: int) -> list[bytearray]:
    rows: list[bytearray] = []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up, corner = previous[i], previous[i - step] if i >= step else 0
            line[i] = (line[i] + _predict(kind, left, up, corner)) & 0xFF
        rows.append(line)
        previous = line
    return rows


def _predict(kind: int, left: int, up: int, corner: int) -> int:
    if kind == 0:
        return 0
    if kind == 1:
        return left
    if kind == 2:
        return up
    if kind == 3:
        return (left + up) // 2
    guess = left + up - corner  # Paeth
    near = min(
        (abs(guess - left), 0, left), (abs(guess - up), 1, up), (abs(guess - corner), 2, corner)
    )
    return near[2]


def rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)

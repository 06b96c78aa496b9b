"""Secrets never printed: the parts of Apprise URLs that are credentials, the SMTP password.

A chat webhook URL is a credential in all its parts, and where the token sits depends on the
service: the path (``slack://T000/B000/TOKEN``), the host (``tgram://BOTTOKEN/CHAT``), the
password, a query value (``...&sig=...``). Apprise and urllib3 print such URLs in their own
debug lines and error messages, rebuilt (``json://`` as ``http://``, query reordered), so a
secret is looked for part by part, not as the whole URL: :func:`url_secrets` lists every part
that could be a token, and :func:`redact` replaces each with ``…``.

The CLI registers (:func:`register`) the secrets of the configuration it loads;
:class:`RedactedRecords` (on every logging handler) and the messages the CLI prints then never
show them. Plain words of a URL (``services``, ``hooks``, a host name with dots) are not
secrets and stay readable.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

MASK = "…"
PART_RE = re.compile(r"[/?&=@:#,;+]+")  # what separates the parts of a URL after its scheme
HOST_NAME_RE = re.compile(r"^(?:[a-z0-9-]+\.)+[a-z0-9-]+$", re.IGNORECASE)  # a.b, 127.0.0.1
PLAIN_WORD_RE = re.compile(r"^[a-z]{1,12}$")  # ``services``, ``hooks``, ``json``
MIN_TOKEN = 6  # shorter parts (``T000``, a port) are ids, not credentials

_secrets: set[str] = set()


def url_secrets(url: str) -> set[str]:
    """The parts of ``url`` that may be credentials (and their %-decoded forms)."""
    rest = url.partition("://")[2] or url
    parts = {p for piece in PART_RE.split(rest) for p in (piece, unquote(piece))}
    found = {p for p in parts if _may_be_token(p)}
    password = _password(url)
    if password:
        found |= {password, unquote(password)}
    return found


def _may_be_token(part: str) -> bool:
    if len(part) < MIN_TOKEN:
        return False
    return not (HOST_NAME_RE.match(part) and "." in part) and not PLAIN_WORD_RE.match(part)


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def register(secrets: Iterable[str]) -> None:
    """Remember secrets to redact from every message printed from now on."""
    _secrets.update(s for s in secrets if s)


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``…``, the longest first."""
    for secret in sorted((s for s in _secrets if s in text), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def redacted_traceback() -> str:
    """The traceback of the exception being handled, without secrets."""
    return redact(traceback.format_exc())


class RedactedRecords(logging.Filter):
    """A handler filter: no registered secret in any log message or traceback, whoever logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        message = record.getMessage()
        safe = redact(message)
        if safe != message:
            record.msg, record.args = safe, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True

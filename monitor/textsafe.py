"""Record text made safe for terminals and logs: control characters shown, never obeyed.

A registry record (or a file name in an offline DIR, or an error body from a server) may
carry terminal control sequences: ``ESC[2J`` clears the screen, ``ESC]0;...BEL`` sets the
window title, ``ESC]8;;URL`` makes a hyperlink, a C1 ``CSI`` (U+009B) does what ``ESC[`` does
on terminals that read 8-bit controls, and a line feed forges a line in a log. Every text
output writes such characters as visible escapes instead: ``\\x1b[2J`` is printed as the six
characters ``\\x1b[2J``.

- :func:`printable` for text (the log channel, piped lines, tables, CSV cells, messages);
- :func:`json_safe` for JSON text, which JSON itself lets carry DEL and the C1 characters raw
  (orjson escapes the C0 ones): they become ``\\u007f`` ... ``\\u009f``, the same JSON value;
- :class:`PrintableRecords` for log messages (the CLI puts it on its handlers).
"""

from __future__ import annotations

import logging
import re

# C0 controls (tab and line feed too: record text never needs them in a one-line output),
# DEL and the C1 controls.
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
RAW_IN_JSON_RE = re.compile(r"[\x7f-\x9f]")  # C0 is escaped by the JSON encoder already


def _shown(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def printable(text: str) -> str:
    """``text`` with every control character written as ``\\xNN``."""
    return CONTROL_RE.sub(_shown, text) if CONTROL_RE.search(text) else text


def json_safe(encoded: str) -> str:
    """JSON text (from orjson) with DEL and C1 characters as ``\\u00NN`` escapes."""
    return RAW_IN_JSON_RE.sub(_json_escape, encoded) if RAW_IN_JSON_RE.search(encoded) else encoded


class PrintableRecords(logging.Filter):
    """A handler filter: every log message, trialmon's or a library's, printed escaped."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        safe = printable(message)
        if safe != message:
            record.msg, record.args = safe, None
        return True

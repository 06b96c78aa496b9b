"""Sizes trialmon refuses to go beyond, so that one record cannot exhaust the machine's memory.

A record is parsed, normalized and compared in memory, which costs 10 to 40 times its size
in bytes (measured: a 45 MB record of locations peaked at 1.7 GB). So nothing larger than
:data:`MAX_RECORD_BYTES` is read: not an offline file, not one answer of the registry. The
largest real records are a few hundred KB (a study with results: ~90 KB; the average: 18 KB).
"""

from __future__ import annotations

MAX_RECORD_BYTES = 10_000_000  # one offline file, one answer of the registry (after gunzip)


def too_large(size: int | None) -> str:
    """The end of the message for something over the limit (``size`` in bytes, if known)."""
    what = f"{size:,} bytes, more" if size is not None else "more"
    return f"{what} than a record may have ({MAX_RECORD_BYTES // 1_000_000} MB): not read"

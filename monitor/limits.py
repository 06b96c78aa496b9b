"""Sizes trialmon refuses to go beyond, so that one record cannot exhaust the machine's memory.

A record is parsed, normalized and compared in memory, which costs 10 to 40 times its size
in bytes (measured: a 45 MB record of locations peaked at 1.7 GB). So nothing larger than
:data:`MAX_RECORD_BYTES` is parsed: not an offline file, not a record of a page file, not one
answer of the registry. The largest real records are a few hundred KB (a study with results:
~90 KB; the average: 18-40 KB).

A page file (``GET /api/v2/studies``: up to 1,000 studies, 21-42 MB of real records) is
never parsed whole: it is read as bytes, split into its records and each record is parsed
alone (:mod:`monitor.pagesplit`), so the record limit holds for each of its records. Its bytes
are held while it is read (one page at a time per process), so a page file may have up to
:data:`MAX_PAGE_BYTES`: 1,000 records of 200 KB, five times the largest page of real records
the benchmarks write.
"""

from __future__ import annotations

MAX_RECORD_BYTES = 10_000_000  # one offline file, one answer of the registry (after gunzip)
MAX_PAGE_BYTES = 200_000_000  # one page file, read one record at a time


def too_large(size: int | None) -> str:
    """The end of the message for something over the limit (``size`` in bytes, if known)."""
    what = f"{size:,} bytes, more" if size is not None else "more"
    return f"{what} than a record may have ({MAX_RECORD_BYTES // 1_000_000} MB): not read"


def page_too_large(size: int | None) -> str:
    """The end of the message for a page file over :data:`MAX_PAGE_BYTES`."""
    what = f"{size:,} bytes, more" if size is not None else "more"
    return f"{what} than a page file may have ({MAX_PAGE_BYTES // 1_000_000} MB): not read"


def unsplit_page(size: int) -> str:
    """The end of the message for a page file over the size of a record that is not a list
    of records (so it cannot be read one record at a time)."""
    return (
        f"{size:,} bytes of a page file whose records cannot be read one at a time (not valid "
        f"JSON, or not a list of records), more than a record may have "
        f"({MAX_RECORD_BYTES // 1_000_000} MB): not read"
    )

"""The offline first pass started before trialmon's heavy imports, on the other core.

``trialmon run --source DIR`` spends ~0.2 s importing (deepdiff, sqlite-utils, the registry
table) on one core while the other waits, and then its first pass reads and hashes every file
on both. Started here, from the command line alone, the first pass runs in worker processes
while this one imports: a guess, checked before use. :func:`monitor.firstpass.scan` takes it
only when it is exactly the scan the cycle asks for (the same files, in the same order, the
same byte shape, key prefix and processes); otherwise it is discarded and the scan runs as
always. The byte shape guessed is the keyed registry's (``monitor.byteshapes.KEYED``), and only
plain ``*.json`` files are listed: a directory holding anything else (links, other suffixes)
is listed differently by the cycle, and the guess is discarded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from monitor import firstpass

SOURCE = "--source"


def start(argv: Sequence[str]) -> bool:
    """Start the first pass of ``run --source DIR`` if ``argv`` asks for it; whether it did."""
    directory = source_of(argv)
    if directory is None:
        return False
    paths = json_files(directory)
    if not paths:
        return False
    from monitor.byteshapes import KEYED

    return firstpass.start_early(paths, *KEYED)


def source_of(argv: Sequence[str]) -> str | None:
    """The ``--source`` of a ``run`` command line, or ``None``."""
    if "run" not in argv:
        return None
    rest = list(argv[list(argv).index("run") + 1 :])
    for at, word in enumerate(rest):
        if word == SOURCE and at + 1 < len(rest):
            return rest[at + 1]
        if word.startswith(SOURCE + "="):
            return word[len(SOURCE) + 1 :]
    return None


def json_files(directory: str) -> list[str]:
    """The plain ``*.json`` files of ``directory`` as ``listing.record_files`` names them."""
    try:
        with os.scandir(directory) as entries:
            paths = [e.path for e in entries if _plain_json(e)]
    except OSError:
        return []
    paths.sort()
    return paths


def _plain_json(entry: os.DirEntry[str]) -> bool:
    name = entry.name
    if name.startswith(".") or name.upper().startswith("README"):
        return False
    return name.lower().endswith(".json") and entry.is_file(follow_symlinks=False)


def discard() -> None:
    firstpass.discard_early()

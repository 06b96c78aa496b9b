"""The record files of an offline directory: which entries are read, and which are errors.

Files directly in the directory whose suffix a registry reads; hidden files, ``README*`` files,
other suffixes and subfolders are skipped. A symbolic link is followed only to a file inside
the directory: one that loops, dangles or leaves the directory is an error naming it, and the
other files go on.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from monitor.errors import SourceError
from monitor.models import StudyError

logger = logging.getLogger(__name__)


def record_files(directory: Path, suffixes: tuple[str, ...]) -> tuple[list[str], list[StudyError]]:
    """The record files of ``directory`` by name, and an error per entry that cannot be read.

    A symbolic link is followed only to a file inside the directory (its real path under the
    directory's real path); a link that loops, dangles or leaves the directory is that
    entry's error, and the other files go on.
    """
    if not directory.exists():
        raise SourceError(f"offline source directory {directory} does not exist")
    if not directory.is_dir():
        raise SourceError(f"offline source {directory} is not a directory")
    root = os.path.realpath(directory)
    paths: list[str] = []
    unreadable: list[StudyError] = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if _is_record_name(entry, suffixes):
                    _sort_entry(entry, root, directory, paths, unreadable)
    except OSError as e:
        raise SourceError(f"cannot list offline source directory {directory}: {e}") from e
    paths.sort()  # str, not Path: a Path per file costs more; one directory: sorted as names
    logger.debug("%s: %d record files", directory, len(paths))
    return paths, unreadable


def _sort_entry(
    entry: os.DirEntry[str],
    root: str,
    directory: Path,
    paths: list[str],
    unreadable: list[StudyError],
) -> None:
    """Put a record-named entry into ``paths`` (a file to read) or ``unreadable``, or skip it."""
    if not entry.is_symlink():
        if entry.is_file(follow_symlinks=False):
            paths.append(entry.path)
        return
    problem, is_file = _link_problem(entry.path, root, directory)
    if problem:
        unreadable.append(StudyError(None, f"{entry.path}: {problem}", transient=False))
    elif is_file:
        paths.append(entry.path)


def _link_problem(path: str, root: str, directory: Path) -> tuple[str | None, bool]:
    """Why a symbolic link is not followed (None if it is), and whether it leads to a file."""
    try:
        target = os.path.realpath(path, strict=True)
        is_file = os.path.isfile(target)
    except OSError as e:
        return f"cannot follow the symbolic link: {e.strerror or e}", False
    if os.path.commonpath([root, target]) != root:
        message = (
            f"a symbolic link to {target}, outside {directory}: "
            "not followed (copy the file into the directory)"
        )
        return message, is_file
    return None, is_file


def _is_record_name(entry: os.DirEntry[str], suffixes: tuple[str, ...]) -> bool:
    name = entry.name
    if name.startswith(".") or name.upper().startswith("README"):
        return False
    if not name.lower().endswith(suffixes):
        logger.debug("skipping %s: not a %s file", entry.path, " or ".join(suffixes))
        return False
    return True

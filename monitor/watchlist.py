"""``trialmon init`` and ``trialmon watch``: a starter config, and ``[watch] studies`` edited
in place.

Edits go through tomlkit, so the file keeps its comments, key order and layout; only the
list of studies changes. The file must be a valid config before the edit, and the edited text
is validated like any config before it replaces the file (atomically, keeping its mode), so an
edit never leaves a config that ``trialmon run`` would refuse.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Array

from monitor import registries
from monitor.config import parse_config
from monitor.errors import ConfigError, UsageError
from monitor.paths import write_atomic

NEW_FILE_MODE = 0o600  # a config may hold webhook URLs with tokens in them


@dataclass(frozen=True)
class Edit:
    """What an add or remove did: the ids it changed, and the ones already as asked."""

    changed: tuple[str, ...]
    unchanged: tuple[str, ...]
    watched: tuple[str, ...]


def starter_config() -> str:
    """The commented config ``trialmon init`` writes (``monitor/data/config.toml``)."""
    return resources.files("monitor").joinpath("data", "config.toml").read_text(encoding="utf-8")


def write_starter(path: Path, *, force: bool = False) -> None:
    if path.exists() and not force:
        raise UsageError(f"{str(path)!r} exists already (--force replaces it)")
    write_atomic(path, starter_config(), NEW_FILE_MODE)


def trial_ids(values: Iterable[str]) -> list[str]:
    """Validated, upper-cased, without repeats; a bad one is a ConfigError naming it."""
    return list(dict.fromkeys(registries.trial_id(v, "ID") for v in values))


def add(path: Path, values: Iterable[str]) -> Edit:
    wanted = trial_ids(values)

    def apply(studies: Array) -> tuple[str, ...]:
        present = set(_entries(studies))
        new = tuple(i for i in wanted if i not in present)
        studies.extend(new)
        return new

    return _edit(path, apply, wanted)


def remove(path: Path, values: Iterable[str]) -> Edit:
    wanted = trial_ids(values)

    def apply(studies: Array) -> tuple[str, ...]:
        gone = []
        entries = _entries(studies)
        for index in reversed(range(len(entries))):  # from the end: indices stay valid
            if entries[index] in wanted:
                del studies[index]
                gone.append(entries[index])
        return tuple(i for i in wanted if i in gone)

    return _edit(path, apply, wanted)


def _entries(studies: Array) -> list[str]:
    return [str(v).strip().upper() for v in studies]


def _edit(path: Path, apply: Callable[[Array], tuple[str, ...]], wanted: list[str]) -> Edit:
    text = read(path)
    validate(text, path)
    doc = tomlkit.parse(text)
    studies = _studies_array(doc)
    changed = apply(studies)
    new_text = tomlkit.dumps(doc)
    if new_text != text:
        validate(new_text, path)
        write_atomic(path, new_text, NEW_FILE_MODE)
    unchanged = tuple(i for i in wanted if i not in changed)
    return Edit(changed, unchanged, tuple(_entries(studies)))


def _studies_array(doc: tomlkit.TOMLDocument) -> Array:
    """``[watch] studies``, created (as ``[watch]`` / ``studies = []``) when missing."""
    if "watch" not in doc:
        doc["watch"] = tomlkit.table()
    watch: Any = doc["watch"]
    if "studies" not in watch:
        watch["studies"] = tomlkit.array()
    studies = watch["studies"]
    if not isinstance(studies, Array):  # validate() refused it already; kept for mypy
        raise ConfigError(f"[watch] studies: expected a list, got {studies!r}")
    return studies


def read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {str(path)!r} cannot be read: {e}") from e


def validate(text: str, path: Path) -> None:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {e}") from e
    parse_config(data, base=path.parent, path=path)

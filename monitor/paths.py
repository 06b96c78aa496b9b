"""Where an installation keeps its files: which config it reads, where its database lives.

The config is the first of (see :func:`find_config`):

1. ``--config PATH``
2. ``$TRIALMON_CONFIG``
3. ``./config.toml`` (a checkout, or a folder set up for one project)
4. ``$XDG_CONFIG_HOME/trialmon/config.toml`` (``~/.config/trialmon/config.toml``)

The first two must exist; the last may be missing (the defaults apply). A config from the
user's folder, or none at all, keeps its default database in the user's data folder,
``$XDG_DATA_HOME/trialmon/history.db`` (``~/.local/share/...``): an installed ``trialmon``
run from any folder writes nothing there. The XDG base-directory rules apply on every
platform (an unset, empty or relative variable means its default under ``$HOME``).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import WriteError

APP = "trialmon"
CONFIG_ENV = "TRIALMON_CONFIG"
LOCAL_CONFIG = "config.toml"
DATABASE_NAME = "history.db"

# Where a config came from, in lookup order.
OPTION, ENVIRONMENT, WORKING_FOLDER, USER = "--config", f"${CONFIG_ENV}", "./config.toml", "user"


@dataclass(frozen=True)
class ConfigLocation:
    """The config file to read (it may not exist) and which rule chose it."""

    path: Path
    origin: str

    @property
    def named(self) -> bool:
        """The user named this file: a missing one is an error, not the defaults."""
        return self.origin in (OPTION, ENVIRONMENT)

    @property
    def in_user_folder(self) -> bool:
        return self.origin == USER


def xdg_dir(variable: str, default: str) -> Path:
    """An XDG base directory: the variable when it is an absolute path, else ``~/default``."""
    value = os.environ.get(variable, "")
    if value and os.path.isabs(value):
        return Path(value)
    return Path.home() / default


def user_config_path() -> Path:
    return xdg_dir("XDG_CONFIG_HOME", ".config") / APP / LOCAL_CONFIG


def user_data_dir() -> Path:
    return xdg_dir("XDG_DATA_HOME", ".local/share") / APP


def user_database() -> Path:
    """The database of a config from the user's folder (or of no config) without ``database``."""
    return user_data_dir() / DATABASE_NAME


def find_config(explicit: str | None = None) -> ConfigLocation:
    """The config to read, by the lookup order of this module's docstring."""
    if explicit:
        return ConfigLocation(Path(explicit), OPTION)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return ConfigLocation(Path(env), ENVIRONMENT)
    if Path(LOCAL_CONFIG).is_file():
        return ConfigLocation(Path(LOCAL_CONFIG), WORKING_FOLDER)
    return ConfigLocation(user_config_path(), USER)


def init_target(explicit: str | None = None) -> ConfigLocation:
    """Where ``trialmon init`` writes: the named file, else the user's config folder.

    Never ``./config.toml``: an installation set up from any folder lives in the user's
    folders, so the working folder gets nothing.
    """
    found = find_config(explicit)
    return found if found.named else ConfigLocation(user_config_path(), USER)


def write_atomic(path: Path, data: str | bytes, mode: int = 0o644) -> None:
    """Replace ``path`` in one step (a reader sees the old file or the new one, never half),
    keeping the mode of an existing file; a new one gets ``mode``."""
    try:
        _replace(path, data.encode("utf-8") if isinstance(data, str) else data, mode)
    except OSError as e:
        raise WriteError(f"cannot write {str(path)!r}: {e}") from e


def _replace(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.stat() if path.exists() else None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, old.st_mode & 0o777 if old else mode)
        if old and (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
            _keep_owner(tmp, old)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _keep_owner(tmp: str, old: os.stat_result) -> None:
    """The replaced file's owner and group (e.g. root:trialmon of a system config), where
    this process may set them; otherwise the new file is the writer's, as any editor's is."""
    with suppress(PermissionError):
        os.chown(tmp, old.st_uid, old.st_gid)

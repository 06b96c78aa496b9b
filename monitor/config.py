"""Load and validate ``config.toml`` into frozen dataclasses; every default lives here.

The sections of registries (``[ctgov]`` ...) and of channels (``[notify.log]`` ...) are read
by the plugins listed in the registration tables (:mod:`monitor.registries`,
:mod:`monitor.notify.channels`); a watched id is checked against every registry's id form.
Every problem is a :class:`~monitor.errors.ConfigError` whose message names the key and
the value, e.g. ``[watch] studies[1]: "NCT123" is not an NCT id (NCT followed by 8 digits)``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor import paths, registries
from monitor.configkit import (
    ChangesConfig,
    LiveConfig,
    QueryWatch,
    Table,
    WatchConfig,
    check_severity,
)
from monitor.errors import ConfigError
from monitor.models import CATEGORIES
from monitor.notify.channels import CHANNELS

__all__ = ["ChangesConfig", "Config", "QueryWatch", "WatchConfig", "load_config", "parse_config"]
DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
LIVE = "live"  # source: every registry with something watched, through its API
MAX_EVERY = 366 * 24 * 3600  # a schedule interval: at most a year
MAX_JITTER = 24 * 3600


@dataclass(frozen=True)
class ScheduleConfig:
    every_seconds: int | None = 6 * 3600
    cron: str | None = None
    timezone: str = "UTC"
    jitter: int = 0
    run_at_start: bool = True


def _default_channels() -> dict[str, Any]:
    return {kind: spec.parse(Table(f"[notify.{kind}]", {})) for kind, spec in CHANNELS.items()}


@dataclass(frozen=True)
class NotifyConfig:
    max_attempts: int = 10
    alert_after_failures: int = 3  # a study failing this many cycles in a row is news
    channels: Mapping[str, Any] = field(default_factory=_default_channels)  # kind -> section


def _default_registries() -> dict[str, LiveConfig]:
    return {kind: r.config(Table(f"[{kind}]", {})) for kind, r in registries.REGISTRIES.items()}


@dataclass(frozen=True)
class Config:
    database: Path = Path("snapshots/history.db")
    # "live" (the default: every registry with something watched), a registry's kind (only
    # that one), or a directory of offline records
    source: str = LIVE
    registries: Mapping[str, LiveConfig] = field(default_factory=_default_registries)
    watch: WatchConfig = field(default_factory=WatchConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    changes: ChangesConfig = field(default_factory=ChangesConfig)
    path: Path | None = None


# ---------------------------------------------------------------- value checks


def parse_duration(text: str, where: str = "duration") -> int:
    """``"6h"``, ``"90m"``, ``"1d12h"``, ``"30s"`` -> seconds (> 0, at most 366 days)."""
    match = DURATION_RE.match(text.strip().lower())
    if not text.strip() or not match:
        raise ConfigError(f"{where}: {text!r} is not a duration like 6h, 30m, 1d or 90s")
    d, h, m, s = (int(g or 0) for g in match.groups())
    seconds = ((d * 24 + h) * 60 + m) * 60 + s
    if seconds <= 0:
        raise ConfigError(f"{where}: {text!r} must be longer than 0 seconds")
    if seconds > MAX_EVERY:
        raise ConfigError(f"{where}: {text!r} is longer than 366 days")
    return seconds


# ---------------------------------------------------------------- sections


def _query(t: Table, index: int) -> QueryWatch:
    name = t.get("name", str, "")
    if not name.strip():
        raise ConfigError(f"[[watch.queries]] #{index + 1} name: missing or empty")
    kind = t.choice("registry", registries.kinds(), registries.default().kind)
    params = t.get("params", dict, {})
    if not params:
        raise ConfigError(f"[[watch.queries]] {name!r} params: missing or empty")
    checked = registries.get(kind).query_params(params, f"[[watch.queries]] {name!r} params")
    recipients = t.headers("recipients")
    t.done()
    return QueryWatch(name=name, params=checked, recipients=recipients, registry=kind)


def _watch(t: Table) -> WatchConfig:
    studies = t.strings("studies")
    ids = tuple(
        dict.fromkeys(
            registries.trial_id(s, f"{t.key('studies')}[{i}]") for i, s in enumerate(studies)
        )
    )
    raw_queries = t.get("queries", list, [])
    queries = []
    for i, q in enumerate(raw_queries):
        queries.append(_query(Table(f"[[watch.queries]] #{i + 1}", q), i))
    names = [q.name for q in queries]
    for n in names:
        if names.count(n) > 1:
            raise ConfigError(f"[[watch.queries]] name: {n!r} is used twice")
    t.done()
    return WatchConfig(studies=ids, queries=tuple(queries))


def _schedule(t: Table) -> ScheduleConfig:
    every = t.get("every", str, None)
    cron = t.get("cron", str, None)
    tz = t.get("timezone", str, "UTC")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ConfigError(f"{t.key('timezone')}: {tz!r} is not a known time zone") from e
    if every is not None and cron is not None:
        raise ConfigError(f"[schedule]: set either every ({every!r}) or cron ({cron!r}), not both")
    seconds = parse_duration(every, t.key("every")) if every is not None else None
    if cron is not None:
        _check_cron(cron, tz, t.key("cron"))
    elif seconds is None:
        seconds = ScheduleConfig().every_seconds
    jitter = t.get("jitter", int, 0)
    if jitter < 0:
        raise ConfigError(f"{t.key('jitter')}: must be 0 or more, got {jitter!r}")
    if jitter > MAX_JITTER:
        raise ConfigError(
            f"{t.key('jitter')}: must be at most {MAX_JITTER} (seconds), got {jitter}"
        )
    cfg = ScheduleConfig(seconds, cron, tz, jitter, t.get("run_at_start", bool, True))
    t.done()
    return cfg


def _check_cron(expr: str, tz: str, where: str) -> None:
    """The daemon's own reading of the expression, and a next time it fires (``0 0 30 2 *``
    never does: the daemon would idle for ever)."""
    from monitor.cron import cron_trigger

    zone = ZoneInfo(tz)
    try:
        trigger = cron_trigger(expr, zone)
    except ValueError as e:
        raise ConfigError(f"{where}: {expr!r} is not a usable cron expression ({e})") from e
    if trigger.get_next_fire_time(None, datetime.now(zone)) is None:
        raise ConfigError(f"{where}: {expr!r} never fires (no such date)")


def _notify(t: Table) -> NotifyConfig:
    cfg = NotifyConfig(
        max_attempts=t.positive("max_attempts", NotifyConfig().max_attempts, int),
        alert_after_failures=t.positive(
            "alert_after_failures", NotifyConfig().alert_after_failures, int
        ),
        channels={kind: spec.parse(t.sub(kind)) for kind, spec in CHANNELS.items()},
    )
    t.done()
    return cfg


def _changes(t: Table) -> ChangesConfig:
    from monitor.normalize import RECORD_SECTIONS

    ignore = t.strings("ignore")
    for i, path in enumerate(ignore):
        if path.split(".")[0] not in RECORD_SECTIONS:
            raise ConfigError(
                f"{t.key('ignore')}[{i}]: {path!r} does not start with a record section "
                f"({', '.join(RECORD_SECTIONS)})"
            )
    overrides = t.get("severity", dict, {})
    for category, sev in overrides.items():
        where = t.key(f"severity.{category}")
        if category not in CATEGORIES:
            raise ConfigError(f"{where}: {category!r} is not a change category")
        if not isinstance(sev, str):
            raise ConfigError(f"{where}: expected a string, got {sev!r}")
        check_severity(sev, where)
    t.done()
    return ChangesConfig(ignore=ignore, severity=dict(overrides))


def _registries(top: Table) -> dict[str, LiveConfig]:
    """Each registry's own section (``[ctgov]`` ...), read by the registry."""
    return {kind: r.config(top.sub(kind)) for kind, r in registries.REGISTRIES.items()}


SECTIONS: dict[str, Callable[[Table], Any]] = {
    "watch": _watch,
    "schedule": _schedule,
    "notify": _notify,
    "changes": _changes,
}


# ---------------------------------------------------------------- entry points


def resolve_path(explicit: str | None) -> tuple[Path, bool]:
    """The config path to read and whether the user named it (missing is then an error)."""
    found = paths.find_config(explicit)
    return found.path, found.named


def load_config(explicit: str | None = None) -> Config:
    """Read the config file (lookup order in :mod:`monitor.paths`); defaults when none exists."""
    found = paths.find_config(explicit)
    path = found.path
    if not path.exists():
        if found.named:
            raise ConfigError(f"config file {str(path)!r} does not exist")
        return Config(database=paths.user_database())
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"config file {str(path)!r} cannot be read: {e}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config file {str(path)!r} is not valid TOML: {e}") from e
    return installed(parse_config(data, base=path.parent, path=path), data, found)


def installed(config: Config, data: Mapping[str, Any], found: paths.ConfigLocation) -> Config:
    """A config from the user's folder without ``database`` keeps its database in the user's
    data folder (nothing in the working folder)."""
    if found.in_user_folder and "database" not in data:
        return replace(config, database=paths.user_database())
    return config


def parse_config(
    data: Mapping[str, Any], base: Path = Path("."), path: Path | None = None
) -> Config:
    """Validate a parsed TOML document; relative paths are taken from ``base`` (also in the
    sections of plugins, through ``Table.path``)."""
    top = Table("[]", dict(data), base=str(base))
    database = top.get("database", str, "snapshots/history.db")
    source = top.get("source", str, LIVE)
    if not database.strip():
        raise ConfigError("database: must not be empty")
    if "\x00" in database:
        raise ConfigError(f"database: {database!r} is not a usable file name (NUL character)")
    live = source == LIVE or source in registries.REGISTRIES
    if not live and not (base / source).is_dir():
        names = ", ".join(f'"{name}"' for name in (LIVE, *registries.kinds()))
        raise ConfigError(f"source: {source!r} is neither {names} nor an existing directory")
    sections: dict[str, Any] = {"registries": _registries(top)}
    sections |= {name: build(top.sub(name)) for name, build in SECTIONS.items()}
    for kind, spec in CHANNELS.items():
        spec.check(sections["notify"].channels[kind], sections["watch"])
    unknown = sorted(set(top.data) - top.used)
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown key (value {top.data[unknown[0]]!r})")
    return Config(
        database=base / database,
        source=source if live else str(base / source),
        path=path,
        **sections,
    )

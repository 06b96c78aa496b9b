"""Load and validate ``config.toml`` into frozen dataclasses; every default lives here.

Every problem is a :class:`~monitor.errors.ConfigError` whose message names the key and
the value, e.g. ``[watch] studies[1]: "NCT123" is not an NCT id (NCT followed by 8 digits)``.
"""

from __future__ import annotations

import ipaddress
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor import paths
from monitor.errors import ConfigError
from monitor.ids import normalize_trial_id
from monitor.models import CATEGORIES, SEVERITIES

DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
QUERY_PARAM_RE = re.compile(r"^(query|filter)\.[A-Za-z]+$")


@dataclass(frozen=True)
class CtgovConfig:
    base_url: str = "https://clinicaltrials.gov"
    requests_per_minute: float = 50
    timeout: float = 30
    max_attempts: int = 6
    page_size: int = 1000
    full_pass_every: int = 7  # cycles between full passes of saved searches


@dataclass(frozen=True)
class QueryWatch:
    name: str
    params: Mapping[str, str]
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class WatchConfig:
    studies: tuple[str, ...] = ()
    queries: tuple[QueryWatch, ...] = ()


@dataclass(frozen=True)
class ScheduleConfig:
    every_seconds: int | None = 6 * 3600
    cron: str | None = None
    timezone: str = "UTC"
    jitter: int = 0
    run_at_start: bool = True


@dataclass(frozen=True)
class LogNotifyConfig:
    enabled: bool = True
    format: str = "text"
    min_severity: str = "minor"
    file: str | None = None


@dataclass(frozen=True)
class EmailNotifyConfig:
    enabled: bool = False
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"
    username: str = ""
    password_env: str = "TRIALMON_SMTP_PASSWORD"
    sender: str = "trialmon@localhost"
    recipients: tuple[str, ...] = ()
    min_severity: str = "major"
    timeout: float = 30
    study_recipients: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ca_file: str | None = None  # extra CA certificates (PEM) to trust, e.g. a private CA


@dataclass(frozen=True)
class AppriseNotifyConfig:
    enabled: bool = False
    urls: tuple[str, ...] = ()
    min_severity: str = "major"


@dataclass(frozen=True)
class NotifyConfig:
    max_attempts: int = 10
    alert_after_failures: int = 3  # a study failing this many cycles in a row is news
    log: LogNotifyConfig = field(default_factory=LogNotifyConfig)
    email: EmailNotifyConfig = field(default_factory=EmailNotifyConfig)
    apprise: AppriseNotifyConfig = field(default_factory=AppriseNotifyConfig)


@dataclass(frozen=True)
class ChangesConfig:
    ignore: tuple[str, ...] = ()
    severity: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    database: Path = Path("snapshots/history.db")
    source: str = "ctgov"
    ctgov: CtgovConfig = field(default_factory=CtgovConfig)
    watch: WatchConfig = field(default_factory=WatchConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    changes: ChangesConfig = field(default_factory=ChangesConfig)
    path: Path | None = None


# ---------------------------------------------------------------- reading helpers


class _Table:
    """A TOML table being read: remembers its name, refuses unknown keys."""

    def __init__(self, name: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{name}: expected a table, got {data!r}")
        self.name = name
        self.data = data
        self.used: set[str] = set()

    def key(self, key: str) -> str:
        return f"{self.name} {key}" if self.name.startswith("[") else f"{self.name}.{key}"

    def get(self, key: str, kind: type | tuple[type, ...], default: Any) -> Any:
        self.used.add(key)
        if key not in self.data:
            return default
        value = self.data[key]
        if kind in (int, float, (int, float)) and isinstance(value, bool):
            raise ConfigError(f"{self.key(key)}: expected a number, got {value!r}")
        if not isinstance(value, kind):
            raise ConfigError(f"{self.key(key)}: expected {_kind_name(kind)}, got {value!r}")
        return value

    def sub(self, key: str) -> _Table:
        self.used.add(key)
        inner = self.name[1:-1] + "." if self.name.startswith("[") and self.name != "[]" else ""
        return _Table(f"[{inner}{key}]", self.data.get(key, {}))

    def strings(self, key: str, default: tuple[str, ...] = ()) -> tuple[str, ...]:
        values = self.get(key, list, list(default))
        for i, v in enumerate(values):
            if not isinstance(v, str):
                raise ConfigError(f"{self.key(key)}[{i}]: expected a string, got {v!r}")
        return tuple(values)

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.get(key, str, default)
        if value not in choices:
            raise ConfigError(f"{self.key(key)}: {value!r} is not one of {', '.join(choices)}")
        return str(value)

    def positive(self, key: str, default: float, kind: type = float) -> Any:
        value = self.get(key, (int, float) if kind is float else int, default)
        if not math.isfinite(value):  # nan passes a plain `<= 0` test
            raise ConfigError(f"{self.key(key)}: must be a finite number, got {value!r}")
        if value <= 0:
            raise ConfigError(f"{self.key(key)}: must be greater than 0, got {value!r}")
        return value

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise ConfigError(
                f"{self.key(unknown[0])}: unknown key (value {self.data[unknown[0]]!r})"
            )


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}
    names.update({list: "a list", dict: "a table"})
    if isinstance(kind, tuple):
        return "a number" if set(kind) == {int, float} else " or ".join(names[k] for k in kind)
    return names.get(kind, kind.__name__)


# ---------------------------------------------------------------- value checks


def normalize_nct_id(value: str, where: str) -> str:
    """Upper-case and validate a trial id (the id forms live in :mod:`monitor.ids`)."""
    return normalize_trial_id(value, where)


def parse_duration(text: str, where: str = "duration") -> int:
    """``"6h"``, ``"90m"``, ``"1d12h"``, ``"30s"`` -> seconds (> 0)."""
    match = DURATION_RE.match(text.strip().lower())
    if not text.strip() or not match:
        raise ConfigError(f"{where}: {text!r} is not a duration like 6h, 30m, 1d or 90s")
    d, h, m, s = (int(g or 0) for g in match.groups())
    seconds = ((d * 24 + h) * 60 + m) * 60 + s
    if seconds <= 0:
        raise ConfigError(f"{where}: {text!r} must be longer than 0 seconds")
    return seconds


def _check_severity(value: str, where: str) -> str:
    if value not in SEVERITIES:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(SEVERITIES)}")
    return value


# ---------------------------------------------------------------- sections


def _ctgov(t: _Table) -> CtgovConfig:
    d = CtgovConfig()
    base_url = t.get("base_url", str, d.base_url).rstrip("/")
    if not re.match(r"^https?://[^/\s]+", base_url):
        raise ConfigError(f"{t.key('base_url')}: {base_url!r} is not an http(s) URL")
    if base_url.startswith("http://") and not _is_loopback_url(base_url):
        raise ConfigError(
            f"{t.key('base_url')}: {base_url!r} must use https (plain http only for loopback)"
        )
    cfg = CtgovConfig(
        base_url=base_url,
        requests_per_minute=t.positive("requests_per_minute", d.requests_per_minute),
        timeout=t.positive("timeout", d.timeout),
        max_attempts=t.positive("max_attempts", d.max_attempts, int),
        page_size=t.positive("page_size", d.page_size, int),
        full_pass_every=t.positive("full_pass_every", d.full_pass_every, int),
    )
    if cfg.page_size > 1000:
        raise ConfigError(f"{t.key('page_size')}: {cfg.page_size} is above the API's 1000")
    t.done()
    return cfg


def _is_loopback_url(url: str) -> bool:
    """Only the host httpx will connect to counts: ``http://127.0.0.1@evil.org`` and
    ``http://127.0.0.1.evil.org`` are not loopback."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _query(t: _Table, index: int) -> QueryWatch:
    name = t.get("name", str, "")
    if not name.strip():
        raise ConfigError(f"[[watch.queries]] #{index + 1} name: missing or empty")
    params = t.get("params", dict, {})
    if not params:
        raise ConfigError(f"[[watch.queries]] {name!r} params: missing or empty")
    for key, value in params.items():
        if not QUERY_PARAM_RE.match(key):
            raise ConfigError(
                f"[[watch.queries]] {name!r} params.{key}: only query.* and filter.* "
                f"parameters are allowed (value {value!r})"
            )
        if not isinstance(value, str):
            raise ConfigError(
                f"[[watch.queries]] {name!r} params.{key}: expected a string, got {value!r}"
            )
    recipients = t.strings("recipients")
    t.done()
    return QueryWatch(name=name, params=dict(params), recipients=recipients)


def _watch(t: _Table) -> WatchConfig:
    studies = t.strings("studies")
    ids = tuple(
        dict.fromkeys(
            normalize_nct_id(s, f"{t.key('studies')}[{i}]") for i, s in enumerate(studies)
        )
    )
    raw_queries = t.get("queries", list, [])
    queries = []
    for i, q in enumerate(raw_queries):
        queries.append(_query(_Table(f"[[watch.queries]] #{i + 1}", q), i))
    names = [q.name for q in queries]
    for n in names:
        if names.count(n) > 1:
            raise ConfigError(f"[[watch.queries]] name: {n!r} is used twice")
    t.done()
    return WatchConfig(studies=ids, queries=tuple(queries))


def _schedule(t: _Table) -> ScheduleConfig:
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
    cfg = ScheduleConfig(seconds, cron, tz, jitter, t.get("run_at_start", bool, True))
    t.done()
    return cfg


def _check_cron(expr: str, tz: str, where: str) -> None:
    from monitor.schedule import cron_trigger  # the daemon's own reading of the expression

    try:
        cron_trigger(expr, ZoneInfo(tz))
    except ValueError as e:
        raise ConfigError(f"{where}: {expr!r} is not a usable cron expression ({e})") from e


def _log(t: _Table) -> LogNotifyConfig:
    d = LogNotifyConfig()
    cfg = LogNotifyConfig(
        enabled=t.get("enabled", bool, d.enabled),
        format=t.choice("format", ("text", "json"), d.format),
        min_severity=t.choice("min_severity", SEVERITIES, d.min_severity),
        file=t.get("file", str, d.file),
    )
    t.done()
    return cfg


def _email(t: _Table) -> EmailNotifyConfig:
    d = EmailNotifyConfig()
    routes = t.get("study_recipients", dict, {})
    study_recipients = {}
    for nct, rcpts in routes.items():
        key = normalize_nct_id(nct, t.key(f"study_recipients.{nct}"))
        if not isinstance(rcpts, list) or not all(isinstance(r, str) for r in rcpts):
            raise ConfigError(
                f"{t.key(f'study_recipients.{nct}')}: expected a list of addresses, got {rcpts!r}"
            )
        study_recipients[key] = tuple(rcpts)
    cfg = EmailNotifyConfig(
        enabled=t.get("enabled", bool, d.enabled),
        host=t.get("host", str, d.host),
        port=t.positive("port", d.port, int),
        security=t.choice("security", ("starttls", "ssl", "none"), d.security),
        username=t.get("username", str, d.username),
        password_env=t.get("password_env", str, d.password_env),
        sender=t.get("sender", str, d.sender),
        recipients=t.strings("recipients"),
        min_severity=t.choice("min_severity", SEVERITIES, d.min_severity),
        timeout=t.positive("timeout", d.timeout),
        study_recipients=study_recipients,
        ca_file=_ca_file(t),
    )
    if "password" in t.data:
        raise ConfigError(
            f"{t.key('password')}: passwords are never read from the file; "
            f"put it in the variable named by password_env ({cfg.password_env})"
        )
    if cfg.port > 65535:
        raise ConfigError(f"{t.key('port')}: {cfg.port} is not a TCP port (1 to 65535)")
    t.done()
    return cfg


def _ca_file(t: _Table) -> str | None:
    value = t.get("ca_file", str, None)
    if value is not None and not Path(value).is_file():
        raise ConfigError(f"{t.key('ca_file')}: {value!r} is not a readable file")
    return value


def _check_email_recipients(notify: NotifyConfig, watch: WatchConfig) -> None:
    email = notify.email
    routed = email.recipients or email.study_recipients or any(q.recipients for q in watch.queries)
    if email.enabled and not routed:
        raise ConfigError(
            "[notify.email] recipients: email is enabled but no recipient is set "
            "(recipients, study_recipients or a query's recipients)"
        )


def _apprise(t: _Table) -> AppriseNotifyConfig:
    d = AppriseNotifyConfig()
    cfg = AppriseNotifyConfig(
        enabled=t.get("enabled", bool, d.enabled),
        urls=t.strings("urls"),
        min_severity=t.choice("min_severity", SEVERITIES, d.min_severity),
    )
    if cfg.enabled and not cfg.urls:
        raise ConfigError(f"{t.key('urls')}: apprise is enabled but no URL is set")
    t.done()
    return cfg


def _notify(t: _Table) -> NotifyConfig:
    cfg = NotifyConfig(
        max_attempts=t.positive("max_attempts", NotifyConfig().max_attempts, int),
        alert_after_failures=t.positive(
            "alert_after_failures", NotifyConfig().alert_after_failures, int
        ),
        log=_log(t.sub("log")),
        email=_email(t.sub("email")),
        apprise=_apprise(t.sub("apprise")),
    )
    t.done()
    return cfg


def _changes(t: _Table) -> ChangesConfig:
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
        _check_severity(sev, where)
    t.done()
    return ChangesConfig(ignore=ignore, severity=dict(overrides))


SECTIONS: dict[str, Callable[[_Table], Any]] = {
    "ctgov": _ctgov,
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
    """What depends on where the file is: a user-folder config keeps its default database in
    the user's data folder; a relative log file is taken from the config's folder too."""
    if found.in_user_folder and "database" not in data:
        config = replace(config, database=paths.user_database())
    log_file = config.notify.log.file
    if log_file and not Path(log_file).is_absolute():
        log = replace(config.notify.log, file=str(found.path.parent / log_file))
        config = replace(config, notify=replace(config.notify, log=log))
    return config


def parse_config(
    data: Mapping[str, Any], base: Path = Path("."), path: Path | None = None
) -> Config:
    """Validate a parsed TOML document; relative paths are taken from ``base``."""
    top = _Table("[]", dict(data))
    database = top.get("database", str, "snapshots/history.db")
    source = top.get("source", str, "ctgov")
    if not database.strip():
        raise ConfigError("database: must not be empty")
    if "\x00" in database:
        raise ConfigError(f"database: {database!r} is not a usable file name (NUL character)")
    if source != "ctgov" and not (base / source).is_dir():
        raise ConfigError(f'source: {source!r} is neither "ctgov" nor an existing directory')
    sections = {name: build(top.sub(name)) for name, build in SECTIONS.items()}
    _check_email_recipients(sections["notify"], sections["watch"])
    unknown = sorted(set(top.data) - top.used)
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown key (value {top.data[unknown[0]]!r})")
    return Config(
        database=base / database,
        source=source if source == "ctgov" else str(base / source),
        path=path,
        **sections,
    )

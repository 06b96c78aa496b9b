"""The building blocks of configuration sections, for config.py and for every plugin.

A registry or a channel reads its own section (``[<kind>]``, ``[notify.<kind>]``) with a
:class:`Table`, which names the key and the value in every error and refuses unknown keys.
A leaf module: plugins import it, never ``monitor.config`` (which imports the plugins).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from monitor.errors import ConfigError
from monitor.models import SEVERITIES

CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")  # a line break in a mail header starts a new one
# Bounds beyond which a value is a typo or an attack (it once ended in an internal error, an
# idle daemon or a retry loop that never ends).
MAX_TIMEOUT = 3600.0  # seconds per request, per SMTP operation
MIN_RATE = 0.01  # requests per minute: one every 100 minutes
MAX_ATTEMPTS = 100  # per registry request


class Table:
    """A TOML table being read: remembers its name, refuses unknown keys."""

    def __init__(self, name: str, data: Any, base: str = "") -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{name}: expected a table, got {data!r}")
        self.name = name
        self.data = data
        self.base = base  # the config file's folder: relative paths are taken from it
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

    def sub(self, key: str) -> Table:
        self.used.add(key)
        inner = self.name[1:-1] + "." if self.name.startswith("[") and self.name != "[]" else ""
        return Table(f"[{inner}{key}]", self.data.get(key, {}), self.base)

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

    def positive(
        self,
        key: str,
        default: float,
        kind: type = float,
        *,
        low: float | None = None,
        high: float | None = None,
        unit: str = "",
    ) -> Any:
        """A number > 0 (and within ``low`` .. ``high`` when given)."""
        value = self.get(key, (int, float) if kind is float else int, default)
        if not math.isfinite(value):  # nan passes a plain `<= 0` test
            raise ConfigError(f"{self.key(key)}: must be a finite number, got {value!r}")
        if value <= 0:
            raise ConfigError(f"{self.key(key)}: must be greater than 0, got {value!r}")
        if low is not None and value < low:
            raise ConfigError(f"{self.key(key)}: must be at least {low:g}{unit}, got {value!r}")
        if high is not None and value > high:
            raise ConfigError(f"{self.key(key)}: must be at most {high:g}{unit}, got {value!r}")
        return value

    def header(self, key: str, default: str) -> str:
        """A string that goes into a mail header or an SMTP command: no line break, not empty."""
        return check_header(self.get(key, str, default), self.key(key))

    def headers(self, key: str) -> tuple[str, ...]:
        return tuple(
            check_header(v, f"{self.key(key)}[{i}]") for i, v in enumerate(self.strings(key))
        )

    def path(self, key: str, default: str | None) -> str | None:
        """A file name, taken from the config file's folder (``base``) when relative."""
        value = self.get(key, str, default)
        if value is None:
            return None
        if "\x00" in value or not value.strip():
            raise ConfigError(f"{self.key(key)}: {value!r} is not a usable file name")
        if value.startswith("/") or not self.base:
            return str(value)
        return f"{self.base.rstrip('/')}/{value}"

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


def check_header(value: str, where: str) -> str:
    """Refuse what would break a mail header or an SMTP command (a CR/LF starts a new one)."""
    if CONTROL_RE.search(value):
        raise ConfigError(f"{where}: {value!r} has a line break or control character")
    if not value.strip():
        raise ConfigError(f"{where}: must not be empty")
    return value


def check_severity(value: str, where: str) -> str:
    if value not in SEVERITIES:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(SEVERITIES)}")
    return value


# ---------------------------------------------------------------- a live registry's section


@dataclass(frozen=True)
class LiveConfig:
    """What every live registry's section has: where it is and how politely to ask it."""

    base_url: str
    requests_per_minute: float = 50
    timeout: float = 30
    max_attempts: int = 6


def live_settings(t: Table, defaults: LiveConfig) -> dict[str, Any]:
    """The keys every live registry's section has, read and checked (for its own dataclass)."""
    return {
        "base_url": base_url(t, defaults.base_url),
        "requests_per_minute": t.positive(
            "requests_per_minute", defaults.requests_per_minute, low=MIN_RATE
        ),
        "timeout": t.positive("timeout", defaults.timeout, high=MAX_TIMEOUT, unit=" (seconds)"),
        "max_attempts": t.positive("max_attempts", defaults.max_attempts, int, high=MAX_ATTEMPTS),
    }


def base_url(t: Table, default: str) -> str:
    """An http(s) site root; plain http only when its host really is loopback."""
    value = t.get("base_url", str, default).rstrip("/")
    if not re.match(r"^https?://[^/\s]+", value):
        raise ConfigError(f"{t.key('base_url')}: {value!r} is not an http(s) URL")
    if value.startswith("http://") and not is_loopback_url(value):
        raise ConfigError(
            f"{t.key('base_url')}: {value!r} must use https (plain http only for loopback)"
        )
    return str(value)


def is_loopback_url(url: str) -> bool:
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


# ---------------------------------------------------------------- what is a change


@dataclass(frozen=True)
class ChangesConfig:
    ignore: tuple[str, ...] = ()
    severity: Mapping[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------- what is watched


@dataclass(frozen=True)
class QueryWatch:
    """A saved search of one registry: its name, its parameters, extra email recipients."""

    name: str
    params: Mapping[str, Any]
    recipients: tuple[str, ...] = ()
    registry: str | None = None  # its registry's kind; None: the default (first) registry


@dataclass(frozen=True)
class WatchConfig:
    studies: tuple[str, ...] = ()
    queries: tuple[QueryWatch, ...] = ()

"""The apprise channel (optional extra ``apprise``): chat tools and webhooks.

Slack, Teams, Discord, Matrix, ntfy, Telegram and generic JSON webhooks all go through
Apprise; we only hand it a title and a body. Each URL is its own delivery in the outbox (its
``route`` is a short hash of the URL, so no secret lands in the database), so a retry never
re-posts to a URL that already accepted the digest.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from monitor.configkit import Table, WatchConfig
from monitor.errors import ConfigError, DeliveryError
from monitor.models import SEVERITIES
from monitor.notify.channel import ChannelBase, ChannelSpec
from monitor.notify.digest import Digest, render_text
from monitor.redact import redact, register, url_secrets

log = logging.getLogger(__name__)
KIND = "apprise"
REQUIREMENT = "apprise>=1.9"  # as the `apprise` extra of pyproject.toml


def install_hint() -> str:
    """A command that works however trialmon was installed (checkout, git URL, wheel): pip of
    the very interpreter running trialmon (trialmon is on no package index, so
    ``pip install 'trialmon[apprise]'`` cannot work)."""
    return (
        f"{shlex.quote(sys.executable)} -m pip install {shlex.quote(REQUIREMENT)}"
        " (with pipx: pipx inject trialmon apprise)"
    )


@dataclass(frozen=True)
class AppriseNotifyConfig:
    enabled: bool = False
    urls: tuple[str, ...] = ()
    min_severity: str = "major"


def parse(t: Table) -> AppriseNotifyConfig:
    """``[notify.apprise]``."""
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


def url_id(url: str) -> str:
    """A stable, secret-free name for an Apprise URL: its scheme and a short hash."""
    scheme = url.partition("://")[0] or "url"
    return f"{scheme}:{hashlib.sha256(url.encode()).hexdigest()[:12]}"


def masked(url: str) -> str:
    """``slack://T000/B000/XXXX`` -> ``slack://…`` (the rest of a URL is often a token)."""
    return re.sub(r"://.*", "://…", url)


def load_apprise() -> Any:
    try:
        import apprise
    except ImportError as e:
        raise ConfigError(
            "[notify.apprise] enabled: the apprise channel needs the apprise package, which is "
            f"not installed in trialmon's environment; install it with: {install_hint()}"
        ) from e
    return apprise


class AppriseNotifier(ChannelBase):
    channel = KIND

    def __init__(self, config: AppriseNotifyConfig) -> None:
        self.config = config
        self.min_severity = config.min_severity
        self.apprise = load_apprise()
        self.urls = {url_id(u): u for u in config.urls}
        for index, url in enumerate(config.urls):
            register(url_secrets(url))  # Apprise and urllib3 print URLs in their messages
            self._check(index, url)

    def _check(self, index: int, url: str) -> None:
        if not self.apprise.Apprise().add(url):
            raise ConfigError(
                f"[notify.apprise] urls[{index}]: {masked(url)!r} is not a URL Apprise supports"
            )

    def split(self, digest: Digest) -> list[Digest]:
        return [digest.only(digest.trial_ids(), (key,)) for key in self.urls]

    def describe(self, digest: Digest) -> str:
        return f"to {', '.join(masked(self.urls.get(k, k)) for k in digest.route)}"

    def send(self, digest: Digest) -> None:
        urls = self._urls(digest.route)
        title, body = digest.subject(), render_text(digest)
        try:
            ok = self._notify(urls, title, body)
        except Exception as e:  # Apprise plugins raise anything; the outbox needs DeliveryError
            raise DeliveryError(redact(f"apprise: {type(e).__name__}: {e}")) from e
        if not ok:
            where = ", ".join(masked(u) for u in urls)
            raise DeliveryError(f"apprise: {where} did not accept the message")

    def _notify(self, urls: Sequence[str], title: str, body: str) -> bool:
        apobj = self.apprise.Apprise()
        apobj.add(list(urls))
        return bool(apobj.notify(body=body, title=title, body_format="text"))

    def _urls(self, route: Sequence[str]) -> list[str]:
        missing = [key for key in route if key not in self.urls]
        if missing:
            raise DeliveryError(
                f"apprise: the URL this digest was meant for ({', '.join(missing)}) "
                "is no longer in [notify.apprise] urls"
            )
        return [self.urls[key] for key in route]


def build(config: AppriseNotifyConfig, watch: WatchConfig) -> AppriseNotifier:
    return AppriseNotifier(config)


def secrets(config: AppriseNotifyConfig) -> set[str]:
    """Every part of the URLs that may be a token (see :func:`monitor.redact.url_secrets`)."""
    return {part for url in config.urls for part in url_secrets(url)}


SPEC = ChannelSpec(KIND, parse, build, secrets=secrets)

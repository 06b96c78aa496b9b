"""What a notification channel is: the plugin interface of ``monitor.notify.channels``.

A channel is one module (``log.py``, ``email.py``, ``apprise.py``) that brings its config
section (``[notify.<kind>]``, read by ``parse``), the check of that section against the rest
of the configuration, and the object that sends: a :class:`Channel`. The registration table
(:mod:`monitor.notify.channels`) lists the channels by kind; the config, the CLI and the
outbox read it and never name a channel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from monitor.configkit import Table, WatchConfig
from monitor.notify.digest import Digest


class Channel(Protocol):
    """An enabled channel, as the outbox and ``trialmon notify --test`` use it."""

    channel: str  # its kind: the key of the table, and ``deliveries.channel``
    min_severity: str

    def split(self, digest: Digest) -> list[Digest]:
        """The digest as the messages to send, each with its ``route``."""

    def send(self, digest: Digest) -> None:
        """Deliver the digest or raise DeliveryError."""

    def describe(self, digest: Digest) -> str:
        """Where the digest goes, in a few words (``to a@example.org via host:587``)."""

    def delivered(self, digest: Digest) -> bool:
        """Whether a send a crash cut short got through (False: this channel cannot tell)."""

    def notice(self, text: str, **fields: Any) -> bool:
        """Say an operational notice (a digest given up); False: this channel carries none."""


class ChannelBase:
    """The defaults of a channel: one destination, no confirmation of past sends, no notices."""

    def split(self, digest: Digest) -> list[Digest]:
        return [digest]

    def delivered(self, digest: Digest) -> bool:
        return False

    def notice(self, text: str, **fields: Any) -> bool:
        return False


class ChannelConfig(Protocol):
    """What every channel's section has."""

    enabled: bool
    min_severity: str


@dataclass(frozen=True)
class ChannelSpec:
    """One row of the channel table.

    ``parse`` reads ``[notify.<kind>]`` (defaults for a missing section); ``check`` refuses a
    section that cannot work with the rest of the configuration (e.g. email without any
    recipient), at load; ``build`` makes the enabled channel, importing what only sending
    needs, and may raise ConfigError (a missing password, a missing extra); ``secrets`` are
    the strings of the section that nothing may ever print (:mod:`monitor.redact`).
    """

    kind: str
    parse: Callable[[Table], Any]
    build: Callable[[Any, WatchConfig], Channel]
    check: Callable[[Any, WatchConfig], None] = lambda config, watch: None
    secrets: Callable[[Any], set[str]] = lambda config: set()

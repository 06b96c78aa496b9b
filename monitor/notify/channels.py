"""The channel table: every notification channel trialmon has, by kind, in config order.

Adding a channel is a module with a ``SPEC`` (see :mod:`monitor.notify.channel`) and one
line here.
"""

from __future__ import annotations

from monitor.notify import apprise, email, log
from monitor.notify.channel import ChannelSpec

CHANNELS: dict[str, ChannelSpec] = {
    spec.kind: spec
    for spec in (
        log.SPEC,
        email.SPEC,
        apprise.SPEC,
    )
}

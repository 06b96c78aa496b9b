"""``[ctgov]``: where the API is, how politely to ask it, and how saved searches page."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.configkit import LiveConfig, Table, live_settings
from monitor.errors import ConfigError

QUERY_PARAM_RE = re.compile(r"^(query|filter)\.[A-Za-z]+$")
MAX_PAGE_SIZE = 1000  # the API's limit


@dataclass(frozen=True)
class CtgovConfig(LiveConfig):
    base_url: str = "https://clinicaltrials.gov"
    page_size: int = 1000
    full_pass_every: int = 7  # cycles between full passes (watch list by id, searches whole)


def parse(t: Table) -> CtgovConfig:
    """``[ctgov]``, defaults for what is missing."""
    d = CtgovConfig()
    cfg = CtgovConfig(
        **live_settings(t, d),
        page_size=t.positive("page_size", d.page_size, int),
        full_pass_every=t.positive("full_pass_every", d.full_pass_every, int),
    )
    if cfg.page_size > MAX_PAGE_SIZE:
        raise ConfigError(f"{t.key('page_size')}: {cfg.page_size} is above the API's 1000")
    t.done()
    return cfg


def query_params(params: dict[str, Any], where: str) -> Mapping[str, str]:
    """A saved search's parameters: only ``query.*`` / ``filter.*`` of ``GET /api/v2/studies``."""
    for key, value in params.items():
        if not QUERY_PARAM_RE.match(key):
            raise ConfigError(
                f"{where}.{key}: only query.* and filter.* parameters are allowed (value {value!r})"
            )
        if not isinstance(value, str):
            raise ConfigError(f"{where}.{key}: expected a string, got {value!r}")
    return dict(params)

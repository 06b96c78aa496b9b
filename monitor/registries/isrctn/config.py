"""``[isrctn]``: where the API is, how politely to ask it, how watched numbers are batched, and
the ``params`` of a saved search (``q``, the registry's query language)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.configkit import LiveConfig, Table, live_settings
from monitor.errors import ConfigError


@dataclass(frozen=True)
class IsrctnConfig(LiveConfig):
    base_url: str = "https://www.isrctn.com"
    requests_per_minute: float = 30
    timeout: float = 60
    overlap_days: int = 2  # how far back before the last success an incremental pass reads
    full_pass_every: int = 7  # cycles between full passes
    batch: int = 50  # watched numbers per query


def parse(t: Table) -> IsrctnConfig:
    """``[isrctn]``, defaults for what is missing."""
    d = IsrctnConfig()
    cfg = IsrctnConfig(
        **live_settings(t, d),
        overlap_days=t.positive("overlap_days", d.overlap_days, int),
        full_pass_every=t.positive("full_pass_every", d.full_pass_every, int),
        batch=t.positive("batch", d.batch, int),
    )
    t.done()
    return cfg


def query_params(params: dict[str, Any], where: str) -> Mapping[str, str]:
    """A saved search's parameters: ``q``, a query of the registry's language, and nothing else."""
    for key, value in params.items():
        if key != "q":
            raise ConfigError(
                f"{where}.{key}: an ISRCTN search takes only q (its query), got {value!r}"
            )
    q = params.get("q")
    if not isinstance(q, str) or not q.strip():
        raise ConfigError(f"{where}.q: expected the search's query as text, got {q!r}")
    return {"q": q.strip()}

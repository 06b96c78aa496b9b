"""``[ctis]``: where the API is, how politely to ask it, how searches are paged and read, and
the ``params`` of a saved search (the portal's ``searchCriteria``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.configkit import LiveConfig, Table, live_settings
from monitor.errors import ConfigError

MAX_PAGE_SIZE = 100  # CTIS serves 1 to 100 rows per page
WINDOW = 10_000  # rows CTIS serves of one search in one order

#: The ``searchCriteria`` keys the portal sends (REGISTRIES.md §1.2). CTIS ignores any other
#: key silently and then finds the whole registry, so another key is refused here.
CRITERIA = frozenset(
    {
        "containAll",
        "containAny",
        "containNot",
        "title",
        "number",
        "status",
        "medicalCondition",
        "sponsor",
        "endPoint",
        "productName",
        "productRole",
        "populationType",
        "orphanDesignation",
        "msc",
        "ageGroupCode",
        "therapeuticAreaCode",
        "trialPhaseCode",
        "sponsorTypeCode",
        "gender",
        "eeaStartDateFrom",
        "eeaStartDateTo",
        "eeaEndDateFrom",
        "eeaEndDateTo",
        "protocolCode",
        "rareDisease",
        "pip",
        "haveOrphanDesignation",
        "hasStudyResults",
        "hasClinicalStudyReport",
        "isLowIntervention",
        "hasSeriousBreach",
        "hasUnexpectedEvent",
        "hasUrgentSafetyMeasure",
        "isTransitioned",
        "eudraCtCode",
        "trialRegion",
        "vulnerablePopulation",
        "mscStatus",
    }
)


@dataclass(frozen=True)
class CtisConfig(LiveConfig):
    base_url: str = "https://euclinicaltrials.eu"
    requests_per_minute: float = 30
    timeout: float = 60  # records are 100-200 KB
    max_attempts: int = 8  # the firewall's 403/429 bursts clear on retry
    page_size: int = MAX_PAGE_SIZE
    overlap_days: int = 2  # how far back before the last success an incremental pass reads
    full_pass_every: int = 7  # cycles between full passes
    max_rows: int = 2 * WINDOW  # the largest saved search (newest first, then oldest first)


def parse(t: Table) -> CtisConfig:
    """``[ctis]``, defaults for what is missing."""
    d = CtisConfig()
    cfg = CtisConfig(
        **live_settings(t, d),
        page_size=t.positive("page_size", d.page_size, int),
        overlap_days=t.positive("overlap_days", d.overlap_days, int),
        full_pass_every=t.positive("full_pass_every", d.full_pass_every, int),
        max_rows=t.positive("max_rows", d.max_rows, int),
    )
    if cfg.page_size > MAX_PAGE_SIZE:
        raise ConfigError(f"{t.key('page_size')}: {cfg.page_size} is above CTIS's 100")
    if cfg.max_rows > 2 * WINDOW:
        raise ConfigError(
            f"{t.key('max_rows')}: {cfg.max_rows} is above {2 * WINDOW} (CTIS serves "
            f"{WINDOW} rows of a search in each of its two orders)"
        )
    t.done()
    return cfg


def query_params(params: dict[str, Any], where: str) -> Mapping[str, Any]:
    """A saved search's ``searchCriteria``: the portal's keys, with text, numbers, true/false or
    lists of those as values."""
    for key, value in params.items():
        if key not in CRITERIA:
            raise ConfigError(
                f"{where}.{key}: not a search criterion of CTIS (it would ignore it and find "
                f"the whole registry); one of {', '.join(sorted(CRITERIA))}"
            )
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str | int | bool) for v in values):
            raise ConfigError(
                f"{where}.{key}: expected text, a number, true/false or a list of them, "
                f"got {value!r}"
            )
    return dict(params)

"""ClinicalTrials.gov (``ctgov``): the first registry, as a plugin.

Its parts: ids (``NCT`` + 8 digits), ``[ctgov]`` (:mod:`.config`), the live source over API v2
(:mod:`.live`, loaded by a live cycle only), the offline files (:mod:`.files`, with the text
pages of :mod:`.seedtext`), the record history (:mod:`.history`), the normalizer
(:mod:`.normalize`), the status words (:mod:`.vocabulary`) and the live source's keyed state
(:mod:`.state`).
"""

from __future__ import annotations

from monitor.registries.base import Links, LiveContext, LiveSource, RecordHistory, Registry
from monitor.registries.ctgov import config, normalize, state
from monitor.registries.ctgov.files import CtgovFiles
from monitor.registries.ctgov.ids import IDS, KIND
from monitor.registries.ctgov.vocabulary import VOCABULARY


def _live_source(ctx: LiveContext) -> LiveSource:
    from monitor.registries.ctgov.live import CtgovSource  # httpx: only for a live cycle

    return CtgovSource(ctx)


def _record_history() -> RecordHistory:
    from monitor.registries.ctgov.history import CtgovHistory

    return CtgovHistory()


REGISTRY = Registry(
    kind=KIND,
    title="ClinicalTrials.gov",
    ids=IDS,
    config=config.parse,
    query_params=config.query_params,
    normalize=normalize.normalize,
    source_hash=normalize.source_hash,
    vocabulary=VOCABULARY,
    links=Links(
        trial="https://clinicaltrials.gov/study/{id}",
        history="https://clinicaltrials.gov/study/{id}?tab=history",
    ),
    offline=CtgovFiles(),
    live=_live_source,
    history=_record_history,
    state_upgrades=state.UPGRADES,
)

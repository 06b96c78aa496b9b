"""EU CTIS (``ctis``): the EU Clinical Trials Information System (euclinicaltrials.eu).

Modules, from the pure core outwards:

- :mod:`.ids`: EU CT numbers (``YYYY-5NNNNN-CC-RR``), their resubmission counter, validation.
- :mod:`.vocabulary`: public status codes in the registry's words, their neutral states and
  which moves are critical; phase and age-range codes.
- :mod:`.normalize`: a ``GET /retrieve/{ctNumber}`` record -> the canonical record (v2).
- :mod:`.files`: the offline shape (a retrieve record as a ``*.json`` file).
- :mod:`.config`: ``[ctis]`` and the ``params`` of a saved search (the portal's criteria).
- :mod:`.rows`: search rows: dates, fingerprints, the window an incremental pass reads.
- :mod:`.api`: the two requests (``POST /search``, ``GET /retrieve``) over the polite HTTP layer.
- :mod:`.source`: one cycle over watched numbers and saved searches, yielding the core's items
  (loaded by a live cycle only).
- :mod:`.state`: the source's bookkeeping in the store's keyed state (the scopes of its
  full and incremental passes come from :mod:`monitor.registries.passes`).
"""

from __future__ import annotations

from monitor.registries.base import Links, LiveContext, LiveSource, Registry
from monitor.registries.ctis import config, normalize
from monitor.registries.ctis.files import CtisFiles
from monitor.registries.ctis.ids import IDS, KIND
from monitor.registries.ctis.vocabulary import VOCABULARY


def _live_source(ctx: LiveContext) -> LiveSource:
    from monitor.registries.ctis.source import live  # httpx: only for a live cycle

    return live(ctx)


REGISTRY = Registry(
    kind=KIND,
    title="EU CTIS",
    ids=IDS,
    config=config.parse,
    query_params=config.query_params,
    normalize=normalize.normalize,
    source_hash=normalize.source_key,
    vocabulary=VOCABULARY,
    links=Links(trial="https://euclinicaltrials.eu/search-for-clinical-trials/?lang=en&EUCT={id}"),
    offline=CtisFiles(),
    live=_live_source,
)

"""ISRCTN (``isrctn``): the UK's primary clinical-trial registry (isrctn.com).

Modules, from the pure core outwards:

- :mod:`.ids`: ISRCTN numbers (``ISRCTN`` + 8 digits), validation.
- :mod:`.xml`: the API's XML, parsed with care (no DTD, no entities) into plain dicts.
- :mod:`.status`: the status the registry shows, derived from overrides and dates as a pure
  function of (record, today), and its vocabulary.
- :mod:`.normalize`: a ``<fullTrial>`` -> the canonical record (v2), on a given day.
- :mod:`.files`: the offline shape (XML with ``allTrials`` or ``fullTrial`` as root).
- :mod:`.config`: ``[isrctn]`` and the ``params`` of a saved search (``q``).
- :mod:`.api`: ``GET /api/query/format/default`` (count with ``limit=0``, then the trials).
- :mod:`.source`: one cycle over watched trials and saved searches, yielding the core's items
  (loaded by a live cycle only).
- :mod:`.state`: the source's bookkeeping in the store's keyed state (the scopes of its
  full and incremental passes come from :mod:`monitor.registries.passes`).
"""

from __future__ import annotations

from monitor.registries.base import Links, LiveContext, LiveSource, Registry
from monitor.registries.isrctn import config, normalize
from monitor.registries.isrctn.files import IsrctnFiles
from monitor.registries.isrctn.ids import IDS, KIND
from monitor.registries.isrctn.status import VOCABULARY


def _live_source(ctx: LiveContext) -> LiveSource:
    from monitor.registries.isrctn.source import live  # httpx: only for a live cycle

    return live(ctx)


REGISTRY = Registry(
    kind=KIND,
    title="ISRCTN",
    ids=IDS,
    config=config.parse,
    query_params=config.query_params,
    normalize=normalize.normalize,
    source_hash=normalize.source_key,
    vocabulary=VOCABULARY,
    links=Links(trial="https://www.isrctn.com/{id}"),
    offline=IsrctnFiles(),
    live=_live_source,
)

"""ISRCTN (isrctn.com): the UK's primary clinical-trial registry as a trialmon registry.

Modules, from the pure core outwards:

- :mod:`.ids`: ISRCTN numbers (``ISRCTN`` + 8 digits), validation.
- :mod:`.xml`: the API's XML, parsed with care (no DTD, no entities) into plain dicts.
- :mod:`.status`: the status the registry shows, derived from overrides and dates as a pure
  function of (record, today), and its vocabulary.
- :mod:`.normalize`: a ``<fullTrial>`` -> the canonical record (v2), on a given day.
- :mod:`.api`: ``GET /api/query/format/default`` (count with ``limit=0``, then the trials).
- :mod:`.source`: one cycle over watched trials and saved searches, yielding the core's items.
- :mod:`.state`: the registry's own state (versions, calendars, watermarks) as a plain mapping.
- :mod:`.core`: everything this package takes from trialmon's core, in one place.
"""

NAME = "isrctn"
LABEL = "ISRCTN"

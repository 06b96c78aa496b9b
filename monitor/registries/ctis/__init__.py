"""EU CTIS (euclinicaltrials.eu): the EU Clinical Trials Information System as a trialmon registry.

Modules, from the pure core outwards:

- :mod:`.ids`: EU CT numbers (``YYYY-5NNNNN-CC-RR``), their resubmission counter, validation.
- :mod:`.vocabulary`: public status codes in the registry's words, their neutral states and
  which moves are critical; phase and age-range codes.
- :mod:`.normalize`: a ``GET /retrieve/{ctNumber}`` record -> the canonical record (v2).
- :mod:`.rows`: search rows: dates, fingerprints, the window an incremental pass reads.
- :mod:`.api`: the two requests (``POST /search``, ``GET /retrieve``) over the polite HTTP layer.
- :mod:`.source`: one cycle over watched numbers and saved searches, yielding the core's items.
- :mod:`.state`: the registry's own state (watermarks, fingerprints) as a plain mapping.
- :mod:`.core`: everything this package takes from trialmon's core, in one place.
"""

NAME = "ctis"
LABEL = "EU CTIS"

"""The registries' records as bytes, in a module that imports nothing heavy: ClinicalTrials.gov's.

Where an API v2 study keeps its id (``"nctId"``) and its daily stamp
(``derivedSection.miscInfoModule.versionHolder``), and how a study of a ``GET /api/v2/studies``
page begins (``{"protocolSection": {"identificationModule": {"nctId": ...``, the API's order):
what :mod:`monitor.filekey` and :mod:`monitor.pagesplit` need to key and split its files
without parsing them. Keys carry :data:`KEY_PREFIX` (the record format's hash version), so a
new record format never meets an older key.

A second, small registration table: it lives outside :mod:`monitor.registries` and imports
nothing of it, nor of :mod:`monitor.normalize`, so the early first pass (:mod:`monitor.early`)
reads :data:`KEYED` before the heavy imports. ``monitor.registries.ctgov.byteshape`` is the
shape's name in the registry's package; :data:`KEYED` is the shape the offline reader keys
files with (``fileread.Reader.keyed``: the first registry of the table that has one;
``tests/test_architecture.py`` holds them equal).
"""

from __future__ import annotations

import re

from monitor.filekey import ByteShape
from monitor.recordformat import HASH_VERSION

__all__ = ["BYTES", "KEYED", "KEY_PREFIX", "NCT_RE"]

NCT_RE = re.compile(r"^NCT\d{8}$")  # ClinicalTrials.gov ids (``ids``: their one home)

KEY_PREFIX = f"{HASH_VERSION}:b3file:"  # BLAKE3 keys (the SHA-256 ones were ``v2:file:``)

BYTES = ByteShape(
    id_key=b'"nctId"',
    id_value=re.compile(rb'"nctId"\s*:\s*"([^"\\]*)"'),
    id_pattern=NCT_RE,
    stamp_object=b'"miscInfoModule"',
    stamp_key=b'"versionHolder"',
    stamp_value=re.compile(rb'"versionHolder"\s*:\s*("[^"\\]*")'),
    element_head=re.compile(
        rb'\{\s*"protocolSection"\s*:\s*\{\s*"identificationModule"\s*:\s*\{\s*\Z'
    ),
    object_open=re.compile(rb'"miscInfoModule"\s*:\s*\{'),
    page_key="studies",
)

KEYED = (BYTES, KEY_PREFIX)  # the byte shape and key prefix of the keyed registry

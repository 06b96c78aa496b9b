"""ClinicalTrials.gov records as bytes, for the offline reader's fast path.

Where an API v2 study keeps its id (``"nctId"``) and its daily stamp
(``derivedSection.miscInfoModule.versionHolder``), and how a study of a ``GET /api/v2/studies``
page begins (``{"protocolSection": {"identificationModule": {"nctId": ...``, the API's order):
what :mod:`monitor.filekey` and :mod:`monitor.pagesplit` need to key and split its files
without parsing them. Keys carry :data:`KEY_PREFIX` (the record format's hash version), so a
new record format never meets an older key.

It lives outside :mod:`monitor.registries` and imports nothing of it, nor of
:mod:`monitor.normalize`: the early first pass (:mod:`monitor.early`) reads it before the heavy
imports. ``monitor.registries.ctgov.byteshape`` is its name in the registry's package.
"""

from __future__ import annotations

import re

from monitor.filekey import ByteShape
from monitor.recordformat import HASH_VERSION

__all__ = ["BYTES", "KEY_PREFIX", "NCT_RE"]

NCT_RE = re.compile(r"^NCT\d{8}$")  # ClinicalTrials.gov ids (``ids``: their one home)

KEY_PREFIX = f"{HASH_VERSION}:file:"

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

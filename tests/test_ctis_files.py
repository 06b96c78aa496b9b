"""Offline CTIS files: which JSON documents are CTIS records, and what they hold."""

from __future__ import annotations

import json

from monitor.registries.ctis import files as ctis_files
from tests import registry_synthetic as synthetic


def test_a_ctis_record_file() -> None:
    doc = json.loads(synthetic.REAL_CTIS.read_text())
    found = ctis_files.from_json(doc, "x.json")
    assert found is not None and [s.trial_id for s in found.studies] == ["2024-513060-26-00"]
    assert ctis_files.from_json({"protocolSection": {}}, "x.json") is None
    assert ctis_files.from_json({"data": []}, "search.json") is None  # a search page is not one


def test_a_ctis_record_with_a_bad_number_names_it() -> None:
    found = ctis_files.from_json({"ctNumber": "12", "authorizedApplication": {}}, "bad.json")
    assert found is not None and found.studies == []
    assert found.errors == ["ctNumber '12' is not an EU CT number"]  # the reader adds the path

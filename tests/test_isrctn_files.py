"""Offline ISRCTN files: which XML files are ISRCTN answers, and what they hold."""

from __future__ import annotations

from monitor.registries.isrctn import files as isrctn_files
from tests import registry_synthetic as synthetic


def test_every_trial_of_an_isrctn_answer() -> None:
    found = isrctn_files.from_file(".xml", synthetic.REAL_ISRCTN.read_bytes(), "a.xml")
    assert found is not None and len(found.studies) == 5
    assert found.studies[0].trial_id == "ISRCTN41823570"


def test_other_files_are_not_isrctn() -> None:
    assert isrctn_files.from_file(".json", b"{}", "a.json") is None
    assert isrctn_files.from_file(".xml", b"<rss><channel/></rss>", "feed.xml") is None
    assert isrctn_files.from_file(".xml", b"not xml", "junk.xml") is None


def test_a_broken_isrctn_file_names_itself() -> None:
    raw = b'<allTrials xmlns="http://www.67bricks.com/isrctn"><fullTrial>'
    found = isrctn_files.from_file(".xml", raw, "cut.xml")
    assert found is not None  # the reader puts the path before the message
    assert found.errors[0].startswith("not well-formed XML")

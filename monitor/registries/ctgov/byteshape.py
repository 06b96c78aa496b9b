"""ClinicalTrials.gov records as bytes: :mod:`monitor.byteshapes` (kept outside the registry
table's imports, so the early first pass can read it)."""

from __future__ import annotations

from monitor.byteshapes import BYTES, KEY_PREFIX

__all__ = ["BYTES", "KEY_PREFIX"]

"""ClinicalTrials.gov records as bytes: :mod:`monitor.ctgovbytes` (kept outside the registry
table's imports, so the early first pass can read it)."""

from __future__ import annotations

from monitor.ctgovbytes import BYTES, KEY_PREFIX

__all__ = ["BYTES", "KEY_PREFIX"]

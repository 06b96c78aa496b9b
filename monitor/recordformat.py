"""The record format's hash version, in a module that imports nothing (the early first pass
needs it before the heavy imports, :mod:`monitor.early`); :mod:`monitor.normalize` says what it
versions."""

from __future__ import annotations

HASH_VERSION = "v2"

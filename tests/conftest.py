"""Shared fixtures: paths to test data and a fresh store."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.store import Store

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


@pytest.fixture
def store() -> Store:
    return Store.memory()

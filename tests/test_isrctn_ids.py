"""ISRCTN numbers."""

from __future__ import annotations

import pytest

from monitor.registries.isrctn import ids as isrctn_ids


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ISRCTN41823570", "ISRCTN41823570"),
        ("isrctn 41823570", "ISRCTN41823570"),
        ("41823570", "ISRCTN41823570"),
    ],
)
def test_isrctn_ids(text: str, expected: str) -> None:
    assert isrctn_ids.normalize_id(text) == expected


@pytest.mark.parametrize("bad", ["ISRCTN4182357", "NCT04032847", "ISRCTN418235701", ""])
def test_bad_isrctn_ids(bad: str) -> None:
    with pytest.raises(ValueError, match="ISRCTN and 8 digits"):
        isrctn_ids.normalize_id(bad)

"""Pure: field differences between two canonical records; the only module importing deepdiff.

DeepDiff runs with explicit settings and its tree view is mapped to :class:`Difference`
at once, so nothing of deepdiff's own shape (which changed in 9.0) leaks out or is stored.

* Lists keyed by identity (:data:`monitor.normalize.KEYED_LISTS`: locations, arms,
  outcomes ...) are turned into dicts keyed by that identity first, so an item is compared
  with the item of the same identity and a reorder is no change.
* Other lists are compared as sets (``ignore_order=True``); a path never ends in a list
  index: an item added to or removed from such a list has the list's path.
* ``ignore`` holds dotted field paths of the canonical record (``admin``,
  ``locations.*.status``, ``dates.start.type``): nothing under them is compared.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from deepdiff import DeepDiff
from deepdiff.helper import NotPresent

from monitor.normalize import keyed

Kind = Literal["added", "removed", "changed"]
_MISSING: Any = object()

_KINDS: dict[str, Kind] = {
    "values_changed": "changed",
    "type_changes": "changed",
    "dictionary_item_added": "added",
    "dictionary_item_removed": "removed",
    "iterable_item_added": "added",
    "iterable_item_removed": "removed",
    "set_item_added": "added",
    "set_item_removed": "removed",
    "attribute_added": "added",
    "attribute_removed": "removed",
}


@dataclass(frozen=True)
class Difference:
    """One difference at ``path`` (keys of the keyed view of the canonical record)."""

    path: tuple[str, ...]
    kind: Kind
    old: Any
    new: Any

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


def compare(
    old: dict[str, Any],
    new: dict[str, Any],
    ignore: Sequence[str] = (),
    views: tuple[dict[str, Any], dict[str, Any]] | None = None,
) -> list[Difference]:
    """Every difference between two canonical records, outside the ``ignore`` paths.

    ``views``: their ``keyed`` views if the caller already has them (``classify`` reads the
    same ones); neither the records nor the views are changed.
    """
    if old == new:
        return []
    old_view, new_view = views or (keyed(old), keyed(new))
    old_part, new_part = _unequal(old_view, new_view)
    diff = DeepDiff(
        old_part,
        new_part,
        view="tree",
        ignore_order=True,
        report_repetition=False,
        threshold_to_diff_deeper=0,
        exclude_regex_paths=[ignore_regex(p) for p in ignore],
        verbose_level=2,
    )
    out: list[Difference] = []
    for report_type, levels in diff.items():
        kind = _KINDS.get(report_type)
        if kind is None:  # repetition or unprocessed reports: not differences of content
            continue
        out.extend(_difference(level, kind) for level in levels)
    return sorted(out, key=lambda d: (d.path, d.kind, repr(d.old), repr(d.new)))


def _unequal(old: dict[str, Any], new: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both objects without the keys whose values are equal, at every depth of objects.

    Equal parts yield no difference, so leaving them out changes nothing but the time
    deepdiff takes (it hashes every list item when ignoring order): about 2 ms instead of
    25-50 ms for a study with a few dozen locations.
    """
    old_out: dict[str, Any] = {}
    new_out: dict[str, Any] = {}
    for key in old.keys() | new.keys():
        o, n = old.get(key, _MISSING), new.get(key, _MISSING)
        if o == n:
            continue
        if isinstance(o, dict) and isinstance(n, dict):
            o, n = _unequal(o, n)
        if o is not _MISSING:
            old_out[key] = o
        if n is not _MISSING:
            new_out[key] = n
    return old_out, new_out


def _difference(level: Any, kind: Kind) -> Difference:
    path: list[str] = []
    for key in level.path(output_format="list"):
        if isinstance(key, int):  # an item of an unordered list: report on the list
            break
        path.append(str(key))
    return Difference(tuple(path), kind, _value(level.t1), _value(level.t2))


def _value(value: Any) -> Any:
    return None if isinstance(value, NotPresent) else value


def ignore_regex(dotted: str) -> str:
    """The deepdiff path regex excluding a dotted field path (``*`` matches one key)."""
    parts = []
    for part in dotted.strip(".").split("."):
        parts.append(r"\[[^\]]+\]" if part == "*" else r"\['" + re.escape(part) + r"'\]")
    return "^root" + "".join(parts) + r"(?=\[|$)"

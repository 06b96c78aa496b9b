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

Only lists go through deepdiff (the unordered comparison and its pairing of similar items are
its work). Between objects a difference is plain (a key added or removed, a value changed):
:class:`_Walk` finds those itself, in deepdiff's terms (its path strings for ``ignore``, its
whole value for an added key), because deepdiff spends ~25 us on every object it descends and
~25 us to start: most of the CPU of a daily cycle, for differences that carry no list at all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from deepdiff import DeepDiff
from deepdiff.helper import NotPresent

from monitor.normalize import keyed

Kind = Literal["added", "removed", "changed"]
_MISSING: Any = object()
_SORTED = orjson.OPT_SORT_KEYS

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
    walk = _Walk(tuple(re.compile(ignore_regex(p)) for p in ignore))
    old_lists, new_lists = walk.objects(old_view, new_view, (), "root")
    out = walk.found
    if old_lists:
        out.extend(_list_differences(old_lists, new_lists, ignore))
    return sorted(out, key=lambda d: (d.path, d.kind, repr(d.old), repr(d.new)))


@dataclass
class _Walk:
    """Two objects walked together as deepdiff walks them, skipping the keys whose values are
    equal (they yield no difference) and those ``skip`` matches the path string of."""

    skip: tuple[re.Pattern[str], ...]
    found: list[Difference] = field(default_factory=list)

    def objects(
        self, old: dict[str, Any], new: dict[str, Any], path: tuple[str, ...], where: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Finds the differences between ``old`` and ``new`` (at ``path``, ``where`` in
        deepdiff's words) but those between two lists: returned as two objects holding only
        the lists that differ, at their paths, for deepdiff."""
        old_lists: dict[str, Any] = {}
        new_lists: dict[str, Any] = {}
        for key in old.keys() | new.keys():
            o, n = old.get(key, _MISSING), new.get(key, _MISSING)
            if _same(o, n):
                continue
            at = where + _step(key)
            if self.skip and any(r.search(at) for r in self.skip):
                continue
            if isinstance(o, dict) and isinstance(n, dict):
                o, n = self.objects(o, n, (*path, key), at)
                if not o:  # no lists that differ in them
                    continue
            elif not (isinstance(o, list) and isinstance(n, list)):
                self.found.append(Difference((*path, key), _kind(o, n), _value(o), _value(n)))
                continue
            old_lists[key], new_lists[key] = o, n
        return old_lists, new_lists


def _same(old: Any, new: Any) -> bool:
    """Equal as deepdiff sees it, where ``==`` is not enough: ``True == 1 == 1.0`` in Python,
    a change of type to deepdiff. Scalars of one type that are ``==`` are the same; containers
    that are ``==`` are the same when their JSON is too (``1`` and ``1.0`` write differently),
    else they are walked (``0.0`` and ``-0.0`` inside are then the same again)."""
    if type(old) is not type(new) or old != new:
        return False
    if not isinstance(old, dict | list):
        return True
    try:
        return orjson.dumps(old, option=_SORTED) == orjson.dumps(new, option=_SORTED)
    except TypeError:  # not JSON (a view's key that is no string): walk it
        return False


def _step(key: str) -> str:
    """A key as deepdiff writes it in a path: ``['key']``, ``["it's"]``, ``['say "hi"']``."""
    return f'["{key}"]' if "'" in key else f"['{key}']"


def _kind(old: Any, new: Any) -> Kind:
    return "added" if old is _MISSING else "removed" if new is _MISSING else "changed"


def _list_differences(
    old: dict[str, Any], new: dict[str, Any], ignore: Sequence[str]
) -> list[Difference]:
    """The differences within the lists of two objects that hold only lists that differ."""
    diff = DeepDiff(
        old,
        new,
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
    return out


def _difference(level: Any, kind: Kind) -> Difference:
    path: list[str] = []
    for key in level.path(output_format="list"):
        if isinstance(key, int):  # an item of an unordered list: report on the list
            break
        path.append(str(key))
    return Difference(tuple(path), kind, _value(level.t1), _value(level.t2))


def _value(value: Any) -> Any:
    return None if value is _MISSING or isinstance(value, NotPresent) else value


def ignore_regex(dotted: str) -> str:
    """The deepdiff path regex excluding a dotted field path (``*`` matches one key)."""
    parts = []
    for part in dotted.strip(".").split("."):
        parts.append(r"\[[^\]]+\]" if part == "*" else r"\['" + re.escape(part) + r"'\]")
    return "^root" + "".join(parts) + r"(?=\[|$)"

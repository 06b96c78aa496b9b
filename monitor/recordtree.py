"""Reading a nested record (JSON, or an XML element as plain data) by taking what is mapped out
of it. Pure; for every registry's normalizer.

A normalizer works on a private deep copy of the record and *pops* every leaf it maps. What is
left at the end (pruned of empty containers) is everything the normalizer did not map, and goes
to the canonical record's ``other`` section: nothing is dropped silently. Containers stay in
place while their leaves are taken, so an item of a list keeps whatever was not read of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from monitor.errors import RecordError

Node = dict[str, Any]


def strip_keys(value: Any, drop: Callable[[str, Any], bool]) -> Any:
    """A deep copy of a JSON value without the keys ``drop(key, value)`` is true for."""
    if isinstance(value, dict):
        return {k: strip_keys(v, drop) for k, v in value.items() if not drop(str(k), v)}
    if isinstance(value, list):
        return [strip_keys(v, drop) for v in value]
    return value


def _parent(node: Node, path: tuple[str, ...]) -> Node | None:
    for key in path[:-1]:
        child = node.get(key)
        if child is None or (isinstance(child, str) and not child.strip()):
            return None  # an empty element
        if not isinstance(child, dict):
            raise RecordError(f"{key}: expected an object, got {type(child).__name__}")
        node = child
    return node


def pop(node: Node, *path: str) -> Any:
    """Take the value at ``path`` out of the record (None when absent)."""
    parent = _parent(node, path)
    return None if parent is None else parent.pop(path[-1], None)


def sub(node: Node, *path: str) -> Node:
    """The object at ``path``, left in place ({} when absent)."""
    parent = _parent(node, path)
    value = None if parent is None else parent.get(path[-1])
    if value is None or (isinstance(value, str) and not value.strip()):
        return {}  # absent, or an empty element
    if not isinstance(value, dict):
        raise RecordError(f"{'.'.join(path)}: expected an object, got {type(value).__name__}")
    return value


def each(node: Node, *path: str) -> list[Node]:
    """The objects of the list at ``path``, left in place ([] when absent)."""
    parent = _parent(node, path)
    value = None if parent is None else parent.get(path[-1])
    if value is None:
        return []
    where = ".".join(path)
    if not isinstance(value, list):
        raise RecordError(f"{where}: expected a list, got {type(value).__name__}")
    for item in value:
        if not isinstance(item, dict):
            raise RecordError(f"{where}: expected a list of objects, got an item {item!r:.60}")
    return value


def pop_list(node: Node, *path: str) -> list[Any]:
    """Take the list at ``path`` out of the record ([] when absent)."""
    value = pop(node, *path)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(f"{'.'.join(path)}: expected a list, got {type(value).__name__}")
    return value


def prune(value: Any) -> Any:
    """The value without empty strings, lists and objects, recursively (None if nothing is left)."""
    if isinstance(value, dict):
        kept = {k: v for k, v in ((k, prune(v)) for k, v in value.items()) if v is not None}
        return kept or None
    if isinstance(value, list):
        items = [v for v in (prune(v) for v in value) if v is not None]
        return items or None
    if value is None or value == "":
        return None
    return value


def drop_empty(d: dict[str, Any]) -> dict[str, Any]:
    """One level: the keys whose values are not empty."""
    return {k: v for k, v in d.items() if v is not None and v != "" and v != [] and v != {}}


def rest(node: Node) -> Any:
    """Take everything still in ``node`` out of the record (pruned; None if nothing was left)."""
    value = prune(node)
    node.clear()
    return value

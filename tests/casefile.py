"""Loading tests/data/classify_cases.json: real records edited into before/after pairs.

The edits are a small JSON-pointer language (see the file's "about"); every edited record
is synthetic, built from a real ClinicalTrials.gov record copied into tests/data.
"""

from __future__ import annotations

import copy
import json
import unicodedata
from functools import cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
CASES_FILE = DATA / "classify_cases.json"


@cache
def load_raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data


def base_study(base: str) -> dict[str, Any]:
    """A fresh copy of the real record a case names (by its alias in "bases")."""
    return copy.deepcopy(load_raw(cases_doc()["bases"][base]))


@cache
def cases_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(CASES_FILE.read_text(encoding="utf-8"))
    return doc


def cases() -> list[dict[str, Any]]:
    return list(cases_doc()["cases"])


def _split(pointer: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]


def _parent(doc: Any, pointer: str) -> tuple[Any, str]:
    parts = _split(pointer)
    node = doc
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node, parts[-1]


def _get(doc: Any, pointer: str) -> Any:
    if not pointer:
        return doc
    node, key = _parent(doc, pointer)
    return node[int(key)] if isinstance(node, list) else node[key]


def _set(doc: Any, pointer: str, value: Any) -> None:
    node, key = _parent(doc, pointer)
    if isinstance(node, list):
        if key == "-":
            node.append(value)
        else:
            node[int(key)] = value
    else:
        node[key] = value


def _remove(doc: Any, pointer: str) -> Any:
    node, key = _parent(doc, pointer)
    return node.pop(int(key) if isinstance(node, list) else key)


def _reverse_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reverse_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reverse_keys(v) for v in value]
    return value


def apply(doc: dict[str, Any], edits: list[dict[str, Any]]) -> dict[str, Any]:
    """The document after the edits (the document is changed in place and returned)."""
    for edit in edits:
        op, path = edit["op"], edit.get("path", "")
        if op == "set":
            _set(doc, path, copy.deepcopy(edit["value"]))
        elif op == "remove":
            _remove(doc, path)
        elif op == "move":
            _set(doc, path, _remove(doc, edit["from"]))
        elif op == "reverse":
            _get(doc, path).reverse()
        elif op == "reverse_keys":
            doc = _reverse_keys(doc) if not path else doc
        elif op == "replace_text":
            text = _get(doc, path)
            assert edit["old"] in text, f"{edit['old']!r} not in {path}"
            _set(doc, path, text.replace(edit["old"], edit["new"]))
        elif op == "nfd":
            _set(doc, path, unicodedata.normalize("NFD", _get(doc, path)))
        elif op == "reindent":
            doc = json.loads(json.dumps(doc, indent=4, ensure_ascii=False))
        else:
            raise ValueError(f"unknown edit op {op!r}")
    return doc


def pair(case: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (before, after) raw studies of a case."""
    before = apply(base_study(case["base"]), case.get("before", []))
    after = apply(base_study(case["base"]), case.get("after", []))
    return before, after

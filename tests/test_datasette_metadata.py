"""datasette-metadata.json names only tables, views and columns the schema has."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from monitor.store import Store

METADATA = Path(__file__).parent.parent / "datasette-metadata.json"


def tables() -> dict[str, Any]:
    data = json.loads(METADATA.read_text(encoding="utf-8"))
    result: dict[str, Any] = data["databases"]["history"]["tables"]
    return result


CONTRACT_TABLES = {"studies", "snapshots", "changes", "runs", "deliveries"}


def test_contract_tables_and_every_view_are_described() -> None:
    db = Store.memory().db
    assert set(tables()) >= CONTRACT_TABLES | set(db.view_names())


def test_facets_sorts_and_columns_exist() -> None:
    db = Store.memory().db
    for name, meta in tables().items():
        columns = set(db[name].columns_dict)
        named = {*meta.get("facets", []), *meta.get("columns", {})}
        named |= {meta[k] for k in ("sort_desc", "label_column") if k in meta}
        assert named <= columns, (name, named - columns)
        assert meta["title"] and meta["description"]

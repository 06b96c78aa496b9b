"""``trialmon example NAME``: the files an installation needs besides the program, shipped in
the wheel (``monitor/data/``) and written out adapted to this installation.

- ``config.toml``: the commented starter config (as ``trialmon init`` writes it);
- ``datasette-metadata.json``: titles, descriptions, facets and the README's questions as
  canned queries, keyed by the name Datasette gives this installation's database;
- ``trialmon.service``, ``trialmon-run.service``, ``trialmon-run.timer``: the systemd daemon
  unit and its timer alternative, with ``ExecStart`` naming this installation's ``trialmon``.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from monitor.errors import UsageError

PLACEHOLDER = "/opt/trialmon/bin/trialmon"
FILES = {
    "config.toml": ("config.toml", "the commented starter config (as `trialmon init` writes it)"),
    "datasette-metadata.json": (
        "datasette-metadata.json",
        "Datasette titles, facets and canned queries for this database",
    ),
    "trialmon.service": ("systemd/trialmon.service", "systemd unit running `trialmon daemon`"),
    "trialmon-run.service": (
        "systemd/trialmon-run.service",
        "systemd unit running one `trialmon run --quiet` (for the timer)",
    ),
    "trialmon-run.timer": ("systemd/trialmon-run.timer", "systemd timer: a cycle every 6 hours"),
}


def read(name: str) -> str:
    if name not in FILES:
        raise UsageError(f"no example {name!r}; there are: {', '.join(FILES)}")
    where = FILES[name][0].split("/")
    return resources.files("monitor").joinpath("data", *where).read_text(encoding="utf-8")


def listing() -> str:
    width = max(map(len, FILES))
    return "\n".join(f"{name:<{width}}  {about}" for name, (_, about) in FILES.items())


def datasette_name(database: Path) -> str:
    """The name Datasette serves a database file under: the file name without its suffix."""
    return database.stem


def datasette_metadata(text: str, database: Path) -> str:
    """The shipped metadata with its one database entry keyed for ``database``."""
    data: dict[str, Any] = json.loads(text)
    (entry,) = data["databases"].values()
    data["databases"] = {datasette_name(database): entry}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def with_executable(text: str, executable: Path | None) -> str:
    return text.replace(PLACEHOLDER, str(executable)) if executable else text


def render(name: str, *, database: Path, executable: Path | None) -> str:
    """The example ``name`` for this installation (its database, its ``trialmon``)."""
    text = read(name)
    if name == "datasette-metadata.json":
        return datasette_metadata(text, database)
    if name.endswith((".service", ".timer")):
        return with_executable(text, executable)
    return text

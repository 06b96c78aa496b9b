"""The shapes the harness measures, found in ``benchmarks/shapes_<registry>.py`` modules.

A registry plugs its live shapes in by adding one module next to this one,
``shapes_<registry>.py``, with a ``SHAPES`` dict: shape name -> a class built as
``Shape(root, args, day)`` whose ``run()`` returns the ``rows.Row`` of every program on every
release (``shapes_ctgov.py`` is the model: a corpus built from the registry's real records,
a loopback fake of its API that counts requests, and ``programs.Trialmon`` running
``trialmon run`` against it with its own config). Its ``requests`` column is the request count
per cycle. Command-line options a shape needs go in an ``add_options(parser)`` function of the
same module.

Registries expected but not on this branch are named in the report instead of failing: the
EU CTIS and ISRCTN sources (issue 14) bring ``shapes_ctis.py`` and ``shapes_isrctn.py``.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
EXPECTED = {"ctis": "the EU CTIS source (issue 14)", "isrctn": "the ISRCTN source (issue 14)"}

Shape = Callable[[Path, argparse.Namespace, date], Any]


def modules() -> dict[str, ModuleType]:
    """Every ``shapes_<registry>.py`` of this folder, by registry."""
    found = {}
    for path in sorted(HERE.glob("shapes_*.py")):
        registry = path.stem.removeprefix("shapes_")
        found[registry] = importlib.import_module(path.stem)
    return found


def registered() -> dict[str, Shape]:
    """Shape name -> its class; a name used by two registries is prefixed by its registry."""
    shapes: dict[str, Shape] = {}
    for registry, module in modules().items():
        for name, shape in getattr(module, "SHAPES", {}).items():
            shapes[name if name not in shapes else f"{registry}-{name}"] = shape
    return shapes


def add_options(parser: argparse.ArgumentParser) -> None:
    for module in modules().values():
        if hasattr(module, "add_options"):
            module.add_options(parser)


def missing() -> list[str]:
    """What each expected registry without a shapes module is waiting for."""
    present = set(modules())
    return [
        f"{registry}: no benchmarks/shapes_{registry}.py on this branch; {what} adds it, and "
        "its request counts per cycle then appear in this report"
        for registry, what in EXPECTED.items()
        if registry not in present
    ]

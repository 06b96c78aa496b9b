"""EU CTIS through its loopback fake: the request scenarios of ``registry_requests.py``."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import registry_requests
from scenario_requests import RequestScenarios, add_options

__all__ = ["SHAPES", "add_options"]


def ctis(root: Path, args: argparse.Namespace, day: date) -> RequestScenarios:
    return RequestScenarios("ctis", registry_requests.ctis_scenarios, args)


SHAPES = {"ctis": ctis}

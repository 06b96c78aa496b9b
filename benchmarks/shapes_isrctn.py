"""ISRCTN through its loopback fake: the request scenarios of ``registry_requests.py``."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import registry_requests
from scenario_requests import RequestScenarios

__all__ = ["SHAPES"]


def isrctn(root: Path, args: argparse.Namespace, day: date) -> RequestScenarios:
    return RequestScenarios("isrctn", registry_requests.isrctn_scenarios, args)


SHAPES = {"isrctn": isrctn}

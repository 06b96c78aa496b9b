"""Record text that attacks what reads it: spreadsheets (formulas) and terminals (escapes).

Records: two SYNTHETIC versions of the REAL record tests/data/study_NCT02576665_terminated.json
(from ../shared/ctgov-samples), with keys and values a hostile or broken registry could send:
a field named like a spreadsheet formula, values starting with ``=``, ``+``, ``-``, ``@``.
Each goes through ``trialmon run --source DIR`` and out through the CLI, as a user would see it.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from tests.conftest import DATA

FORMULA_KEY = "=cmd|' /C calc'!A0"
FORMULA_VALUE = "@SUM(1+1)*cmd|' /C calc'!A0"
HYPERLINK_KEY = '=HYPERLINK("http://evil/x")'


def record(status: dict[str, Any], protocol: dict[str, Any] | None = None) -> bytes:
    """The real record with extra keys in its status module and its protocol section."""
    study = orjson.loads((DATA / "study_NCT02576665_terminated.json").read_bytes())
    study["protocolSection"]["statusModule"].update(status)
    study["protocolSection"].update(protocol or {})
    return orjson.dumps(study)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A database holding a baseline and a version whose new fields carry formulas."""
    for name, raw in (
        ("r1", record({FORMULA_KEY: "1"})),
        ("r2", record({FORMULA_KEY: FORMULA_VALUE}, {HYPERLINK_KEY: "+2-3", "-x": "-1"})),
    ):
        (tmp_path / name).mkdir()
        (tmp_path / name / "study.json").write_bytes(raw)
    path = tmp_path / "config.toml"
    path.write_text('database = "history.db"\n[notify.log]\nenabled = false\n')
    for name in ("r1", "r2"):
        assert trialmon(path, "run", "--source", str(tmp_path / name)).exit_code == 0
    return path


def trialmon(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


# ---------------------------------------------------------------- CSV formula injection


def test_no_csv_cell_starts_a_formula(config: Path) -> None:
    """OWASP: a cell starting with = + - @ tab or CR gets a leading ' (numbers excepted)."""
    result = trialmon(config, "changes", "--format", "csv")
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert len(rows) > 2
    cells = [cell for row in rows for cell in row]
    dangerous = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert dangerous == []
    assert any(c.startswith("'=hyperlink(") for c in cells), cells  # kept, neutralized


def test_neutralized_csv_still_reads_back_as_the_json_does(config: Path) -> None:
    as_json = json.loads(trialmon(config, "changes", "--format", "json").stdout)
    text = trialmon(config, "changes", "--format", "csv").stdout
    as_csv = list(csv.DictReader(io.StringIO(text)))
    assert [json.loads(r["new_value"]) for r in as_csv] == [c["new_value"] for c in as_json]
    for row, change in zip(as_csv, as_json, strict=True):
        assert row["summary"].removeprefix("'") == change["summary"]
        assert row["field"].removeprefix("'") == change["field"]

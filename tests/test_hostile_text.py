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
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from tests.conftest import DATA, ROOT
from tests.conftest import trialmon as trialmon_process

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


# ---------------------------------------------------------------- terminal escapes

CLEAR = "\x1b[2J"  # clears the screen
TITLE = "\x1b]0;pwned\x07"  # sets the terminal's title
LINK = "\x1b]8;;http://evil/x\x1b\\click here\x1b]8;;\x1b\\"  # an OSC 8 hyperlink
C1_RED = "\x9b31m"  # CSI as one C1 character: red text on terminals that read 8-bit controls
HOSTILE_TITLE = f"A study {CLEAR}{TITLE}{LINK}{C1_RED}\x7f of escapes"
# Any C0 control but line feed, DEL, any C1 control: none of them may reach a reader raw.
RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


@pytest.fixture
def escapes(tmp_path: Path) -> Path:
    return with_escapes(tmp_path, "text")


def with_escapes(tmp_path: Path, log_format: str) -> Path:
    """A baseline, then a version whose title and status carry terminal escape sequences."""
    study = orjson.loads((DATA / "study_NCT02576665_terminated.json").read_bytes())
    (tmp_path / "r1").mkdir()
    (tmp_path / "r1" / "study.json").write_bytes(orjson.dumps(study))
    study["protocolSection"]["identificationModule"]["briefTitle"] = HOSTILE_TITLE
    study["protocolSection"]["statusModule"]["whyStopped"] = f"{CLEAR}funding{C1_RED}"
    study["protocolSection"][f"key{TITLE}"] = "x"
    (tmp_path / "r2").mkdir()
    (tmp_path / "r2" / "study.json").write_bytes(orjson.dumps(study))
    (tmp_path / "r2" / f"bad{CLEAR}.json").write_bytes(b"{not json")  # a name with escapes
    path = tmp_path / "config.toml"
    log = tmp_path / "digests.log"
    path.write_text(
        f'database = "history.db"\n[notify.log]\nfile = "{log}"\nformat = "{log_format}"\n'
        'min_severity = "info"\n'
    )
    for name in ("r1", "r2"):
        result = trialmon(path, "run", "--source", str(tmp_path / name))
        assert result.exit_code == 0, result.output
    return path


def no_raw_controls(text: str) -> None:
    found = RAW_CONTROL.findall(text)
    assert not found, f"raw control characters {found!r} in {text[:300]!r}"


def test_the_log_channel_writes_record_text_escaped(escapes: Path) -> None:
    log = (escapes.parent / "digests.log").read_text(encoding="utf-8")
    no_raw_controls(log)
    assert "A study \\x1b[2J\\x1b]0;pwned\\x07" in log  # visible, not lost


def test_the_json_log_channel_escapes_what_json_allows_raw(tmp_path: Path) -> None:
    lines = (with_escapes(tmp_path, "json").parent / "digests.log").read_text(encoding="utf-8")
    no_raw_controls(lines)
    assert [json.loads(line) for line in lines.splitlines()]  # still JSON, one object a line
    assert HOSTILE_TITLE in lines.encode().decode("unicode_escape")  # the same text, escaped


@pytest.mark.parametrize(
    "command",
    [
        ["history", "NCT02576665"],
        ["diff", "NCT02576665"],
        ["changes"],
        ["studies"],
        ["status"],
        ["changes", "--format", "csv"],
        ["changes", "--format", "json"],
        ["history", "NCT02576665", "--format", "json"],
        ["studies", "--format", "json"],
    ],
    ids=lambda c: "-".join(c),
)
def test_piped_output_carries_no_raw_control_characters(escapes: Path, command: list[str]) -> None:
    result = trialmon(escapes, *command)
    assert result.exit_code == 0, result.output
    no_raw_controls(result.stdout)
    assert "pwned" in result.stdout or command[0] == "status"


@pytest.mark.parametrize("command", [["history", "NCT02576665"], ["changes"], ["studies"]])
def test_rich_tables_on_a_terminal_pass_only_their_own_colours(
    escapes: Path, command: list[str]
) -> None:
    result = CliRunner(env={"FORCE_COLOR": "1", "COLUMNS": "250"}).invoke(
        cli, ["--config", str(escapes), *command], catch_exceptions=False
    )
    assert "┃" in result.stdout or "│" in result.stdout  # a table, not plain lines
    own = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)  # rich's own colours (SGR) only
    no_raw_controls(own)
    assert "pwned" in own


@pytest.mark.parametrize("verbosity", [[], ["-v"], ["-vv"]], ids=["plain", "-v", "-vv"])
def test_messages_on_stderr_carry_no_raw_control_characters(
    escapes: Path, verbosity: list[str]
) -> None:
    """A file named with escapes, warned about by the cycle, at every verbosity."""
    command = [*verbosity, "--config", str(escapes), "run", "--source", str(escapes.parent / "r2")]
    result = trialmon_process(*command, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "bad\\x1b[2J.json: not valid JSON" in result.stderr
    no_raw_controls(result.stderr)

"""The query commands through the CLI on a known history: every command and every format."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from monitor.models import Change
from monitor.store import NewSnapshot, Store
from monitor.views import changes
from tests.history_data import FAILING, SEED, TERMINATED, known_history

NEVER_CHECKED = "NCT99999999"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "history.db"
    store = Store.open(path)
    known_history(store)
    store.close()
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[watch]\nstudies = ["{SEED}", "{NEVER_CHECKED}"]\n')
    return path


@pytest.fixture
def invoke(db: Path, config: Path) -> Any:
    def run(*args: str, code: int = 0) -> Result:
        result = CliRunner().invoke(cli, ["--config", str(config), "--db", str(db), *args])
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return run


def parsed(result: Result) -> Any:
    return json.loads(result.stdout)


# ---------------------------------------------------------------- history


def test_history_json_is_one_object_oldest_first(invoke: Any) -> None:
    data = parsed(invoke("history", SEED, "--format", "json"))
    assert isinstance(data, dict)
    assert data["trial_id"] == SEED and data["overall_status"] == "WITHDRAWN"
    assert [len(v["changes"]) for v in data["versions"]] == [0, 4, 3]
    assert data["versions"][2]["changes"][0]["new_value"] == "WITHDRAWN"


def test_history_text_when_piped_is_plain(invoke: Any) -> None:
    out = invoke("history", SEED.lower()).stdout
    assert "baseline" in out
    assert "[critical] Overall status: NOT_YET_RECRUITING → WITHDRAWN" in out
    assert "┃" not in out and "\x1b[" not in out


def test_history_of_an_unknown_study_is_a_usage_error(invoke: Any) -> None:
    result = invoke("history", "NCT00000000", code=2)
    assert "not in the database" in result.stderr and result.stdout == ""


# ---------------------------------------------------------------- diff


def test_diff_text_names_both_snapshots(invoke: Any) -> None:
    out = invoke("diff", SEED).stdout
    assert out.startswith(f"{SEED}: snapshot #2 (2025-01-10T00:00:00Z) → #3 (2025-08-08T00:00:00Z)")


def test_diff_json_is_one_array(invoke: Any) -> None:
    data = parsed(invoke("diff", SEED, "--from", "1", "--to", "3", "--format", "json"))
    assert isinstance(data, list)
    assert all((c["from_snapshot_id"], c["to_snapshot_id"]) == (1, 3) for c in data)


def test_diff_of_a_foreign_snapshot_is_refused(invoke: Any) -> None:
    assert "not a snapshot of" in invoke("diff", SEED, "--from", "4", code=2).stderr


# ---------------------------------------------------------------- changes


def test_changes_json_newest_first(invoke: Any) -> None:
    data = parsed(invoke("changes", "--format", "json"))
    assert len(data) == 14
    stamps = [c["detected_at"] for c in data]
    assert stamps == sorted(stamps, reverse=True)
    assert {c["trial_id"] for c in data} == {SEED, TERMINATED}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--study", TERMINATED], 7),
        (["--category", "dates"], 6),
        (["--min-severity", "critical"], 3),
        (["--min-severity", "major"], 9),
        (["--since", "2025-01-01"], 7),
        (["--since", "2025-08-01T00:00:00Z", "--category", "status"], 2),
    ],
    ids=["study", "category", "critical", "major", "since-date", "since-and-category"],
)
def test_changes_filters(invoke: Any, options: list[str], expected: int) -> None:
    assert len(parsed(invoke("changes", *options, "--format", "json"))) == expected


def test_changes_csv_reads_back(invoke: Any) -> None:
    out = invoke("changes", "--study", SEED, "--format", "csv").stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 7
    withdrawn = next(r for r in rows if r["summary"].startswith("Overall status"))
    assert json.loads(withdrawn["new_value"]) == "WITHDRAWN"
    dates = next(r for r in rows if r["summary"].startswith("Completion date"))
    assert json.loads(dates["old_value"]) == {"date": "2026-12-31", "type": "ESTIMATED"}
    assert int(dates["from_snapshot_id"]) == 1 and int(dates["to_snapshot_id"]) == 2


def test_changes_text_is_one_line_per_change(invoke: Any) -> None:
    lines = invoke("changes", "--min-severity", "critical").stdout.splitlines()
    assert lines == [
        f"2025-08-08T00:00:00Z  {SEED}  [critical] status: "
        "Overall status: NOT_YET_RECRUITING → WITHDRAWN",
        f"2020-02-07T00:00:00Z  {TERMINATED}  [critical] outcomes: Primary outcome removed: "
        '"Objective response rate"',
        f"2020-02-07T00:00:00Z  {TERMINATED}  [critical] status: "
        "Overall status: RECRUITING → TERMINATED",
    ]


def test_changes_bad_since_is_a_usage_error(invoke: Any) -> None:
    assert "--since" in invoke("changes", "--since", "last week", code=2).stderr


# ---------------------------------------------------------------- studies


def test_studies_json_lists_known_and_watched(invoke: Any) -> None:
    data = {r["trial_id"]: r for r in parsed(invoke("studies", "--format", "json"))}
    assert set(data) == {FAILING, TERMINATED, SEED, NEVER_CHECKED}
    assert data[SEED]["watched"] and data[SEED]["overall_status"] == "WITHDRAWN"
    assert data[SEED]["snapshots"] == 3 and data[SEED]["changes"] == 7
    assert data[NEVER_CHECKED]["known"] is False and data[NEVER_CHECKED]["last_checked"] is None
    assert data[FAILING]["consecutive_failures"] == 2
    assert data[FAILING]["last_error"] == "HTTP 503 from registry"


def test_studies_text_shows_failures(invoke: Any) -> None:
    lines = invoke("studies").stdout.splitlines()
    failing = next(line for line in lines if line.startswith(FAILING))
    assert "FAILING 2× HTTP 503 from registry" in failing
    never = next(line for line in lines if line.startswith(NEVER_CHECKED))
    assert "checked never" in never


def test_studies_failing_only(invoke: Any) -> None:
    data = parsed(invoke("studies", "--failing", "--format", "json"))
    assert [r["trial_id"] for r in data] == [FAILING]


# ---------------------------------------------------------------- report


def test_report_writes_one_page_per_call(invoke: Any, tmp_path: Path) -> None:
    page = tmp_path / "out" / "seed.html"
    result = invoke("report", SEED, "--html", str(page))
    assert "Wrote" in result.stdout and "(1 study)" in result.stdout
    html = page.read_text()
    assert '<svg class="slippage"' in html and "&lt;CAR-T&gt;" in html


def test_report_portfolio(invoke: Any, tmp_path: Path) -> None:
    page = tmp_path / "all.html"
    invoke("report", SEED, TERMINATED, SEED, "--html", str(page))
    html = page.read_text()
    assert "2 studies" in html and html.count("<section class='study'") == 2


def test_report_of_an_unknown_study_is_a_usage_error(invoke: Any, tmp_path: Path) -> None:
    page = tmp_path / "x.html"
    assert "not in the database" in invoke("report", "NCT00000000", "--html", str(page),
                                           code=2).stderr  # fmt: skip
    assert not page.exists()


def test_report_leaves_out_an_unknown_study_and_says_so(invoke: Any, tmp_path: Path) -> None:
    page = tmp_path / "all.html"
    result = invoke("report", SEED, "NCT00000000", TERMINATED, "--html", str(page))
    assert result.stdout == f"Wrote {page} (2 studies; 1 not in the database).\n"
    assert result.stderr == ("trialmon: NCT00000000 is not in the database: left out of the page\n")
    assert page.read_text().count("<section class='study'") == 2


def test_report_needs_html(invoke: Any) -> None:
    invoke("report", SEED, code=2)


def test_every_views_command_has_help(invoke: Any) -> None:
    for command in ("history", "diff", "changes", "studies", "report"):
        assert "Usage:" in invoke(command, "--help").stdout


def test_changes_of_one_moment_list_the_most_severe_first(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "h.db")
    minor = Change("locations", "locations", "minor", None, "x", "Location added")
    critical = Change("status", "status.overall_status", "critical", "A", "B", "Status")
    snap = NewSnapshot(
        "NCT00000001",
        "2026-11-26T00:00:00Z",
        "files",
        "v1:x",
        None,
        "{}",
        "T",
        "B",
        (minor, critical),
    )
    store.save_snapshot(snap, None, None)
    assert [c["severity"] for c in changes(store)] == ["critical", "minor"]
    store.close()


# ---------------------------------------------------------------- ndjson


@pytest.mark.parametrize(
    "args",
    [["history", SEED], ["diff", SEED], ["changes"], ["studies"], ["status"]],
    ids=["history", "diff", "changes", "studies", "status"],
)
def test_ndjson_is_the_json_one_object_per_line(invoke: Any, args: list[str]) -> None:
    whole = parsed(invoke(*args, "--format", "json"))
    lines = invoke(*args, "--format", "ndjson").stdout.splitlines()
    objects = [json.loads(line) for line in lines]
    assert objects == (whole if isinstance(whole, list) else [whole])
    assert objects and all(isinstance(o, dict) for o in objects)

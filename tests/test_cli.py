"""The CLI contract: exit codes, plain messages without tracebacks, help for every command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, trialmon

SEEDS = ROOT / "seeds"


@pytest.mark.parametrize(
    ("config", "needle"),
    [
        pytest.param("[watch]\nstudies = ['NCT123']\n", "'NCT123' is not an NCT id", id="bad-id"),
        pytest.param("[watch]\nstudeis = []\n", "[watch] studeis: unknown key", id="typo"),
        pytest.param("[schedule]\nevery = 'often'\n", "[schedule] every: 'often'", id="schedule"),
        pytest.param("database = [\n", "not valid TOML", id="toml"),
    ],
)
def test_bad_config_exits_2_with_a_plain_message(tmp_path: Path, config: str, needle: str) -> None:
    (tmp_path / "config.toml").write_text(config)
    result = trialmon("run", "--source", str(SEEDS), cwd=tmp_path)
    assert result.returncode == 2
    assert needle in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "snapshots").exists()


def test_missing_named_config_exits_2(tmp_path: Path) -> None:
    result = trialmon("--config", "nope.toml", "run", cwd=tmp_path)
    assert result.returncode == 2
    assert "'nope.toml' does not exist" in result.stderr


def test_unusable_database_exits_1(tmp_path: Path) -> None:
    (tmp_path / "bad.db").write_bytes(b"not a database at all " * 200)
    result = trialmon("--db", "bad.db", "run", "--source", str(SEEDS), cwd=tmp_path)
    assert result.returncode == 1
    assert "bad.db" in result.stderr and "Traceback" not in result.stderr


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    (tmp_path / "bad.db").write_bytes(b"not a database at all " * 200)
    result = trialmon("-v", "--db", "bad.db", "run", "--source", str(SEEDS), cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" in result.stderr


def test_bad_nct_argument_exits_2(tmp_path: Path) -> None:
    result = trialmon("history", "NCT1", cwd=tmp_path)
    assert result.returncode == 2
    assert "'NCT1' is not an NCT id" in result.stderr


def test_unknown_study_in_history_exits_2(tmp_path: Path) -> None:
    assert trialmon("run", "--source", str(SEEDS), cwd=tmp_path).returncode == 0
    result = trialmon("history", "NCT00000001", cwd=tmp_path)
    assert result.returncode == 2
    assert "NCT00000001 is not in the database" in result.stderr


def test_bad_since_exits_2(tmp_path: Path) -> None:
    result = trialmon("changes", "--since", "last tuesday", cwd=tmp_path)
    assert result.returncode == 2
    assert "'last tuesday'" in result.stderr


QUERIES = [
    ["history", "NCT06009107"],
    ["diff", "NCT06009107"],
    ["changes"],
    ["studies"],
    ["report", "NCT06009107", "--html", "r.html"],
    ["feed", "--output", "feed.xml"],
    ["status"],
]


@pytest.mark.parametrize("args", QUERIES, ids=[q[0] for q in QUERIES])
def test_a_query_command_never_creates_a_database(tmp_path: Path, args: list[str]) -> None:
    result = trialmon("--db", "snapshts/histroy.db", *args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "trialmon: no database at 'snapshts/histroy.db' "
        "(check --db or `database`; `trialmon run` creates it)\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_missing_source_dir_exits_2(tmp_path: Path) -> None:
    result = trialmon("run", "--source", "no-such-dir", cwd=tmp_path)
    assert result.returncode == 2


def test_every_command_has_help(tmp_path: Path) -> None:
    from monitor.cli import cli

    for name in cli.commands:
        result = trialmon(name, "--help", cwd=tmp_path)
        assert result.returncode == 0, name
        assert "Usage:" in result.stdout


def test_every_command_is_in_the_readme() -> None:
    from monitor.cli import cli

    readme = (ROOT / "README.md").read_text()
    for name in cli.commands:
        assert f"trialmon {name}" in readme, f"README does not show `trialmon {name}`"


def test_notify_test_lists_every_registered_channel(tmp_path: Path) -> None:
    """The enabled ones with their outcome, the others as not enabled."""
    from monitor.notify.channels import CHANNELS

    result = trialmon("notify", "--test", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "log: sent to stderr"
    others = [kind for kind in CHANNELS if kind != "log"]
    assert others and all(
        f"{k}: not enabled ([notify.{k}] enabled = false)" in lines for k in others
    )


def test_a_registry_is_chosen_by_the_form_of_a_watched_id(tmp_path: Path) -> None:
    from monitor import registries
    from monitor.config import parse_config

    config = parse_config({"watch": {"studies": ["nct06009107"]}})
    assert config.watch.studies == ("NCT06009107",)
    assert registries.kind_of("NCT06009107") == "ctgov"
    assert registries.kind_of("2024-513060-26-00") == "ctis"
    assert registries.kind_of("ISRCTN41823570") == "isrctn"
    (tmp_path / "config.toml").write_text("[watch]\nstudies = ['2024-513060-2600']\n")
    result = trialmon("run", "--source", str(SEEDS), cwd=tmp_path)
    assert result.returncode == 2
    assert "'2024-513060-2600' is not an EU CT number (YYYY-5NNNNN-CC-RR" in result.stderr
    (tmp_path / "config.toml").write_text("[watch]\nstudies = ['T-0042']\n")
    result = trialmon("run", "--source", str(SEEDS), cwd=tmp_path)
    assert result.returncode == 2
    assert "'T-0042' is not a trial id of any registry (an NCT id: " in result.stderr


def test_run_quiet_speaks_only_of_changes_and_failures(tmp_path: Path) -> None:
    def quiet(source: Path) -> subprocess.CompletedProcess[str]:
        result = trialmon("run", "--quiet", "--source", str(source), cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        return result

    baseline = quiet(SEEDS / "earlier")
    assert (baseline.stdout, baseline.stderr) == ("", "")  # new studies, nothing changed
    changed = quiet(SEEDS)
    assert changed.stdout.startswith("Checked 2 studies: 0 new, 2 changed")
    assert "[critical] Overall status: NOT_YET_RECRUITING → WITHDRAWN" in changed.stderr
    again = quiet(SEEDS)
    assert (again.stdout, again.stderr) == ("", "")
    broken = tmp_path / "broken"
    broken.mkdir()
    shutil.copy(SEEDS / "NCT06009107.txt", broken)
    (broken / "other.json").write_text("{not json")
    failed = quiet(broken)
    assert "1 unchanged, 0 failed; 1 other error" in failed.stdout
    assert "other.json: not valid JSON" in failed.stderr


def test_version_is_the_one_in_pyproject(tmp_path: Path) -> None:
    import tomllib

    from monitor import __version__

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    result = trialmon("--version", cwd=tmp_path)
    assert result.stdout == f"trialmon, version {declared}\n"
    assert __version__ == declared
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


COMMANDS_ON_THE_DEMO = [
    ["history", "NCT06009107"],
    ["diff", "NCT06009107"],
    ["changes"],
    ["studies"],
    ["report", "NCT06009107", "--html", "r.html"],
    ["feed", "-o", "f.xml"],
    ["status"],
    ["run", "--source", str(SEEDS)],
]


def test_no_command_leaves_a_connection_open(tmp_path: Path) -> None:
    """Python 3.13 reports an unclosed sqlite3 connection as a ResourceWarning (3.11 says
    nothing: this test has teeth on the newer Python CI also runs)."""
    for source in (SEEDS / "earlier", SEEDS):
        assert trialmon("run", "--source", str(source), cwd=tmp_path).returncode == 0
    for args in COMMANDS_ON_THE_DEMO:
        cmd = [sys.executable, "-W", "always::ResourceWarning", "-m", "monitor", *args]
        done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (args, done.stderr)
        assert "ResourceWarning" not in done.stderr, (args, done.stderr)

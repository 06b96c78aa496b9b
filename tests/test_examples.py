"""`trialmon example`: the files shipped in the wheel, adapted to the installation."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from monitor import examples, watchlist
from monitor.config import parse_config
from monitor.errors import UsageError

from .conftest import trialmon

UNITS = ("trialmon.service", "trialmon-run.service", "trialmon-run.timer")


def test_every_example_is_shipped_and_listed() -> None:
    listed = examples.listing().splitlines()
    assert [line.split()[0] for line in listed] == list(examples.FILES)
    for name in examples.FILES:
        assert examples.read(name).strip()


def test_an_unknown_example_names_the_known_ones() -> None:
    with pytest.raises(UsageError, match=r"no example 'x'; there are: config\.toml, "):
        examples.read("x")


def test_the_config_example_is_the_starter() -> None:
    text = examples.render("config.toml", database=Path("h.db"), executable=None)
    assert text == watchlist.starter_config()
    parse_config(tomllib.loads(text))


@pytest.mark.parametrize("name", UNITS)
def test_units_name_this_installation_s_trialmon(name: str) -> None:
    text = examples.render(name, database=Path("h.db"), executable=Path("/srv/venv/bin/trialmon"))
    if name.endswith(".service"):
        assert "ExecStart=/srv/venv/bin/trialmon " in text
        assert examples.PLACEHOLDER not in text


def test_the_units_keep_state_private_and_read_the_system_config() -> None:
    for name in ("trialmon.service", "trialmon-run.service"):
        text = examples.read(name)
        for line in (
            "StateDirectory=trialmon",
            "UMask=0077",
            "Environment=XDG_CONFIG_HOME=/etc XDG_DATA_HOME=/var/lib",
            "User=trialmon",
        ):
            assert f"\n{line}\n" in text, (name, line)
    assert "ExecStart=/opt/trialmon/bin/trialmon daemon\n" in examples.read("trialmon.service")
    run = examples.read("trialmon-run.service")
    assert "Type=oneshot" in run and "ExecStart=/opt/trialmon/bin/trialmon run --quiet\n" in run
    assert "Persistent=true" in examples.read("trialmon-run.timer")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_reads_the_units_without_a_warning(tmp_path: Path) -> None:
    for name in UNITS:
        text = examples.render(name, database=Path("h.db"), executable=Path("/bin/true"))
        (tmp_path / name).write_text(text)
    cmd = ["systemd-analyze", "verify", *(str(tmp_path / n) for n in UNITS)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr


def test_example_through_the_cli(tmp_path: Path) -> None:
    listed = trialmon("example", cwd=tmp_path)
    assert listed.returncode == 0 and "trialmon-run.timer" in listed.stdout
    unit = trialmon("example", "trialmon.service", cwd=tmp_path)
    assert unit.returncode == 0, unit.stderr
    script = Path(sys.executable).parent / "trialmon"
    assert f"ExecStart={script.absolute()} daemon" in unit.stdout
    written = trialmon(
        "--db", "x/trials.db", "example", "datasette-metadata.json", "-o", "m.json", cwd=tmp_path
    )
    assert written.stdout == "Wrote m.json\n"
    assert '"trials": {' in (tmp_path / "m.json").read_text()
    assert trialmon("example", "nope", cwd=tmp_path).returncode == 2

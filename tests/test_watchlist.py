"""`trialmon init` and `trialmon watch add|remove|list`: the file keeps its comments and layout,
ids are validated as the config validates them, a bad edit never reaches the file."""

from __future__ import annotations

import json
import os
import re
import stat
import tomllib
from pathlib import Path

import pytest

from monitor import watchlist
from monitor.config import parse_config
from monitor.errors import ConfigError

from .conftest import ROOT, trialmon

COMMENTED = """\
# my trialmon config
source = "ctgov"   # live

[watch]
# the portfolio
studies = [
  "NCT06009107",  # HY004, withdrawn
  # "NCT00000000",  parked
  "nct02576665",
]

[[watch.queries]]
name = "CAR-T"
params = { "query.intr" = "CAR-T" }

[schedule]
every = "6h"  # four times a day
"""


def test_the_starter_config_is_valid_and_watches_nothing() -> None:
    config = parse_config(tomllib.loads(watchlist.starter_config()))
    assert config.watch.studies == ()
    assert config.source == "live"


def test_the_starter_config_shows_the_keys_of_the_example_config() -> None:
    starter = watchlist.starter_config()
    example = tomllib.loads((ROOT / "config.toml").read_text())
    for section, keys in example.items():
        for key in keys if isinstance(keys, dict) else [section]:
            assert key in starter, (section, key)


def test_add_keeps_comments_and_layout(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED)
    edit = watchlist.add(path, ["NCT03690141", "nct06009107"])
    assert edit.changed == ("NCT03690141",)
    assert edit.unchanged == ("NCT06009107",)
    assert path.read_text() == COMMENTED.replace(
        '  "nct02576665",\n', '  "nct02576665",\n  "NCT03690141",\n'
    )


def test_remove_keeps_the_other_entries_and_their_comments(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED)
    edit = watchlist.remove(path, ["NCT02576665", "NCT03690141"])
    assert (edit.changed, edit.unchanged) == (("NCT02576665",), ("NCT03690141",))
    assert edit.watched == ("NCT06009107",)
    assert path.read_text() == COMMENTED.replace('  "nct02576665",\n', "")


def test_add_creates_the_watch_table_when_missing(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('# only a schedule\n[schedule]\nevery = "1d"\n')
    watchlist.add(path, ["NCT06009107"])
    text = path.read_text()
    assert text.startswith('# only a schedule\n[schedule]\nevery = "1d"\n')
    assert tomllib.loads(text)["watch"] == {"studies": ["NCT06009107"]}


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("NCT123", "ID: 'NCT123' is not an NCT id (NCT followed by 8 digits)"),
        ("T-0042", "'T-0042' is not a trial id of any registry"),
    ],
)
def test_a_bad_id_is_refused_and_the_file_untouched(
    tmp_path: Path, value: str, needle: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED)
    with pytest.raises(ConfigError, match=re.escape(needle)):
        watchlist.add(path, ["NCT03690141", value])
    assert path.read_text() == COMMENTED


def test_an_invalid_config_is_not_edited(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[watch]\nstudeis = []\n")
    with pytest.raises(ConfigError, match="studeis: unknown key"):
        watchlist.add(path, ["NCT06009107"])
    assert path.read_text() == "[watch]\nstudeis = []\n"


def test_an_edit_keeps_the_file_mode(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED)
    path.chmod(0o640)
    watchlist.add(path, ["NCT03690141"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]  # no temporary file left


@pytest.mark.skipif(os.geteuid() != 0, reason="only root gives a file to another group")
def test_an_edit_keeps_owner_and_group_of_a_system_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(COMMENTED)
    os.chown(path, 0, 1)  # root and a group the service reads it through
    path.chmod(0o640)
    watchlist.add(path, ["NCT03690141"])
    info = path.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, 1, 0o640)


# ---------------------------------------------------------------- through the CLI


def test_init_writes_the_user_config_and_refuses_to_overwrite(
    tmp_path: Path, user_folders: Path
) -> None:
    result = trialmon("init", cwd=tmp_path)
    target = user_folders / ".config" / "trialmon" / "config.toml"
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Wrote {target}\n")
    assert target.read_text() == watchlist.starter_config()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    again = trialmon("init", cwd=tmp_path)
    assert again.returncode == 2
    assert "exists already (--force replaces it)" in again.stderr
    assert list(tmp_path.iterdir()) == []


def test_init_at_a_named_path(tmp_path: Path) -> None:
    result = trialmon("--config", "etc/trialmon.toml", "init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "etc" / "trialmon.toml").read_text() == watchlist.starter_config()


def test_watch_commands_edit_the_config_the_lookup_finds(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(COMMENTED)
    added = trialmon("watch", "add", "NCT03690141", "NCT06009107", cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert added.stderr == "Already watched: NCT06009107\n"
    assert added.stdout == "Watching 3 studies (config.toml).\n"
    listed = trialmon("watch", "list", cwd=tmp_path)
    assert listed.stdout == "NCT06009107\nNCT02576665\nNCT03690141\n"
    as_json = trialmon("watch", "list", "--format", "json", cwd=tmp_path)
    assert json.loads(as_json.stdout) == ["NCT06009107", "NCT02576665", "NCT03690141"]
    removed = trialmon("watch", "remove", "NCT06009107", "NCT00000001", cwd=tmp_path)
    assert removed.returncode == 0, removed.stderr
    assert removed.stderr == "Not watched: NCT00000001\n"
    assert "# HY004, withdrawn" not in (tmp_path / "config.toml").read_text()
    assert "# the portfolio" in (tmp_path / "config.toml").read_text()


def test_watch_add_without_a_config_creates_the_starter_in_the_user_folder(
    tmp_path: Path, user_folders: Path
) -> None:
    result = trialmon("watch", "add", "nct06009107", cwd=tmp_path)
    target = user_folders / ".config" / "trialmon" / "config.toml"
    assert result.returncode == 0, result.stderr
    assert f"Created {target}" in result.stderr
    assert tomllib.loads(target.read_text())["watch"]["studies"] == ["NCT06009107"]
    assert "# Saved searches" in target.read_text()  # the starter's comments are kept
    assert list(tmp_path.iterdir()) == []


def test_watch_add_with_a_bad_id_exits_2_and_creates_nothing(
    tmp_path: Path, user_folders: Path
) -> None:
    result = trialmon("watch", "add", "NCT0600910", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "trialmon: ID: 'NCT0600910' is not an NCT id (NCT followed by 8 digits)\n"
    )
    assert not (user_folders / ".config").exists()


def test_a_config_that_cannot_be_written_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("")
    result = trialmon("--config", "plain-file/config.toml", "init", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("trialmon: cannot write 'plain-file/config.toml': ")
    assert "Traceback" not in result.stderr

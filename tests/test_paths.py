"""Config lookup order and the user folders of an installed trialmon (monitor/paths.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor import paths
from monitor.config import load_config
from monitor.errors import ConfigError


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A working folder and user folders, all empty; the working folder is the cwd."""
    made = {name: tmp_path / name for name in ("work", "config", "data", "home")}
    for path in made.values():
        path.mkdir()
    monkeypatch.chdir(made["work"])
    monkeypatch.setenv("HOME", str(made["home"]))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(made["config"]))
    monkeypatch.setenv("XDG_DATA_HOME", str(made["data"]))
    return made


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_without_any_config_the_database_is_in_the_user_data_folder(
    folders: dict[str, Path],
) -> None:
    assert paths.find_config().origin == paths.USER
    config = load_config()
    assert config.database == folders["data"] / "trialmon" / "history.db"
    assert list(folders["work"].iterdir()) == []


def test_user_config_is_found_and_keeps_its_database_in_the_data_folder(
    folders: dict[str, Path],
) -> None:
    user = write(
        folders["config"] / "trialmon" / "config.toml", '[watch]\nstudies = ["nct06009107"]\n'
    )
    config = load_config()
    assert config.path == user
    assert config.watch.studies == ("NCT06009107",)
    assert config.database == folders["data"] / "trialmon" / "history.db"


def test_a_database_set_in_the_user_config_is_taken_from_its_folder(
    folders: dict[str, Path],
) -> None:
    write(folders["config"] / "trialmon" / "config.toml", 'database = "/srv/t/h.db"\n')
    assert load_config().database == Path("/srv/t/h.db")


def test_order_option_then_environment_then_working_folder_then_user(
    folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    write(folders["config"] / "trialmon" / "config.toml")
    assert paths.find_config().origin == paths.USER
    local = write(folders["work"] / "config.toml")
    assert paths.find_config() == paths.ConfigLocation(Path("config.toml"), paths.WORKING_FOLDER)
    assert load_config().database == Path("snapshots/history.db")  # a checkout keeps its own
    env = write(folders["home"] / "env.toml")
    monkeypatch.setenv("TRIALMON_CONFIG", str(env))
    assert paths.find_config() == paths.ConfigLocation(env, paths.ENVIRONMENT)
    assert paths.find_config(str(local)) == paths.ConfigLocation(local, paths.OPTION)


def test_unset_empty_or_relative_xdg_variables_mean_the_home_defaults(
    folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", "relative/data")
    assert paths.user_config_path() == folders["home"] / ".config" / "trialmon" / "config.toml"
    assert paths.user_database() == folders["home"] / ".local/share/trialmon/history.db"
    monkeypatch.setenv("XDG_DATA_HOME", "")
    assert paths.user_data_dir() == folders["home"] / ".local/share/trialmon"


def test_a_named_config_must_exist_the_user_one_need_not(
    folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIALMON_CONFIG", str(folders["home"] / "missing.toml"))
    with pytest.raises(ConfigError, match=r"missing\.toml' does not exist"):
        load_config()


def test_init_never_targets_the_working_folder(folders: dict[str, Path]) -> None:
    write(folders["work"] / "config.toml")
    assert paths.init_target().path == folders["config"] / "trialmon" / "config.toml"
    assert paths.init_target("x.toml").path == Path("x.toml")


def test_a_relative_log_file_is_taken_from_the_config_folder(folders: dict[str, Path]) -> None:
    user = write(folders["config"] / "trialmon" / "config.toml", '[notify.log]\nfile = "t.log"\n')
    assert load_config().notify.channels["log"].file == str(user.parent / "t.log")

"""Config validation: every refusal names the key and the value."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import load_config, parse_config, parse_duration
from monitor.errors import ConfigError

from .conftest import ROOT


def test_the_shipped_config_loads() -> None:
    config = load_config(str(ROOT / "config.toml"))
    assert config.watch.studies == ("NCT06009107",)
    assert config.database == ROOT / "snapshots/history.db"
    assert config.schedule.every_seconds == 6 * 3600


def test_ids_are_upper_cased_and_deduplicated() -> None:
    config = parse_config({"watch": {"studies": ["nct06009107", "NCT06009107"]}})
    assert config.watch.studies == ("NCT06009107",)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            {"databse": "x.db"}, "databse: unknown key (value 'x.db')", id="top-level-typo"
        ),
        pytest.param(
            {"ctgov": {"rate": 5}}, "[ctgov] rate: unknown key (value 5)", id="section-typo"
        ),
        pytest.param(
            {"notify": {"email": {"prot": 25}}}, "[notify.email] prot: unknown", id="nested"
        ),
        pytest.param(
            {"watch": {"studies": ["NCT1234"]}}, "[watch] studies[0]: 'NCT1234' is not", id="bad-id"
        ),
        pytest.param(
            {"watch": {"studies": "NCT06009107"}}, "[watch] studies: expected a list", id="not-list"
        ),
        pytest.param(
            {"ctgov": {"timeout": "30"}}, "[ctgov] timeout: expected a number, got '30'", id="type"
        ),
        pytest.param({"ctgov": {"timeout": True}}, "[ctgov] timeout: expected a number", id="bool"),
        pytest.param(
            {"ctgov": {"requests_per_minute": 0}}, "greater than 0, got 0", id="zero-rate"
        ),
        pytest.param({"ctgov": {"base_url": "http://example.org"}}, "must use https", id="http"),
        pytest.param({"schedule": {"every": "6 hours"}}, "[schedule] every: '6 hours'", id="every"),
        pytest.param(
            {"schedule": {"cron": "0 25 * * *"}}, "[schedule] cron: '0 25 * * *'", id="cron"
        ),
        pytest.param({"schedule": {"every": "1h", "cron": "0 7 * * *"}}, "not both", id="both"),
        pytest.param(
            {"schedule": {"timezone": "Mars/Base"}}, "'Mars/Base' is not a known", id="tz"
        ),
        pytest.param(
            {"notify": {"log": {"format": "xml"}}}, "[notify.log] format: 'xml'", id="fmt"
        ),
        pytest.param(
            {"notify": {"log": {"min_severity": "huge"}}}, "min_severity: 'huge'", id="sev"
        ),
        pytest.param({"notify": {"email": {"password": "x"}}}, "never read from the file", id="pw"),
        pytest.param(
            {"changes": {"severity": {"statuz": "major"}}}, "'statuz' is not a change", id="cat"
        ),
        pytest.param(
            {"watch": {"queries": [{"name": "q", "params": {"pageSize": "5"}}]}},
            "params.pageSize: only query.* and filter.*",
            id="query-param",
        ),
        pytest.param(
            {"changes": {"ignore": ["locatoins"]}}, "ignore[0]: 'locatoins' does", id="ign"
        ),
        pytest.param({"source": "no/such/dir"}, "source: 'no/such/dir' is neither", id="source"),
    ],
)
def test_refusals_name_key_and_value(data: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert expected in str(info.value)


def test_named_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(str(tmp_path / "missing.toml"))


def test_invalid_toml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("database = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(str(path))


def test_env_variable_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.toml"
    path.write_text('database = "db/h.db"\n')
    monkeypatch.setenv("TRIALMON_CONFIG", str(path))
    assert load_config().database == tmp_path / "db/h.db"


def test_no_config_file_means_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRIALMON_CONFIG", raising=False)
    assert load_config().source == "ctgov"


@pytest.mark.parametrize(("text", "seconds"), [("6h", 21600), ("30m", 1800), ("1d12h", 129600)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_loopback_http_is_allowed() -> None:
    config = parse_config({"ctgov": {"base_url": "http://127.0.0.1:8080/"}})
    assert config.registries["ctgov"].base_url == "http://127.0.0.1:8080"

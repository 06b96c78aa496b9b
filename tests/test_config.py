"""Config validation: every refusal names the key and the value."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from monitor.config import load_config, parse_config, parse_duration
from monitor.errors import ConfigError

from .conftest import ROOT, trialmon


def test_the_shipped_config_loads() -> None:
    config = load_config(str(ROOT / "config.toml"))
    assert config.watch.studies == ("NCT06009107", "2024-513060-26-00")
    assert config.source == "live"
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
    assert load_config().source == "live"  # every registry with something watched


@pytest.mark.parametrize(("text", "seconds"), [("6h", 21600), ("30m", 1800), ("1d12h", 129600)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


def test_loopback_http_is_allowed() -> None:
    config = parse_config({"ctgov": {"base_url": "http://127.0.0.1:8080/"}})
    assert config.registries["ctgov"].base_url == "http://127.0.0.1:8080"


# ---------------------------------------------------------------- hostile values

HOSTILE = [
    pytest.param(
        '[schedule]\ncron = "0 0 30 2 *"\n',
        "[schedule] cron: '0 0 30 2 *' never fires",
        id="cron-never",
    ),
    pytest.param(
        '[schedule]\nevery = "99999999999999d"\n',
        "[schedule] every: '99999999999999d' is longer than 366 days",
        id="every",
    ),
    pytest.param(
        "[schedule]\njitter = 9000000000000000000\n",
        "[schedule] jitter: must be at most 86400 (seconds), got 9000000000000000000",
        id="jitter",
    ),
    pytest.param(
        "[ctgov]\nrequests_per_minute = 1e-300\n",
        "[ctgov] requests_per_minute: must be at least 0.01, got 1e-300",
        id="rate",
    ),
    pytest.param(
        "[ctgov]\ntimeout = 1e300\n",
        "[ctgov] timeout: must be at most 3600 (seconds), got 1e+300",
        id="timeout",
    ),
    pytest.param(
        "[ctgov]\nmax_attempts = 9223372036854775808\n",
        "[ctgov] max_attempts: must be at most 100, got 9223372036854775808",
        id="attempts",
    ),
    pytest.param(
        "[notify.email]\ntimeout = 1e300\n",
        "[notify.email] timeout: must be at most 3600 (seconds)",
        id="smtp-timeout",
    ),
    pytest.param(
        '[notify.email]\nsender = "a@example.org\\r\\nBcc: evil@example.org"\n',
        "[notify.email] sender: 'a@example.org\\r\\nBcc: evil@example.org' has a line break "
        "or control character",
        id="sender-crlf",
    ),
    pytest.param(
        '[notify.email]\nrecipients = ["a@example.org\\nBcc: evil@example.org"]\n',
        "[notify.email] recipients[0]: 'a@example.org\\nBcc",
        id="recipient-lf",
    ),
    pytest.param(
        '[notify.email.study_recipients]\nNCT06009107 = ["a@example.org\\r"]\n',
        "[notify.email] study_recipients.NCT06009107[0]:",
        id="study-recipient",
    ),
    pytest.param(
        '[[watch.queries]]\nname = "q"\nparams = { "query.cond" = "x" }\n'
        'recipients = ["b@example.org\\u0000"]\n',
        "[[watch.queries]] #1 recipients[0]:",
        id="query-recipient",
    ),
    pytest.param(
        '[notify.email]\nhost = "smtp.example.org\\r\\nRSET"\n',
        "[notify.email] host: 'smtp.example.org\\r\\nRSET' has a line break",
        id="host",
    ),
    pytest.param(
        '[notify.email]\nusername = "me\\r\\n"\n', "[notify.email] username:", id="username"
    ),
    pytest.param(
        '[notify.email]\nsender = ""\n',
        "[notify.email] sender: must not be empty",
        id="sender-empty",
    ),
]


@pytest.mark.parametrize(("text", "expected"), HOSTILE)
def test_hostile_values_are_refused_at_start_with_exit_2(
    tmp_path: Path, text: str, expected: str
) -> None:
    """Each of these once ended in an internal error (exit 1, so systemd restarted the daemon
    forever), an idle daemon, or a delivery pending for good: now exit 2 naming the key."""
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    (tmp_path / "records").mkdir()
    result = trialmon("run", "--source", "records", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == f"trialmon: {expected}" or expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "snapshots").exists()


def test_the_limits_themselves_are_accepted() -> None:
    config = parse_config(
        {
            "schedule": {"every": "366d", "jitter": 86400},
            "ctgov": {"requests_per_minute": 0.01, "timeout": 3600, "max_attempts": 100},
            "notify": {"email": {"timeout": 3600, "sender": "Trial Monitor <tm@example.org>"}},
        }
    )
    assert config.schedule.every_seconds == 366 * 86400
    assert config.registries["ctgov"].timeout == 3600


def test_a_cron_that_fires_only_in_leap_years_is_accepted() -> None:
    assert parse_config({"schedule": {"cron": "0 0 29 2 *"}}).schedule.cron == "0 0 29 2 *"


def test_relative_paths_are_taken_from_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the README says, also for [notify.log] file and [notify.email] ca_file."""
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "ca.pem").write_text("not checked here\n")
    (folder / "config.toml").write_text(
        '[notify.log]\nfile = "logs/trialmon.log"\n[notify.email]\nca_file = "ca.pem"\n'
    )
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(str(folder / "config.toml"))
    assert config.notify.channels["log"].file == str(folder / "logs" / "trialmon.log")
    assert config.notify.channels["email"].ca_file == str(folder / "ca.pem")


def test_the_log_file_lands_next_to_the_config_whatever_the_working_folder(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    shutil.copytree(ROOT / "seeds", folder / "seeds")
    (folder / "config.toml").write_text(
        'database = "history.db"\nsource = "seeds/earlier"\n'
        '[notify.log]\nfile = "logs/trialmon.log"\nmin_severity = "info"\n'
    )
    (tmp_path / "cwd").mkdir()
    command = ["--config", str(folder / "config.toml"), "run"]
    for source in ("seeds/earlier", "seeds"):
        result = trialmon(*command, "--source", str(folder / source), cwd=tmp_path / "cwd")
        assert result.returncode == 0, result.stderr
    assert "WITHDRAWN" in (folder / "logs" / "trialmon.log").read_text()
    assert list((tmp_path / "cwd").iterdir()) == []

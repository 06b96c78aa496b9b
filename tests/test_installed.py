"""trialmon installed from its wheel into a fresh venv, used from an empty folder with HOME and
the XDG folders pointed at a temporary home: what `pip install` users and the container get.

The wheel is built once per session (`pip wheel --no-build-isolation`, no index). The fresh venv
gets the wheel with pip and finds the dependencies (already installed in the test venv) through
a .pth line: nothing is downloaded, and `monitor` is imported from the installed wheel, never
from this checkout (checked). The container test runs what the Dockerfile runs (its ENV, its
entry point and command, its healthcheck) against the same installation, since a container
engine cannot be assumed on the machine that runs the suite.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import feedparser
import pytest
import yaml  # PyYAML, installed with datasette (test extra)

from .conftest import ROOT

pytestmark = pytest.mark.slow
SEEDS = ROOT / "seeds"
NCT = "NCT06009107"


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    cmd += ["--no-index", "--wheel-dir", str(out), str(ROOT)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("trialmon-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed: returns its bin folder."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(purelib, "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    cmd = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    done = subprocess.run(
        [*cmd, "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return root / "bin"


@dataclass
class User:
    """Someone with the installed trialmon on PATH, in an empty folder of an empty home."""

    bin: Path
    home: Path
    cwd: Path

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIALMON_", "XDG_"))}
        env.pop("PYTHONPATH", None)
        env.update(
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_DATA_HOME=str(self.home / ".local" / "share"),
            PATH=f"{self.bin}{os.pathsep}{env.get('PATH', '')}",
        )
        return env

    def run(self, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["trialmon", *args], cwd=self.cwd, env=self.env, capture_output=True, text=True,
            timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == code, (args, done.stdout, done.stderr)
        return done

    @property
    def config(self) -> Path:
        return self.home / ".config" / "trialmon" / "config.toml"

    @property
    def database(self) -> Path:
        return self.home / ".local" / "share" / "trialmon" / "history.db"


@pytest.fixture
def user(venv: Path, tmp_path: Path) -> User:
    (tmp_path / "home").mkdir()
    (tmp_path / "reports").mkdir()
    return User(venv, tmp_path / "home", tmp_path / "reports")


def use_records(user: User, source: Path) -> Path:
    """Point the config at a directory of offline records, as a user edits the file."""
    records = user.home / "records"
    shutil.rmtree(records, ignore_errors=True)
    shutil.copytree(source, records, ignore=shutil.ignore_patterns("earlier", "README*"))
    text, found = re.subn(
        r'^source = ".*"', f'source = "{records}"', user.config.read_text(), flags=re.M
    )
    assert found == 1  # offline: the test never asks a real registry
    user.config.write_text(text)
    return records


# ---------------------------------------------------------------- the wheel


def test_the_wheel_carries_what_an_installation_needs(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "monitor/data/config.toml",
        "monitor/data/datasette-metadata.json",
        "monitor/data/systemd/trialmon.service",
        "monitor/data/systemd/trialmon-run.service",
        "monitor/data/systemd/trialmon-run.timer",
        "monitor/py.typed",
    ):
        assert needed in names
    dist = next(n for n in names if n.endswith(".dist-info/METADATA")).rsplit("/", 1)[0]
    assert f"{dist}/licenses/LICENSE" in names
    assert not [n for n in names if n.startswith(("tests/", "seeds/", "benchmarks/"))]


def test_monitor_comes_from_the_wheel_not_the_checkout(user: User) -> None:
    code = "import monitor; print(monitor.__file__, monitor.__version__)"
    done = subprocess.run(
        [str(user.bin / "python"), "-c", code], cwd=user.cwd, env=user.env,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    where, version = done.stdout.split()
    assert Path(where).is_relative_to(user.bin.parent) and not Path(where).is_relative_to(ROOT)
    assert version == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert user.run("--version").stdout == f"trialmon, version {version}\n"


# ---------------------------------------------------------------- a new user's first day


def test_from_an_empty_folder(user: User, tmp_path: Path) -> None:
    init = user.run("init")
    assert init.stdout.startswith(f"Wrote {user.config}\n")

    user.run("watch", "add", NCT, "nct02576665")
    assert user.run("watch", "list").stdout == f"{NCT}\nNCT02576665\n"
    user.run("watch", "remove", "NCT02576665")
    assert user.run("watch", "list", "--format", "ndjson").stdout == f'"{NCT}"\n'
    assert "# Saved searches" in user.config.read_text()  # the starter's comments stay

    use_records(user, SEEDS / "earlier")
    first = user.run("run")
    assert first.stdout.startswith("Checked 1 study: 1 new, 0 changed")
    assert user.database.is_file()  # in the user's data folder

    use_records(user, SEEDS)
    second = user.run("run")
    assert "1 changed" in second.stdout
    assert "[critical] Overall status: NOT_YET_RECRUITING → WITHDRAWN" in second.stderr

    quiet = user.run("run", "--quiet")
    assert (quiet.stdout, quiet.stderr) == ("", "")

    feed = tmp_path / "public" / "trials.xml"
    assert user.run("feed", "--output", str(feed)).stdout == f"Wrote {feed} (1 entry).\n"
    parsed = feedparser.parse(feed.read_bytes())
    assert not parsed.bozo and parsed.version == "atom10"
    assert parsed.entries[0].link == f"https://clinicaltrials.gov/study/{NCT}?tab=history"

    history = json.loads(user.run("history", NCT, "--format", "json").stdout)
    assert history["overall_status"] == "WITHDRAWN" and len(history["versions"]) == 2

    typo = user.run("--db", "snapshot/histroy.db", "changes", code=1)
    assert typo.stderr == (
        "trialmon: no database at 'snapshot/histroy.db' "
        "(check --db or `database`; `trialmon run` creates it)\n"
    )
    assert typo.stdout == ""
    assert list(user.cwd.iterdir()) == []  # nothing was ever written in the working folder


def test_shell_completion_as_the_readme_shows_it(user: User) -> None:
    env = {**user.env, "_TRIALMON_COMPLETE": "bash_source"}
    done = subprocess.run(["trialmon"], env=env, capture_output=True, text=True, check=True)
    assert "_trialmon_completion()" in done.stdout
    readme = (ROOT / "README.md").read_text()
    assert 'eval "$(_TRIALMON_COMPLETE=bash_source trialmon)"' in readme
    env = {
        **env,
        "_TRIALMON_COMPLETE": "bash_complete",
        "COMP_WORDS": "trialmon wa",
        "COMP_CWORD": "1",
    }
    done = subprocess.run(["trialmon"], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["plain,watch"]


def test_the_systemd_unit_names_the_installed_trialmon(user: User) -> None:
    unit = user.run("example", "trialmon.service").stdout
    assert f"ExecStart={user.bin / 'trialmon'} daemon\n" in unit


# ---------------------------------------------------------------- the container


@dataclass
class Dockerfile:
    env: dict[str, str]
    user: str
    workdir: str
    volumes: list[str]
    command: list[str]
    healthcheck: list[str]


def read_dockerfile(path: Path) -> Dockerfile:
    """The final stage's instructions that decide what the container runs (no engine needed)."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    final = text.split("\nFROM ")[-1]
    found: dict[str, list[str]] = {}
    for line in final.splitlines():
        keyword, _, rest = line.strip().partition(" ")
        found.setdefault(keyword, []).append(rest.strip())
    env: dict[str, str] = {}
    for rest in found["ENV"]:
        env.update(part.split("=", 1) for part in rest.split())  # type: ignore[misc]
    health = found["HEALTHCHECK"][0]
    return Dockerfile(
        env=env,
        user=found["USER"][-1],
        workdir=found["WORKDIR"][-1],
        volumes=json.loads(found["VOLUME"][-1]),
        command=json.loads(found["ENTRYPOINT"][-1]) + json.loads(found["CMD"][-1]),
        healthcheck=json.loads(health[health.index("CMD ") + 4 :]),
    )


def test_the_dockerfile_runs_the_daemon_as_a_non_root_user_on_a_volume() -> None:
    docker = read_dockerfile(ROOT / "Dockerfile")
    assert docker.user not in ("root", "0") and docker.command == ["trialmon", "daemon"]
    assert docker.volumes == ["/data"] and docker.workdir == "/data"
    for key in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME"):
        assert docker.env[key].startswith("/data"), key
    assert docker.healthcheck == ["trialmon", "status", "--check"]
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    service = compose["services"]["trialmon"]
    assert service["build"] == "." and "trialmon-data:/data" in service["volumes"]
    assert "trialmon-data" in compose["volumes"]


@pytest.fixture
def container(user: User, tmp_path: Path) -> Iterator[tuple[User, dict[str, str]]]:
    """The Dockerfile's environment with its /data volume at a temporary folder."""
    docker = read_dockerfile(ROOT / "Dockerfile")
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    env = {k: v.replace("/data", str(data)) for k, v in docker.env.items() if k != "PATH"}
    inside = User(user.bin, data, data)
    yield inside, {**inside.env, **env}


def test_what_the_container_runs(container: tuple[User, dict[str, str]]) -> None:
    inside, env = container
    docker = read_dockerfile(ROOT / "Dockerfile")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), cwd=inside.cwd, env=env, capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip

    assert run("trialmon", "init").returncode == 0  # docker compose run --rm trialmon init
    config = Path(env["XDG_CONFIG_HOME"]) / "trialmon" / "config.toml"
    records = inside.home / "records"
    shutil.copytree(SEEDS, records, ignore=shutil.ignore_patterns("earlier", "README*"))
    text, found = re.subn(
        r'^source = ".*"', f'source = "{records}"', config.read_text(), flags=re.M
    )
    assert found == 1  # offline: the test never asks a real registry
    config.write_text(text.replace('every = "6h"', 'every = "1h"'))
    assert run("trialmon", "watch", "add", NCT).returncode == 0
    assert run(*docker.healthcheck).returncode == 1  # no database yet: not healthy

    log = (inside.home / "daemon.log").open("w")
    daemon = subprocess.Popen(docker.command, cwd=inside.cwd, env=env, stdout=log, stderr=log)
    log.close()
    try:
        database = Path(env["XDG_DATA_HOME"]) / "trialmon" / "history.db"
        deadline = time.monotonic() + 60
        while "next cycle at" not in (inside.home / "daemon.log").read_text():
            assert daemon.poll() is None and time.monotonic() < deadline, (
                inside.home / "daemon.log"
            ).read_text()
            time.sleep(0.1)
        health = run(*docker.healthcheck)
        assert health.returncode == 0, health.stderr
        assert "Daemon: running" in health.stdout and database.is_file()
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            code = daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
            raise
    assert code == 0
    stopped = run(*docker.healthcheck)
    assert stopped.returncode == 1
    assert stopped.stderr == "trialmon: unhealthy: the daemon is not running\n"

"""The log channel: a readable text digest or JSON lines, to stderr or a file."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from monitor.errors import DeliveryError
from monitor.notify.digest import Digest, DigestChange, Notice, StudyDigest
from monitor.notify.log import LogNotifier, LogNotifyConfig

AT = "2026-11-26T20:03:14Z"


def digest() -> Digest:
    status = DigestChange(
        "status", "overallStatus", "critical", "Overall status: A → B", "A", "B", AT
    )
    title = DigestChange("description", "briefTitle", "minor", "Brief title reworded", "x", "y", AT)
    studies = (
        StudyDigest("NCT06009107", "Withdrawn trial", (status,)),
        StudyDigest("NCT02576665", None, (title,)),
    )
    return Digest(5, AT, studies, (Notice("NCT00000001", "failing", 3, "HTTP 503"),))


def test_text_groups_by_study_highest_severity_first() -> None:
    stream = io.StringIO()
    LogNotifier(LogNotifyConfig(), stream=stream).send(digest())
    text = stream.getvalue()
    assert text.startswith(f"{AT} trialmon run 5: 2 changes in 2 studies (1 critical)")
    assert text.index("NCT06009107 — Withdrawn trial") < text.index("NCT02576665")
    assert "  [critical] Overall status: A → B" in text  # the summary names the field
    assert "history: https://clinicaltrials.gov/study/NCT06009107?tab=history" in text
    assert "NCT00000001: failing for 3 cycles in a row: HTTP 503" in text


def test_json_is_one_object_per_change_per_line() -> None:
    stream = io.StringIO()
    LogNotifier(LogNotifyConfig(format="json"), stream=stream).send(digest())
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert lines[0] == {
        "trial_id": "NCT06009107",
        "registry": "ctgov",
        "category": "status",
        "severity": "critical",
        "field": "overallStatus",
        "old_value": "A",
        "new_value": "B",
        "summary": "Overall status: A → B",
        "detected_at": AT,
        "run_id": 5,
    }
    assert [line.get("event") for line in lines] == [None, None, "failing"]


def test_a_file_is_appended_to(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "trialmon.log"
    notifier = LogNotifier(LogNotifyConfig(file=str(path)))
    notifier.send(digest())
    notifier.notice("digest 1 on email given up")
    text = path.read_text()
    assert text.count("NCT06009107 — Withdrawn trial") == 1
    assert text.endswith("trialmon: digest 1 on email given up\n")


def test_default_stream_is_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    LogNotifier(LogNotifyConfig()).send(digest())
    out = capsys.readouterr()
    assert out.out == "" and "NCT06009107" in out.err


def test_an_unwritable_file_is_a_delivery_error(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file, not a folder")
    notifier = LogNotifier(LogNotifyConfig(file=str(tmp_path / "blocker" / "x.log")))
    with pytest.raises(DeliveryError, match="log channel cannot write"):
        notifier.send(digest())


def test_each_digest_in_a_log_file_starts_with_its_time_and_run(tmp_path: Path) -> None:
    path = tmp_path / "trialmon.log"
    notifier = LogNotifier(LogNotifyConfig(file=str(path)))
    first = Digest(5, AT, digest().studies)
    second = Digest(6, "2026-11-27T08:00:00Z", digest().studies)
    notifier.send(first)
    notifier.send(second)
    heads = [line for line in path.read_text().splitlines() if "trialmon run" in line]
    assert heads == [
        f"{AT} trialmon run 5: 2 changes in 2 studies (1 critical)",
        "2026-11-27T08:00:00Z trialmon run 6: 2 changes in 2 studies (1 critical)",
    ]
    assert notifier.delivered(second)  # the crash check still finds the digest at the end

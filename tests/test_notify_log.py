"""The log channel: a readable text digest or JSON lines, to stderr or a file."""

from __future__ import annotations

import errno
import io
import json
import os
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from monitor.errors import DeliveryError
from monitor.notify import log as log_module
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


# ---------------------------------------------------------------- a file, whole and once

EARLIER = "an earlier line\n"


def notifier_for(path: Path, fmt: str = "text") -> LogNotifier:
    path.write_text(EARLIER)
    return LogNotifier(LogNotifyConfig(file=str(path), format=fmt))


def test_a_write_cut_by_a_full_disk_leaves_nothing_and_the_retry_writes_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills after 40 bytes of the digest: ENOSPC from the next write."""
    path = tmp_path / "trialmon.log"
    notifier = notifier_for(path)
    real_write = os.write
    room = [40]

    def full_disk(fd: int, data: Any) -> int:
        if room[0] <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        written = real_write(fd, bytes(data[: room[0]]))
        room[0] -= written
        return written

    monkeypatch.setattr(log_module.os, "write", full_disk)
    with pytest.raises(DeliveryError, match="No space left on device"):
        notifier.send(digest())
    assert path.read_text() == EARLIER
    monkeypatch.setattr(log_module.os, "write", real_write)
    notifier.send(digest())
    assert path.read_text() == EARLIER + notifier.render(digest()) + "\n"


def test_a_failed_sync_takes_the_digest_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file system that finds no space only when the data goes to disk (fsync: ENOSPC/EIO)."""
    path = tmp_path / "trialmon.log"
    notifier = notifier_for(path)

    def no_space(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(log_module.os, "fsync", no_space)
    with pytest.raises(DeliveryError, match="Input/output error"):
        notifier.send(digest())
    assert path.read_text() == EARLIER


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("cut", [1, 30, 0.5, -1])
def test_a_partial_copy_left_by_a_kill_is_replaced_by_the_whole_digest(
    tmp_path: Path, fmt: str, cut: float
) -> None:
    """What a process killed while writing leaves: the start of the digest, cut anywhere
    (in a line, at a line's end, one byte short)."""
    path = tmp_path / "trialmon.log"
    notifier = notifier_for(path, fmt)
    whole = notifier.render(digest()) + "\n"
    at = int(len(whole) * cut) if isinstance(cut, float) else cut % len(whole)
    at = whole.index("\n") + 1 if cut == 0.5 and fmt == "json" else at  # at a line's end
    path.write_text(EARLIER + whole[:at])
    assert not notifier.delivered(digest())
    notifier.send(digest())
    assert path.read_text() == EARLIER + whole


def test_an_earlier_complete_digest_is_never_taken_for_a_partial_copy(tmp_path: Path) -> None:
    path = tmp_path / "trialmon.log"
    notifier = notifier_for(path)
    earlier = replace(digest(), notices=())  # the same studies, another header line
    notifier.send(earlier)
    notifier.send(digest())
    text = path.read_text()
    assert text == EARLIER + notifier.render(earlier) + "\n" + notifier.render(digest()) + "\n"


def test_the_file_is_created_private(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "trialmon.log"
    LogNotifier(LogNotifyConfig(file=str(path))).send(digest())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

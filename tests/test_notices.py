"""Studies that cannot be checked, and those checked again: subjects and digests that say so."""

from __future__ import annotations

from monitor.notify.digest import Digest, DigestChange, Notice, StudyDigest, render_text
from monitor.notify.digest_html import render_html

AT = "2026-11-26T20:03:14Z"
REASON = "registry request failed: HTTP 500 Internal Server Error (gave up after 6 attempts)"
IDS = [f"NCT0000000{n}" for n in range(1, 6)]


def failing(*ids: str, reason: str = REASON) -> tuple[Notice, ...]:
    return tuple(Notice(nct, "failing", 3, reason) for nct in ids)


def recovered(*ids: str) -> tuple[Notice, ...]:
    return tuple(Notice(nct, "recovered", 0, "") for nct in ids)


def a_change() -> StudyDigest:
    change = DigestChange("status", "status.overall_status", "critical", "Overall status: A → B",
                          "A", "B", AT)  # fmt: skip
    return StudyDigest("NCT06009107", "t", (change,))


def test_an_outage_has_its_own_subject() -> None:
    assert Digest(1, AT, (), failing(*IDS)).subject() == "[trialmon] 5 studies cannot be checked"
    one = Digest(1, AT, (), failing(IDS[0]))
    assert one.subject() == "[trialmon] 1 study cannot be checked"


def test_a_recovery_has_its_own_subject() -> None:
    digest = Digest(1, AT, (), recovered(*IDS))
    assert digest.subject() == "[trialmon] 5 studies can be checked again"


def test_changes_keep_the_contract_subject_and_add_the_notices() -> None:
    digest = Digest(1, AT, (a_change(),), failing(IDS[0]) + recovered(IDS[1], IDS[2]))
    assert digest.subject() == (
        "[trialmon] 1 change in 1 study (1 critical); 1 study cannot be checked; "
        "2 studies can be checked again"
    )


def test_one_line_per_reason_not_per_study() -> None:
    text = render_text(Digest(1, AT, (), failing(*IDS) + failing("NCT00000009", reason="HTTP 404")))
    assert text.count(REASON) == 1
    assert f"  {', '.join(IDS)}: failing for 3 cycles in a row: {REASON}" in text
    assert "  NCT00000009: failing for 3 cycles in a row: HTTP 404" in text


def test_recovered_studies_are_not_under_cannot_be_checked() -> None:
    text = render_text(Digest(1, AT, (), failing(IDS[0]) + recovered(IDS[1], IDS[2])))
    cannot, again = text.split("Studies that can be checked again:")
    assert "Studies that cannot be checked:" in cannot and IDS[0] in cannot
    assert "recovered" not in cannot
    assert f"  {IDS[1]}, {IDS[2]}: recovered, checked successfully again" in again
    only_again = render_text(Digest(1, AT, (), recovered(IDS[1])))
    assert "cannot be checked" not in only_again


def test_html_has_the_same_two_headings() -> None:
    html = render_html(Digest(1, AT, (), failing(IDS[0]) + recovered(IDS[1])))
    assert html.index("Studies that cannot be checked") < html.index(
        "Studies that can be checked again"
    )
    assert html.count("<li") == 2


def test_a_long_list_of_studies_is_cut() -> None:
    many = [f"NCT{n:08d}" for n in range(1, 41)]
    text = render_text(Digest(1, AT, (), failing(*many)))
    [line] = [line for line in text.splitlines() if REASON in line]
    assert line.startswith("  NCT00000001, NCT00000002,") and "and 30 more (40 studies)" in line

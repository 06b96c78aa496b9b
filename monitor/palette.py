"""The colours and type of everything trialmon draws: the HTML report and the HTML email."""

from __future__ import annotations

# severity -> (background, text) of its badge
SEVERITY_COLOURS: dict[str, tuple[str, str]] = {
    "critical": ("#c53030", "#ffffff"),
    "major": ("#dd6b20", "#ffffff"),
    "minor": ("#bee3f8", "#1a202c"),
    "info": ("#edf2f7", "#718096"),
}
FONT = "system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif"  # fits style=""
TEXT = "#1a202c"
MUTED = "#4a5568"
RULE = "#e2e8f0"
LINK = "#2b6cb0"


def badge_css() -> str:
    """The report's badge colours, one rule per severity."""
    return "".join(
        f".severity-{name} .badge{{background:{bg};color:{fg}}}"
        for name, (bg, fg) in SEVERITY_COLOURS.items()
    )

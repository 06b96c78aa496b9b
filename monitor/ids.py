"""Trial ids: the one place that knows their forms and which registry each form belongs to.

| registry | form | example |
|---|---|---|
| ``ctgov`` (ClinicalTrials.gov) | ``NCT`` + 8 digits | ``NCT06009107`` |
| ``ctis`` (EU CTIS) | ``YYYY-5NNNNN-CC-RR`` | ``2024-513060-26-00`` |
| ``isrctn`` (ISRCTN) | ``ISRCTN`` + 8 digits | ``ISRCTN12345678`` |

Every id a user types (``[watch] studies``, ``study_recipients``, ``trialmon watch add``, a
command's ``NCT_ID``) goes through :func:`normalize_trial_id`. Only the registries in
:data:`WATCHABLE` are accepted; an id of a known but not yet watchable registry is refused
with a message saying so, not as a typo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.errors import ConfigError


@dataclass(frozen=True)
class IdForm:
    registry: str
    label: str
    pattern: re.Pattern[str]
    described: str


FORMS = (
    IdForm("ctgov", "ClinicalTrials.gov", re.compile(r"^NCT\d{8}$"), "NCT followed by 8 digits"),
    IdForm("ctis", "EU CTIS", re.compile(r"^\d{4}-5\d{5}-\d{2}-\d{2}$"), "YYYY-5NNNNN-CC-RR"),
    IdForm("isrctn", "ISRCTN", re.compile(r"^ISRCTN\d{8}$"), "ISRCTN followed by 8 digits"),
)
# The registries this version fetches from; the registry plugins widen it.
WATCHABLE = frozenset({"ctgov"})


def form_of(trial_id: str) -> IdForm | None:
    """The form an (upper-cased, stripped) id has, whether or not it is watchable."""
    return next((f for f in FORMS if f.pattern.match(trial_id)), None)


def registry_of(trial_id: str) -> str | None:
    form = form_of(trial_id.strip().upper())
    return form.registry if form else None


def expected() -> str:
    """What an id must look like, for messages: ``an NCT id (NCT followed by 8 digits)``."""
    forms = [f for f in FORMS if f.registry in WATCHABLE]
    if len(forms) == 1 and forms[0].registry == "ctgov":
        return f"an NCT id ({forms[0].described})"
    return "a trial id (" + ", ".join(f"{f.label}: {f.described}" for f in forms) + ")"


def normalize_trial_id(value: str, where: str) -> str:
    """Upper-case and validate an id; ``where`` names the key or argument for the message."""
    trial_id = value.strip().upper()
    form = form_of(trial_id)
    if form is None:
        raise ConfigError(f"{where}: {value!r} is not {expected()}")
    if form.registry not in WATCHABLE:
        raise ConfigError(
            f"{where}: {value!r} is an {form.label} id; this version watches only {expected()}"
        )
    return trial_id

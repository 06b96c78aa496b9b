"""Pure: whether two names differ only in spelling, case, accents or encoding.

Registries re-encode names now and then: ``HÃ´pital`` (UTF-8 read as Windows-1252) becomes
``Hôpital`` again, ``CHU DE BORDEAUX`` becomes ``CHU de Bordeaux``. Such a site is the same
site, renamed; another hospital in the same city is not (``Hôpital Nord`` / ``Hôpital Sud``).
"""

from __future__ import annotations

import difflib
import re
import unicodedata

MIN_LENGTH = 12  # a spelling edit counts only in names at least this long (folded)
EDITS_PER = 12  # ... and one edited character per this many
DIGITS = re.compile(r"\d+")


def repair(text: str) -> str:
    """``HÃ´pital`` -> ``Hôpital``: UTF-8 bytes that were read as Windows-1252 or Latin-1."""
    if text.isascii():
        return text
    for codec in ("cp1252", "latin-1"):
        try:
            fixed = text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if fixed != text:
            return fixed
    return text


def fold(text: str) -> str:
    """Letters and digits only, repaired, without case or accents: ``hopitalnord``."""
    decomposed = unicodedata.normalize("NFKD", repair(text)).casefold()
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))


def edits(a: str, b: str) -> int:
    """Characters replaced, inserted or deleted from ``a`` to ``b`` (difflib's opcodes)."""
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return sum(
        max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal"
    )


def same_name(a: str | None, b: str | None) -> bool:
    """Whether ``a`` and ``b`` name the same thing, written differently (or are both missing)."""
    if a is None or b is None:
        return a is b
    fa, fb = fold(a), fold(b)
    if fa == fb:
        return True
    if DIGITS.findall(fa) != DIGITS.findall(fb):
        return False  # "Site 101" and "Site 102" are two sites, not one misspelt
    shorter = min(len(fa), len(fb))
    return shorter >= MIN_LENGTH and edits(fa, fb) <= max(1, shorter // EDITS_PER)

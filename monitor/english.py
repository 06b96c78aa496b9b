"""Counts in proper English for every text a person reads: ``1 study``, ``2 studies``."""

from __future__ import annotations

PLURALS: dict[str, str] = {"study": "studies", "query": "queries", "is": "are", "was": "were"}


def plural(word: str, n: int) -> str:
    """``word`` as it goes with ``n``: ``study`` for 1, ``studies`` otherwise."""
    if n == 1:
        return word
    return PLURALS.get(word, word + "s")


def count(n: int, word: str) -> str:
    """``1 study``, ``0 studies``, ``3 changes``."""
    return f"{n} {plural(word, n)}"

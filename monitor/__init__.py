"""trialmon: watch clinical-trial registry records and report what changed."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed package's metadata (the version is written
    once, in pyproject.toml) when first asked for: the lookup costs a cron run nothing."""
    if name != "__version__":
        raise AttributeError(f"module 'monitor' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("trialmon")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"

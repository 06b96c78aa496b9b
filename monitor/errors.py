"""The one exception tree of trialmon.

    TrialmonError                  base; carries a plain-words message for the user
    ├── ConfigError                bad config.toml or option (exit code 2)
    ├── UsageError                 bad command-line usage (exit code 2)
    ├── RecordError                one record cannot be read or has the wrong shape
    │   └── ParseError             a text page that cannot be parsed (names file and line)
    ├── SourceError                a source cannot produce records
    │   ├── DuplicateRecordError   two files of one study in one offline directory
    │   └── FetchError             an HTTP request failed
    │       ├── TransientFetchError    worth retrying: 429, 403, 5xx, timeouts, resets
    │       └── PermanentFetchError    not worth retrying: 400, 404, garbage body
    │           └── TooLargeError      an answer larger than a record may have (limits.py)
    ├── StoreError                 the database is unusable (exit code 1)
    ├── LockHeldError              another cycle holds the run lock
    ├── DeliveryError              a notification channel could not deliver a digest
    └── WriteError                 a file it was asked to write (config, feed) cannot be

Third-party exceptions are translated at the boundary (``raise FetchError(...) from e``).
"""

from __future__ import annotations


class TrialmonError(Exception):
    """Base of every error trialmon raises on purpose."""


class ConfigError(TrialmonError):
    """The configuration is unusable; the message names the key and the value."""


class UsageError(TrialmonError):
    """The command line is unusable."""


class RecordError(TrialmonError):
    """One record cannot be read or has the wrong shape."""


class ParseError(RecordError):
    """A registry page in text form cannot be parsed."""

    def __init__(self, path: str, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path = path
        self.line = line


class SourceError(TrialmonError):
    """A source cannot produce records."""


class DuplicateRecordError(SourceError):
    """Two files hold records of one study in one offline directory."""


class FetchError(SourceError):
    """An HTTP request to the registry failed."""


class TransientFetchError(FetchError):
    """A failure worth retrying later (throttling, server errors, timeouts)."""


class PermanentFetchError(FetchError):
    """A failure that retrying will not fix (bad id, unknown study, garbage body)."""


class TooLargeError(PermanentFetchError):
    """An answer larger than :data:`monitor.limits.MAX_RECORD_BYTES`: not read."""


class NotFoundError(PermanentFetchError):
    """The registry answered 404 for a study."""


class StoreError(TrialmonError):
    """The database cannot be opened or written."""


class LockHeldError(TrialmonError):
    """Another trialmon cycle holds the run lock."""


class DeliveryError(TrialmonError):
    """A notification channel could not deliver a digest."""


class WriteError(TrialmonError):
    """A file trialmon was asked to write (a config, a feed) cannot be written (exit code 1)."""

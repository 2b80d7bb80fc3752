"""The errors a loader raises: the document cannot be read, and the message says why."""

from __future__ import annotations


class LoaderError(ValueError):
    """A document that cannot be loaded; ``str(error)`` is a reason a person can act on."""


class NoTextError(LoaderError):
    """The document holds no text to index (an empty file, or nothing its parser extracts): a
    stored version of it is out of date, unlike one of a file that cannot be read."""


class LimitExceededError(LoaderError):
    """A document past one of the per-document limits (Settings; docs/ingestion.md):
    the reason names the limit, its value and the setting that raises it."""

    def __init__(self, limit: str, value: float, found: str) -> None:
        self.limit = limit
        self.value = value
        self.found = found
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        super().__init__(
            f"{found} (limit {limit}={shown}; raise RUAI_{limit.upper()} to ingest it)"
        )

    def __reduce__(self):
        return type(self), (self.limit, self.value, self.found)

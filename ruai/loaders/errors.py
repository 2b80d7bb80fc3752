"""The one error a loader raises: the document cannot be read, and the message says why."""

from __future__ import annotations


class LoaderError(ValueError):
    """A document that cannot be loaded; ``str(error)`` is a reason a person can act on."""

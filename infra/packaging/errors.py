"""The one error packaging raises."""
from __future__ import annotations

__all__ = ["PackagingError"]


class PackagingError(Exception):
    """A refusal or a failed check; the message is one line that says why."""

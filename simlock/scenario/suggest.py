"""The nearest known name to a misspelt one, for messages that say what was probably meant."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def nearest(name: object, known: Iterable[str]) -> str | None:
    """The known name closest to `name` (difflib's ratio of at least 0.6), or None."""
    found = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.6)
    return found[0] if found else None


def did_you_mean(name: object, known: Iterable[str]) -> str:
    """`"; did you mean 'surge'?"` to append to a message, or "" when nothing is close."""
    match = nearest(name, known)
    return f"; did you mean {match!r}?" if match is not None else ""

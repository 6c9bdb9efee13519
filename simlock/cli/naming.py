"""Default names of output folders, made from scenario names."""

from __future__ import annotations

import re

_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """A file-name-safe version of a scenario or variant name."""
    return _SLUG.sub("-", text.lower()).strip("-") or "scenario"

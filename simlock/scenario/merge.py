"""Merging a variant's overrides into the plain-data form of a policy."""

from __future__ import annotations

import copy
from typing import Any

_TAGS = ("distribution",)
"""Keys that say which kind of mapping a field holds: a different kind replaces, never merges."""


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge `override` into a copy of `base`: mappings merge key by key, anything else replaces.

    A mapping of another kind (a lognormal delay overridden by a fixed one) replaces the base
    mapping whole: merging would mix the fields of two distributions.
    """
    merged = copy.deepcopy(base)
    for key, value in override.items():
        current = merged.get(key)
        if isinstance(value, dict) and isinstance(current, dict) and _same_kind(current, value):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _same_kind(base: dict[str, Any], override: dict[str, Any]) -> bool:
    return all(tag not in override or override[tag] == base.get(tag) for tag in _TAGS)

"""Merging a scenario's parts over others: a variant's overrides over the policy, and a file over
the file it `extends`, with the same rules.

- Mappings merge key by key; anything else replaces what was there.
- A mapping of another kind (a lognormal delay overridden by a fixed one) replaces the base
  mapping whole: merging would mix the fields of two distributions.
- A list replaces the whole list, except that a list of named items (windows by `name`, regions
  by `id`) may be changed item by item with a mapping keyed by those names:
  `windows: {surge: {end: 2021-09-20}}` changes one window and keeps the others; `null` for a name
  removes that item. A name the list does not have is an error (`MergeError`), never a new item:
  a misspelt name must not add a window in silence. To add items, give the whole list.

`merge_located` merges and also says where each field of the result was written, so that a
problem found in the result is reported at the line (and file) where its value came from.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, TypeVar

from .rules import Loc
from .suggest import did_you_mean

_TAGS = ("distribution",)
"""Keys that say which kind of mapping a field holds: a different kind replaces, never merges."""

_ITEM_KEYS = ("id", "name")
"""What names an item of a list that a mapping may change item by item (the first one present)."""

_NOUNS = {"windows": "window", "regions": "region"}

T = TypeVar("T")


class MergeError(Exception):
    """An override names a list item the base does not have; `loc` is where in the override."""

    def __init__(self, loc: Loc, message: str, allowed: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message
        self.allowed = allowed


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Merge `override` into a copy of `base` by the rules of the module docstring."""
    return _Merger({}, {}).merge(base, override, (), (), ())


def merge_located(
    base: dict[str, Any],
    base_origins: dict[Loc, T],
    override: dict[str, Any],
    override_origins: dict[Loc, T],
) -> tuple[dict[str, Any], dict[Loc, T]]:
    """`deep_merge`, and the origin of each field path of the result: the override's origin
    where the override wrote the value, the base's elsewhere (origins are keyed by field path,
    e.g. lines of a file)."""
    merger = _Merger(base_origins, override_origins)
    merged = merger.merge(base, override, (), (), ())
    return merged, merger.out


def paths_in(value: Any, at: Loc = ()) -> dict[Loc, Loc]:
    """Every field path in `value`, mapped to itself: origins that name the path as written."""
    found: dict[Loc, Loc] = {at: at}
    if isinstance(value, dict):
        for key, child in value.items():
            found.update(paths_in(child, (*at, key)))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found.update(paths_in(child, (*at, i)))
    return found


@dataclass
class _Merger:
    base_origins: dict[Loc, Any]
    over_origins: dict[Loc, Any]

    def __post_init__(self) -> None:
        self.out: dict[Loc, Any] = {}

    def merge(self, base: dict[str, Any], over: dict[str, Any], at: Loc, b: Loc, o: Loc) -> Any:
        """`over` merged into `base`; `at` is the path in the result, `b` and `o` the paths of
        the same mapping in the base and the override."""
        self._note(at, self.over_origins.get(o, self.base_origins.get(b)))
        merged: dict[str, Any] = {}
        for key in [*base, *(k for k in over if k not in base)]:  # the base's order first
            current = base.get(key)
            if key not in over:
                merged[key] = copy.deepcopy(current)
                self._copy(self.base_origins, (*b, key), (*at, key))
                continue
            value = over[key]
            where = ((*at, key), (*b, key), (*o, key))
            if isinstance(value, dict) and isinstance(current, dict) and _same_kind(current, value):
                merged[key] = self.merge(current, value, *where)
            elif isinstance(value, dict) and _named(current):
                merged[key] = self._merge_items(current, value, *where)
            else:
                merged[key] = copy.deepcopy(value)
                self._copy(self.over_origins, (*o, key), (*at, key))
        return merged

    def _merge_items(
        self, items: list[dict[str, Any]], over: dict[str, Any], at: Loc, b: Loc, o: Loc
    ) -> list[Any]:
        """A list of named items changed item by item: `over` maps names to changes (null
        removes the item); the items keep their order."""
        names = [_name_of(item) for item in items]
        for name in over:
            if name not in names:
                noun = _NOUNS.get(str(at[-1]), "item")
                raise MergeError(
                    (*o, name),
                    f"no {noun} {name!r} to change" + did_you_mean(name, map(str, names)),
                    f"{', '.join(map(str, names)) or 'none'}; or a list, which replaces them all",
                )
        self._note(at, self.over_origins.get(o, self.base_origins.get(b)))
        merged: list[Any] = []
        for i, (item, name) in enumerate(zip(items, names, strict=True)):
            here = (*at, len(merged))
            if name not in over:
                merged.append(copy.deepcopy(item))
                self._copy(self.base_origins, (*b, i), here)
            elif isinstance(over[name], dict):
                merged.append(self.merge(item, over[name], here, (*b, i), (*o, name)))
            elif over[name] is not None:
                merged.append(copy.deepcopy(over[name]))
                self._copy(self.over_origins, (*o, name), here)
        return merged

    def _note(self, at: Loc, origin: Any) -> None:
        if origin is not None:
            self.out[at] = origin

    def _copy(self, origins: dict[Loc, Any], source: Loc, target: Loc) -> None:
        """The origins of everything at `source` (and below), now found at `target`."""
        for loc, origin in origins.items():
            if loc[: len(source)] == source:
                self.out[(*target, *loc[len(source) :])] = origin


def _same_kind(base: dict[str, Any], override: dict[str, Any]) -> bool:
    return all(tag not in override or override[tag] == base.get(tag) for tag in _TAGS)


def _name_of(item: dict[str, Any]) -> Any:
    return next(item[key] for key in _ITEM_KEYS if key in item)


def _named(value: Any) -> bool:
    """A list whose items are mappings that each have an id or a name."""
    return isinstance(value, list) and all(
        isinstance(item, dict) and any(key in item for key in _ITEM_KEYS) for item in value
    )

"""`extends: other.yaml`: a scenario file that builds on another instead of copying it.

The file named by `extends` (relative to the extending file) is read first, then the extending
file is merged over it by the rules variants follow (`merge`): mappings merge key by key, a list
replaces the whole list, windows (by name) and regions (by id) may be changed one at a time with
a mapping, and null removes an optional part. The other file may itself extend a third (a chain);
a file that comes back to itself is refused, naming the files in the cycle. Only the result is
validated, so a base may be a template that is not a whole scenario.

Each field of the result remembers the file and line it was written at, so a problem is
reported in the file that holds the value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from simlock.errors import Problem, ScenarioError, field_path

from .merge import MergeError, merge_located
from .rules import Loc
from .yamlio import LineMap, line_for, read_yaml

KEY = "extends"

Origin = tuple[str | None, int | None, Loc]
"""Where a field was written: its file and line (none for a mapping) and its path there."""

Origins = dict[Loc, Origin]
"""Field path in the merged document -> where it was written."""


def read_extended(path: Path) -> tuple[Any, LineMap, Origins]:
    """A scenario file with whatever it extends merged in: the document, the line of each field
    path, and where each field path was written (file, line, path as written there)."""
    data, lines = read_yaml(path)
    if not isinstance(data, dict) or KEY not in data:
        return data, lines, {}  # the file's own lines, keys as written (a key 2021 is "2021")
    merged, origins = _extend(
        data, _origins(data, str(path), lines), str(path), path.parent, (path.resolve(),)
    )
    lines = {loc: line for loc, (_, line, _) in origins.items() if line is not None}
    return merged, lines, origins


def extend_mapping(data: dict[str, Any]) -> dict[str, Any]:
    """A mapping (not a file) whose `extends` names a file relative to the current folder."""
    merged, _ = _extend(data, _origins(data, None, {}), None, Path.cwd(), ())
    return merged


def _read(path: Path, chain: tuple[Path, ...]) -> tuple[Any, Origins]:
    data, lines = read_yaml(path)
    origins = _origins(data, str(path), lines)
    if not isinstance(data, dict) or KEY not in data:
        return data, origins
    return _extend(data, origins, str(path), path.parent, (*chain, path.resolve()))


def _extend(
    data: dict[str, Any],
    origins: Origins,
    file: str | None,
    folder: Path,
    chain: tuple[Path, ...],
) -> tuple[dict[str, Any], Origins]:
    def problem(message: str, allowed: str | None = None, loc: Loc = (KEY,)) -> ScenarioError:
        line = origins.get(loc, origins.get((KEY,), (file, None, loc)))[1]
        return ScenarioError(
            [Problem(message, path=field_path(loc), file=file, line=line, allowed=allowed)]
        )

    named = data[KEY]
    if not isinstance(named, str) or not named.strip():
        raise problem(
            f"extends names another scenario file; got {named!r}",
            "a path relative to this file, such as september-2021.yaml",
        )
    base_path = folder / named
    if base_path.resolve() in chain:
        cycle = " -> ".join(_shown(p) for p in (*chain, base_path.resolve()))
        raise problem(
            f"{named} leads back to a file already being extended: a cycle ({cycle})",
            "a file that does not extend this one, directly or through others",
        )
    if not base_path.is_file():
        reason = "is a folder" if base_path.is_dir() else "does not exist"
        raise problem(
            f"{named} {reason} ({base_path})",
            "a scenario file, relative to the folder of the file that extends it",
        )
    base, base_origins = _read(base_path, chain)
    if not isinstance(base, dict):
        raise problem(f"{named} is not a mapping of scenario fields")
    own = {key: value for key, value in data.items() if key != KEY}
    own_origins = {loc: origin for loc, origin in origins.items() if loc[:1] != (KEY,)}
    base_origins = {loc: origin for loc, origin in base_origins.items() if loc != ()}
    try:
        return merge_located(base, base_origins, own, own_origins)
    except MergeError as exc:
        raise problem(exc.message, exc.allowed, exc.loc) from None


def _origins(data: Any, file: str | None, lines: LineMap) -> Origins:
    """The file and line of every field path of `data` (the line of its nearest written
    parent where the file has none)."""
    found: Origins = {}

    def walk(value: Any, at: Loc) -> None:
        found[at] = (file, line_for(lines, at), at)
        if isinstance(value, dict):
            for key, child in value.items():
                walk(child, (*at, key))
        elif isinstance(value, list):
            for i, child in enumerate(value):
                walk(child, (*at, i))

    walk(data, ())
    return found


def _shown(path: Path) -> str:
    """A path as short as it can be read: relative to the current folder when it is below it."""
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)

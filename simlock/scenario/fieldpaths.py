"""Field paths into a scenario document: `regions.CU.activations[0].rate_per_day`.

Names joined by dots; list items by index (`[0]`), all of them (`[*]`), or by their `id` or
`name` (`regions.UA-43`, `policy.windows.surge`). Used by sweeps and uncertain inputs to read
and set a field in a scenario's plain-data form before it is validated again
(`simlock.scenario.loader.with_values`).
"""

from __future__ import annotations

import re
from typing import Any

from simlock.errors import Problem, SimlockError

from .suggest import did_you_mean

_TOKEN = re.compile(r"\[(\d+|\*)\]|([^.\[\]]+)|(\.)")


class PathError(SimlockError):
    """A field path that does not lead to a field of the scenario; `allowed` lists what is
    there instead."""

    def __init__(self, message: str, allowed: list[str] | None = None) -> None:
        super().__init__(message)
        self.allowed = allowed


def tokens(path: str) -> list[str | int]:
    """`regions.CU.activations[0].rate_per_day` -> ["regions", "CU", "activations", 0, ...];
    `[*]` becomes -1 (every item)."""
    parts: list[str | int] = []
    position = 0
    expect_name = True
    for match in _TOKEN.finditer(path):
        if match.start() != position:
            break
        position = match.end()
        index, name, dot = match.groups()
        if dot:
            if expect_name:
                raise PathError(f"empty field name at character {match.start() + 1}")
            expect_name = True
        elif name is not None:
            if not expect_name:
                raise PathError(f"missing '.' before {name!r}")
            parts.append(name.strip())
            expect_name = False
        else:
            if not parts:
                raise PathError("a path starts with a field name, not an index")
            parts.append(-1 if index == "*" else int(index))
            expect_name = False
    if position != len(path) or expect_name or not parts:
        raise PathError(
            "not a field path; write field names joined by dots, list items as [0], [*] "
            "or by their id/name (e.g. policy.windows.surge.coverage)"
        )
    return parts


def assign(node: Any, tokens: list[str | int], value: Any, *, dry_run: bool = False) -> Any:
    """Set the field at `tokens` to `value` (every match for [*]); return the value set, which is
    rounded to an integer when the field holds one. `dry_run` only checks the path."""
    token, rest = tokens[0], tokens[1:]
    applied = value
    for container, key in _select(node, token):
        if rest:
            child = container[key]
            if child is None:
                raise PathError(
                    f"{key!r} is not set (null) in this scenario; give it in the scenario "
                    "before sweeping its fields"
                )
            if not isinstance(child, dict | list):
                raise PathError(f"{key!r} is a value, it has no field {rest[0]!r}")
            applied = assign(child, rest, value, dry_run=dry_run)
        elif not dry_run:
            applied = _coerce(value, container[key])
            container[key] = applied
    return applied


def values_at(node: Any, tokens: list[str | int]) -> list[Any]:
    """The values at `tokens` (one per match of [*]); raises `PathError` like `assign`."""
    token, rest = tokens[0], tokens[1:]
    found: list[Any] = []
    for container, key in _select(node, token):
        child = container[key]
        if not rest:
            found.append(child)
        elif isinstance(child, dict | list):
            found.extend(values_at(child, rest))
        else:
            raise PathError(
                f"{key!r} is not set (null) in this scenario"
                if child is None
                else f"{key!r} is a value, it has no field {rest[0]!r}"
            )
    return found


def _select(node: Any, token: str | int) -> list[tuple[Any, Any]]:
    if isinstance(node, dict):
        if isinstance(token, int):
            raise PathError("a mapping has no list index; name a field", _names_in(node))
        if token not in node:
            names = _names_in(node)
            raise PathError(f"no field {token!r}" + did_you_mean(token, names), names)
        return [(node, token)]
    if token == -1:
        return [(node, i) for i in range(len(node))]
    if isinstance(token, int):
        if not 0 <= token < len(node):
            raise PathError(f"index {token} is out of range", _names_in(node))
        return [(node, token)]
    for i, item in enumerate(node):
        if isinstance(item, dict) and token in (item.get("id"), item.get("name")):
            return [(node, i)]
    names = _names_in(node)
    raise PathError(f"no item with id or name {token!r}" + did_you_mean(token, names), names)


def _names_in(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [str(k) for k in node]
    named = [
        str(item.get("id") or item.get("name"))
        for item in node
        if isinstance(item, dict) and (item.get("id") or item.get("name"))
    ]
    return [*named, f"[0]..[{len(node) - 1}]", "[*]"] if node else []


def _coerce(value: Any, current: Any) -> Any:
    """Sampled numbers are floats; a field that holds an integer gets the nearest integer."""
    if getattr(value, "shape", None) == () and callable(getattr(value, "item", None)):
        value = value.item()  # a numpy scalar from a design: its plain Python value
    if isinstance(current, int) and not isinstance(current, bool) and isinstance(value, float):
        return round(value)
    return value


def path_problem(
    exc: PathError, index: int, path: str, file: str | None, lines: dict[Any, int]
) -> Problem:
    location = ("sweep", "parameters", index, "path")
    return Problem(
        f"{path!r}: {exc}",
        path=f"sweep.parameters[{index}].path",
        file=file,
        line=lines.get(location),
        allowed=", ".join(exc.allowed) if exc.allowed else None,
    )

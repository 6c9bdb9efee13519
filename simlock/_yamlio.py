"""Safe YAML reading with line numbers, and refusal of files that are too big or too deep.

Scenario files are data: only PyYAML's SafeLoader is used, so no tag can construct a Python
object. Aliases are allowed (they are handy for variants) but their expansion is bounded, so a
"billion laughs" file is refused before anything walks it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import Problem, ScenarioError

MAX_FILE_BYTES = 2_000_000
"""Scenario files are a few kilobytes; anything this large is a mistake or an attack."""

MAX_EXPANDED_NODES = 200_000
"""Upper bound on YAML nodes after alias expansion (a billion-laughs file has ~10^9)."""

MAX_DEPTH = 60
"""Deepest nesting accepted; real scenarios nest about six levels."""

LineMap = dict[tuple[str | int, ...], int]


def read_yaml(path: Path) -> tuple[Any, LineMap]:
    """Read a YAML file; return the data and a map from field path to 1-based line number."""
    file = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ScenarioError([Problem(f"cannot read the file: {exc.strerror}", file=file)]) from None
    if path.is_dir():
        raise ScenarioError([Problem("is a folder, not a scenario file", file=file)])
    if size > MAX_FILE_BYTES:
        raise ScenarioError(
            [
                Problem(
                    f"file is {size:,} bytes; scenario files are limited to {MAX_FILE_BYTES:,}",
                    file=file,
                )
            ]
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError([Problem(f"cannot read the file: {exc.strerror}", file=file)]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            [Problem(f"is not UTF-8 text (byte {exc.start}); save the file as UTF-8", file=file)]
        ) from None
    return parse_yaml(text, file)


def parse_yaml(text: str, file: str | None = None) -> tuple[Any, LineMap]:
    """Parse YAML text safely; see `read_yaml`."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError([Problem(f"not valid YAML: {reason}", file=file, line=line)]) from None
    except RecursionError:
        raise ScenarioError([Problem("YAML nested too deeply", file=file)]) from None
    if node is None:
        raise ScenarioError([Problem("file is empty; a scenario is a YAML mapping", file=file)])
    _check_size(node, file)
    lines: LineMap = {}
    _collect_lines(node, (), lines)
    try:
        data = yaml.SafeLoader(text).get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ScenarioError([Problem(f"not valid YAML: {reason}", file=file, line=line)]) from None
    except (ValueError, OverflowError, RecursionError) as exc:
        raise ScenarioError([Problem(f"a value cannot be read: {exc}", file=file)]) from None
    return data, lines


def _check_size(root: yaml.Node, file: str | None) -> None:
    """Refuse alias bombs and absurd nesting by counting nodes as if aliases were expanded."""
    memo: dict[int, int] = {}

    def expanded(node: yaml.Node, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise ScenarioError([Problem(f"nested deeper than {MAX_DEPTH} levels", file=file)])
        key = id(node)
        if key in memo:
            return memo[key]
        total = 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += expanded(k, depth + 1) + expanded(v, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                total += expanded(v, depth + 1)
        memo[key] = total
        if total > MAX_EXPANDED_NODES:
            raise ScenarioError(
                [
                    Problem(
                        "YAML expands to more than "
                        f"{MAX_EXPANDED_NODES:,} values (too many aliases?); refused",
                        file=file,
                        line=node.start_mark.line + 1,
                    )
                ]
            )
        return total

    expanded(root, 0)


def _collect_lines(node: yaml.Node, path: tuple[str | int, ...], out: LineMap) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else str(k.start_mark)
            out.setdefault((*path, key), k.start_mark.line + 1)
            _collect_lines(v, (*path, key), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _collect_lines(v, (*path, i), out)


def line_for(lines: LineMap, path: tuple[str | int, ...]) -> int | None:
    """The line of the deepest known prefix of `path` (a missing field points at its parent)."""
    for cut in range(len(path), -1, -1):
        found = lines.get(tuple(path[:cut]))
        if found is not None:
            return found
    return None

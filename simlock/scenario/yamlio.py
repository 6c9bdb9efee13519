"""Safe YAML reading with line numbers, and refusal of files that are too big or too deep.

Scenario files are data: only PyYAML's SafeLoader is used, so no tag can construct a Python
object. Aliases are allowed (they are handy for variants) but their expansion is bounded, so a
"billion laughs" file is refused before anything walks it. A key given twice in one mapping is an
error (YAML keeps the last silently). A scalar that looks like a date or a number but is not one
(2021-02-30, an integer of 5,000 digits) stays text, so validation reports it at its field and
line instead of the whole file failing to load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from simlock.errors import Problem, ScenarioError, field_path

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
    return parse_yaml(_decode(raw, file), file)


_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}


def _decode(raw: bytes, file: str) -> str:
    """UTF-8 text (a BOM is allowed); any other encoding is named when it can be recognised."""
    for bom, name in _BOMS.items():
        if raw.startswith(bom):
            raise ScenarioError(
                [Problem(f"is {name} text; save the file as UTF-8", file=file, line=1)]
            )
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise ScenarioError(
            [
                Problem(
                    "holds NUL bytes: a binary file, or UTF-16/UTF-32 text; save it as UTF-8 text",
                    file=file,
                    line=line,
                )
            ]
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ScenarioError(
            [
                Problem(
                    f"is not UTF-8 text (byte {exc.start}: {raw[exc.start : exc.start + 1]!r}, "
                    "perhaps Latin-1 or Windows-1252); save the file as UTF-8",
                    file=file,
                    line=line,
                )
            ]
        ) from None


_SafeBase: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML was built with it (ten times faster), else the pure-Python one;
both construct only plain data."""


class _Loader(_SafeBase):  # type: ignore[misc]
    """A safe loader whose numbers and dates that cannot be built stay text (see module doc)."""


def _lenient(build: Any) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
        try:
            return build(loader, node)
        except (ValueError, OverflowError):
            return loader.construct_scalar(node)

    return construct


for _tag, _build in (
    ("tag:yaml.org,2002:int", yaml.SafeLoader.construct_yaml_int),
    ("tag:yaml.org,2002:float", yaml.SafeLoader.construct_yaml_float),
    ("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_yaml_timestamp),
):
    _Loader.add_constructor(_tag, _lenient(_build))


def parse_yaml(text: str, file: str | None = None) -> tuple[Any, LineMap]:
    """Parse YAML text safely; see `read_yaml`."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise _not_yaml(exc, file) from None
    except RecursionError:
        raise ScenarioError([Problem("YAML nested too deeply", file=file)]) from None
    if node is None:
        raise ScenarioError([Problem("file is empty; a scenario is a YAML mapping", file=file)])
    _check_size(node, file)
    lines: LineMap = {}
    _collect_lines(node, (), lines, file)
    try:
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _not_yaml(exc, file) from None
    except (ValueError, OverflowError, RecursionError) as exc:
        raise ScenarioError([Problem(f"a value cannot be read: {exc}", file=file)]) from None
    return data, lines


def _not_yaml(exc: yaml.YAMLError, file: str | None) -> ScenarioError:
    """The parser's complaint, at the line where it noticed, with where the construct began."""
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and start is not None and start.line + 1 != line:
        reason += f" ({context.removeprefix('while ')} that starts on line {start.line + 1})"
    return ScenarioError([Problem(f"not valid YAML: {reason}", file=file, line=line)])


def _check_size(root: yaml.Node, file: str | None) -> None:
    """Refuse alias bombs and absurd nesting by measuring nodes as if aliases were expanded.

    An alias reuses a node, so each node is measured once (its expanded size and height) and the
    depth is checked against where it is used: a chain of aliases cannot hide a deep nesting,
    and an alias to a node inside itself is too deep.
    """
    memo: dict[int, tuple[int, int]] = {}

    def too_deep(node: yaml.Node) -> ScenarioError:
        return ScenarioError(
            [
                Problem(
                    f"nested deeper than {MAX_DEPTH} levels",
                    file=file,
                    line=node.start_mark.line + 1,
                )
            ]
        )

    def expanded(node: yaml.Node, depth: int) -> tuple[int, int]:
        """(values after expansion, levels below) of `node`, used at `depth`."""
        if depth > MAX_DEPTH:
            raise too_deep(node)
        key = id(node)
        if key in memo:
            total, height = memo[key]
            if depth + height > MAX_DEPTH:
                raise too_deep(node)
            return total, height
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        total, height = 1, 0
        for child in children:
            size, below = expanded(child, depth + 1)
            total += size
            height = max(height, below + 1)
        memo[key] = (total, height)
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
        return total, height

    expanded(root, 0)


def _collect_lines(
    node: yaml.Node, path: tuple[str | int, ...], out: LineMap, file: str | None = None
) -> None:
    """Map every field path to its line; refuse a key given twice in one mapping."""
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for k, v in node.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else str(k.start_mark)
            line = k.start_mark.line + 1
            if key in seen and key != "<<":
                shown = field_path((*path, key))
                raise ScenarioError(
                    [
                        Problem(
                            f"{key!r} is given twice in the same mapping (first on line "
                            f"{seen[key]}); YAML would silently keep the last one",
                            path=shown,
                            file=file,
                            line=line,
                            allowed="each key once",
                        )
                    ]
                )
            seen[key] = line
            out.setdefault((*path, key), line)
            _collect_lines(v, (*path, key), out, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _collect_lines(v, (*path, i), out, file)


def line_for(lines: LineMap, path: tuple[str | int, ...]) -> int | None:
    """The line of the deepest known prefix of `path` (a missing field points at its parent)."""
    for cut in range(len(path), -1, -1):
        found = lines.get(tuple(path[:cut]))
        if found is not None:
            return found
    return None

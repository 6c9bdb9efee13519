"""Loading scenarios from files or mappings, and turning validation errors into plain words.

Every problem becomes a `Problem` with the file, the line where known, the field path in the
file's own terms (`regions[2].signals.vpn_share`), what was wrong and what is allowed. Unknown
keys get the nearest valid name suggested.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from simlock.errors import Problem, ScenarioError, field_path

from . import fieldpaths
from . import uncertain as uncertain_inputs
from .expectation_specs import problems as expectation_problems
from .extending import KEY, Origin, Origins, extend_mapping, read_extended
from .models import BASELINE, NAME_PATTERN, REGION_PATTERN, Policy, Scenario
from .references import problems as reference_problems
from .rules import RULE, Loc
from .uncertain import strip_annotation as _strip
from .yamlio import LineMap, line_for


def load_scenario(source: str | Path | Mapping[str, Any] | Scenario) -> Scenario:
    """Load and validate a scenario from a YAML file path, a mapping, or a `Scenario` (built or
    changed by hand, validated again whole: its variants and expectations too).

    Raises `ScenarioError` listing every problem found; the messages are the ones
    `simlock validate` prints.
    """
    if isinstance(source, Scenario):
        return _validate(source.model_dump(by_alias=True), file=None, lines={})
    if isinstance(source, Mapping):
        data = dict(source)
        return _validate(extend_mapping(data) if KEY in data else data, file=None, lines={})
    if not isinstance(source, str | Path):
        raise ScenarioError(
            [
                Problem(
                    f"cannot load a scenario from {type(source).__name__}",
                    allowed="a path to a YAML file, a mapping of fields, or a Scenario",
                )
            ]
        )
    return load_file(Path(source))[0]


def load_file(path: Path) -> tuple[Scenario, LineMap]:
    """`load_scenario` of a file, with the line of each field path in it: a caller that finds
    problems of its own later (a sweep's parameters) names their lines without reading it again."""
    data, lines, origins = read_extended(path)
    return _validate(data, file=str(path), lines=lines, origins=origins), lines


def load_with_warnings(
    source: str | Path | Mapping[str, Any] | Scenario,
) -> tuple[Scenario, list[str]]:
    """`load_scenario`, plus warnings: things that are allowed but probably not meant."""
    scenario = load_scenario(source)
    return scenario, scenario.warnings()


def _validate(
    data: Any, file: str | None, lines: LineMap, origins: Origins | None = None
) -> Scenario:
    """`data` validated whole, every problem at its file and line: `origins` says where each
    field path was written when `data` merges files (`extends`), each problem is reported there,
    at the path as written in that file."""
    where = _Where(file, lines, origins or {})
    if not isinstance(data, dict):
        kind = _KINDS.get(type(data), type(data).__name__) if data is not None else "nothing"
        raise ScenarioError(
            [
                Problem(
                    f"a scenario is a YAML mapping of fields, this file holds {kind}",
                    file=where.file_at(()),
                    line=where.line_at(()),
                    allowed="name: ..., start: ..., end: ..., regions: [...], policy: {...}",
                )
            ]
        )
    non_text = [k for k in data if not isinstance(k, str)]
    if non_text:
        raise ScenarioError(
            [
                Problem(
                    f"field names must be text, found {non_text[0]!r}",
                    file=where.file_at((str(non_text[0]),)),
                    line=where.line_at((str(non_text[0]),)),
                )
            ]
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_problems(exc, Scenario, data, (), where)) from None
    problems: list[Problem] = []
    for name, override in scenario.variants.items():
        try:
            scenario.merged_policy(name)
        except ValidationError as exc:
            problems.extend(_problems(exc, Policy, override, ("variants", name), where))
    for loc, message, allowed in [
        *expectation_problems(scenario),
        *reference_problems(scenario),
        *uncertain_problems(scenario),
    ]:
        problems.append(
            Problem(
                message,
                path=field_path(where.path_at(loc)),
                file=where.file_at(loc),
                line=where.line_at(loc),
                allowed=allowed,
            )
        )
    if problems:
        raise ScenarioError(problems)
    return scenario


def uncertain_problems(scenario: Scenario) -> list[tuple[Loc, str, str | None]]:
    """The `uncertain:` section's problems, once the rest of the scenario is valid (an input's
    path and bounds mean nothing in a scenario whose variants are broken)."""
    return [tuple(p) for p in uncertain_inputs.problems(scenario)]  # type: ignore[misc]


def with_values(
    source: Scenario | Mapping[str, Any], values: Mapping[str, Any], *, keep_uncertain: bool = False
) -> tuple[Scenario, dict[str, Any]]:
    """The scenario with each field path in `values` set, validated like a file, and the values
    as set (rounded where the field holds an integer; one per path).

    The one place that applies values by path: a sweep's points, a draw of the uncertain inputs,
    a world from a posterior. A scenario with its inputs set no longer declares them uncertain
    (unless `keep_uncertain`). Raises `ScenarioError` when a path reaches no field or the values
    give an invalid scenario.
    """
    if isinstance(source, Scenario):
        doc = source.model_dump(by_alias=True)
    else:
        doc = copy.deepcopy(dict(source))
    if not keep_uncertain:
        doc.pop("uncertain", None)
    applied: dict[str, Any] = {}
    for path, value in values.items():
        try:
            applied[path] = fieldpaths.assign(doc, fieldpaths.tokens(path), value)
        except fieldpaths.PathError as exc:
            allowed = ", ".join(exc.allowed) if exc.allowed else None
            raise ScenarioError([Problem(f"{path!r}: {exc}", path=path, allowed=allowed)]) from None
    return _validate(doc, file=None, lines={}), applied


def scenario_error(
    exc: ValidationError, model: type[BaseModel], written: Any, prefix: Loc = ()
) -> ScenarioError:
    """pydantic's errors for `written` (validated as `model`, at `prefix` in a scenario) as a
    `ScenarioError` in the file's own terms, for a scenario that has no file."""
    return ScenarioError(_problems(exc, model, written, prefix, _Where(None, {}, {})))


_KINDS = {list: "a list", str: "text", int: "a number", float: "a number", bool: "true/false"}


def _problems(
    exc: ValidationError,
    model: type[BaseModel],
    written: Any,
    prefix: Loc,
    where: _Where,
) -> list[Problem]:
    """One `Problem` per field path: pydantic's errors in the file's own terms, with what is
    allowed there. A value that fits no member of a union gives one problem, not one per member.
    `written` is the document `model` validated, as written (for list items named by a rule)."""
    found: dict[str, Problem] = {}
    for err in exc.errors(include_url=False):
        at = _walk(model, _as_written(tuple(err["loc"]), written))
        full = (*prefix, *at.loc)
        path = field_path(where.path_at(full))
        message, allowed = _explain(err, at)
        if path in found and err["type"] not in (RULE, "extra_forbidden"):
            continue
        key = path if err["type"] not in (RULE, "extra_forbidden") else f"{path}\0{message}"
        found[key] = Problem(
            message, path=path, file=where.file_at(full), line=where.line_at(full), allowed=allowed
        )
    return list(found.values())


@dataclass(frozen=True)
class _Where:
    """Where a document's fields were written: its file, the line of each field path and, for a
    document merged from several files, each path's file and path as written there."""

    file: str | None
    lines: LineMap
    origins: Origins

    def line_at(self, loc: Loc) -> int | None:
        return line_for(self.lines, loc)

    def file_at(self, loc: Loc) -> str | None:
        """The file of the deepest known prefix of `loc` (the one `line_at` gives the line of)."""
        origin = self._origin(loc)
        return origin[1][0] if origin is not None else self.file

    def path_at(self, loc: Loc) -> Loc:
        """`loc` as written in its file: a window changed by name is `windows.surge`, not its
        index in the merged list."""
        origin = self._origin(loc)
        if origin is None:
            return loc
        cut, (_, _, written) = origin
        return (*written, *loc[cut:])

    def _origin(self, loc: Loc) -> tuple[int, Origin] | None:
        for cut in range(len(loc), -1, -1):
            if loc[:cut] in self.origins:
                return cut, self.origins[loc[:cut]]
        return None


def _as_written(loc: Loc, written: Any) -> Loc:
    """`loc` with a list item given by its name (a rule names a window: the validator sorts
    windows by start) turned into the item's index in the list as written."""
    out: list[str | int] = []
    node = written
    for part in loc:
        if isinstance(node, list) and isinstance(part, str):
            part = _index_of(node, part)
        out.append(part)
        node = _child(node, part)
    return tuple(out)


def _index_of(items: list[Any], name: str) -> str | int:
    """The index of the item called `name` in a written list (`name` itself if none is)."""
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == name:
            return i
    return name


def _child(node: Any, part: str | int) -> Any:
    """The part of a written document at `part`, or None where the document has nothing there."""
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def _explain(err: Any, at: _Place) -> tuple[str, str | None]:
    """What was wrong (pydantic's words, made plain where they are not) and what is allowed."""
    kind = err["type"]
    context = err.get("ctx") or {}
    message = str(err["msg"]).removeprefix("Value error, ")
    allowed = _describe(at.annotation, at.metadata)
    if kind == RULE:
        return message, context.get("allowed")
    if kind == "extra_forbidden":
        known = _field_names(at.parent)
        name = str(at.loc[-1]) if at.loc else "?"
        nearest = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        hint = f"; did you mean '{nearest[0]}'?" if nearest else ""
        return f"unknown field {name!r}{hint}", ", ".join(sorted(known)) or None
    if kind == "missing":
        return "this field is required", allowed
    if kind == "union_tag_not_found":
        tag = context.get("discriminator", "distribution").strip("'")
        return f"'{tag}' is required here", allowed
    if kind == "union_tag_invalid":
        tag = context.get("discriminator", "distribution").strip("'")
        return f"unknown {tag} {context.get('tag')!r}", allowed
    if kind == "string_pattern_mismatch":
        message = "not in the expected form"
    if at.loc[:1] == ("variants",) and len(at.loc) == 2 and kind == "dict_type":
        message = "a variant is a mapping of policy fields to override"
        allowed = "e.g. {lift: null} or {warning: {grace_days: 3}}"
    return f"{message}; got {_shown(err.get('input'))}", allowed


def _shown(value: Any) -> str:
    shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


@dataclass(frozen=True)
class _Place:
    """Where an error is: its path in the file's terms, the annotation and constraints there, and
    the model holding the field (for suggesting names)."""

    loc: Loc
    annotation: Any
    metadata: tuple[Any, ...]
    parent: Any


def _walk(model: type[BaseModel], raw: Loc) -> _Place:
    """Follow pydantic's error location through the models' annotations.

    pydantic adds parts that are not in the file (the union member it tried, `[key]` for a
    mapping's key); they are dropped from the path, and the union member narrows the annotation.
    """
    annotation: Any = model
    metadata: tuple[Any, ...] = ()
    parent: Any = None
    key: Any = None
    loc: list[str | int] = []
    for part in raw:
        if part == "[key]" and key is not None:
            annotation, metadata = _strip(key)
            continue
        annotation, more = _strip(annotation)
        metadata = more or metadata
        member = _union_member(annotation, part)
        if member is not None:
            annotation, metadata = member, ()
            continue
        origin = typing.get_origin(annotation)
        if _is_model(annotation) and isinstance(part, str):
            parent = annotation
            field = _field_by_name(annotation, part)
            loc.append(part)
            if field is None:
                annotation, metadata = None, ()
                continue
            annotation, metadata = field.annotation, tuple(field.metadata)
        elif origin is dict:
            loc.append(str(part))  # a key, even one YAML read as a number
            key, annotation = typing.get_args(annotation)
            metadata = ()
        elif origin is list and isinstance(part, int | str):
            loc.append(part)  # an index, or an item named as a variant names it (windows.surge)
            annotation, metadata = typing.get_args(annotation)[0], ()
        # anything else is pydantic's name for a union member: not part of the file
    annotation, more = _strip(annotation)
    return _Place(tuple(loc), annotation, more or metadata, parent)


def _union_member(annotation: Any, part: str | int) -> Any:
    """The member of a discriminated union of models whose tag is `part`, if any."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return None
    for member in typing.get_args(annotation):
        if _is_model(member) and part in _tags(member):
            return member
    return None


_DISCRIMINATORS = ("distribution", "prior")
"""Fields that tell the members of a union apart (a delay's distribution, an input's prior)."""


def _tags(model: type[BaseModel]) -> tuple[Any, ...]:
    for name in _DISCRIMINATORS:
        field = model.model_fields.get(name)
        if field is not None:
            return typing.get_args(field.annotation)
    return ()


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _field_names(model: Any) -> list[str]:
    if not _is_model(model):
        return []
    return [f.alias or n for n, f in model.model_fields.items()]


def _field_by_name(model: type[BaseModel], name: str) -> FieldInfo | None:
    for field_name, field in model.model_fields.items():
        if name in (field_name, field.alias):
            return field
    return None


_PATTERNS = {
    REGION_PATTERN: "an ISO 3166 code: two capital letters such as CU, or a subdivision "
    "such as UA-43",
    NAME_PATTERN: "a name of lowercase letters, digits, '-' and '_' (at most 64)",
}


def _describe(annotation: Any, metadata: tuple[Any, ...]) -> str | None:
    """What a field accepts, in words: 'a number from 0 to 1', 'a date (YYYY-MM-DD)', ..."""
    origin = typing.get_origin(annotation)
    if annotation is bool:
        return "true or false"
    if annotation in (int, float):
        kind = "a whole number" if annotation is int else "a number"
        return kind + _bounds(metadata)
    if annotation is dt.date:
        return "a date (YYYY-MM-DD)"
    if annotation is str:
        pattern = next((m.pattern for m in metadata if getattr(m, "pattern", None)), None)
        return _PATTERNS.get(pattern, "text")
    if origin is typing.Literal:
        return "one of: " + ", ".join(str(a) for a in typing.get_args(annotation))
    if origin is list:
        item = _describe(*_strip(typing.get_args(annotation)[0]))
        return f"a list of: {item}" if item else "a list"
    if origin is dict:
        value = _describe(*_strip(typing.get_args(annotation)[1]))
        return f"a mapping of names to: {value}" if value else "a mapping"
    if _is_model(annotation):
        required = [f.alias or n for n, f in annotation.model_fields.items() if f.is_required()]
        optional = [f.alias or n for n, f in annotation.model_fields.items() if not f.is_required()]
        text = "a mapping with " + ", ".join(required) if required else "a mapping"
        return text + (f" (optional: {', '.join(optional)})" if optional else "")
    if origin in (typing.Union, types.UnionType):
        members = typing.get_args(annotation)
        tags = [t for m in members if _is_model(m) for t in _tags(m)]
        if tags:
            return "a mapping with distribution: " + ", ".join(tags)
        described = [_describe(*_strip(m)) for m in members]
        return " or ".join(d for d in described if d) or None
    return None


def _bounds(metadata: tuple[Any, ...]) -> str:
    """' from 0 to 1', ' above 0', ' at least 1 and at most 10,000' from a field's constraints."""
    ge = next((m.ge for m in metadata if isinstance(m, annotated_types.Ge)), None)
    gt = next((m.gt for m in metadata if isinstance(m, annotated_types.Gt)), None)
    le = next((m.le for m in metadata if isinstance(m, annotated_types.Le)), None)
    if ge is not None and le is not None:
        return f" from {_number(ge)} to {_number(le)}"
    parts = [f"above {_number(gt)}"] if gt is not None else []
    parts += [f"at least {_number(ge)}"] if ge is not None else []
    parts += [f"at most {_number(le)}"] if le is not None else []
    return (" " + " and ".join(parts)) if parts else ""


def _number(value: float) -> str:
    whole = float(value).is_integer() and abs(value) < 1e19
    return f"{int(value):,}" if whole else f"{value:g}"


__all__ = ["BASELINE", "load_scenario", "load_with_warnings", "with_values"]

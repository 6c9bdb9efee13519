"""Loading scenarios from files or mappings, and turning validation errors into plain words.

Every problem becomes a `Problem` with the file, the line where known, the field path in the
file's own terms (`regions[2].signals.vpn_share`), what was wrong and what is allowed. Unknown
keys get the nearest valid name suggested.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ._yamlio import LineMap, line_for, read_yaml
from .errors import Problem, ScenarioError
from .expectations import problems as expectation_problems
from .scenario import BASELINE, Policy, Scenario, check_policy_dates, deep_merge

Loc = tuple[str | int, ...]


def load_scenario(source: str | Path | Mapping[str, Any]) -> Scenario:
    """Load and validate a scenario from a YAML file path or a mapping.

    Raises `ScenarioError` listing every problem found; the messages are the ones
    `simlock validate` prints.
    """
    if isinstance(source, Mapping):
        return _validate(dict(source), file=None, lines={})
    path = Path(source)
    data, lines = read_yaml(path)
    return _validate(data, file=str(path), lines=lines)


def load_with_warnings(source: str | Path | Mapping[str, Any]) -> tuple[Scenario, list[str]]:
    """`load_scenario`, plus warnings: things that are allowed but probably not meant."""
    scenario = load_scenario(source)
    return scenario, scenario.warnings()


def _validate(data: Any, file: str | None, lines: LineMap) -> Scenario:
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "nothing"
        raise ScenarioError(
            [
                Problem(
                    f"a scenario is a YAML mapping of fields, this file holds {kind}",
                    file=file,
                    line=1,
                )
            ]
        )
    non_text = [k for k in data if not isinstance(k, str)]
    if non_text:
        raise ScenarioError(
            [Problem(f"field names must be text, found {non_text[0]!r}", file=file, line=1)]
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_problems(exc, Scenario, data, (), file, lines)) from None
    problems: list[Problem] = []
    base = scenario.policy.model_dump(by_alias=True)
    for name, override in scenario.variants.items():
        prefix: Loc = ("variants", name)
        if not isinstance(override, dict):
            problems.append(
                Problem(
                    "a variant is a mapping of policy fields to override",
                    path=_dotted(prefix),
                    file=file,
                    line=line_for(lines, prefix),
                )
            )
            continue
        try:
            policy = Policy.model_validate(deep_merge(base, override))
            check_policy_dates(policy, scenario.start, scenario.end, f"variants.{name}")
        except ValidationError as exc:
            problems.extend(_problems(exc, Policy, override, prefix, file, lines))
        except ValueError as exc:
            problems.append(
                Problem(str(exc), path=_dotted(prefix), file=file, line=line_for(lines, prefix))
            )
    for loc, message, allowed in expectation_problems(scenario):
        problems.append(
            Problem(
                message, path=_dotted(loc), file=file, line=line_for(lines, loc), allowed=allowed
            )
        )
    if problems:
        raise ScenarioError(problems)
    return scenario


def _problems(
    exc: ValidationError,
    model: type[BaseModel],
    data: Any,
    prefix: Loc,
    file: str | None,
    lines: LineMap,
) -> list[Problem]:
    problems = []
    for err in exc.errors(include_url=False):
        loc: Loc = tuple(part for part in err["loc"] if not _is_union_tag(part))
        full = (*prefix, *loc)
        message, allowed = _explain(err, model, loc)
        problems.append(
            Problem(
                message, path=_dotted(full), file=file, line=line_for(lines, full), allowed=allowed
            )
        )
    return problems


_TAGS = {
    "fixed",
    "uniform",
    "exponential",
    "lognormal",
    "empirical",
    "function-after",
    "function-before",
}


def _is_union_tag(part: str | int) -> bool:
    """pydantic puts the chosen union member in the location; a person does not need it."""
    return isinstance(part, str) and (part in _TAGS or "[" in part)


def _explain(err: Any, model: type[BaseModel], loc: Loc) -> tuple[str, str | None]:
    kind = err["type"]
    message = str(err["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        known = _field_names_at(model, loc[:-1])
        name = str(loc[-1]) if loc else "?"
        nearest = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        hint = f"; did you mean '{nearest[0]}'?" if nearest else ""
        return f"unknown field '{name}'{hint}", ", ".join(sorted(known)) or None
    if kind == "missing":
        return "this field is required", None
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        return message, "fixed, uniform, exponential, lognormal, empirical"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected")
        return f"{message}; got {err.get('input')!r}", expected
    if "input" in err and kind not in ("value_error", "assertion_error"):
        shown = repr(err["input"])
        if len(shown) > 60:
            shown = shown[:57] + "..."
        message = f"{message}; got {shown}"
    return message, None


def _field_names_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """Valid field names of the model found by walking `loc` through the field annotations."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            current = _item_type(current)
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return []
        field = _field_by_name(current, part)
        if field is None:
            return []
        current = _unwrap(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _field_by_name(model: type[BaseModel], name: str) -> Any:
    for field_name, field in model.model_fields.items():
        if name in (field_name, field.alias):
            return field
    return None


def _unwrap(annotation: Any) -> Any:
    """Optional[X] -> X; list[X] stays (an index comes next); dict[str, X] -> X via item."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        return models[0] if len(models) == 1 else annotation
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    return annotation


def _item_type(annotation: Any) -> Any:
    args = typing.get_args(annotation)
    return _unwrap(args[-1]) if args else annotation


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


__all__ = ["BASELINE", "load_scenario", "load_with_warnings"]

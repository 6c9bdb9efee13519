"""Uncertain inputs: the scenario's `uncertain:` section names inputs and gives each a prior.

```yaml
uncertain:
  - path: regions.IR.activations[0].rate_per_day
    prior: loguniform
    low: 5000
    high: 20000
    source: import figures; the vendor never published its volumes
  - {path: policy.coverage, prior: uniform, low: 0.3, high: 0.9}
  - {path: regions.CU.signals.vpn_share, prior: normal, mean: 0.15, sd: 0.05}
  - {path: policy.detection.rule, prior: choice, values: [any, majority], weights: [2, 1]}
  - {path: policy.lift.date, prior: uniform, low: 2021-09-12, high: 2021-09-14}
```

Inputs are named by the field paths sweeps use (`simlock.scenario.fieldpaths`). The priors:

- `uniform`: every number from `low` to `high` equally likely; between two dates, every day from
  `low` to `high` (both included) equally likely.
- `loguniform`: the logarithm of the value is uniform between log(`low`) and log(`high`), for
  quantities known to within a factor (0 < low < high).
- `normal`: `mean` and standard deviation `sd`, truncated to the field's bounds (a share stays in
  0..1, a rate stays non-negative).
- `choice`: one of `values`, each with its relative weight (equal without `weights`).

A draw gives every input a value; `simlock.scenario.loader.with_values` applies it with the same
path-setting code as a sweep's points, and validates the result like a scenario file. Here the
section itself is checked (`problems`): each path reaches a field; the prior fits the field's kind
(numbers, dates) and its bounds; and the prior's edges (low and high, the mean, every choice) give
a valid scenario, so a draw fails only where inputs constrain each other.
"""

from __future__ import annotations

import copy
import datetime as dt
import types
import typing
from typing import Annotated, Any, Literal

import annotated_types
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.fields import FieldInfo

from . import fieldpaths
from .rules import Loc, RuleProblem, raise_rule

NOT_UNCERTAIN = ("name", "description", "seed", "replications", "expectations", "sweep")
"""Top-level fields that describe or run a scenario rather than the world it models."""


class _Input(BaseModel):
    """Strict like the rest of the format: unknown keys are errors, numbers are finite."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_default=True)

    path: str = Field(min_length=1, description="field path of the input (as in a sweep)")
    source: str = Field("", description="why this prior: a source, or that it is an assumption")


class UniformInput(_Input):
    """Every value from `low` to `high` equally likely (every day, for dates)."""

    prior: Literal["uniform"]
    low: float | dt.date
    high: float | dt.date

    @model_validator(mode="after")
    def _ordered(self) -> UniformInput:
        if isinstance(self.low, dt.date) != isinstance(self.high, dt.date):
            raise_rule(("high",), "low and high must both be numbers or both dates", None)
        if self.high <= self.low:  # type: ignore[operator]
            raise_rule(("high",), f"high ({self.high}) must be above low ({self.low})", None)
        return self


class LogUniformInput(_Input):
    """log(value) uniform between log(`low`) and log(`high`)."""

    prior: Literal["loguniform"]
    low: float = Field(gt=0.0)
    high: float = Field(gt=0.0)

    @model_validator(mode="after")
    def _ordered(self) -> LogUniformInput:
        if self.high <= self.low:
            raise_rule(("high",), f"high ({self.high:g}) must be above low ({self.low:g})", None)
        return self


class NormalInput(_Input):
    """Normal with `mean` and `sd`, truncated to the field's bounds."""

    prior: Literal["normal"]
    mean: float
    sd: float = Field(gt=0.0, description="standard deviation, in the field's unit")


class ChoiceInput(_Input):
    """One of `values`, each with its relative weight (equal without `weights`)."""

    prior: Literal["choice"]
    values: list[Any] = Field(min_length=1, max_length=1_000)
    weights: list[Annotated[float, Field(gt=0.0)]] | None = None

    @model_validator(mode="after")
    def _weights_match(self) -> ChoiceInput:
        if self.weights is not None and len(self.weights) != len(self.values):
            raise_rule(
                ("weights",),
                f"{len(self.weights)} weight(s) for {len(self.values)} value(s)",
                "one positive weight per value, or no weights",
            )
        return self


UncertainInput = Annotated[
    UniformInput | LogUniformInput | NormalInput | ChoiceInput, Field(discriminator="prior")
]


def edges(item: UniformInput | LogUniformInput | NormalInput | ChoiceInput) -> list[Any]:
    """Values a prior certainly gives (or comes arbitrarily close to): each must be valid."""
    if isinstance(item, ChoiceInput):
        return list(item.values)
    if isinstance(item, NormalInput):
        return [item.mean]
    return [item.low, item.high]


def problems(scenario: Any) -> list[RuleProblem]:
    """Everything wrong with a scenario's `uncertain:` section, at its field paths."""
    from .models import Policy, Scenario

    found: list[RuleProblem] = []
    doc = scenario.model_dump(by_alias=True, exclude={"uncertain"})
    seen: dict[str, int] = {}
    for i, item in enumerate(scenario.uncertain):
        at: Loc = ("uncertain", i)
        if item.path in seen:
            found.append(
                RuleProblem(
                    (*at, "path"),
                    f"{item.path!r} is already uncertain in uncertain[{seen[item.path]}]",
                    "each path once",
                )
            )
            continue
        seen[item.path] = i
        try:
            tokens = fieldpaths.tokens(item.path)
            current = fieldpaths.values_at(doc, tokens)
        except fieldpaths.PathError as exc:
            allowed = ", ".join(exc.allowed) if exc.allowed else None
            found.append(RuleProblem((*at, "path"), f"{item.path!r}: {exc}", allowed))
            continue
        if tokens[0] in NOT_UNCERTAIN:
            found.append(
                RuleProblem(
                    (*at, "path"),
                    f"{tokens[0]} describes or runs the scenario; it is not an input of the model",
                    "a field of regions, checkin, policy or variants",
                )
            )
            continue
        kind_problem = _kind_problem(item, current)
        if kind_problem is not None:
            found.append(RuleProblem(at, *kind_problem))
            continue
        annotation, metadata = _field_type(Scenario, Policy, scenario, tokens)
        bound_problems = _bound_problems(item, annotation, metadata)
        found += [RuleProblem((*at, *p.loc), p.message, p.allowed) for p in bound_problems]
        if bound_problems:
            continue
        for value in edges(item):
            trial = copy.deepcopy(doc)
            fieldpaths.assign(trial, tokens, value)
            try:
                Scenario.model_validate(trial)
            except ValidationError as exc:
                first = exc.errors(include_url=False)[0]
                where = ".".join(str(p) for p in first["loc"])
                found.append(
                    RuleProblem(
                        at,
                        f"with {item.path} = {value} the scenario is not valid ({where}: "
                        f"{str(first['msg']).removeprefix('Value error, ')})",
                        "a prior whose every value gives a valid scenario",
                    )
                )
                break
    return found


def field_bounds(scenario: Any, path: str) -> tuple[float | None, float | None]:
    """The bounds of the field at `path` (None where unbounded): a normal prior is truncated
    there."""
    from .models import Policy, Scenario

    _, metadata = _field_type(Scenario, Policy, scenario, fieldpaths.tokens(path))
    low, _, high, _ = bounds_of(metadata)
    return low, high


def _kind_problem(item: Any, current: list[Any]) -> tuple[str, str | None] | None:
    """A prior that cannot give values of the field's kind (numbers, dates, anything else)."""
    if isinstance(item, ChoiceInput):
        return None
    if all(isinstance(v, dt.date) for v in current):
        if isinstance(item, UniformInput) and isinstance(item.low, dt.date):
            return None
        return (
            f"{item.path} holds a date; a {item.prior} prior of numbers cannot set it",
            "prior: uniform with low and high dates, or prior: choice",
        )
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in current):
        if isinstance(item, UniformInput) and isinstance(item.low, dt.date):
            return f"{item.path} holds a number, not a date", "low and high numbers"
        return None
    shown = ", ".join(repr(v) for v in current[:3])
    return (
        f"{item.path} holds {shown}, not a number: a {item.prior} prior cannot set it",
        "prior: choice with the values it may take",
    )


def _field_type(
    scenario_model: type[BaseModel], policy_model: type[BaseModel], scenario: Any, tokens: list
) -> tuple[Any, tuple[Any, ...]]:
    """The annotation and constraints of the field at `tokens`. A variant's fields are the
    policy's; a union of delay distributions is resolved by the document's `distribution`."""
    annotation: Any = scenario_model
    node: Any = scenario.model_dump(by_alias=True)
    rest = list(tokens)
    if rest[0] == "variants" and len(rest) >= 3:
        annotation = policy_model
        node = scenario.variant(str(rest[1])).model_dump(by_alias=True)
        rest = rest[2:]
    metadata: tuple[Any, ...] = ()
    for token in rest:
        annotation, more = strip_annotation(annotation)
        metadata = more or metadata
        annotation = _member(annotation, node)
        origin = typing.get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = next(
                (f for n, f in annotation.model_fields.items() if token in (n, f.alias)), None
            )
            if field is None:
                return None, ()
            annotation, metadata = field.annotation, tuple(field.metadata)
        elif origin is list:
            annotation, metadata = typing.get_args(annotation)[0], ()
        elif origin is dict:
            annotation, metadata = typing.get_args(annotation)[1], ()
        else:
            return None, ()
        found = fieldpaths.values_at(node, [token]) if isinstance(node, dict | list) else []
        node = found[0] if found else None
    annotation, more = strip_annotation(annotation)
    return annotation, more or metadata


def strip_annotation(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    """`Annotated[X, ...]` -> X and its constraints; `X | None` -> X."""
    metadata: list[Any] = []
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            base, *extras = typing.get_args(annotation)
            for extra in extras:
                metadata.extend(extra.metadata if isinstance(extra, FieldInfo) else [extra])
            annotation = base
        elif origin in (typing.Union, types.UnionType) and type(None) in typing.get_args(
            annotation
        ):
            rest = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]  # noqa: UP007
        else:
            return annotation, tuple(metadata)


def _member(annotation: Any, node: Any) -> Any:
    """The member of a union of models that the document's `distribution` names, if any."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return annotation
    tag = node.get("distribution") if isinstance(node, dict) else None
    for member in typing.get_args(annotation):
        field = getattr(member, "model_fields", {}).get("distribution")
        if field is not None and tag in typing.get_args(field.annotation):
            return member
    return annotation


def bounds_of(metadata: tuple[Any, ...]) -> tuple[float | None, bool, float | None, bool]:
    """(low, low_inclusive, high, high_inclusive) from a field's constraints (None: unbounded)."""
    low: float | None = None
    high: float | None = None
    low_in = high_in = True
    for m in metadata:
        if isinstance(m, annotated_types.Ge):
            low, low_in = float(m.ge), True
        elif isinstance(m, annotated_types.Gt):
            low, low_in = float(m.gt), False
        elif isinstance(m, annotated_types.Le):
            high, high_in = float(m.le), True
        elif isinstance(m, annotated_types.Lt):
            high, high_in = float(m.lt), False
    return low, low_in, high, high_in


def _bound_problems(item: Any, annotation: Any, metadata: tuple[Any, ...]) -> list[RuleProblem]:
    """Parts of a prior that reach outside the field's bounds, at the part to change."""
    if annotation not in (int, float):
        return []
    low, low_in, high, high_in = bounds_of(metadata)
    if low is None and high is None:
        return []
    words = _allowed_words(low, low_in, high, high_in)

    def outside(value: Any) -> bool:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        below = low is not None and (value < low if low_in else value <= low)
        above = high is not None and (value > high if high_in else value >= high)
        return below or above

    if isinstance(item, ChoiceInput):
        parts = [(("values", j), v) for j, v in enumerate(item.values)]
    elif isinstance(item, NormalInput):
        parts = [(("mean",), item.mean)]
    else:
        parts = [(("low",), item.low), (("high",), item.high)]
    return [
        RuleProblem(loc, f"{value:g} is outside the bounds of {item.path}", words)
        for loc, value in parts
        if outside(value)
    ]


def _allowed_words(low: float | None, low_in: bool, high: float | None, high_in: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'at least' if low_in else 'above'} {low:g}")
    if high is not None:
        parts.append(f"{'at most' if high_in else 'below'} {high:g}")
    return "a number " + " and ".join(parts)


__all__ = [
    "ChoiceInput",
    "LogUniformInput",
    "NormalInput",
    "UncertainInput",
    "UniformInput",
    "bounds_of",
    "edges",
    "field_bounds",
    "problems",
]

"""The `search:` section: which policy levers to search, for which objectives, under which bounds.

A search asks for the policies that do best on several metrics at once (reach the most targeted
devices for the fewest collateral locks): `simlock search` explores the levers with a
multi-objective optimiser and reports the Pareto set. Levers are declared as a sweep declares its
parameters (`SweepParameter`: a field path with `values` to choose among, or a `low`/`high`
range), and must be fields of the policy (`policy.` paths): every policy found is then written
out as a variant of the scenario. Objectives and constraints name metrics as sweeps do (an
overall metric, or a region's or channel's: `channel.traveller.lock_days`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from . import fieldpaths
from .rules import RuleProblem
from .sweep_names import group_keys, metric_problem

if TYPE_CHECKING:
    from .models import Scenario, SweepParameter

LEVER_ROOT = "policy"
"""Levers are fields of the policy: what a vendor can change, and what a variant can override."""


DEFAULT_WORLDS = 20
"""Worlds drawn from a posterior when a search names one without saying how many."""

STATISTIC_PATTERN = r"^(mean|q([1-9]|[1-9][0-9]))$"
"""An objective's statistic across worlds: `mean`, or `q1` ... `q99` (a cautious quantile)."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Objective(_Section):
    """A metric to push up or down, its mean over the trial's replications."""

    metric: str = Field(
        min_length=1,
        description="an overall metric (targeted_locks) or a region's or channel's "
        "(channel.traveller.lock_days)",
    )
    direction: Literal["maximize", "minimize"]


class Constraint(_Section):
    """A bound a policy must respect to count as feasible (its mean over replications)."""

    metric: str = Field(min_length=1, description="a metric named as in objectives")
    min: float | None = Field(None, description="lowest allowed value")
    max: float | None = Field(None, description="highest allowed value")

    @model_validator(mode="after")
    def _bounded(self) -> Constraint:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        if self.min is not None and self.max is not None and self.max < self.min:
            raise ValueError("max must be at least min")
        return self


def section_model(parameter: type[SweepParameter]) -> type[BaseModel]:
    """The `search:` model, built on the sweep's parameter model (defined with the scenario)."""

    class Search(_Section):
        """Policy levers searched for the policies that do best on every objective at once."""

        levers: list[parameter] = Field(  # type: ignore[valid-type]
            min_length=1,
            description="policy fields to vary: a path with values (choices) or low/high (range)",
        )
        objectives: list[Objective] = Field(min_length=1, max_length=4)
        constraints: list[Constraint] = Field(default_factory=list)
        trials: int = Field(64, ge=1, le=100_000, description="policies evaluated in all")
        population: int = Field(
            16,
            ge=2,
            le=10_000,
            description="trials per generation of the optimiser (NSGA-II), evaluated together",
        )
        sampler: Literal["nsga2", "tpe"] = Field(
            "nsga2",
            description="the optimiser: NSGA-II (default), or multi-objective TPE (better per "
            "trial on smooth levers, slower to propose as trials accumulate)",
        )
        replications: int | None = Field(
            None, ge=1, le=10_000, description="replications per trial (default: the scenario's)"
        )
        scale: float = Field(
            1.0, gt=0.0, le=1e6, description="multiplies every activation rate (as --scale)"
        )
        seed: int | None = Field(
            None, ge=0, le=2**63 - 1, description="the optimiser's seed (default: the scenario's)"
        )
        posterior: str | None = Field(
            None,
            min_length=1,
            description="a `simlock calibrate` folder (relative to the scenario file): evaluate "
            "every trial over worlds drawn from its posterior",
        )
        worlds: int | None = Field(
            None,
            ge=1,
            le=10_000,
            description=f"worlds drawn from the posterior (default {DEFAULT_WORLDS})",
        )
        statistic: str = Field(
            "mean",
            pattern=STATISTIC_PATTERN,
            description="each objective across worlds: mean, or qNN, the cautious NN% quantile "
            "(q90: the value the policy does at least as well as in 90% of worlds)",
        )

    return Search


def search_problems(scenario: Scenario) -> list[RuleProblem]:
    """Levers that reach no policy field, levers or objectives given twice, and metrics that
    name nothing (paths from the scenario's root)."""
    search = getattr(scenario, "search", None)
    if search is None:
        return []
    problems: list[RuleProblem] = []
    document = scenario.model_dump(by_alias=True, include={LEVER_ROOT})
    paths = [lever.path for lever in search.levers]
    for i, path in enumerate(paths):
        where = ("search", "levers", i, "path")
        if path in paths[:i]:
            problems.append(RuleProblem(where, f"{path!r} is given twice", "each path once"))
            continue
        try:
            tokens = fieldpaths.tokens(path)
            if tokens[0] != LEVER_ROOT:
                raise fieldpaths.PathError(
                    "a lever is a field of the policy (a search's policies become variants)",
                    [f"{LEVER_ROOT}.<field>"],
                )
            fieldpaths.assign(document, tokens, None, dry_run=True)
        except fieldpaths.PathError as exc:
            allowed = ", ".join(exc.allowed) if exc.allowed else None
            problems.append(RuleProblem(where, f"{path!r}: {exc}", allowed))
    keys = group_keys(scenario)
    named = [o.metric for o in search.objectives]
    for i, name in enumerate(named):
        where = ("search", "objectives", i, "metric")
        if name in named[:i]:
            problems.append(RuleProblem(where, f"{name!r} is an objective twice", "each once"))
            continue
        problem = metric_problem(name, keys)
        if problem is not None:
            problems.append(RuleProblem(where, *problem))
    for i, constraint in enumerate(search.constraints):
        problem = metric_problem(constraint.metric, keys)
        if problem is not None:
            problems.append(RuleProblem(("search", "constraints", i, "metric"), *problem))
    return problems

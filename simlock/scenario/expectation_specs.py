"""What an expectation may say, checked when the scenario is loaded: its check's name, parameters,
variant and bounds.

The checks themselves (turning results into values) are in `simlock.analysis.expectations`; this
module holds only their names, parameter kinds and units (`CHECK_SPECS`), so that the loader and
`simlock validate` report a bad expectation at its field and line without importing numpy, and
before a run starts rather than after. Both modules read the same table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .metric_names import COUNT_UNITS, DEFINITIONS, METRICS, metric_unit
from .rules import Loc
from .suggest import did_you_mean

if TYPE_CHECKING:
    from .models import Scenario

GROUPS = ("all", "region", "channel", "cohort")
"""How a plain metric may be read: overall, for one region, one channel or one cohort."""

PLAIN_METRIC_PARAMS = {"group": "group", "key": "key"}
"""A plain metric is read overall, or for one region or channel: `group` and its `key`."""


@dataclass(frozen=True)
class CheckSpec:
    """A check beyond the plain metrics: what its value means, its unit and its parameters."""

    description: str
    unit: str
    params: dict[str, str]
    """Required parameter name -> kind (date, region, metric, count metric, group, key)."""
    optional: dict[str, str] = field(default_factory=dict)
    """Optional parameter name -> kind."""


CHECK_SPECS: dict[str, CheckSpec] = {
    "share_of_locks_before": CheckSpec(
        "share of all locks that took effect before `date`", "share", {"date": "date"}
    ),
    "new_locks_from": CheckSpec(
        "locks that took effect on or after `date` (devices)", "devices", {"date": "date"}
    ),
    "first_lock_date": CheckSpec("date of the first lock", "date", {}),
    "locked_share_of_peak": CheckSpec(
        "devices locked at the end of `date` as a share of the peak", "share", {"date": "date"}
    ),
    "region_rank": CheckSpec(
        "rank of `region` among all regions by `metric` (1 = most)",
        "rank",
        {"region": "region"},
        optional={"metric": "metric"},
    ),
    "region_share": CheckSpec(
        "share of `metric` (default users_affected) that falls in `region`",
        "share",
        {"region": "region"},
        optional={"metric": "count metric"},
    ),
}
"""Checks beyond the plain metrics, by name (computed by `simlock.analysis.expectations`)."""

Found = tuple[Loc, str, str | None]
"""A problem: (field path, message, what is allowed)."""


def known_checks() -> list[str]:
    """Every name an expectation's `metric` may take."""
    return [*METRICS, *CHECK_SPECS]


def check_unit(name: str) -> str:
    """The unit of a check's value: a metric's unit (devices, appeals, device-days, days, share
    or date) or a check's own (rank, for instance)."""
    return CHECK_SPECS[name].unit if name in CHECK_SPECS else metric_unit(name)


def problems(scenario: Scenario) -> list[Found]:
    """Everything wrong with the scenario's expectations: (field path, message, allowed).

    Run by the loader, which adds the file and line, so a bad expectation is reported like any
    other field: by `simlock validate`, and before a run starts rather than after.
    """
    found: list[Found] = []
    for i, exp in enumerate(scenario.expectations):
        at: Loc = ("expectations", i)
        if exp.variant not in scenario.variant_names:
            message = f"no variant {exp.variant!r}" + did_you_mean(
                exp.variant, scenario.variant_names
            )
            found.append(((*at, "variant"), message, ", ".join(scenario.variant_names)))
        if exp.min is None and exp.max is None and exp.observed is None:
            found.append((at, "give min, max or both, or an observed value", None))
        if exp.metric not in METRICS and exp.metric not in CHECK_SPECS:
            message = f"unknown check {exp.metric!r}" + did_you_mean(exp.metric, known_checks())
            found.append(((*at, "metric"), message, ", ".join(known_checks())))
            continue
        required, optional = _param_kinds(exp.metric)
        for name in required:
            if name not in exp.params:
                found.append(((*at, "params"), f"{exp.metric} needs the parameter {name!r}", None))
        kinds = {**required, **optional}
        for name, value in exp.params.items():
            where: Loc = (*at, "params", name)
            if name not in kinds:
                allowed = ", ".join(kinds) or "none"
                message = f"{exp.metric} takes no parameter {name!r}" + did_you_mean(name, kinds)
                found.append((where, message, allowed))
                continue
            problem = _param_problem(kinds[name], value, scenario, exp.params)
            if problem is not None:
                found.append((where, *problem))
        if exp.metric in DEFINITIONS:
            found.extend(_group_problems(exp.metric, exp.params, at))
        unit = check_unit(exp.metric)
        for bound in ("min", "max", "observed"):
            value = getattr(exp, bound)
            if isinstance(value, dt.date) and unit != "date":
                found.append(((*at, bound), f"{exp.metric} is not a date; give a number", None))
            elif value is not None and not isinstance(value, dt.date) and unit == "date":
                found.append(
                    ((*at, bound), f"{exp.metric} is a date; give a date (YYYY-MM-DD)", None)
                )
    return found


def _param_kinds(check: str) -> tuple[dict[str, str], dict[str, str]]:
    """(required, optional) parameter kinds of a check or plain metric."""
    if check in CHECK_SPECS:
        return CHECK_SPECS[check].params, CHECK_SPECS[check].optional
    return {}, PLAIN_METRIC_PARAMS


def _param_problem(
    kind: str, value: Any, scenario: Scenario, params: dict[str, Any]
) -> tuple[str, str | None] | None:
    """What is wrong with one parameter value of the given kind, or None."""
    if kind == "date":
        if not isinstance(value, dt.date):
            return f"a date (YYYY-MM-DD) is needed, got {value!r}", None
        if not scenario.start <= value <= scenario.end:
            return f"{value} is outside the run {scenario.start}..{scenario.end}", None
        return None
    if kind == "count metric":
        counts = [m for m, d in DEFINITIONS.items() if d.unit in COUNT_UNITS]
        if value in counts:
            return None
        return (
            f"{value!r} is not a count that adds up across regions" + did_you_mean(value, counts),
            ", ".join(counts),
        )
    group = str(params.get("group", "all"))
    names, what = {
        "region": ([r.id for r in scenario.regions], "region"),
        "metric": (list(METRICS), "metric"),
        "group": (list(GROUPS), "group"),
        "key": (_keys(scenario, group), group),
    }.get(kind, ([], ""))
    if what and value not in names:
        prefix = "unknown" if kind in ("metric", "group") else "no"
        return f"{prefix} {what} {value!r}" + did_you_mean(value, names), ", ".join(names)
    return None


def _keys(scenario: Scenario, group: str) -> list[str]:
    """The keys a group has: every region id, every channel any region has, or 'all'."""
    if group == "region":
        return [r.id for r in scenario.regions]
    if group == "channel":
        return list(dict.fromkeys(c for r in scenario.regions for c in r.channels))
    if group == "cohort":
        return [*scenario.cohorts, "none"]  # `none`: devices of a region without cohort shares
    return ["all"]


def _group_problems(metric: str, params: dict[str, Any], at: Loc) -> list[Found]:
    """A plain metric read for a region or channel needs its key, and has one at all."""
    group = params.get("group", "all")
    if group == "all":
        return []
    if DEFINITIONS[metric].overall_only:
        return [((*at, "params", "group"), f"{metric} exists only overall", "all")]
    if "key" not in params:
        return [((*at, "params"), f"group {group} needs a key (which {group})", None)]
    return []

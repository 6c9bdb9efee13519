"""Expectations: statements about a run's results that a scenario declares, checked on every run.

A scenario's `expectations:` list names facts the simulation must reproduce (the stylized facts
of the 2021 episode, for instance), each with its source and bounds:

```yaml
expectations:
  - name: Locks come a few days after activation
    source: FACTS.md stylized fact 2
    metric: days_to_lock_median
    min: 2
    max: 7
  - name: Daily new locks peak in early September
    metric: peak_new_locks_day
    min: 2021-09-01
    max: 2021-09-13
```

Each check turns the results of one variant into one value per replication; the expectation's
value is their mean, reported with a 95% t-interval across replications. It passes when the mean
lies within the bounds (exclusive with `strict: true`); `interval_within` says whether the whole
interval does too, so a pass that more replications could overturn is visible as such.

The checks: every metric of `simlock.metrics.METRICS` (overall, or for one region or channel
with `params: {group: region, key: CU}`), and the checks in `CHECKS` below, computed from the
daily counts (dates, peaks, ranks and shares of regions).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simlock.scenario.models import Expectation, Scenario

from .formatting import format_bounds, format_value, metric_unit
from .metrics import DEFINITIONS, METRICS, t_interval

if TYPE_CHECKING:
    from .results import Results

Loc = tuple[str | int, ...]
GROUPS = ("all", "region", "channel")


@dataclass(frozen=True)
class Check:
    """A named way of turning one variant's results into one value per replication."""

    description: str
    unit: str
    params: dict[str, str]
    """Required parameter name -> kind (see `_param_problem`: date, region, metric, ...)."""
    compute: Callable[[Results, str, dict[str, Any]], np.ndarray]
    optional: dict[str, str] = field(default_factory=dict)
    """Optional parameter name -> kind."""


PLAIN_METRIC_PARAMS = {"group": "group", "key": "key"}
"""A plain metric is read overall, or for one region or channel: `group` and its `key`."""

COUNT_UNITS = ("devices", "appeals", "device-days")
"""Units whose values add up across regions (a share of a median means nothing)."""


def _per_day(results: Results, variant: str, column: str) -> pd.DataFrame:
    """A days x replications table of one daily column summed over regions and channels."""
    daily = results.daily[results.daily["variant"] == variant]
    table = daily.pivot_table(
        index="day", columns="replication", values=column, aggfunc="sum", observed=True
    )
    days = np.arange(int(results.scenario.days))
    return table.reindex(days, fill_value=0).fillna(0)


def _day(results: Results, date: dt.date) -> int:
    return (date - results.scenario.start).days


def _share_of_locks_before(results: Results, variant: str, params: dict[str, Any]) -> np.ndarray:
    new = _per_day(results, variant, "newly_locked")
    before = new.iloc[: max(0, _day(results, params["date"]))].sum()
    total = new.sum()
    return (before / total.where(total > 0)).to_numpy(dtype=float)


def _new_locks_from(results: Results, variant: str, params: dict[str, Any]) -> np.ndarray:
    new = _per_day(results, variant, "newly_locked")
    return new.iloc[max(0, _day(results, params["date"])) :].sum().to_numpy(dtype=float)


def _first_lock_day(results: Results, variant: str, params: dict[str, Any]) -> np.ndarray:
    new = _per_day(results, variant, "newly_locked").to_numpy(dtype=float)
    first = (new > 0).argmax(axis=0).astype(float)
    first[new.sum(axis=0) == 0] = np.nan
    return first


def _locked_share_of_peak(results: Results, variant: str, params: dict[str, Any]) -> np.ndarray:
    """Devices locked at the end of `date`, as a share of the run's peak (per replication)."""
    locked = _per_day(results, variant, "locked")
    day = min(_day(results, params["date"]), len(locked) - 1)
    peak = locked.max()
    return (locked.iloc[day] / peak.where(peak > 0)).to_numpy(dtype=float)


def _region_values(results: Results, variant: str, metric: str) -> pd.DataFrame:
    """Replications x regions table of one metric (regions without activations left out)."""
    rows = results.replicates[
        (results.replicates["variant"] == variant)
        & (results.replicates["group"] == "region")
        & (results.replicates["metric"] == metric)
    ]
    return rows.pivot_table(
        index="replication", columns="key", values="value", aggfunc="sum", observed=True
    )


def _region_rank(results: Results, variant: str, params: dict[str, Any]) -> np.ndarray:
    """1 for the region with the most of `metric`, 2 for the next, ... (ties share the best)."""
    table = _region_values(results, variant, params.get("metric", "users_affected"))
    if params["region"] not in table.columns:
        return np.full(len(table), np.nan)
    ranks = table.rank(axis=1, ascending=False, method="min")
    return ranks[params["region"]].to_numpy(dtype=float)


def _region_share(results: Results, variant: str, params: dict[str, Any]) -> np.ndarray:
    table = _region_values(results, variant, params.get("metric", "users_affected"))
    if params["region"] not in table.columns:
        return np.zeros(len(table))
    total = table.sum(axis=1)
    return (table[params["region"]] / total.where(total > 0)).to_numpy(dtype=float)


CHECKS: dict[str, Check] = {
    "share_of_locks_before": Check(
        "share of all locks that took effect before `date`",
        "share",
        {"date": "date"},
        _share_of_locks_before,
    ),
    "new_locks_from": Check(
        "locks that took effect on or after `date` (devices)",
        "devices",
        {"date": "date"},
        _new_locks_from,
    ),
    "first_lock_date": Check(
        "date of the first lock",
        "date",
        {},
        _first_lock_day,
    ),
    "locked_share_of_peak": Check(
        "devices locked at the end of `date` as a share of the peak",
        "share",
        {"date": "date"},
        _locked_share_of_peak,
    ),
    "region_rank": Check(
        "rank of `region` among all regions by `metric` (1 = most)",
        "rank",
        {"region": "region"},
        _region_rank,
        optional={"metric": "metric"},
    ),
    "region_share": Check(
        "share of `metric` (default users_affected) that falls in `region`",
        "share",
        {"region": "region"},
        _region_share,
        optional={"metric": "count metric"},
    ),
}
"""Checks beyond the plain metrics, by name."""


def known_checks() -> list[str]:
    """Every name an expectation's `metric` may take."""
    return [*METRICS, *CHECKS]


def problems(scenario: Scenario) -> list[tuple[Loc, str, str | None]]:
    """Everything wrong with the scenario's expectations: (field path, message, allowed).

    Run by the loader, which adds the file and line, so a bad expectation is reported like any
    other field: by `simlock validate`, and before a run starts rather than after.
    """
    found: list[tuple[Loc, str, str | None]] = []
    for i, exp in enumerate(scenario.expectations):
        at: Loc = ("expectations", i)
        if exp.variant not in scenario.variant_names:
            found.append(
                ((*at, "variant"), f"no variant {exp.variant!r}", ", ".join(scenario.variant_names))
            )
        if exp.min is None and exp.max is None and exp.observed is None:
            found.append((at, "give min, max or both, or an observed value", None))
        if exp.metric not in METRICS and exp.metric not in CHECKS:
            found.append(
                ((*at, "metric"), f"unknown check {exp.metric!r}", ", ".join(known_checks()))
            )
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
                found.append((where, f"{exp.metric} takes no parameter {name!r}", allowed))
                continue
            message = _param_problem(kinds[name], value, scenario, exp.params)
            if message is not None:
                found.append((where, message[0], message[1]))
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
    if check in CHECKS:
        return CHECKS[check].params, CHECKS[check].optional
    return {}, PLAIN_METRIC_PARAMS


def _param_problem(
    kind: str, value: Any, scenario: Scenario, params: dict[str, Any]
) -> tuple[str, str | None] | None:
    """What is wrong with one parameter value of the given kind, or None."""
    regions = [r.id for r in scenario.regions]
    if kind == "date":
        if not isinstance(value, dt.date):
            return f"a date (YYYY-MM-DD) is needed, got {value!r}", None
        if not scenario.start <= value <= scenario.end:
            return f"{value} is outside the run {scenario.start}..{scenario.end}", None
    elif kind == "region" and value not in regions:
        return f"no region {value!r}", ", ".join(regions)
    elif kind == "metric" and value not in METRICS:
        return f"unknown metric {value!r}", ", ".join(METRICS)
    elif kind == "count metric":
        counts = [m for m, d in DEFINITIONS.items() if d.unit in COUNT_UNITS]
        if value not in counts:
            return f"{value!r} is not a count that adds up across regions", ", ".join(counts)
    elif kind == "group" and value not in GROUPS:
        return f"unknown group {value!r}", ", ".join(GROUPS)
    elif kind == "key":
        keys = _keys(scenario, str(params.get("group", "all")))
        if value not in keys:
            return f"no {params.get('group', 'all')} {value!r}", ", ".join(keys)
    return None


def _keys(scenario: Scenario, group: str) -> list[str]:
    """The keys a group has: every region id, every channel any region has, or 'all'."""
    if group == "region":
        return [r.id for r in scenario.regions]
    if group == "channel":
        return list(dict.fromkeys(c for r in scenario.regions for c in r.channels))
    return ["all"]


def _group_problems(
    metric: str, params: dict[str, Any], at: Loc
) -> list[tuple[Loc, str, str | None]]:
    """A plain metric read for a region or channel needs its key, and has one at all."""
    group = params.get("group", "all")
    if group == "all":
        return []
    if DEFINITIONS[metric].overall_only:
        return [((*at, "params", "group"), f"{metric} exists only overall", "all")]
    if "key" not in params:
        return [((*at, "params"), f"group {group} needs a key (which {group})", None)]
    return []


def check_unit(name: str) -> str:
    """The unit of a check's value: a metric's unit (`simlock._format.metric_unit`: devices,
    appeals, device-days, days, share or date) or a check's own (rank, for instance)."""
    return CHECKS[name].unit if name in CHECKS else metric_unit(name)


def per_replication(results: Results, expectation: Expectation) -> np.ndarray:
    """The expectation's value in each replication (NaN where undefined)."""
    params = dict(expectation.params)
    if expectation.metric in CHECKS:
        return CHECKS[expectation.metric].compute(results, expectation.variant, params)
    group = str(params.get("group", "all"))
    key = str(params.get("key", "all"))
    rows = results.replicates[
        (results.replicates["variant"] == expectation.variant)
        & (results.replicates["group"] == group)
        & (results.replicates["key"] == key)
        & (results.replicates["metric"] == expectation.metric)
    ]
    return rows.sort_values("replication")["value"].to_numpy(dtype=float)


COLUMNS = [
    "name",
    "source",
    "variant",
    "metric",
    "value",
    "ci_low",
    "ci_high",
    "n",
    "min",
    "max",
    "strict",
    "passed",
    "interval_within",
    "verdict",
    "unit",
    "detail",
]

PASS, PASS_UNSURE, FAIL, NOT_EVALUATED = (
    "pass",
    "pass (the 95% interval crosses a bound)",
    "FAIL",
    "not evaluated",
)
"""The verdicts `evaluate` gives; only FAIL makes `simlock run --check` exit 1."""


def evaluate(results: Results) -> pd.DataFrame | None:
    """Every expectation of the scenario checked on the results (None if it declares none).

    Columns: name, source, variant, metric, value (mean across replications), ci_low, ci_high
    (95% t-interval, NaN with one replication), n, min, max, strict, passed (the mean is within
    the bounds), interval_within (the whole interval is), verdict (`PASS`, `PASS_UNSURE`, `FAIL`,
    or `NOT_EVALUATED` when the expectation's variant was not run), unit, and detail (the value
    and what was expected, one line for people). Date-valued checks hold day numbers from the
    scenario start; bounds are converted likewise.
    """
    scenario = results.scenario
    if not scenario.expectations:
        return None
    ran = set(results.summary["variant"].unique())
    rows = []
    for exp in scenario.expectations:
        unit = check_unit(exp.metric)
        low, high = target_bounds(scenario, exp)
        if exp.variant not in ran:
            mean = ci_low = ci_high = np.nan
            n = 0
        else:
            mean, ci_low, ci_high, n = t_interval(per_replication(results, exp))
        passed = _within(mean, low, high, exp.strict)
        interval_within = _within(ci_low, low, high, exp.strict) and _within(
            ci_high, low, high, exp.strict
        )
        detail = _detail(scenario, unit, mean, ci_low, ci_high, n, low, high, exp.strict)
        if exp.variant not in ran:
            verdict, detail = NOT_EVALUATED, f"variant {exp.variant} was not run"
        elif not passed:
            verdict = FAIL
        else:
            verdict = PASS if n < 2 or interval_within else PASS_UNSURE
        rows.append(
            {
                "name": exp.name,
                "source": exp.source,
                "variant": exp.variant,
                "metric": exp.metric,
                "value": mean,
                "ci_low": ci_low,
                "ci_high": ci_high,
                "n": n,
                "min": low,
                "max": high,
                "strict": exp.strict,
                "passed": passed,
                "interval_within": interval_within,
                "verdict": verdict,
                "unit": unit,
                "detail": detail,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


STANDARD_ERRORS = 1.96
"""An observed value with a standard error is matched within this many of them (a 95% band)."""

UNIT_STEPS = {"share": 0.01, "days": 1.0, "date": 1.0}
"""The smallest difference that matters in a unit, for scaling a distance from a bound of 0;
counts, ranks and other units use 1."""


def target_bounds(scenario: Scenario, exp: Expectation) -> tuple[float, float]:
    """The range an expectation's value must lie in, as numbers (dates as day numbers from the
    scenario start; NaN where unbounded): [min, max], intersected with observed ± tolerance or
    observed ± 1.96 standard errors when an observed value is given."""
    low, high = _bound(scenario, exp.min), _bound(scenario, exp.max)
    if exp.observed is not None:
        observed = _bound(scenario, exp.observed)
        half = exp.tolerance if exp.tolerance is not None else STANDARD_ERRORS * exp.standard_error
        low = observed - half if np.isnan(low) else max(low, observed - half)
        high = observed + half if np.isnan(high) else min(high, observed + half)
    return low, high


def target_scale(scenario: Scenario, exp: Expectation) -> float:
    """How far outside its range a value is 'one unit' off, for a distance that compares targets
    of different units: the standard error of an observed value, or the tolerance; half the
    width of a two-sided range; the bound's size for a one-sided one (the unit's smallest step,
    `UNIT_STEPS`, for a bound of 0)."""
    if exp.standard_error is not None:
        return float(exp.standard_error)
    if exp.tolerance is not None:
        return float(exp.tolerance)
    low, high = target_bounds(scenario, exp)
    if np.isfinite(low) and np.isfinite(high) and high > low:
        return (high - low) / 2
    bound = low if np.isfinite(low) else high
    if check_unit(exp.metric) == "date":
        bound = 0.0  # a day number from the start says nothing of the scale
    step = UNIT_STEPS.get(check_unit(exp.metric), 1.0)
    return max(abs(bound), step) if np.isfinite(bound) else step


def _bound(scenario: Scenario, value: float | dt.date | None) -> float:
    if value is None:
        return np.nan
    if isinstance(value, dt.date):
        return float((value - scenario.start).days)
    return float(value)


def _within(value: float, low: float, high: float, strict: bool) -> bool:
    if not np.isfinite(value):
        return False
    if strict:
        return bool((np.isnan(low) or value > low) and (np.isnan(high) or value < high))
    return bool((np.isnan(low) or value >= low) and (np.isnan(high) or value <= high))


def _detail(
    scenario: Scenario,
    unit: str,
    mean: float,
    low: float,
    high: float,
    n: int,
    bound_low: float,
    bound_high: float,
    strict: bool,
) -> str:
    """ "4.80 [4.46, 5.13] days; expected in [2.00, 7.00] days" and the like: values formatted
    as in the report, but precise (a value near a bound is not rounded onto it)."""

    def show(value: float) -> str:
        if not np.isfinite(value):
            return "undefined"
        return format_value(value, unit, scenario.start, precise=True)

    suffix = " days" if unit == "days" else ""
    text = show(mean)
    if n > 1 and np.isfinite(low):
        text += f" [{show(low)}, {show(high)}]"
    text += suffix
    if n == 1:
        text += " (one replication: no interval)"
    allowed = format_bounds(bound_low, bound_high, strict, show, brackets=True)
    return f"{text}; expected {allowed}{suffix}"

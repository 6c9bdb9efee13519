"""Expectations: statements about a run's results that a scenario declares, checked on every run.

A scenario's `expectations:` list names facts the simulation must reproduce (the stylized facts
of the 2021 episode, for instance), each with its source and bounds:

```yaml
expectations:
  - name: Locks come a few days after activation
    source: docs/record/september-2021.md#fact-2
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

The checks: every metric of `simlock.scenario.metric_names.METRICS` (overall, or for one region
or channel with `params: {group: region, key: CU}`), and the checks of
`simlock.scenario.expectation_specs.CHECK_SPECS`, computed here (`COMPUTE`) from the daily counts
(dates, peaks, ranks and shares of regions). The loader checks an expectation's names, parameters
and bounds against the same table when the scenario is read; this module only evaluates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simlock.scenario.expectation_specs import (
    CHECK_SPECS,
    GROUPS,
    PLAIN_METRIC_PARAMS,
    CheckSpec,
    check_unit,
    known_checks,
    problems,
)
from simlock.scenario.metric_names import COUNT_UNITS
from simlock.scenario.models import Expectation, Scenario

from .daily import daily_totals
from .formatting import format_bounds, format_value
from .metrics import t_interval
from .worlds import PLAUSIBLE, has_worlds

if TYPE_CHECKING:
    from .results import Results

Compute = Callable[["ExpectationInputs", str, dict[str, Any]], np.ndarray]
"""How a check turns one variant's results (and the check's parameters) into one value per
replication."""


class ExpectationInputs:
    """One run's results, indexed once for checking many expectations.

    Each check reads a few values of the replicates table or a day-by-day total; filtering the
    whole table and summing the daily rows again for each of a scenario's expectations cost more
    than the simulation itself in a calibration at small scale (thousands of simulations, each
    checked against every target). The index is built on first use.
    """

    def __init__(self, results: Results) -> None:
        self.results = results
        self._values: dict[tuple[str, str, str], dict[str, dict[int, float]]] | None = None
        self._replications: dict[str, list[int]] = {}
        self._per_day: dict[tuple[str, str], pd.DataFrame] = {}

    def _index(self) -> dict[tuple[str, str, str], dict[str, dict[int, float]]]:
        if self._values is None:
            frame = self.results.replicates
            values: dict[tuple[str, str, str], dict[str, dict[int, float]]] = {}
            replications: dict[str, set[int]] = {}
            columns = [frame[c].to_numpy() for c in ("variant", "group", "metric", "key")]
            numbers = frame["replication"].to_numpy().tolist()
            amounts = frame["value"].to_numpy(dtype=float).tolist()
            for variant, group, metric, key, replication, value in zip(
                *columns, numbers, amounts, strict=True
            ):
                by_replication = values.setdefault((variant, group, metric), {}).setdefault(key, {})
                by_replication[replication] = by_replication.get(replication, 0.0) + value
                replications.setdefault(variant, set()).add(replication)
            self._values = values
            self._replications = {v: sorted(r) for v, r in replications.items()}
        return self._values

    def metric(self, variant: str, group: str, key: str, metric: str) -> np.ndarray:
        """One metric of one group in each replication that has it, in replication order."""
        found = self._index().get((variant, group, metric), {}).get(key, {})
        return np.array([found[r] for r in sorted(found)], dtype=float)

    def region_values(self, variant: str, metric: str) -> pd.DataFrame:
        """Replications x regions table of one metric (regions without activations left out)."""
        by_region = self._index().get((variant, "region", metric), {})
        replications = sorted({r for values in by_region.values() for r in values})
        table = pd.DataFrame(
            {
                region: [values.get(r, np.nan) for r in replications]
                for region, values in sorted(by_region.items())
            },
            index=pd.Index(replications, name="replication"),
            dtype=float,
        )
        return table

    def per_day(self, variant: str, column: str) -> pd.DataFrame:
        """A days x replications table of one daily column summed over regions and channels."""
        if (variant, column) not in self._per_day:
            daily = self.results.daily
            daily = daily[daily["variant"] == variant]
            self._per_day[(variant, column)] = daily_totals(
                daily, column, by=("replication",), days=int(self.results.scenario.days)
            )
        return self._per_day[(variant, column)]

    def day(self, date: dt.date) -> int:
        return (date - self.results.scenario.start).days


def _share_of_locks_before(
    inputs: ExpectationInputs, variant: str, params: dict[str, Any]
) -> np.ndarray:
    new = inputs.per_day(variant, "newly_locked")
    before = new.iloc[: max(0, inputs.day(params["date"]))].sum()
    total = new.sum()
    return (before / total.where(total > 0)).to_numpy(dtype=float)


def _new_locks_from(inputs: ExpectationInputs, variant: str, params: dict[str, Any]) -> np.ndarray:
    new = inputs.per_day(variant, "newly_locked")
    return new.iloc[max(0, inputs.day(params["date"])) :].sum().to_numpy(dtype=float)


def _first_lock_day(inputs: ExpectationInputs, variant: str, params: dict[str, Any]) -> np.ndarray:
    new = inputs.per_day(variant, "newly_locked").to_numpy(dtype=float)
    first = (new > 0).argmax(axis=0).astype(float)
    first[new.sum(axis=0) == 0] = np.nan
    return first


def _locked_share_of_peak(
    inputs: ExpectationInputs, variant: str, params: dict[str, Any]
) -> np.ndarray:
    """Devices locked at the end of `date`, as a share of the run's peak (per replication)."""
    locked = inputs.per_day(variant, "locked")
    day = min(inputs.day(params["date"]), len(locked) - 1)
    peak = locked.max()
    return (locked.iloc[day] / peak.where(peak > 0)).to_numpy(dtype=float)


def _region_rank(inputs: ExpectationInputs, variant: str, params: dict[str, Any]) -> np.ndarray:
    """1 for the region with the most of `metric`, 2 for the next, ... (ties share the best)."""
    table = inputs.region_values(variant, params.get("metric", "users_affected"))
    if params["region"] not in table.columns:
        return np.full(len(table), np.nan)
    ranks = table.rank(axis=1, ascending=False, method="min")
    return ranks[params["region"]].to_numpy(dtype=float)


def _region_share(inputs: ExpectationInputs, variant: str, params: dict[str, Any]) -> np.ndarray:
    table = inputs.region_values(variant, params.get("metric", "users_affected"))
    if params["region"] not in table.columns:
        return np.zeros(len(table))
    total = table.sum(axis=1)
    return (table[params["region"]] / total.where(total > 0)).to_numpy(dtype=float)


COMPUTE: dict[str, Compute] = {
    "share_of_locks_before": _share_of_locks_before,
    "new_locks_from": _new_locks_from,
    "first_lock_date": _first_lock_day,
    "locked_share_of_peak": _locked_share_of_peak,
    "region_rank": _region_rank,
    "region_share": _region_share,
}
"""The computation of each check of `CHECK_SPECS` (names, parameters and units are there)."""


def per_replication(
    results: Results, expectation: Expectation, inputs: ExpectationInputs | None = None
) -> np.ndarray:
    """The expectation's value in each replication (NaN where undefined). Pass the same `inputs`
    (`ExpectationInputs(results)`) to check many expectations on one run."""
    inputs = inputs if inputs is not None else ExpectationInputs(results)
    params = dict(expectation.params)
    if expectation.metric in COMPUTE:
        return COMPUTE[expectation.metric](inputs, expectation.variant, params)
    group = str(params.get("group", "all"))
    key = str(params.get("key", "all"))
    return inputs.metric(expectation.variant, group, key, expectation.metric)


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

    Counts (devices, appeals, device-days) are stated at full scale: from a run at `--scale` s
    (the manifest's `scale`) they are divided by s before they are compared, as `simlock
    calibrate` does, so an absolute target (say a territory's activations) holds at any scale.

    Over plausible worlds (`simlock run --posterior`) the value is the mean of the worlds' means
    and the interval is over them; three more columns give `worlds` and the plausible range
    (`plausible_low`, `plausible_high`: 5% and 95% over every world and replication).
    """
    scenario = results.scenario
    if not scenario.expectations:
        return None
    ran = set(results.summary["variant"].unique())
    run_scale = float((results.manifest or {}).get("scale") or 1.0)
    world_of = _world_of_replication(results)
    inputs = ExpectationInputs(results)
    rows = []
    spreads = []
    for exp in scenario.expectations:
        unit = check_unit(exp.metric)
        low, high = target_bounds(scenario, exp)
        values = per_replication(results, exp, inputs) if exp.variant in ran else np.array([])
        if unit in COUNT_UNITS:
            values = values / run_scale
        if exp.variant not in ran:
            mean = ci_low = ci_high = np.nan
            n = 0
        elif world_of is not None and len(world_of) == len(values):
            finite = np.isfinite(values)
            means = pd.Series(values[finite]).groupby(world_of[finite]).mean().to_numpy()
            mean, ci_low, ci_high, _ = t_interval(means)
            n = int(finite.sum())
        else:
            mean, ci_low, ci_high, n = t_interval(values)
        if world_of is not None:
            finite = values[np.isfinite(values)]
            spreads.append(
                {
                    "worlds": len(np.unique(world_of)),
                    "plausible_low": np.quantile(finite, PLAUSIBLE[0]) if finite.size else np.nan,
                    "plausible_high": np.quantile(finite, PLAUSIBLE[1]) if finite.size else np.nan,
                }
            )
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
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if world_of is not None:
        frame = pd.concat([frame, pd.DataFrame(spreads)], axis=1)
    return frame


def _world_of_replication(results: Results) -> np.ndarray | None:
    """The world of each replication, in replication order (None outside a run over worlds)."""
    if not has_worlds(results.replicates):
        return None
    pairs = results.replicates[["replication", "world"]].drop_duplicates("replication")
    return pairs.sort_values("replication")["world"].to_numpy()


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


__all__ = [
    "CHECK_SPECS",
    "COLUMNS",
    "COMPUTE",
    "COUNT_UNITS",
    "FAIL",
    "GROUPS",
    "NOT_EVALUATED",
    "PASS",
    "PASS_UNSURE",
    "PLAIN_METRIC_PARAMS",
    "CheckSpec",
    "ExpectationInputs",
    "check_unit",
    "evaluate",
    "known_checks",
    "per_replication",
    "problems",
]

"""Who is affected, how much and for how long: per replication, then mean and 95% interval.

Each (variant, replication) is reduced to a long frame of metrics, overall and by region and by
channel, and by cohort when the scenario has cohorts (`replicate_metrics`; devices of no cohort
under the key `none`). Across replications they become a mean with a Student-t interval
(`summarize`), and variants are compared with the baseline pairwise, replication by replication:
variants share their devices (common random numbers), so the paired difference removes most of the
noise (`compare`).

Targeted locks are locks of devices the variant's policy targets (`policy.targets`: its channels,
grey imports unless the scenario says otherwise, or with `unregistered` every device a registry
finds unregistered) activated in a banned territory: what the vendor says it aims at. A device
list's batch is targeted through its channels (a legitimate device listed by mistake is not).
Every other lock is collateral: travellers, official devices, and devices outside banned
territories locked because of a detection error.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from simlock.model.cohorts import COHORT_OUTCOMES
from simlock.model.device_list import DEVICE_LIST_OUTCOMES
from simlock.model.engine import Outcome, UnlockCause, VariantResult
from simlock.model.population import Population
from simlock.model.registry import REGISTRY_OUTCOMES
from simlock.scenario.metric_names import DEFINITIONS, METRICS, OVERALL_ONLY, Metric
from simlock.scenario.models import BASELINE

from . import tables
from .daily import daily_totals

TRAVELLER = "traveller"

# The names, units and descriptions live in the dependency-free registry (the loader reads them
# without numpy); they are re-exported here beside the code that computes them.
__all__ = [
    "DEFINITIONS",
    "METRICS",
    "OVERALL_ONLY",
    "SUMMARY_KEYS",
    "Metric",
    "compare",
    "half_width",
    "replicate_metrics",
    "summarize",
    "t_interval",
]


def replicate_metrics(
    population: Population,
    result: VariantResult,
    horizon: float,
    daily: pd.DataFrame,
) -> pd.DataFrame:
    """Metrics of one (variant, replication), overall and by region and channel (long frame)."""
    book = population.codebook
    region_banned = np.isin(book.region_territories, result.banned)
    # Only activation counts need every device: the daily counts (kept with the population for
    # `daily`) hold them per region x channel, which gives them for every grouping (every device
    # activates inside the run), and everything else concerns the few devices the policy
    # considered.
    n_channels = len(book.channels)
    by_region_channel = (
        tables.daily_activations(population, int(horizon))
        .sum(axis=0)
        .reshape(len(book.regions), n_channels)
    )
    banned_by_region_channel = by_region_channel * region_banned[:, None]
    # Everything below happens to the decided devices only (`VariantResult.fate`).
    idx, fate = result.decided_devices, result.fate
    locked = np.isfinite(fate["locked"])
    lk = idx[locked]
    lock_time = fate["locked"][locked]
    unlock_time = np.minimum(fate["unlocked"][locked], horizon)
    duration = unlock_time - lock_time
    to_lock = lock_time - population.activated[lk]
    channel_lk = population.channel[lk]
    traveller_code = book.channels.index(TRAVELLER) if TRAVELLER in book.channels else -1
    lk_in_banned = region_banned[population.region[lk]]
    of_target_channel = np.isin(channel_lk, result.targets)
    # With a registry, every considered device is one it found unregistered.
    targeted = lk_in_banned & (of_target_channel | result.targets_unregistered)
    # Flags over the decided devices hold for fewer still: keep where they hold, so each
    # grouping counts a few rows.
    outcome_idx = result.outcome[idx]
    filed = np.isfinite(fate["appealed"])
    started = np.isfinite(fate["appeal_started"])
    wait = fate["appeal_started"][started] - fate["appealed"][started]
    where_idx = {
        "warned": np.flatnonzero(np.isfinite(fate["warned"])),
        "appeals_filed": np.flatnonzero(filed),
        "appeals_served": np.flatnonzero(started),
        "appeals_approved": np.flatnonzero(fate["appeal_approved"]),
        "resolved_after_warning": np.flatnonzero(outcome_idx == Outcome.RESOLVED_AFTER_WARNING),
        "locks_cancelled_by_lift": np.flatnonzero(outcome_idx == Outcome.CANCELLED_BY_LIFT),
        "locked_at_end": np.flatnonzero(outcome_idx == Outcome.LOCKED_AT_END),
    }
    where_lk = {
        "targeted_locks": targeted,
        "collateral_locks": ~targeted,
        "collateral_travellers": (channel_lk == traveller_code) & ~targeted,
        "collateral_outside_banned": ~lk_in_banned,
        # The two groups above overlap: travellers abroad (say Cubans in Spain) are in both.
        "collateral_travellers_outside_banned": (channel_lk == traveller_code) & ~lk_in_banned,
        "grey_market_locked": of_target_channel,
    }
    unlock_cause_lk = fate["unlock_cause"][locked]
    unlocks_lk = {
        "unlocked_by_lift": unlock_cause_lk == UnlockCause.LIFT,
        "unlocked_by_appeal": unlock_cause_lk == UnlockCause.APPEAL,
    }
    # Sorted once per quantity; each grouping then only regroups the sorted values.
    to_lock_sorted = _SortedValues(to_lock)
    duration_sorted = _SortedValues(duration)
    wait_sorted = _SortedValues(wait)

    rows: list[tuple[str, str, str, float]] = []
    groupings = {
        "all": (None, ["all"], lambda counts: counts.sum(keepdims=True).ravel()),
        "region": (population.region, list(book.regions), lambda counts: counts.sum(axis=1)),
        "channel": (population.channel, list(book.channels), lambda counts: counts.sum(axis=0)),
    }
    if book.cohorts:
        cohort, cohort_activations = _cohort_columns(population, region_banned)
        groupings["cohort"] = (cohort, [*book.cohorts, NO_COHORT_KEY], cohort_activations.get)
    for kind, (column, names, collapse) in groupings.items():
        g = len(names)

        def total(codes: np.ndarray, weights: np.ndarray | None = None, g: int = g) -> np.ndarray:
            """Sum of `weights` (or count) per group; counts of 0/1 flags are exact integers,
            equal to the float sums of the flags."""
            return np.bincount(codes, weights=weights, minlength=g)[:g]

        def codes_of(rows: np.ndarray, column: np.ndarray | None = column) -> np.ndarray:
            if column is None:
                return np.zeros(rows.size, dtype=np.int64)
            return column[rows].astype(np.int64)

        codes_lk = codes_of(lk)
        codes_started = codes_of(idx[where_idx["appeals_served"]])
        activations = by_region_channel if kind != "cohort" else "all"
        banned_activations = banned_by_region_channel if kind != "cohort" else "banned"
        per_group = {
            "activations": collapse(activations).astype(float),
            "banned_activations": collapse(banned_activations).astype(float),
            "users_affected": total(codes_lk),
            "complaints": total(codes_lk[np.isfinite(fate["complained"][locked])]),
            "lock_days": total(codes_lk, duration),
            "collateral_lock_days": total(codes_lk[~targeted], duration[~targeted]),
        }
        for name, mask in where_lk.items():
            per_group[name] = total(codes_lk[mask])
        for name, positions in where_idx.items():
            per_group[name] = total(codes_of(idx[positions]))
        for name, mask in unlocks_lk.items():
            per_group[name] = total(codes_lk[mask])
        if REGISTRY_OUTCOMES[0] in result.outcomes:  # only a registry's variants have these
            per_group.update(_registry_counts(result, lambda rows: total(codes_of(rows))))
        if COHORT_OUTCOMES[0] in result.outcomes:  # only variants with cohort rules have these
            # With a registry, the devices a phase keeps are the registry's to count.
            registry = REGISTRY_OUTCOMES[0] in result.outcomes
            for name in COHORT_OUTCOMES[:1] if registry else COHORT_OUTCOMES:
                rows_of = np.flatnonzero(result.outcome == result.outcomes.index(name))
                per_group[name] = total(codes_of(rows_of))
        if DEVICE_LIST_OUTCOMES[0] in result.outcomes:  # only a device list's variants
            per_group.update(
                _device_list_counts(result, population, lambda rows: total(codes_of(rows)))
            )
        banned_locked = total(codes_lk[lk_in_banned])
        with np.errstate(invalid="ignore", divide="ignore"):
            per_group["share_banned_locked"] = banned_locked / per_group["banned_activations"]
            per_group["grey_market_share_of_locked"] = (
                per_group["grey_market_locked"] / per_group["users_affected"]
            )
            per_group["share_locked_outside_banned"] = (
                per_group["collateral_outside_banned"] / per_group["users_affected"]
            )
        to_lock_groups = to_lock_sorted.by_group(codes_lk, g)
        per_group["days_to_lock_median"] = to_lock_groups.quantile(0.5)
        per_group["days_to_lock_p90"] = to_lock_groups.quantile(0.9)
        per_group["lock_duration_median"] = duration_sorted.by_group(codes_lk, g).quantile(0.5)
        per_group["appeal_wait_median"] = wait_sorted.by_group(codes_started, g).quantile(0.5)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_group["lock_duration_mean"] = per_group["lock_days"] / per_group["users_affected"]
            per_group["appeal_wait_mean"] = total(codes_started, wait) / per_group["appeals_served"]
        peaks = _peaks(daily, kind) if kind != "cohort" else {}  # days hold no cohorts
        for key, values in peaks.items():
            per_group.setdefault(key, np.full(g, np.nan))
            for i, name in enumerate(names):
                per_group[key][i] = values.get(name, np.nan)
        for metric, values in per_group.items():
            if kind != "all" and metric in OVERALL_ONLY:
                continue
            for i, name in enumerate(names):
                if kind != "all" and per_group["activations"][i] == 0:
                    continue
                rows.append((kind, name, metric, float(values[i])))
    frame = pd.DataFrame(rows, columns=["group", "key", "metric", "value"])
    frame.insert(0, "replication", np.int32(result.replication))
    frame.insert(0, "variant", result.variant)
    return frame


NO_COHORT_KEY = "none"
"""The key of devices of no cohort (a region without cohort shares) in the cohort grouping."""


def _cohort_columns(
    population: Population, region_banned: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Each device's cohort as a group code (devices of no cohort last), and the activations
    per cohort: of all devices (`all`) and of those activated in a banned territory (`banned`).
    Counted devices (`Population.counted`) are of regions without cohort shares, never banned:
    they add to the devices of no cohort."""
    g = len(population.codebook.cohorts) + 1
    cohort = np.where(population.cohort < 0, g - 1, population.cohort)
    banned = region_banned[population.region]
    every = np.bincount(cohort, minlength=g)
    every[g - 1] += population.activations - len(population)
    return cohort, {"all": every, "banned": np.bincount(cohort[banned], minlength=g)}


def _registry_counts(
    result: VariantResult, count: Callable[[np.ndarray], np.ndarray]
) -> dict[str, np.ndarray]:
    """A registry's metrics per group; `count` counts device indices per group. With a
    registry, the considered devices are the ones it found unregistered."""
    registered = count(np.flatnonzero(result.outcome == result.outcomes.index("registered")))
    kept = count(np.flatnonzero(result.outcome == result.outcomes.index("kept_before_registry")))
    unregistered = count(result.considered)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = unregistered / (unregistered + registered)
    return {
        "registered": registered,
        "unregistered": unregistered,
        "share_unregistered": share,
        "kept_before_registry": kept,
    }


def _device_list_counts(
    result: VariantResult, population: Population, count: Callable[[np.ndarray], np.ndarray]
) -> dict[str, np.ndarray]:
    """A device list's metrics per group; `count` counts device indices per group. With a
    device list, the considered devices are the ones on it (less those a first-connection list
    kept)."""

    def having(outcome: str) -> np.ndarray:
        return np.flatnonzero(result.outcome == result.outcomes.index(outcome))

    before = having("connected_before_list")
    listed = np.concatenate([result.considered, before])
    mistaken = listed[~np.isin(population.channel[listed], result.batch)]
    return {
        "listed": count(listed),
        "listed_by_mistake": count(mistaken),
        "missed_by_list": count(having("missed_by_list")),
        "connected_before_list": count(before),
    }


class _SortedValues:
    """Values sorted once, to take per-group quantiles for several groupings.

    Regrouping the sorted values by a stable sort of their group codes gives, in each group,
    exactly the sorted values of that group, so each quantile is that of the group's values
    (the same float as sorting every group on its own). Which of two equal values comes first
    does not matter, so the value sort need not be stable; the regrouping must be, and sorts
    small integer codes (a radix sort).
    """

    def __init__(self, values: np.ndarray) -> None:
        self.order = np.argsort(values)
        self.values = values[self.order]

    def by_group(self, codes: np.ndarray, groups: int) -> _GroupedValues:
        """The values of each group (codes 0..groups-1, one per value), each sorted."""
        if groups == 1:  # one group: the values are already in order
            return _GroupedValues(self.values, np.array([0, self.values.size]))
        code_type = np.int16 if groups <= np.iinfo(np.int16).max else np.int64
        codes_by_value = codes[self.order].astype(code_type)
        regroup = np.argsort(codes_by_value, kind="stable")
        bounds = np.searchsorted(codes_by_value[regroup], np.arange(groups + 1))
        return _GroupedValues(self.values[regroup], bounds)


class _GroupedValues:
    """Sorted values laid out group after group; group g is `values[bounds[g]:bounds[g+1]]`."""

    def __init__(self, values: np.ndarray, bounds: np.ndarray) -> None:
        self.values, self.bounds = values, bounds

    def quantile(self, q: float) -> np.ndarray:
        """The q-quantile of each group (NaN for an empty group)."""
        out = np.full(self.bounds.size - 1, np.nan)
        for g in range(out.size):
            lo, hi = self.bounds[g], self.bounds[g + 1]
            if hi > lo:
                out[g] = np.quantile(self.values[lo:hi], q)
        return out


def _peaks(daily: pd.DataFrame, kind: str) -> dict[str, dict[str, float]]:
    """Peak locked (and, overall, the days of the peaks) from the daily frame of one task."""
    column = {"all": None, "region": "region", "channel": "channel"}[kind]
    out: dict[str, dict[str, float]] = {"peak_locked": {}}
    if column is None:
        locked_table = daily_totals(daily, "locked", by=())
        days = locked_table.index.to_numpy()
        locked = locked_table["all"].to_numpy()
        new = daily_totals(daily, "newly_locked", by=())["all"].to_numpy()
        out["peak_locked"]["all"] = float(locked.max()) if locked.size else 0.0
        # Undefined without locks; a lock undone within its day still has a day of new locks.
        has_locked = locked.size and locked.max() > 0
        has_new = new.size and new.max() > 0
        out["peak_locked_day"] = {"all": float(days[locked.argmax()]) if has_locked else np.nan}
        out["peak_new_locks_day"] = {"all": float(days[new.argmax()]) if has_new else np.nan}
        return out
    for key, values in daily_totals(daily, "locked", by=(column,)).items():
        out["peak_locked"][str(key)] = float(values.max())
    return out


def half_width(std: np.ndarray | float, n: np.ndarray | int, level: float = 0.95) -> np.ndarray:
    """Half width of the Student-t interval of a mean of `n` values whose sample standard
    deviation is `std` (elementwise); NaN where fewer than two values."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.ppf(0.5 + level / 2, n - 1) * np.asarray(std, dtype=float) / np.sqrt(n)
    return np.where(n >= 2, half, np.nan)


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float, int]:
    """(mean, low, high, n) of a Student-t interval; low/high are NaN with fewer than 2 values."""
    values = values[~np.isnan(values)]
    n = values.size
    if n == 0:
        return np.nan, np.nan, np.nan, 0
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if n > 1 else np.nan
    half = float(half_width(std, n, level))
    return mean, mean - half, mean + half, n


def _intervals(grouped: pd.core.groupby.SeriesGroupBy, name: str) -> pd.DataFrame:
    """Mean (as `name`), 95% interval and count of non-missing values per group, at once."""
    moments = grouped.agg(["mean", "std", "count"])
    half = half_width(moments["std"].to_numpy(), moments["count"].to_numpy())
    mean = moments["mean"].to_numpy()
    return pd.DataFrame(
        {name: mean, "ci_low": mean - half, "ci_high": mean + half, "n": moments["count"]},
        index=moments.index,
    )


SUMMARY_KEYS = ["variant", "group", "key", "metric"]


def summarize(replicates: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% t-interval across replications, per variant, group, key and metric."""
    columns = [*SUMMARY_KEYS, "mean", "ci_low", "ci_high", "n"]
    if replicates.empty:
        return pd.DataFrame(columns=columns)
    grouped = replicates.groupby(SUMMARY_KEYS, observed=True, sort=False)["value"]
    return _intervals(grouped, "mean").reset_index()[columns]


def compare(replicates: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """Each variant minus the baseline, paired by replication, with a 95% t-interval."""
    columns = [*SUMMARY_KEYS, "difference", "ci_low", "ci_high", "n"]
    keys = ["group", "key", "metric", "replication"]
    base = replicates[replicates["variant"] == baseline].set_index(keys)["value"]
    others = replicates[replicates["variant"] != baseline].set_index(keys)
    if others.empty:
        return pd.DataFrame(columns=columns)
    paired = others["value"] - base.reindex(others.index).to_numpy()
    frame = pd.DataFrame({"variant": others["variant"].to_numpy(), "difference": paired.to_numpy()})
    for level in ("group", "key", "metric"):
        frame[level] = others.index.get_level_values(level)
    grouped = frame.groupby(SUMMARY_KEYS, observed=True, sort=False)["difference"]
    return _intervals(grouped, "difference").reset_index()[columns]

"""Turning one variant's run into tidy frames: daily counts, device rows and the event log.

`daily` is kept for every replication (it is small: days x regions x channels). `devices` and
`events` are per device, so a run keeps them only for its detail replications, and `devices`
holds the devices the policy concerns: activated in, or detected in, a banned territory. Devices
elsewhere that the policy never touched are counted in `daily`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from .engine import Outcome, UnlockCause, VariantResult
from .population import Population
from .scenario import Scenario

OUTCOME_NAMES = [o.name.lower() for o in Outcome]
EVENT_KINDS = ["warned", "locked", "lock_cancelled", "unlocked", "appeal_filed", "appeal_closed"]


def day_index(times: np.ndarray, days: int) -> np.ndarray:
    """Day number (0 = the start date) of finite times below the horizon."""
    return np.minimum(np.floor(times).astype(np.int64), days - 1)


def dates(scenario: Scenario, days: np.ndarray | pd.Series) -> pd.Series:
    """Calendar dates of day numbers (as datetime64 at day resolution)."""
    start = np.datetime64(scenario.start, "D")
    return pd.Series(start + np.asarray(days, dtype="timedelta64[D]"))


def daily_frame(scenario: Scenario, population: Population, result: VariantResult) -> pd.DataFrame:
    """Per date, region and channel: activations, new locks, unlocks, locked at day's end."""
    days = int(scenario.days)
    book = population.codebook
    n_channels = len(book.channels)
    considered = result.considered
    group_considered = population.region[considered].astype(np.int64) * n_channels
    group_considered += population.channel[considered]
    activations = daily_activations(population, days)
    newly_locked = _count_per_day(result.locked, group_considered, days, activations.shape[1])
    unlocked = _count_per_day(result.unlocked, group_considered, days, activations.shape[1])
    locked_now = np.cumsum(newly_locked - unlocked, axis=0)

    present = activations.sum(axis=0) > 0
    cols = np.flatnonzero(present)
    n_cols = cols.size
    frame = pd.DataFrame(
        {
            "date": np.repeat(np.datetime64(scenario.start, "D") + np.arange(days), n_cols),
            "day": np.repeat(np.arange(days, dtype=np.int32), n_cols),
            "variant": result.variant,
            "replication": np.int32(result.replication),
            "region": pd.Categorical.from_codes(np.tile(cols // n_channels, days), book.regions),
            "channel": pd.Categorical.from_codes(np.tile(cols % n_channels, days), book.channels),
            "activations": activations[:, cols].ravel(),
            "newly_locked": newly_locked[:, cols].ravel(),
            "unlocked": unlocked[:, cols].ravel(),
            "locked": locked_now[:, cols].ravel(),
        }
    )
    return frame


def daily_activations(population: Population, days: int) -> np.ndarray:
    """Activations per day (rows) and region x channel group (columns, region-major).

    The same for every variant of a replication and the only count in `daily` that needs every
    device, so it is computed once per population (read-only, shared).
    """

    def compute() -> np.ndarray:
        n_channels = len(population.codebook.channels)
        group = population.region.astype(np.int64)
        group *= n_channels
        group += population.channel
        counts = _count_per_day(
            population.activated, group, days, len(population.codebook.regions) * n_channels
        )
        counts.flags.writeable = False
        return counts

    return population.memo(("daily_activations", days), compute)


def _count_per_day(times: np.ndarray, group: np.ndarray, days: int, groups: int) -> np.ndarray:
    """Counts of finite times below the horizon per day (rows) and group (columns).

    Activations are all finite, non-negative and inside the run, so the common case skips the
    masking copies and truncates instead of flooring (the same day for a non-negative time): at
    5M devices this is a few passes over the data instead of a dozen.
    """
    ok = np.isfinite(times) & (times < days)
    if not ok.all():
        times, group = times[ok], group[ok]
    if times.size and times.min() >= 0:
        cell = times.astype(np.int64)
        np.minimum(cell, days - 1, out=cell)
    else:
        cell = day_index(times, days)
    cell *= groups
    cell += group
    return np.bincount(cell, minlength=days * groups).reshape(days, groups)


def concerned_devices(
    population: Population, result: VariantResult, banned_codes: np.ndarray
) -> np.ndarray:
    """Indices of devices activated in, or detected in, a banned territory."""
    region_territory = np.array(
        [population.codebook.territory_code(r) for r in population.codebook.regions]
    )
    in_banned = np.isin(region_territory[population.region], banned_codes)
    detected_banned = np.isin(result.detected, banned_codes)
    return np.flatnonzero(in_banned | detected_banned)


def _spread(
    values: np.ndarray, positions: np.ndarray, size: int, fill: float = np.nan
) -> np.ndarray:
    """Values over the considered devices placed at `positions` of a `size` column (`fill`
    elsewhere and where a time is infinite, i.e. never happened)."""
    out = np.full(size, fill)
    out[positions] = np.where(np.isfinite(values), values, fill)
    return out


def _label(value: str, size: int) -> pd.Categorical:
    """A constant text column as a one-category Categorical (cheap to build, store and group)."""
    return pd.Categorical.from_codes(np.zeros(size, dtype=np.int8), [value])


def devices_frame(
    scenario: Scenario, population: Population, result: VariantResult, banned_codes: np.ndarray
) -> pd.DataFrame:
    """One row per concerned device: truth, belief, and the times (days) of what happened."""
    book = population.codebook
    rows = concerned_devices(population, result, banned_codes)
    size = rows.size
    # Considered devices are detected in a banned territory, hence all among the concerned rows.
    at = np.searchsorted(rows, result.considered)
    locked = np.isfinite(result.locked)
    lock_cause = np.full(size, -1, dtype=np.int16)
    lock_cause[at[locked]] = result.decided_by[locked]
    unlock_cause = np.zeros(size, dtype=np.int8)
    unlock_cause[at] = result.unlock_cause
    detected = result.detected[rows]
    territories = [*book.territories, "none"]
    return pd.DataFrame(
        {
            "variant": _label(result.variant, size),
            "replication": np.full(size, result.replication, dtype=np.int32),
            "device": rows.astype(np.int64),
            "region": pd.Categorical.from_codes(population.region[rows], book.regions),
            "channel": pd.Categorical.from_codes(population.channel[rows], book.channels),
            "detected": pd.Categorical.from_codes(
                np.where(detected < 0, len(territories) - 1, detected), territories
            ),
            "activated": population.activated[rows],
            "warned": _spread(result.warned, at, size),
            "locked": _spread(result.locked, at, size),
            "unlocked": _spread(result.unlocked, at, size),
            "lock_cause": pd.Categorical.from_codes(lock_cause, list(result.window_names)),
            "unlock_cause": pd.Categorical.from_codes(
                unlock_cause, [c.name.lower() for c in UnlockCause]
            ),
            "appealed": _spread(result.appealed, at, size),
            "appeal_started": _spread(result.appeal_started, at, size),
            "appeal_closed": _spread(result.appeal_closed, at, size),
            "outcome": pd.Categorical.from_codes(result.outcome[rows], OUTCOME_NAMES),
        },
        copy=False,  # every column is a fresh array: skip consolidating them into 2D blocks
    )


def events_frame(scenario: Scenario, result: VariantResult) -> pd.DataFrame:
    """The event log: every warning, lock, cancellation, unlock and appeal, with its cause.

    Built from code arrays and sorted once (by time, then device), since at scale it has millions
    of rows and pandas-level concatenation of many small frames is the slow part.
    """
    idx = result.considered
    causes = [*result.window_names, "none", "lift", "appeal", "approved", "rejected"]
    window_cause = np.where(result.decided_by >= 0, result.decided_by, len(result.window_names))
    code = {name: i for i, name in enumerate(causes)}
    unlock_cause = np.where(result.unlock_cause == UnlockCause.APPEAL, code["appeal"], code["lift"])
    verdict = np.where(result.appeal_approved, code["approved"], code["rejected"])
    cancelled = result.outcome[idx] == Outcome.CANCELLED_BY_LIFT
    lift_day = _lift_day(scenario, result)
    cancel_time = np.where(cancelled & np.isfinite(lift_day), lift_day, np.inf)
    columns = [
        ("warned", result.warned, window_cause),
        ("locked", result.locked, window_cause),
        ("lock_cancelled", cancel_time, np.full(idx.size, code["lift"])),
        ("unlocked", result.unlocked, unlock_cause),
        ("appeal_filed", result.appealed, np.full(idx.size, code["appeal"])),
        ("appeal_closed", result.appeal_closed, verdict),
    ]
    devices, times, kinds, cause_codes = [], [], [], []
    for kind, column, cause in columns:
        keep = np.isfinite(column)
        devices.append(idx[keep])
        times.append(column[keep])
        kinds.append(np.full(int(keep.sum()), EVENT_KINDS.index(kind), dtype=np.int8))
        cause_codes.append(cause[keep].astype(np.int16))
    device = np.concatenate(devices)
    t = np.concatenate(times)
    order = np.lexsort((device, t))
    size = order.size
    return pd.DataFrame(
        {
            "variant": _label(result.variant, size),
            "replication": np.full(size, result.replication, dtype=np.int32),
            "device": device[order].astype(np.int64),
            "t": t[order],
            "date": np.datetime64(scenario.start, "D")
            + np.floor(t[order]).astype("timedelta64[D]"),
            "kind": pd.Categorical.from_codes(np.concatenate(kinds)[order], EVENT_KINDS),
            "cause": pd.Categorical.from_codes(np.concatenate(cause_codes)[order], causes),
        }
    )


def _lift_day(scenario: Scenario, result: VariantResult) -> float:
    policy = scenario.variant(result.variant)
    if policy.lift is None:
        return np.nan
    return float((policy.lift.date - scenario.start).days)


def to_date(scenario: Scenario, day: float) -> dt.date | None:
    """Calendar date of a day number (None for NaN)."""
    if not np.isfinite(day):
        return None
    return scenario.start + dt.timedelta(days=int(np.floor(day)))

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
from .population import NO_SIGNAL, Population
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
    groups = len(book.regions) * n_channels
    group_all = population.region.astype(np.int64) * n_channels + population.channel
    size = days * groups

    def count(times: np.ndarray, group: np.ndarray) -> np.ndarray:
        ok = np.isfinite(times) & (times < days)
        return np.bincount(day_index(times[ok], days) * groups + group[ok], minlength=size).reshape(
            days, groups
        )

    considered = result.considered
    group_considered = group_all[considered]
    activations = count(population.activated, group_all)
    newly_locked = count(result.locked, group_considered)
    unlocked = count(result.unlocked, group_considered)
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


def _on_considered(
    result: VariantResult, column: np.ndarray, size: int, fill: float = np.nan
) -> np.ndarray:
    """Spread a column over the considered devices to all devices (`fill` elsewhere)."""
    out = np.full(size, fill)
    out[result.considered] = np.where(np.isfinite(column), column, fill)
    return out


def devices_frame(
    scenario: Scenario, population: Population, result: VariantResult, banned_codes: np.ndarray
) -> pd.DataFrame:
    """One row per concerned device: truth, belief, and the times (days) of what happened."""
    book = population.codebook
    rows = concerned_devices(population, result, banned_codes)
    n = len(population)
    lock_cause = np.full(n, -1, dtype=np.int16)
    lock_cause[result.considered] = np.where(np.isfinite(result.locked), result.decided_by, -1)
    detected = result.detected[rows]
    territories = [*book.territories, "none"]
    return pd.DataFrame(
        {
            "variant": result.variant,
            "replication": np.int32(result.replication),
            "device": rows.astype(np.int64),
            "region": pd.Categorical.from_codes(population.region[rows], book.regions),
            "channel": pd.Categorical.from_codes(population.channel[rows], book.channels),
            "detected": pd.Categorical.from_codes(
                np.where(detected == NO_SIGNAL, len(territories) - 1, detected), territories
            ),
            "activated": population.activated[rows],
            "warned": _on_considered(result, result.warned, n)[rows],
            "locked": _on_considered(result, result.locked, n)[rows],
            "unlocked": _on_considered(result, result.unlocked, n)[rows],
            "lock_cause": pd.Categorical.from_codes(lock_cause[rows], list(result.window_names)),
            "unlock_cause": pd.Categorical.from_codes(
                (_on_considered(result, result.unlock_cause.astype(float), n, 0)[rows]).astype(
                    np.int8
                ),
                [c.name.lower() for c in UnlockCause],
            ),
            "appealed": _on_considered(result, result.appealed, n)[rows],
            "appeal_started": _on_considered(result, result.appeal_started, n)[rows],
            "appeal_closed": _on_considered(result, result.appeal_closed, n)[rows],
            "outcome": pd.Categorical.from_codes(result.outcome[rows], OUTCOME_NAMES),
        }
    )


def events_frame(scenario: Scenario, result: VariantResult) -> pd.DataFrame:
    """The event log: every warning, lock, cancellation, unlock and appeal, with its cause."""
    idx = result.considered
    window_names = list(result.window_names)
    parts = []

    def add(
        kind: str, times: np.ndarray, causes: np.ndarray | str, mask: np.ndarray | None = None
    ) -> None:
        keep = np.isfinite(times) if mask is None else mask
        cause = causes[keep] if isinstance(causes, np.ndarray) else np.full(int(keep.sum()), causes)
        parts.append(
            pd.DataFrame({"device": idx[keep], "t": times[keep], "kind": kind, "cause": cause})
        )

    decided_cause = np.array([*window_names, "none"], dtype=object)[result.decided_by]
    add("warned", result.warned, decided_cause)
    add("locked", result.locked, decided_cause)
    cancelled = result.outcome[idx] == Outcome.CANCELLED_BY_LIFT
    lift_day = _lift_day(scenario, result)
    add("lock_cancelled", np.full(idx.size, lift_day), "lift", cancelled & np.isfinite(lift_day))
    unlock_names = np.array([c.name.lower() for c in UnlockCause], dtype=object)
    add("unlocked", result.unlocked, unlock_names[result.unlock_cause])
    add("appeal_filed", result.appealed, "appeal")
    verdict = np.where(result.appeal_approved, "approved", "rejected").astype(object)
    add("appeal_closed", result.appeal_closed, verdict)
    events = pd.concat(parts, ignore_index=True)
    events = events.sort_values(["t", "device"], kind="stable", ignore_index=True)
    events.insert(0, "replication", np.int32(result.replication))
    events.insert(0, "variant", result.variant)
    events["date"] = np.datetime64(scenario.start, "D") + np.floor(events["t"].to_numpy()).astype(
        "timedelta64[D]"
    )
    events["kind"] = pd.Categorical(events["kind"], EVENT_KINDS)
    events["cause"] = events["cause"].astype("category")
    return events[["variant", "replication", "device", "t", "date", "kind", "cause"]]


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

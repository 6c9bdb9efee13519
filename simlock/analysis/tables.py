"""Turning one variant's run into tidy frames: daily counts, device rows and the event log.

`daily` is kept for every replication (it is small: days x regions x channels). `devices` and
`events` are per device, so a run keeps them only for its detail replications, and `devices`
holds the devices the policy concerns: activated in, or detected in, a banned territory. Devices
elsewhere that the policy never touched are counted in `daily`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simlock.model.engine import OUTCOMES, UNLOCK_CAUSES, Outcome, UnlockCause, VariantResult
from simlock.model.population import Population
from simlock.scenario.models import Scenario

OUTCOME_NAMES = list(OUTCOMES)
"""Outcomes of every policy; a behaviour after a lock adds its own (`VariantResult.outcomes`)."""
EVENT_KINDS = ["warned", "locked", "lock_cancelled", "unlocked", "appeal_filed", "appeal_closed"]


def day_index(times: np.ndarray, days: int) -> np.ndarray:
    """Day number (0 = the start date) of finite times below the horizon."""
    return np.minimum(np.floor(times).astype(np.int64), days - 1)


def dates(scenario: Scenario, days: np.ndarray | pd.Series) -> pd.Series:
    """Calendar dates of day numbers (as datetime64 at day resolution)."""
    start = np.datetime64(scenario.start, "D")
    return pd.Series(start + np.asarray(days, dtype="timedelta64[D]"))


def daily_frame(scenario: Scenario, population: Population, result: VariantResult) -> pd.DataFrame:
    """Per date, region and channel: activations, new locks, unlocks, locked at day's end, and
    the public complaints (the observation model) made that day."""
    days = int(scenario.days)
    book = population.codebook
    n_channels = len(book.channels)
    decided = result.decided_devices  # nothing happens to the other devices
    group_decided = population.region[decided].astype(np.int64) * n_channels
    group_decided += population.channel[decided]
    activations = daily_activations(population, days)
    groups = activations.shape[1]
    newly_locked = _count_per_day(result.fate["locked"], group_decided, days, groups)
    unlocked = _count_per_day(result.fate["unlocked"], group_decided, days, groups)
    locked_now = np.cumsum(newly_locked - unlocked, axis=0)
    complaints = _count_per_day(result.fate["complained"], group_decided, days, groups)

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
            "complaints": complaints[:, cols].ravel(),
        }
    )
    return frame


def daily_activations(population: Population, days: int) -> np.ndarray:
    """Activations per day (rows) and region x channel group (columns, region-major).

    The same for every variant of a replication and the only count in `daily` that needs every
    device, so it is computed once per population (its cache; read-only, shared). A generated
    population counted its drawn devices as it drew them (`Population.drawn_per_day`); the
    devices of untouched regions, counted instead of drawn, are in `Population.counted`.
    """

    def count() -> np.ndarray:
        n_channels = len(population.codebook.channels)
        drawn = population.drawn_per_day
        if drawn.shape[0] != days:  # built column by column, or asked for other days
            group = population.region.astype(np.int64)
            group *= n_channels
            group += population.channel
            drawn = _count_per_day(
                population.activated, group, days, len(population.codebook.regions) * n_channels
            )
        if population.counted.size == 0:
            return drawn
        if population.counted.shape != drawn.shape:
            raise ValueError(
                f"the population counted {population.counted.shape[0]} days; asked for {days}"
            )
        return drawn + population.counted

    return population.cache.daily_activations(days, count)


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


def concerned_devices(population: Population, result: VariantResult) -> np.ndarray:
    """Indices of devices activated in, or detected in, a banned territory (ascending).

    Variants that share a belief (banned list and detection) share their concerned devices:
    computed once per replication, kept in the population's cache.
    """
    return population.cache.concerned_devices(result.belief, result.detected)


_TIMES = ("warned", "locked", "unlocked", "appealed", "appeal_started", "appeal_closed")
"""Time columns of `devices`, days; NaN for what never happened."""


def devices_frame(
    scenario: Scenario, population: Population, result: VariantResult
) -> pd.DataFrame:
    """One row per concerned device: truth, belief, and the times (days) of what happened."""
    return devices_frames(scenario, population, [result])


def devices_frames(
    scenario: Scenario, population: Population, variants: Sequence[VariantResult]
) -> pd.DataFrame:
    """`devices_frame` of several variants of one replication, one after the other (with a
    `cohort` column after `channel` when the scenario has cohorts).

    At realistic scale a replication has millions of such rows; writing every variant straight
    into the joined columns avoids building, then copying, a frame per variant. `variant` and
    `lock_cause` are categories over every variant's name and window (`_Labels`).
    """
    if not variants:
        raise ValueError("devices_frames needs at least one variant")
    book = population.codebook
    labels = _Labels.of(variants)
    territories = [*book.territories, "none"]
    rows_of = [concerned_devices(population, result) for result in variants]
    total = sum(rows.size for rows in rows_of)
    variant = np.empty(total, dtype=np.int16)
    device = np.empty(total, dtype=np.int64)
    replication = np.empty(total, dtype=np.int32)
    region = np.empty(total, dtype=population.region.dtype)
    channel = np.empty(total, dtype=population.channel.dtype)
    detected = np.empty(total, dtype=np.int16)
    activated = np.empty(total)
    times = {name: np.full(total, np.nan) for name in _TIMES}
    lock_cause = np.full(total, -1, dtype=np.int16)
    unlock_cause = np.zeros(total, dtype=np.int8)
    outcome = np.empty(total, dtype=np.int8)
    offset = 0
    for result, rows in zip(variants, rows_of, strict=True):
        size = rows.size
        part = slice(offset, offset + size)
        offset += size
        # Decided devices are detected in a banned territory, hence all among the rows.
        at = offset - size + np.searchsorted(rows, result.decided_devices)
        variant[part] = labels.variant_code(result)
        device[part] = rows
        replication[part] = result.replication
        region[part] = population.region[rows]
        channel[part] = population.channel[rows]
        belief = result.detected[rows]
        detected[part] = np.where(belief < 0, len(territories) - 1, belief)
        activated[part] = population.activated[rows]
        fate = result.fate
        for name in _TIMES:
            values = fate[name]
            happened = np.isfinite(values)
            times[name][at[happened]] = values[happened]
        locked = np.isfinite(fate["locked"])
        lock_cause[at[locked]] = labels.window_codes(result, none=-1)[fate["decided_by"][locked]]
        unlock_cause[at] = labels.unlock_cause_codes(result)[fate["unlock_cause"]]
        outcome[part] = labels.outcome_codes(result, result.outcome[rows])
    frame = pd.DataFrame(
        {
            "variant": pd.Categorical.from_codes(variant, labels.variants),
            "replication": replication,
            "device": device,
            "region": pd.Categorical.from_codes(region, book.regions),
            "channel": pd.Categorical.from_codes(channel, book.channels),
            "detected": pd.Categorical.from_codes(detected, territories),
            "activated": activated,
            "warned": times["warned"],
            "locked": times["locked"],
            "unlocked": times["unlocked"],
            "lock_cause": pd.Categorical.from_codes(lock_cause, labels.windows),
            "unlock_cause": pd.Categorical.from_codes(unlock_cause, labels.unlock_causes),
            "appealed": times["appealed"],
            "appeal_started": times["appeal_started"],
            "appeal_closed": times["appeal_closed"],
            "outcome": pd.Categorical.from_codes(outcome, labels.outcomes),
        },
        copy=False,  # every column is a fresh array: skip consolidating them into 2D blocks
    )
    if book.cohorts:  # a scenario with cohorts: each device's, after its channel
        cohort = population.cohort[device]
        codes = np.where(cohort < 0, len(book.cohorts), cohort)
        frame.insert(5, "cohort", pd.Categorical.from_codes(codes, [*book.cohorts, "none"]))
    return frame


@dataclass(frozen=True)
class _Labels:
    """Categories of the label columns of a task's detail tables: every variant's name, every
    window's name (in order of first appearance), and every unlock cause and outcome (the
    engine's, then those the variants' behaviours after a lock add). Each task of a run has the
    same variants, so its tables have the same categorical dtypes and a plain `pd.concat` joins
    their codes."""

    variants: list[str]
    windows: list[str]
    unlock_causes: list[str]
    outcomes: list[str]

    @classmethod
    def of(cls, results: Sequence[VariantResult]) -> _Labels:
        variants = list(dict.fromkeys(result.variant for result in results))
        windows = [name for result in results for name in result.window_names]
        causes = [*UNLOCK_CAUSES, *(c for result in results for c in result.unlock_causes)]
        outcomes = [*OUTCOMES, *(o for result in results for o in result.outcomes)]
        return cls(
            variants,
            list(dict.fromkeys(windows)),
            list(dict.fromkeys(causes)),
            list(dict.fromkeys(outcomes)),
        )

    def variant_code(self, result: VariantResult) -> int:
        return self.variants.index(result.variant)

    def window_codes(self, result: VariantResult, none: int) -> np.ndarray:
        """The code of each of the result's windows, then `none`: indexed by `decided_by` (where
        -1, no window, gives `none`)."""
        codes = [self.windows.index(name) for name in result.window_names]
        return np.array([*codes, none], dtype=np.int16)

    def unlock_cause_codes(self, result: VariantResult) -> np.ndarray:
        """The code of each of the result's unlock causes, indexed by its `unlock_cause`."""
        return np.array([self.unlock_causes.index(c) for c in result.unlock_causes], np.int8)

    def outcome_codes(self, result: VariantResult, outcome: np.ndarray) -> np.ndarray:
        """The codes of the result's `outcome` values among every variant's outcomes (the
        same codes unless an earlier variant added outcomes of its own)."""
        if self.outcomes[: len(result.outcomes)] == list(result.outcomes):
            return outcome
        codes = np.array([self.outcomes.index(o) for o in result.outcomes], np.int8)
        return codes[outcome]

    @property
    def behaviour_causes(self) -> list[str]:
        """Unlock causes the behaviours after a lock add (events' causes after the engine's)."""
        return self.unlock_causes[len(UNLOCK_CAUSES) :]


EVENT_CAUSES = ("none", "lift", "appeal", "approved", "rejected")
"""Causes of events besides the windows (which come first among the categories of `cause`)."""


def events_frame(scenario: Scenario, result: VariantResult) -> pd.DataFrame:
    """The event log: every warning, lock, cancellation, unlock and appeal, with its cause."""
    return events_frames(scenario, [result])


def events_frames(scenario: Scenario, variants: Sequence[VariantResult]) -> pd.DataFrame:
    """`events_frame` of several variants of one replication, one after the other.

    Built from code arrays, each variant sorted once (by time, then device), since at scale it
    has millions of rows and pandas-level concatenation of many small frames is the slow part.
    `variant` and `cause` are categories over every variant's name and window (`_Labels`).
    """
    if not variants:
        raise ValueError("events_frames needs at least one variant")
    labels = _Labels.of(variants)
    causes = [*labels.windows, *EVENT_CAUSES, *labels.behaviour_causes]
    code = {name: i for i, name in enumerate(causes)}
    parts: dict[str, list[np.ndarray]] = {
        name: [] for name in ("variant", "replication", "device", "t", "kind", "cause")
    }
    for result in variants:
        idx, fate = result.decided_devices, result.fate  # events happen to these only
        window_cause = labels.window_codes(result, none=code["none"])[fate["decided_by"]]
        # An unlock's cause by the result's `unlock_cause` (NONE: no unlock, no event).
        by_unlock_cause = [code["lift"], code["lift"], code["appeal"]]
        by_unlock_cause += [code[c] for c in result.unlock_causes[len(UnlockCause) :]]
        unlock_cause = np.array(by_unlock_cause, dtype=np.int16)[fate["unlock_cause"]]
        verdict = np.where(fate["appeal_approved"], code["approved"], code["rejected"])
        cancelled = result.outcome[idx] == Outcome.CANCELLED_BY_LIFT
        cancel_time = np.where(cancelled, result.lift_day, np.inf)
        columns = [
            ("warned", fate["warned"], window_cause),
            ("locked", fate["locked"], window_cause),
            ("lock_cancelled", cancel_time, np.full(idx.size, code["lift"])),
            ("unlocked", fate["unlocked"], unlock_cause),
            ("appeal_filed", fate["appealed"], np.full(idx.size, code["appeal"])),
            ("appeal_closed", fate["appeal_closed"], verdict),
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
        parts["variant"].append(np.full(order.size, labels.variant_code(result), dtype=np.int16))
        parts["replication"].append(np.full(order.size, result.replication, dtype=np.int32))
        parts["device"].append(device[order].astype(np.int64))
        parts["t"].append(t[order])
        parts["kind"].append(np.concatenate(kinds)[order])
        parts["cause"].append(np.concatenate(cause_codes)[order])
    joined = {name: np.concatenate(arrays) for name, arrays in parts.items()}
    return pd.DataFrame(
        {
            "variant": pd.Categorical.from_codes(joined["variant"], labels.variants),
            "replication": joined["replication"],
            "device": joined["device"],
            "t": joined["t"],
            "date": np.datetime64(scenario.start, "D")
            + np.floor(joined["t"]).astype("timedelta64[D]"),
            "kind": pd.Categorical.from_codes(joined["kind"], EVENT_KINDS),
            "cause": pd.Categorical.from_codes(joined["cause"], causes),
        }
    )


def to_date(scenario: Scenario, day: float) -> dt.date | None:
    """Calendar date of a day number (None for NaN)."""
    if not np.isfinite(day):
        return None
    return scenario.start + dt.timedelta(days=int(np.floor(day)))

"""Turning one variant's run into tidy frames: daily counts, device rows and the event log.

`daily` is kept for every replication (it is small: days x regions x channels). `devices` and
`events` are per device, so a run keeps them only for its detail replications, and `devices`
holds the devices the policy concerns: activated in, or detected in, a banned territory. Devices
elsewhere that the policy never touched are counted in `daily`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

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


def concerned_devices(population: Population, result: VariantResult) -> np.ndarray:
    """Indices of devices activated in, or detected in, a banned territory (ascending).

    Variants that share a banned list and a belief (the engine's shared, read-only detection)
    share their concerned devices: computed once per replication, kept with the population.
    """
    banned = tuple(sorted({int(code) for code in result.banned}))
    book = population.codebook

    def activated_in_banned() -> np.ndarray:
        mask = np.isin(book.region_territories, banned)[population.region]
        mask.flags.writeable = False
        return mask

    def compute() -> np.ndarray:
        in_banned = population.memo(("activated in banned", banned), activated_in_banned)
        lookup = np.zeros(len(book.territories) + 1, dtype=bool)  # NO_SIGNAL: trailing False
        lookup[list(banned)] = True
        rows = np.flatnonzero(in_banned | lookup[result.detected])
        rows.flags.writeable = False
        return rows

    return population.memo(("concerned devices", banned, result.belief), compute)


def _label(value: str, size: int) -> pd.Categorical:
    """A constant text column as a one-category Categorical (cheap to build, store and group)."""
    return pd.Categorical.from_codes(np.zeros(size, dtype=np.int8), [value])


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
    """`devices_frame` of several variants of one replication, one after the other: the frame
    `pd.concat(..., ignore_index=True)` of theirs would give.

    At realistic scale a replication has millions of such rows; writing every variant straight
    into the joined columns avoids building, then copying, a frame per variant.
    """
    if not variants:
        raise ValueError("devices_frames needs at least one variant")
    book = population.codebook
    territories = [*book.territories, "none"]
    rows_of = [concerned_devices(population, result) for result in variants]
    total = sum(rows.size for rows in rows_of)
    device = np.empty(total, dtype=np.int64)
    replication = np.empty(total, dtype=np.int32)
    region = np.empty(total, dtype=population.region.dtype)
    channel = np.empty(total, dtype=population.channel.dtype)
    detected = np.empty(total, dtype=np.int16)
    activated = np.empty(total)
    times = {name: np.full(total, np.nan) for name in _TIMES}
    unlock_cause = np.zeros(total, dtype=np.int8)
    outcome = np.empty(total, dtype=np.int8)
    labels: list[pd.Series] = []
    lock_causes: list[pd.Series] = []
    offset = 0
    for result, rows in zip(variants, rows_of, strict=True):
        size = rows.size
        part = slice(offset, offset + size)
        offset += size
        # Considered devices are detected in a banned territory, hence all among the rows.
        at = np.searchsorted(rows, result.considered)
        device[part] = rows
        replication[part] = result.replication
        region[part] = population.region[rows]
        channel[part] = population.channel[rows]
        belief = result.detected[rows]
        detected[part] = np.where(belief < 0, len(territories) - 1, belief)
        activated[part] = population.activated[rows]
        for name in _TIMES:
            values = getattr(result, name)
            happened = np.isfinite(values)
            times[name][offset - size + at[happened]] = values[happened]
        unlock_cause[offset - size + at] = result.unlock_cause
        outcome[part] = result.outcome[rows]
        locked = np.isfinite(result.locked)
        lock_cause = np.full(size, -1, dtype=np.int16)
        lock_cause[at[locked]] = result.decided_by[locked]
        lock_causes.append(
            pd.Series(pd.Categorical.from_codes(lock_cause, list(result.window_names)))
        )
        labels.append(pd.Series(_label(result.variant, size)))
    return pd.DataFrame(
        {
            "variant": concat_column(labels),
            "replication": replication,
            "device": device,
            "region": pd.Categorical.from_codes(region, book.regions),
            "channel": pd.Categorical.from_codes(channel, book.channels),
            "detected": pd.Categorical.from_codes(detected, territories),
            "activated": activated,
            "warned": times["warned"],
            "locked": times["locked"],
            "unlocked": times["unlocked"],
            "lock_cause": concat_column(lock_causes),
            "unlock_cause": pd.Categorical.from_codes(
                unlock_cause, [c.name.lower() for c in UnlockCause]
            ),
            "appealed": times["appealed"],
            "appeal_started": times["appeal_started"],
            "appeal_closed": times["appeal_closed"],
            "outcome": pd.Categorical.from_codes(outcome, OUTCOME_NAMES),
        },
        copy=False,  # every column is a fresh array: skip consolidating them into 2D blocks
    )


def concat_frames(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """`pd.concat(frames, ignore_index=True)`, the same frame, built column by column.

    A task's device rows are millions (every concerned device, once per variant); pandas'
    concatenation spends seconds there, mostly turning the per-variant one-category `variant`
    columns into text one row at a time. Here each column is joined directly (numpy arrays,
    categorical codes, or an Arrow dictionary decoded at once) into the dtype `pd.concat` gives;
    any other column, or frames whose columns differ, go through `pd.concat` itself.
    """
    if not frames:
        return pd.concat(frames, ignore_index=True)  # raises as pd.concat does
    columns = frames[0].columns
    if len(frames) == 1 or any(not frame.columns.equals(columns) for frame in frames):
        return pd.concat(frames, ignore_index=True)
    joined = {name: concat_column([frame[name] for frame in frames]) for name in columns}
    out = pd.DataFrame(joined, copy=False)
    out.columns = columns
    return out


def concat_column(parts: list[pd.Series]) -> pd.Series | np.ndarray | pd.Categorical:
    """Series joined end to end, in the dtype `pd.concat` would give them."""
    target = pd.concat([part.iloc[:1] for part in parts], ignore_index=True).dtype
    first = parts[0].dtype
    if isinstance(first, np.dtype) and target == first and all(p.dtype == first for p in parts):
        return np.concatenate([part.to_numpy() for part in parts])
    if isinstance(first, pd.CategoricalDtype) and all(
        isinstance(p.dtype, pd.CategoricalDtype) for p in parts
    ):
        if target == first and all(p.dtype == first for p in parts):
            codes = np.concatenate([part.cat.codes.to_numpy() for part in parts])
            return pd.Categorical.from_codes(codes, dtype=first)
        if isinstance(target, pd.StringDtype) and target.storage == "pyarrow":
            return _categories_as_text(parts, target)
    return pd.concat(parts, ignore_index=True)


def _categories_as_text(parts: list[pd.Series], target: pd.StringDtype) -> pd.Series:
    """Categorical parts with different categories (one variant's label each) as one text
    column. When every part is a run of one string (a `_label`), Arrow's buffers are written
    directly (offsets and bytes); otherwise the codes are decoded through a dictionary."""
    import pyarrow as pa

    runs = [
        (str(part.cat.categories[0]).encode(), part.size)
        for part in parts
        if len(part.cat.categories) == 1 and not (part.cat.codes.to_numpy() < 0).any()
    ]
    if len(runs) == len(parts):
        lengths = np.repeat([len(text) for text, _ in runs], [size for _, size in runs])
        offsets = np.zeros(lengths.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        data = b"".join(text * size for text, size in runs)
        joined = pa.LargeStringArray.from_buffers(
            lengths.size, pa.py_buffer(offsets), pa.py_buffer(data)
        )
        return pd.Series(pd.array(joined, dtype=target))
    names: dict[object, int] = {}
    codes = []
    for part in parts:
        remap = np.array(
            [names.setdefault(c, len(names)) for c in part.cat.categories], dtype=np.int32
        )
        local = part.cat.codes.to_numpy()
        codes.append(np.where(local >= 0, remap[np.maximum(local, 0)], -1).astype(np.int32))
    code = np.concatenate(codes)
    indices = pa.array(code, mask=code < 0)
    dictionary = pa.array([str(name) for name in names], type=pa.large_string())
    decoded = pa.DictionaryArray.from_arrays(indices, dictionary).dictionary_decode()
    return pd.Series(pd.array(decoded, dtype=target))


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

"""Daily totals: one daily column summed over the keys it is not grouped by.

`daily` has one row per date, variant, replication, region and channel. Metrics (peaks), the
expectations (locks before a date, first lock), the figures (bands across replications) and the
consistency check (daily counts add up to the metrics) all need the same thing from it: a
column summed per day over regions and channels, kept apart by some keys. This is the one place
that does it. It sums with numpy (`bincount` over key codes): a pandas group-by per variant and
grouping cost more than the rest of the metrics. The sums are of counts, exact in float64.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def daily_totals(
    daily: pd.DataFrame,
    column: str,
    *,
    by: Sequence[str] = ("variant", "replication"),
    days: int | None = None,
) -> pd.DataFrame:
    """A days x groups table of `column` summed over every key not in `by`.

    Rows are the day numbers `0 .. days-1` when `days` is given (a day without rows counts
    zero), else the days present, in order. Columns are the combinations of `by` present in
    `daily`, in sorted order (a category's own order): a plain index for one key, a MultiIndex
    for several, and a single column named `"all"` when `by` is empty. Values are float64.
    """
    day = daily["day"].to_numpy()
    if days is None:
        day_index, day_of_row = np.unique(day, return_inverse=True)
    else:
        day_index, day_of_row = np.arange(days), day.astype(np.int64)
    codes, levels = [], []
    for key in by:
        code, level = pd.factorize(daily[key], sort=True)
        codes.append(code)
        levels.append(level)
    if by:
        flat = np.ravel_multi_index(codes, tuple(len(level) for level in levels))
        present, group_of_row = np.unique(flat, return_inverse=True)
    else:
        present, group_of_row = np.zeros(1, dtype=np.int64), np.zeros(len(daily), dtype=np.int64)
    n_days = day_index.size
    sums = np.bincount(
        group_of_row * n_days + day_of_row,
        weights=daily[column].to_numpy(dtype=float),
        minlength=present.size * n_days,
    ).reshape(present.size, n_days)
    return pd.DataFrame(
        sums.T, index=pd.Index(day_index, name="day"), columns=_columns(by, levels, present)
    )


def _columns(by: Sequence[str], levels: list, present: np.ndarray) -> pd.Index:
    if not by:
        return pd.Index(["all"])
    positions = np.unravel_index(present, tuple(len(level) for level in levels))
    arrays = [np.asarray(level)[where] for level, where in zip(levels, positions, strict=True)]
    if len(by) == 1:
        return pd.Index(arrays[0], name=by[0])
    return pd.MultiIndex.from_arrays(arrays, names=list(by))

"""The one daily-totals helper equals a plain pandas group-by, fills missing days with zero, and
is what metrics, expectations, figures and the consistency check read."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simlock.analysis.daily import daily_totals


def _daily(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = 400
    return pd.DataFrame(
        {
            "day": rng.integers(0, 20, rows).astype(np.int32),
            "variant": rng.choice(["baseline", "no-lift", "early"], rows),
            "replication": rng.integers(0, 4, rows).astype(np.int32),
            "region": pd.Categorical(rng.choice(["CU", "IR", "RU"], rows)),
            "locked": rng.integers(0, 50, rows),
        }
    )


def test_totals_equal_a_pandas_group_by_over_the_other_keys() -> None:
    daily = _daily()
    plain = (
        daily.groupby(["day", "variant", "replication"], observed=True)["locked"]
        .sum()
        .unstack(["variant", "replication"], fill_value=0)
        .sort_index(axis=1)
        .astype(float)
    )
    ours = daily_totals(daily, "locked")
    pd.testing.assert_frame_equal(ours, plain, check_names=False, check_index_type=False)


def test_one_key_gives_a_plain_index_and_no_key_one_column() -> None:
    daily = _daily()
    by_region = daily_totals(daily, "locked", by=("region",))
    assert list(by_region.columns) == ["CU", "IR", "RU"]
    overall = daily_totals(daily, "locked", by=())
    assert list(overall.columns) == ["all"]
    np.testing.assert_array_equal(overall["all"], by_region.sum(axis=1))
    assert overall["all"].sum() == daily["locked"].sum()


def test_given_days_are_every_row_and_a_day_without_rows_counts_zero() -> None:
    daily = _daily()
    daily = daily[daily["day"] != 7]
    table = daily_totals(daily, "locked", by=("replication",), days=25)
    assert list(table.index) == list(range(25))
    assert (table.loc[7] == 0).all() and (table.loc[20:] == 0).all().all()

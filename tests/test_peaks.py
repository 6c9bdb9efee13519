"""Peak metrics of a real run equal a plain reading of its own daily table.

The metrics compute peaks with numpy day sums; here pandas group-bys over `Results.daily` say
what the peaks must be, through the public API only: the most devices locked at a day's end
(overall and per region), and the first day of that peak and of the peak of new locks, undefined
when nothing was locked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simlock
from tests.cli_helpers import small_doc


def run(doc: dict) -> simlock.Results:
    scenario = simlock.load_scenario(doc)
    return simlock.run(scenario, replications=3, scale=0.1, workers=1, detail_replications=0)


def replicate(results: simlock.Results, metric: str, group: str = "all") -> pd.Series:
    """One metric per (variant, replication, key) from the run's replicates."""
    rows = results.replicates[
        (results.replicates["metric"] == metric) & (results.replicates["group"] == group)
    ]
    return rows.set_index(["variant", "replication", "key"])["value"].sort_index()


def first_day_of_peak(per_day: pd.Series) -> float:
    """The first day on which a daily count is at its highest; NaN if it never exceeds zero."""
    return float(per_day.idxmax()) if per_day.max() > 0 else np.nan


@pytest.fixture(scope="module")
def results() -> simlock.Results:
    return run(small_doc())


def test_peak_days_are_the_first_day_of_each_peak_in_the_daily_table(results):
    daily = results.daily.assign(day=results.daily["day"].astype(int))
    totals = daily.groupby(["variant", "replication", "day"], observed=True)[
        ["locked", "newly_locked"]
    ].sum()
    by_task = totals.groupby(level=["variant", "replication"], observed=True)
    expected = pd.DataFrame(
        {
            "peak_locked": by_task["locked"].max().astype(float),
            "peak_locked_day": by_task["locked"].apply(
                lambda s: first_day_of_peak(s.droplevel([0, 1]))
            ),
            "peak_new_locks_day": by_task["newly_locked"].apply(
                lambda s: first_day_of_peak(s.droplevel([0, 1]))
            ),
        }
    )
    assert expected["peak_locked"].min() > 0  # the run locks devices: the peaks are defined
    for metric in expected.columns:
        got = replicate(results, metric).droplevel("key")
        pd.testing.assert_series_equal(
            got, expected[metric].sort_index(), check_names=False, check_index_type=False
        )


def test_the_peak_per_region_is_the_most_locked_at_a_day_end_in_that_region(results):
    per_day = results.daily.groupby(["variant", "replication", "region", "day"], observed=True)[
        "locked"
    ].sum()
    expected = per_day.groupby(level=["variant", "replication", "region"], observed=True).max()
    got = replicate(results, "peak_locked", group="region")
    expected.index = expected.index.set_names(["variant", "replication", "key"])
    expected.index = expected.index.set_levels(expected.index.levels[2].astype(str), level="key")
    pd.testing.assert_series_equal(
        got, expected.astype(float).sort_index(), check_names=False, check_index_type=False
    )


def test_a_run_without_locks_has_no_peak_day():
    doc = small_doc()
    for window in doc["policy"]["windows"]:
        window["coverage"] = 0.0
    quiet = run(doc)
    assert (replicate(quiet, "peak_locked") == 0).all()
    assert replicate(quiet, "peak_locked_day").isna().all()
    assert replicate(quiet, "peak_new_locks_day").isna().all()

"""The observation model: locked users complain with their territory's propensity.

Closed form: the expected complaints of a set of locked users is the sum of their
propensities; the counts are binomial per territory, checked with exact tests at a fixed seed.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import simlock
from simlock.model.observation import complaint_times
from simlock.scenario.loader import with_values

SCENARIO = "scenarios/september-2021.yaml"


def with_shares(shares: dict[str, float]) -> simlock.Scenario:
    """The 2021 scenario with these complaint propensities and 0 in every other region."""
    scenario = simlock.load_scenario(SCENARIO)
    values = {f"regions.{r.id}.complaint_share": shares.get(r.id, 0.0) for r in scenario.regions}
    return with_values(scenario, values)[0]


def test_expected_complaints_is_the_sum_of_propensities() -> None:
    rng = np.random.default_rng(7)
    n = 200_000
    keys = rng.integers(0, 2**63, size=n, dtype=np.uint64)
    regions = rng.integers(0, 3, size=n)
    shares = np.array([0.02, 0.3, 0.0])
    locked = np.where(rng.random(n) < 0.6, rng.uniform(0, 100, n), np.inf)
    times = complaint_times(keys, regions, locked, shares)
    complained = np.isfinite(times)
    # Only locked users complain, on their lock day, never in a territory of propensity 0.
    assert not complained[~np.isfinite(locked)].any()
    np.testing.assert_array_equal(times[complained], locked[complained])
    assert not complained[regions == 2].any()
    expected = shares[regions[np.isfinite(locked)]].sum()
    var = (lambda p: (p * (1 - p)).sum())(shares[regions[np.isfinite(locked)]])
    assert abs(complained.sum() - expected) < 4 * np.sqrt(var)


def test_a_device_complains_alike_in_every_variant_that_locks_it() -> None:
    keys = np.arange(1, 10_001, dtype=np.uint64) * np.uint64(2654435761)
    regions = np.zeros(keys.size, dtype=np.int64)
    early = complaint_times(keys, regions, np.full(keys.size, 3.0), np.array([0.25]))
    late = complaint_times(keys, regions, np.full(keys.size, 9.0), np.array([0.25]))
    np.testing.assert_array_equal(np.isfinite(early), np.isfinite(late))


@pytest.mark.slow
def test_complaints_in_a_run_are_binomial_per_territory() -> None:
    shares = {"CU": 0.3, "IR": 0.05, "UA-43": 0.0}
    scenario = with_shares(shares)
    results = simlock.run(scenario, scale=0.05, replications=2, variants=["baseline"])
    rows = results.replicates[results.replicates["group"] == "region"]
    wide = rows.pivot_table(
        index=["replication", "key"], columns="metric", values="value", observed=True
    )
    totals = wide.groupby(level="key", observed=True)[["users_affected", "complaints"]].sum()
    for region, share in shares.items():
        locked, heard = (int(v) for v in totals.loc[region])
        if share == 0:
            assert heard == 0
            continue
        assert locked > 50
        assert stats.binomtest(heard, locked, share).pvalue > 0.001, (region, heard, locked)
    # Territories without a propensity are not heard from; the daily table adds up the same.
    others = totals.drop(index=list(shares))
    assert (others["complaints"] == 0).all()
    daily = results.daily.groupby("region", observed=True)["complaints"].sum()
    assert int(daily.sum()) == int(totals["complaints"].sum())


@pytest.mark.slow
def test_the_headline_says_how_many_complained_and_where() -> None:
    from simlock.report.headline import who_where_how_long

    scenario = with_shares({"CU": 0.5})
    results = simlock.run(scenario, scale=0.02, replications=2, variants=["baseline"])
    words = str(who_where_how_long(results).spans)
    assert "complained publicly" in words
    assert "most from Cuba (CU)" in words
    silent = simlock.run(with_shares({}), scale=0.02, replications=2, variants=["baseline"])
    assert "complained" not in str(who_where_how_long(silent).spans)

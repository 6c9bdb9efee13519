"""The engine against closed forms: Poisson activations at rate λ, coverage p, a fixed lock
delay d and Poisson check-ins at rate μ (no offline spells).

A device activated at s is locked at its first check-in after s + d, so the number locked at
time t before the lift is a thinned Poisson count with mean

    m(t) = λ p [(t − d) − (1 − e^(−μ(t − d))) / μ]        (t > d, else 0)

and after a lift at T (unlock at the next check-in) each of the N(T) locked devices is still
locked at t with probability e^(−μ(t − T)). The daily frame's `locked` is the count at the end of
the day: day k holds the count at time k + 1.

Tolerances: each checked count is Poisson (before the lift) or binomial given N(T) (after), so a
standardized difference beyond 4.5 has probability below 7e-6; with at most 8 checks per test the
chance of a false failure stays under 1e-4. A lock delay off by one day, a check-in rate off by a
factor two, or the daily count read at the start of the day instead of its end all move the early
counts by well over 4.5 standard deviations (see `test_the_bound_rejects_a_wrong_model`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simlock
from tests.engine_helpers import make_scenario

RATE, COVERAGE, DELAY, CHECKINS_PER_DAY, LIFT = 2000.0, 0.4, 3.0, 0.5, 30
Z_BOUND = 4.5


def expected_locked(t: np.ndarray, rate=RATE, coverage=COVERAGE, delay=DELAY, mu=CHECKINS_PER_DAY):
    """m(t): expected devices locked at time t (days) before the lift."""
    since = np.maximum(np.asarray(t, dtype=float) - delay, 0.0)
    return rate * coverage * (since + np.expm1(-mu * since) / mu)


def _scenario(lift: bool, seed: int) -> simlock.Scenario:
    return make_scenario(
        {
            "seed": seed,
            "end": "2021-07-11",  # 40 days
            "checkin": {"model": "poisson", "interval_days": 1 / CHECKINS_PER_DAY},
            "regions": [
                {
                    "id": "CU",
                    "name": "Cuba",
                    "activations": [{"from": "2021-06-01", "rate_per_day": RATE}],
                    "channels": {"official": 1.0},
                    "signals": {"local_sim_share": 1.0, "location_share": 0.0},
                },
            ],
            "policy": {
                "detection": {"signals": ["sim"], "rule": "any"},
                "lock_delay": {"distribution": "fixed", "days": DELAY},
                "coverage": COVERAGE,
                **({"lift": {"date": "2021-07-01", "unlock": True}} if lift else {}),
            },
        }
    )


def _daily_locked(scenario: simlock.Scenario) -> pd.DataFrame:
    results = simlock.run(scenario, replications=1, detail_replications=0)
    return results.daily.groupby("day")[["locked", "newly_locked", "unlocked"]].sum()


def _z_poisson(observed: np.ndarray, mean: np.ndarray) -> np.ndarray:
    return (observed - mean) / np.sqrt(mean)


CHECK_DAYS = np.array([3, 4, 5, 7, 11, 19, 29])
"""Days whose end-of-day count is checked: the transient (t - d small) and the linear regime."""


@pytest.mark.parametrize("seed", [1, 2])
def test_locked_before_the_lift_follows_the_closed_form(seed: int) -> None:
    daily = _daily_locked(_scenario(lift=False, seed=seed))
    observed = daily.loc[CHECK_DAYS, "locked"].to_numpy()
    mean = expected_locked(CHECK_DAYS + 1.0)
    assert np.abs(_z_poisson(observed, mean)).max() < Z_BOUND
    # Nothing can be locked before the delay has run out for the first activations.
    assert (daily.loc[: int(DELAY) - 1, "locked"] == 0).all()


def test_locked_after_the_lift_decays_exponentially_at_the_check_in_rate() -> None:
    daily = _daily_locked(_scenario(lift=True, seed=3))
    at_lift = int(daily.loc[LIFT - 1, "locked"])  # end of the day before the lift = time T
    assert abs(_z_poisson(np.array([at_lift]), expected_locked(np.array([LIFT])))[0]) < Z_BOUND
    assert (daily.loc[LIFT:, "newly_locked"] == 0).all(), "a lock after the lift"
    days_after = np.array([LIFT, LIFT + 1, LIFT + 3, LIFT + 6])
    still = np.exp(-CHECKINS_PER_DAY * (days_after + 1.0 - LIFT))
    observed = daily.loc[days_after, "locked"].to_numpy()
    z = (observed - at_lift * still) / np.sqrt(at_lift * still * (1 - still))
    assert np.abs(z).max() < Z_BOUND


def test_the_bound_rejects_a_wrong_model() -> None:
    """Power: the same observations are far outside the bound for a model one day slower, one
    with half the check-in rate, or one that reads the daily count at the start of the day."""
    daily = _daily_locked(_scenario(lift=False, seed=1))
    observed = daily.loc[CHECK_DAYS, "locked"].to_numpy()
    for wrong in (
        expected_locked(CHECK_DAYS + 1.0, delay=DELAY + 1),
        expected_locked(CHECK_DAYS + 1.0, mu=CHECKINS_PER_DAY / 2),
        expected_locked(CHECK_DAYS + 0.0),
    ):
        assert np.abs(_z_poisson(observed, np.maximum(wrong, 1.0))).max() > 2 * Z_BOUND

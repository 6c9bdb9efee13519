"""The comparison of an engine with the per-device reference model, shared by
`test_engine_reference.py` (the engine passes it) and `test_engine_mutants.py` (wrong engines
fail it): the cases, the statistics compared, the bounds, and the reference's runs.

See `test_engine_reference.py` for the method and the bounds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from simlock.scenario.models import Scenario
from tests.engine_helpers import counts, engine_frame, make_scenario
from tests.reference_model import simulate_reference

REPS = 20
COHORTS_COMPARED = 3
"""Locks are compared for the devices of cohorts 0, 1 and 2 (the cohort cases have three)."""
T_BOUND, KS_P = 5.5, 1e-4
TOO_RARE = "too rare to test"


@dataclass(frozen=True)
class Case:
    """A scenario (overrides of the helpers' base world) and the distributions to compare."""

    name: str
    overrides: dict[str, Any]
    distributions: tuple[str, ...] = ("days_to_lock", "lock_duration")
    must_happen: tuple[str, ...] = field(default=())


WINDOWS_AND_LIFT = Case(
    "periodic check-ins with offline spells; trickle and surge windows with look-back; lift; "
    "exemption of allowed SIMs",
    {
        "end": "2021-07-16",
        "checkin": {"jitter_days": 0.3, "offline_rate_per_day": 0.2, "offline_mean_days": 2.0},
        "policy": {
            "windows": [
                {"name": "trickle", "start": "2021-06-06", "end": "2021-06-26", "coverage": 0.2},
                {
                    "name": "surge",
                    "start": "2021-06-26",
                    "end": "2021-07-08",
                    "coverage": 0.7,
                    "lookback_days": 15,
                },
            ],
            "lift": {"date": "2021-07-06", "unlock": True},
            "exemptions": {"allowed_sim": True},
        },
    },
    must_happen=("users_affected", "cancelled_by_lift", "unlocked_by_lift", "locked_by_surge"),
)

POISSON_WARNING = Case(
    "Poisson check-ins with offline spells; coverage without windows; warning, grace and "
    "resolution; lift",
    {
        "end": "2021-07-11",
        "checkin": {
            "model": "poisson",
            "interval_days": 1.5,
            "offline_rate_per_day": 0.3,
            "offline_mean_days": 1.0,
        },
        "policy": {
            "coverage": 0.6,
            "lock_delay": {"distribution": "uniform", "low_days": 1, "high_days": 6},
            "warning": {"grace_days": 2.0, "resolve_share": 0.3},
            "lift": {"date": "2021-07-01"},
        },
    },
    distributions=("days_to_warning", "days_to_lock", "lock_duration"),
    must_happen=("warned", "resolved_after_warning", "cancelled_by_lift", "unlocked_by_lift"),
)

CONGESTED_DESK = Case(
    "appeals to a congested first-come-first-served desk, no lift; empirical lock delays",
    {
        "end": "2021-07-11",
        "checkin": {"jitter_days": 0.2, "offline_rate_per_day": 0.1, "offline_mean_days": 3.0},
        "policy": {
            "lock_delay": {
                "distribution": "empirical",
                "values_days": [1, 2, 5, 9],
                "weights": [1, 3, 2, 1],
            },
            "appeals": {
                "share": 0.5,
                "delay": {"distribution": "exponential", "mean_days": 2.0},
                "agents": 2,
                "service_days": 0.4,
                "approval_share": 0.6,
            },
        },
    },
    must_happen=("appeals_filed", "appeals_served", "appeals_approved", "unlocked_by_appeal"),
)

APPEALS_AND_LIFT = Case(
    "appeals and a lift that unlocks: cases not started are withdrawn; slow periodic check-ins",
    {
        "end": "2021-07-06",
        "checkin": {"interval_days": 3.0, "jitter_days": 1.0, "offline_rate_per_day": 0.05},
        "policy": {
            "lock_delay": {"distribution": "exponential", "mean_days": 3.0},
            "lift": {"date": "2021-06-26"},
            "appeals": {
                "share": 0.6,
                "delay": {"distribution": "uniform", "low_days": 0.5, "high_days": 3},
                "agents": 3,
                "service_days": 0.3,
                "approval_share": 0.8,
            },
        },
    },
    must_happen=("appeals_filed", "unlocked_by_appeal", "unlocked_by_lift", "cancelled_by_lift"),
)

LIFT_WITHOUT_UNLOCK = Case(
    "a lift that does not unlock: pending locks cancelled, locked devices stay locked, the desk "
    "stays open; warnings; fixed delays; exempt travellers by channel",
    {
        "end": "2021-07-06",
        "checkin": {"offline_rate_per_day": 0.2, "offline_mean_days": 1.5},
        "policy": {
            "lock_delay": {"distribution": "fixed", "days": 2.5},
            "warning": {"grace_days": 1.0},
            "lift": {"date": "2021-06-21", "unlock": False},
            "exemptions": {"channels": ["traveller"]},
            "appeals": {
                "share": 0.4,
                "delay": {"distribution": "fixed", "days": 4.0},
                "agents": 1,
                "service_days": 0.25,
                "approval_share": 0.5,
            },
        },
    },
    distributions=("days_to_warning", "days_to_lock", "lock_duration"),
    must_happen=("cancelled_by_lift", "locked_at_end", "unlocked_by_appeal"),
)

CASES = [WINDOWS_AND_LIFT, POISSON_WARNING, CONGESTED_DESK, APPEALS_AND_LIFT, LIFT_WITHOUT_UNLOCK]


def statistics(frame: pd.DataFrame, horizon: float) -> dict[str, float]:
    """Per-replication statistics: the helpers' `counts`, locks per window, mean days."""
    out: dict[str, float] = dict(counts(frame))
    locked = frame[frame["locked"].notna()]
    for window in ("trickle", "surge"):
        out[f"locked_by_{window}"] = float((locked["decided_by"] == window).sum())
    for cohort in range(COHORTS_COMPARED):  # the cohort cases' first cohorts; none elsewhere
        out[f"locked_in_cohort_{cohort}"] = float((locked["cohort"] == cohort).sum())
    waits = (frame["appeal_started"] - frame["appealed"]).dropna()
    out["mean_days_to_lock"] = float((locked["locked"] - locked["activated"]).mean())
    out["mean_lock_days"] = float((locked["unlocked"].fillna(horizon) - locked["locked"]).mean())
    out["mean_appeal_wait"] = float(waits.mean()) if len(waits) else 0.0
    return out


def distributions(frame: pd.DataFrame, horizon: float) -> dict[str, np.ndarray]:
    """Per-device samples of days: activation to warning and to lock, lock duration (censored
    at the end of the run)."""
    locked = frame[frame["locked"].notna()]
    warned = frame[frame["warned"].notna()]
    return {
        "days_to_warning": (warned["warned"] - warned["activated"]).to_numpy(),
        "days_to_lock": (locked["locked"] - locked["activated"]).to_numpy(),
        "lock_duration": (locked["unlocked"].fillna(horizon) - locked["locked"]).to_numpy(),
    }


Simulator = Callable[[Scenario, int], pd.DataFrame]
"""One replication of a scenario as a per-device frame (`tests.engine_helpers.engine_frame`'s
shape): the engine, the reference model, or a deliberately wrong engine."""


def engine(scenario: Scenario, replication: int) -> pd.DataFrame:
    """simlock's engine."""
    return engine_frame(scenario, scenario.policy, replication)


def reference(scenario: Scenario, replication: int) -> pd.DataFrame:
    """The per-device reference model."""
    return simulate_reference(scenario, scenario.policy, replication)


Collected = tuple[pd.DataFrame, dict[str, np.ndarray]]


def collect(simulate: Simulator, scenario: Scenario) -> Collected:
    """Statistics per replication (rows) and pooled samples of days, over `REPS` replications."""
    rows, samples = [], {}
    for replication in range(REPS):
        frame = simulate(scenario, replication)
        rows.append(statistics(frame, scenario.days))
        for name, values in distributions(frame, scenario.days).items():
            samples.setdefault(name, []).append(values)
    return pd.DataFrame(rows), {k: np.concatenate(v) for k, v in samples.items()}


class ReferenceRuns:
    """The reference model's results per case, each computed on first use: the slow part of a
    comparison (the reference simulates check-in by check-in), shared by every test that compares
    an engine with the same case. The session fixture `reference_runs` (tests/conftest.py) holds
    one for the whole test session."""

    def __init__(self) -> None:
        self._runs: dict[str, Collected] = {}

    def __getitem__(self, case: Case) -> Collected:
        if case.name not in self._runs:
            self._runs[case.name] = collect(reference, make_scenario(case.overrides))
        return self._runs[case.name]


def compare(case: Case, reference_runs: ReferenceRuns, simulate: Simulator = engine) -> list[str]:
    """Every disagreement between `simulate` (the engine, or a wrong engine) and the reference
    beyond the bounds, as text; problems of a case too rare to test end in `TOO_RARE`."""
    engine_stats, engine_samples = collect(simulate, make_scenario(case.overrides))
    ref_stats, ref_samples = reference_runs[case]
    problems = []
    for name in engine_stats.columns:
        e, r = engine_stats[name].to_numpy(), ref_stats[name].to_numpy()
        difference = r - e
        error = difference.std(ddof=1) / np.sqrt(REPS)
        if error == 0:
            if difference.mean() != 0:
                problems.append(f"{name}: engine always {e.mean()}, reference {r.mean()}")
            continue
        t = difference.mean() / error
        if abs(t) > T_BOUND:
            problems.append(f"{name}: engine {e.mean():.2f}, reference {r.mean():.2f}, t={t:.1f}")
    for name in case.distributions:
        p = stats.ks_2samp(engine_samples[name], ref_samples[name]).pvalue
        if p < KS_P:
            problems.append(f"{name}: KS p-value {p:.2e}")
    for name in case.must_happen:  # the case does exercise what it is meant to
        if engine_stats[name].mean() < 5 or ref_stats[name].mean() < 5:
            problems.append(f"{name}: {engine_stats[name].mean():.1f} a run, {TOO_RARE}")
    return problems

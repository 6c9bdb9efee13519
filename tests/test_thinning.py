"""A replication without device tables draws only the devices some window could decide
(`model.thinning`): the shortcut must change no metric, no daily count and no decided device."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simlock
from simlock.analysis import metrics, tables
from simlock.execution.runner import Task, run_task
from simlock.model.engine import simulate_variant
from simlock.model.policy import decide_in_window, delay_quantile, windows_in_days
from simlock.model.population import generate
from simlock.model.thinning import decidable, reach
from simlock.scenario.loader import load_scenario

from .engine_helpers import make_scenario
from .test_counting import NEIGHBOURS

ROOT = Path(__file__).resolve().parents[1]

EVERYTHING_AFTER_A_DECISION = {
    "policy": {
        "windows": [
            {"name": "early", "start": "2021-06-03", "end": "2021-06-20", "coverage": 0.05},
            {
                "name": "late",
                "start": "2021-07-01",
                "end": "2021-07-10",
                "coverage": 0.4,
                "lookback_days": 5,
            },
        ],
        "lift": {"date": "2021-07-20", "unlock": True},
        "appeals": {
            "share": 0.5,
            "delay": {"distribution": "exponential", "mean_days": 2},
            "agents": 2,
            "service_days": 1.0,
            "approval_share": 0.5,
        },
        "after_lock": [
            {"behaviour": "custom_rom", "share": 0.2, "delay": {"distribution": "fixed", "days": 3}}
        ],
    },
    "variants": {
        "warn-first": {"warning": {"grace_days": 2, "resolve_share": 0.3}},
        "slow": {"lock_delay": {"distribution": "lognormal", "median_days": 9, "sigma": 0.8}},
        "no-lift": {"lift": None},
        "exempt-sim": {"exemptions": {"allowed_sim": True}},
    },
}
"""Two windows (one sweeping), a lift, appeals to a small desk, a behaviour after the lock, a
warning, and a variant with its own lock delay: every step after a decision."""


def _scenarios() -> list[simlock.Scenario]:
    doc = simlock.load_scenario(ROOT / "scenarios" / "september-2021.yaml").model_dump(
        by_alias=True
    )
    doc["worlds"] = None
    return [
        make_scenario(NEIGHBOURS),
        make_scenario(NEIGHBOURS, EVERYTHING_AFTER_A_DECISION),
        load_scenario(doc),
    ]


DELAYS = [
    {"distribution": "fixed", "days": 0},
    {"distribution": "fixed", "days": 6},
    {"distribution": "uniform", "low_days": 1, "high_days": 12},
    {"distribution": "exponential", "mean_days": 4},
    {"distribution": "lognormal", "median_days": 3, "sigma": 1.2},
    {"distribution": "empirical", "values_days": [0.5, 4, 20], "weights": [1, 2, 1]},
]


@pytest.mark.parametrize("delay", DELAYS, ids=lambda d: d["distribution"])
def test_decidable_is_the_engines_window_rule_over_every_window_and_delay(delay) -> None:
    """Whatever the delay's distribution: a delay shorter than a window's look-back, for a
    device activated before it, is never computed, and nothing else is left out."""
    slow = EVERYTHING_AFTER_A_DECISION["variants"]["slow"]
    scenario = make_scenario(
        NEIGHBOURS,
        EVERYTHING_AFTER_A_DECISION,
        {"variants": {"slow": {**slow, "lock_delay": delay}}},
    )
    known = reach(scenario, scenario.policies().values())
    assert known.exact and len(known.rules) == 2  # the slow variant has its own delay
    rng = np.random.default_rng(5)
    activated = np.sort(rng.uniform(0, scenario.days, 200_000))
    u_coverage, u_delay = rng.random(activated.size), rng.random(activated.size)
    by_hand = np.zeros(activated.size, dtype=bool)
    for policy in scenario.policies().values():
        due = activated + delay_quantile(policy.lock_delay, u_delay)
        for window in windows_in_days(policy, scenario):
            by_hand |= np.isfinite(decide_in_window(window, activated, due, u_coverage))
    found = decidable(known, activated, u_coverage, u_delay)
    assert 0 < found.sum() < 0.3 * found.size
    np.testing.assert_array_equal(found, by_hand)


@pytest.mark.parametrize("which", [0, 1, 2])
def test_thinning_changes_no_metric_no_daily_count_and_no_decided_device(which: int) -> None:
    scenario = _scenarios()[which]
    scale = 0.03 if scenario.name == "september-2021" else 1.0
    for replication in (0, 1):
        thin = generate(scenario, replication, scale, thin=True)
        full = generate(scenario, replication, scale)
        assert thin.thinned_for is not None and full.thinned_for is None
        assert len(thin) < 0.5 * len(full)
        assert thin.activations == full.activations
        for name, policy in scenario.policies().items():
            frames = []
            for population in (thin, full):
                result = simulate_variant(scenario, population, policy, name, replication)
                daily = tables.daily_frame(scenario, population, result)
                replicate = metrics.replicate_metrics(population, result, scenario.days, daily)
                decided = result.decided_devices
                fate = pd.DataFrame(
                    {
                        "activated": population.activated[decided],
                        "key": population.key[decided],
                        "region": population.region[decided],
                        "detected": result.detected[decided],
                        **result.fate,
                    }
                )
                frames.append((daily, replicate, fate))
            for thin_frame, full_frame in zip(*frames, strict=True):
                pd.testing.assert_frame_equal(thin_frame, full_frame)


def test_a_thinned_population_holds_the_full_populations_decidable_devices() -> None:
    scenario = make_scenario(NEIGHBOURS, EVERYTHING_AFTER_A_DECISION)
    thin = generate(scenario, 3, thin=True)
    full = generate(scenario, 3)
    known = reach(scenario, scenario.policies().values())
    kept = decidable(known, full.activated, full.u_coverage, full.u_delay)
    for column in ("activated", "region", "channel", "sim", "ip", "gps", "key", "u_coverage"):
        np.testing.assert_array_equal(getattr(thin, column), getattr(full, column)[kept])


def test_a_replication_gives_the_same_numbers_with_or_without_its_device_table() -> None:
    scenario = make_scenario(NEIGHBOURS, EVERYTHING_AFTER_A_DECISION)
    variants = tuple(scenario.variant_names)
    with_table = run_task(Task(scenario, 2, variants, 1.0, detail=True))
    without = run_task(Task(scenario, 2, variants, 1.0, detail=False))
    assert with_table.devices is not None and without.devices is None
    pd.testing.assert_frame_equal(with_table.replicates, without.replicates)
    pd.testing.assert_frame_equal(with_table.daily, without.daily)
    assert with_table.devices_simulated == without.devices_simulated
    assert without.devices_drawn < 0.5 * with_table.devices_drawn


def test_a_thinned_population_refuses_a_policy_it_was_not_thinned_for() -> None:
    scenario = make_scenario(NEIGHBOURS)
    population = generate(scenario, 0, thin=True)
    wider = scenario.policy.model_copy(
        update={
            "windows": [w.model_copy(update={"coverage": 0.9}) for w in scenario.policy.windows]
        }
    )
    with pytest.raises(ValueError, match="could decide were drawn"):
        simulate_variant(scenario, population, wider, "wider", 0)
    simulate_variant(scenario, population, scenario.policy, "baseline", 0)


@pytest.mark.parametrize(
    "name", ["iran-registry-2018", "samsung-tv-block-2021", "pakistan-registry"]
)
def test_registries_device_lists_and_cohorts_are_never_thinned(name: str) -> None:
    """Their metrics count every considered device (registered, listed, kept by a phase)."""
    scenario = simlock.load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    assert not reach(scenario, scenario.policies().values()).exact
    population = generate(scenario, 0, 0.01, thin=True)
    assert population.thinned_for is None


def test_a_policys_parameters_change_which_devices_are_drawn_not_what_they_are() -> None:
    """Common random numbers across sweeps and searches: with a wider window more devices are
    kept, and every device kept under both has the same time, channel and signals."""
    narrow = make_scenario(NEIGHBOURS)
    window = {"name": "all", "start": "2021-06-05", "end": "2021-07-20", "coverage": 0.9}
    wide = make_scenario(NEIGHBOURS, {"policy": {"windows": [window]}})
    assert wide.policy.windows[0].coverage == 0.9
    few, many = generate(narrow, 4, thin=True), generate(wide, 4, thin=True)
    assert 0 < len(few) < len(many)
    assert np.isin(few.key, many.key).all()
    at = np.searchsorted(many.key, few.key, sorter=np.argsort(many.key))
    at = np.argsort(many.key)[at]
    for column in ("activated", "region", "channel", "sim", "ip", "gps", "u_delay"):
        np.testing.assert_array_equal(getattr(few, column), getattr(many, column)[at])
    whole_narrow, whole_wide = generate(narrow, 4), generate(wide, 4)
    for column in ("activated", "region", "channel", "sim", "ip", "gps", "key"):
        np.testing.assert_array_equal(getattr(whole_narrow, column), getattr(whole_wide, column))

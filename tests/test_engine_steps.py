"""The engine's steps, its state and its rules for events at the same instant; the cache.

The order of a run is written twice, in the engine's docstring and as the calls
`simulate_variant` makes: these tests hold the two together, check that every column of a
variant's state exists from the start, and pin each documented tie-break with a case built so the
tie happens (contacts on whole days make a lock land exactly on the lift, an unlock exactly on the
end of the run).
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import numpy as np
import pytest

from simlock.model import engine
from simlock.model.engine import STEPS, Outcome, UnlockCause, simulate_variant
from simlock.model.population import generate
from simlock.scenario.models import Policy, Scenario
from tests.engine_helpers import make_scenario


def test_the_docstring_lists_the_steps_in_the_order_the_engine_calls_them() -> None:
    documented = re.findall(r"^\d+\. `(\w+)`", engine.__doc__ or "", flags=re.MULTILINE)
    assert documented == list(STEPS)
    body = inspect.getsource(engine.simulate_variant)
    called = re.findall(r"\b(?:run|fate)\.(\w+)\(\)", body)
    assert called == list(STEPS)


def test_every_column_of_a_variant_s_state_is_declared_before_the_steps_run() -> None:
    """No step adds an attribute: what the state holds is visible in `__init__`."""
    scenario = make_scenario(
        {
            "cohorts": ["a", "b"],
            "regions": {"CU": {"cohorts": {"a": 0.5, "b": 0.5}}},
            "policy": {
                "phases": [
                    {"cohorts": ["a"], "from": "2021-06-03"},
                    {"cohorts": ["b"], "from": "2021-06-10", "retroactive": True},
                ],
                "warning": {"grace_days": 1.0, "resolve_share": 0.2},
                "lift": {"date": "2021-07-10"},
                "registry": {
                    "start": "2021-06-05",
                    "grace_days": 2,
                    "try_share": 0.5,
                    "exempt_for": {"channels": ["traveller"], "days": 5},
                },
                "device_list": {
                    "batch": ["grey_import"],
                    "start": "2021-06-08",
                    "missed_share": 0.1,
                    "false_listing_share": 0.3,
                    "check": "first_connection",
                },
                "after_lock": [
                    {
                        "behaviour": "custom_rom",
                        "share": 0.2,
                        "delay": {"distribution": "fixed", "days": 3},
                    }
                ],
                "appeals": {
                    "share": 0.5,
                    "delay": {"distribution": "fixed", "days": 1},
                    "agents": 2,
                    "service": {"distribution": "exponential", "mean_days": 0.5},
                    "approval_share": 0.5,
                },
            },
        }
    )
    population = generate(scenario, 0)
    run = engine._VariantRun(scenario, population, scenario.policy, "baseline", 0)
    declared = set(vars(run))
    run.detect()
    run.cohorts()
    run.register()
    run.check_list()
    run.timeline()
    assert set(vars(run)) == declared
    assert run.registered_devices.size and run.kept_devices.size
    assert all(devices.size for devices in run.list_outcomes.values())
    fate = run.decided_devices({"custom_rom": engine.registry.CUSTOM_ROM})
    declared = set(vars(fate))
    for step in STEPS[STEPS.index("warn") :]:
        getattr(fate, step)()
        assert set(vars(fate)) == declared, step
    assert np.isfinite(fate.appeal_started).any() and (fate.unlock_cause > 2).any()


def _outcomes(scenario: Scenario, policy: Policy, replication: int = 0) -> np.ndarray:
    population = generate(scenario, replication)
    return simulate_variant(scenario, population, policy, "x", replication).outcome


SWEEP: dict[str, Any] = {
    "policy": {
        "lock_delay": {"distribution": "fixed", "days": 2},
        "windows": [
            {"name": "trickle", "start": "2021-06-05", "end": "2021-06-20", "coverage": 0.3},
            {
                "name": "surge",
                "start": "2021-06-20",
                "end": "2021-07-10",
                "coverage": 1.0,
                "lookback_days": 15,
            },
        ],
    }
}


def test_a_window_opening_at_the_lift_decides_nothing() -> None:
    """The lift comes first at its instant: the surge's sweep at its opening never happens."""
    population = generate(make_scenario(SWEEP), 0)
    results = {}
    for lift in ("2021-06-20", "2021-06-21"):
        scenario = make_scenario(SWEEP, {"policy": {"lift": {"date": lift}}})
        results[lift] = simulate_variant(scenario, population, scenario.policy, "x", 0)
    at_lift, day_after = results["2021-06-20"], results["2021-06-21"]
    surge = 1
    swept = (day_after.decided_by == surge) & (day_after.decided == 19.0)
    assert swept.sum() > 20  # a day later the sweep does happen
    assert not (at_lift.decided_by == surge).any()
    assert not (at_lift.decided >= 19.0)[np.isfinite(at_lift.decided)].any()


def test_a_lift_dated_on_the_end_of_the_run_never_takes_effect() -> None:
    base = {"end": "2021-07-01", "policy": {"lock_delay": {"distribution": "fixed", "days": 5}}}
    without = make_scenario(base)
    on_end = make_scenario(base, {"policy": {"lift": {"date": "2021-07-01"}}})
    day_before = make_scenario(base, {"policy": {"lift": {"date": "2021-06-30"}}})
    outcome = _outcomes(on_end, on_end.policy)
    assert np.array_equal(outcome, _outcomes(without, without.policy))
    assert (outcome == Outcome.PENDING_AT_END).any()  # what a lift would have cancelled
    assert (_outcomes(day_before, day_before.policy) == Outcome.CANCELLED_BY_LIFT).any()


def _whole_day_contacts(model, t, online_at, activated, keys, purpose):  # type: ignore[no-untyped-def]
    """Every device talks to the server at each midnight: the first contact after `t` is the next
    whole day, so commands issued during a day all take effect at its end."""
    return np.floor(t) + 1.0


def test_a_lock_landing_on_the_lift_is_cancelled_and_an_unlock_landing_on_the_end_is_not_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine, "next_contact", _whole_day_contacts)
    lift_day, end_day = 20.0, 21.0
    scenario = make_scenario(
        {
            "end": "2021-06-22",  # day 21: the lift's unlock commands (day 20) land on it
            "policy": {
                "lock_delay": {"distribution": "uniform", "low_days": 0, "high_days": 3},
                "lift": {"date": "2021-06-21", "unlock": True},
            },
        }
    )
    assert scenario.days == end_day
    population = generate(scenario, 0)
    r = simulate_variant(scenario, population, scenario.policy, "x", 0)
    lands_on_lift = np.floor(r.decided) + 1.0 == lift_day
    assert lands_on_lift.sum() > 10
    outcome = r.outcome[r.considered]
    assert (outcome[lands_on_lift] == Outcome.CANCELLED_BY_LIFT).all()
    assert not np.isfinite(r.locked[lands_on_lift]).any()
    locked = np.isfinite(r.locked)
    assert locked.sum() > 100 and (r.locked[locked] < lift_day).all()
    # Every lift unlock takes effect at day 21, the end: none is recorded, all stay locked.
    assert not np.isfinite(r.unlocked).any()
    assert (outcome[locked] == Outcome.LOCKED_AT_END).all()
    assert (r.unlock_cause == UnlockCause.NONE).all()


def test_an_appeal_unlock_at_the_lift_s_instant_is_the_lift_s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two unlock commands at one instant: the lift's is the cause."""
    monkeypatch.setattr(engine, "next_contact", _whole_day_contacts)
    scenario = make_scenario(
        {
            "end": "2021-06-30",
            "policy": {
                "lock_delay": {"distribution": "fixed", "days": 1},
                "lift": {"date": "2021-06-21"},
                "appeals": {  # locked at a whole day d, closed at d + 2 + 1, a whole day too
                    "share": 1.0,
                    "delay": {"distribution": "fixed", "days": 2},
                    "agents": 10_000,
                    "service_days": 1.0,
                    "approval_share": 1.0,
                },
            },
        }
    )
    r = simulate_variant(scenario, generate(scenario, 0), scenario.policy, "x", 0)
    closed_at_lift = r.appeal_closed == 20.0
    assert closed_at_lift.sum() > 10
    assert (r.unlock_cause[closed_at_lift] == UnlockCause.LIFT).all()
    assert (r.unlock_cause[r.appeal_closed < 20.0] == UnlockCause.APPEAL).all()


def test_population_columns_are_read_only() -> None:
    population = generate(make_scenario(), 0)
    for column in population.columns():
        with pytest.raises(ValueError, match="read-only"):
            column[0] = column[1]


def test_the_cache_keeps_one_value_per_named_input() -> None:
    """Variants that detect alike share an inference and personal draws; a different lock delay
    or reach is a different value, and so is a different rule (each key names every input)."""
    scenario = make_scenario()
    population = generate(scenario, 0)
    cache = population.cache
    policy = scenario.policy
    banned = population.codebook.codes(policy.banned)
    first = cache.inference(policy.detection, banned)
    assert cache.inference(policy.detection, banned[::-1].copy()) is first
    majority = policy.detection.model_copy(update={"rule": "majority"})
    assert cache.inference(majority, banned) is not first
    coverage = cache.coverage_draws(first)
    delays = cache.lock_delays(first, policy.lock_delay, 0.6)
    assert cache.coverage_draws(first) is coverage
    assert cache.lock_delays(first, policy.lock_delay.model_copy(), 0.6) is delays
    other = cache.lock_delays(first, policy.lock_delay.model_copy(update={"sigma": 0.9}), 0.6)
    assert not np.array_equal(other, delays, equal_nan=True)
    # Only the devices some window can cover get a delay; the others' is never needed.
    reachable = coverage < 0.6
    assert np.isfinite(delays[reachable]).all() and np.isnan(delays[~reachable]).all()
    wider = cache.lock_delays(first, policy.lock_delay, 0.9)
    assert np.array_equal(wider[reachable], delays[reachable])  # fixed per device
    assert np.isfinite(wider[coverage < 0.9]).all()
    for array in (first.detected, first.hit, first.hits, coverage, delays):
        assert not array.flags.writeable

"""Behaviours after a lock: the built-in custom ROM against the reference model, the registry,
common random numbers, the tables' causes and outcomes, and a registered behaviour that reaches
worker processes."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

import simlock
from simlock.errors import ScenarioError
from simlock.execution.executors import ProcessExecutor, SequentialFallbackWarning
from simlock.execution.sweep import make_design
from simlock.execution.sweep import make_tasks as sweep_tasks
from simlock.model import behaviours
from simlock.model.behaviours import CUSTOM_ROM as CUSTOM_ROM_BEHAVIOUR
from simlock.model.behaviours import Behaviour, BehaviourError, LockedUsers
from simlock.model.engine import simulate_variant
from simlock.model.population import generate
from simlock.scenario.models import Scenario
from tests.behaviour_plugin import RESOLD
from tests.engine_helpers import engine_frame, make_scenario
from tests.reference_comparison import TOO_RARE, Case, ReferenceRuns, compare


def _rom(share: float, delay: dict[str, Any]) -> dict[str, Any]:
    return {"behaviour": "custom_rom", "share": share, "delay": delay}


CUSTOM_ROM = Case(
    "custom ROMs: a share of locked users escape after a delay, racing appeals and the lift",
    {
        "end": "2021-07-11",
        "checkin": {"jitter_days": 0.2, "offline_rate_per_day": 0.1, "offline_mean_days": 2.0},
        "policy": {
            "lock_delay": {"distribution": "exponential", "mean_days": 3.0},
            "lift": {"date": "2021-07-01"},
            "after_lock": [
                _rom(0.35, {"distribution": "lognormal", "median_days": 4, "sigma": 0.6})
            ],
            "appeals": {
                "share": 0.5,
                "delay": {"distribution": "uniform", "low_days": 1, "high_days": 6},
                "agents": 1,
                "service_days": 0.5,
                "approval_share": 0.7,
            },
        },
    },
    must_happen=(
        "unlocked_by_custom_rom",
        "unlocked_by_appeal",
        "unlocked_by_lift",
        "appeals_filed",
    ),
)


@pytest.mark.slow
def test_custom_roms_match_the_reference_model(reference_runs: ReferenceRuns) -> None:
    assert compare(CUSTOM_ROM, reference_runs) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "mutant",
    [
        {"share": 0.35 * 1.4},
        {"delay": {"distribution": "lognormal", "median_days": 5, "sigma": 0.6}},
    ],
    ids=["share x1.4", "one day later"],
)
def test_a_wrong_custom_rom_fails_the_comparison(
    mutant: dict[str, Any], reference_runs: ReferenceRuns
) -> None:
    """Power: an engine whose custom ROM share or delay is off is caught."""
    entry = {**CUSTOM_ROM.overrides["policy"]["after_lock"][0], **mutant}
    wrong = make_scenario(CUSTOM_ROM.overrides, {"policy": {"after_lock": [entry]}})

    def engine(scenario: Scenario, replication: int) -> pd.DataFrame:
        return engine_frame(scenario, wrong.policy, replication)

    problems = compare(CUSTOM_ROM, reference_runs, simulate=engine)
    caught = [p for p in problems if not p.endswith(TOO_RARE)]  # by the statistics
    assert any("custom_rom" in p or "lock" in p for p in caught), problems


def _results(scenario: Scenario, replication: int = 0):  # type: ignore[no-untyped-def]
    return simulate_variant(scenario, generate(scenario, replication), scenario.policy, "x", 0)


def test_more_users_flashing_roms_frees_a_superset_at_the_same_times() -> None:
    """Common random numbers: each user's draw is theirs in every variant, so raising the share
    adds users and leaves the others' escape times as they were."""
    rom = {"distribution": "exponential", "mean_days": 3}
    few = _results(make_scenario({"policy": {"after_lock": [_rom(0.2, rom)]}}))
    many = _results(make_scenario({"policy": {"after_lock": [_rom(0.5, rom)]}}))
    escaped_few = few.unlock_cause == 3
    escaped_many = many.unlock_cause == 3
    assert escaped_few.sum() > 20 and escaped_many.sum() > escaped_few.sum() * 1.5
    assert escaped_many[escaped_few].all()
    assert np.array_equal(few.unlocked[escaped_few], many.unlocked[escaped_few])
    assert np.array_equal(few.locked, many.locked)  # the lock itself does not change


def test_a_behaviour_s_draws_are_per_device_and_its_own() -> None:
    keys = np.arange(1, 1001, dtype=np.uint64)
    users = LockedUsers(keys, np.zeros(1000), 0.5, _delay(), behaviours.CUSTOM_ROM.stream)
    subset = LockedUsers(keys[::7], np.zeros(143), 0.5, _delay(), behaviours.CUSTOM_ROM.stream)
    assert np.array_equal(users.uniform(0)[::7], subset.uniform(0))
    other = LockedUsers(keys, np.zeros(1000), 0.5, _delay(), RESOLD.stream)
    assert abs(np.corrcoef(users.uniform(0), other.uniform(0))[0, 1]) < 0.1
    assert abs(np.corrcoef(users.uniform(0), users.uniform(1))[0, 1]) < 0.1


def _delay():  # type: ignore[no-untyped-def]
    return make_scenario().policy.lock_delay


ROM_RUN = {
    "end": "2021-07-01",
    "policy": {
        "after_lock": [_rom(0.4, {"distribution": "fixed", "days": 2})],
        "lift": {"date": "2021-06-25"},
    },
    "variants": {"no-rom": {"after_lock": []}},
}


def test_the_tables_carry_the_custom_rom_cause_and_outcome() -> None:
    results = simlock.run(make_scenario(ROM_RUN), replications=1)
    devices, events = results.devices, results.events
    rom = devices[(devices["variant"] == "baseline") & (devices["unlock_cause"] == "custom_rom")]
    assert len(rom) > 20
    assert (rom["outcome"] == "unlocked_by_custom_rom").all()
    np.testing.assert_allclose(rom["unlocked"] - rom["locked"], 2.0)
    unlocks = events[(events["kind"] == "unlocked") & (events["cause"] == "custom_rom")]
    assert sorted(unlocks["device"]) == sorted(rom["device"])
    assert not (devices.loc[devices["variant"] == "no-rom", "unlock_cause"] == "custom_rom").any()
    # The existing causes keep their labels.
    assert {"lift"} <= set(events.loc[events["kind"] == "unlocked", "cause"])


def test_a_scenario_without_behaviours_keeps_today_s_categories() -> None:
    results = simlock.run(make_scenario({"end": "2021-07-01"}), replications=1)
    assert list(results.devices["unlock_cause"].cat.categories) == ["none", "lift", "appeal"]
    assert "unlocked_by_custom_rom" not in results.devices["outcome"].cat.categories
    assert "custom_rom" not in results.events["cause"].cat.categories


def test_an_unknown_behaviour_is_a_scenario_error_at_its_field() -> None:
    scenario = make_scenario(
        ROM_RUN,
        {
            "variants": {
                "typo": {
                    "after_lock": [
                        _rom(0.1, {"distribution": "fixed", "days": 1})
                        | {"behaviour": "custom_romm"}
                    ]
                }
            }
        },
    )
    with pytest.raises(ScenarioError) as caught:
        simlock.run(scenario, replications=1)
    message = str(caught.value)
    assert "variants.typo.after_lock[0].behaviour" in message
    assert "'custom_romm'" in message and "did you mean custom_rom?" in message


@pytest.fixture
def resold() -> Iterator[Behaviour]:
    behaviours.register(RESOLD)
    yield RESOLD
    behaviours.unregister(RESOLD.name)


def test_registering_refuses_a_taken_name_or_cause(resold: Behaviour) -> None:
    assert behaviours.register(RESOLD) is RESOLD  # the same one again is fine
    with pytest.raises(BehaviourError, match="already registered"):
        behaviours.register(Behaviour("resold", unlock_cause="other", freed=np.zeros_like))
    with pytest.raises(BehaviourError, match="taken"):
        behaviours.register(Behaviour("appealed", unlock_cause="appeal", freed=np.zeros_like))
    with pytest.raises(BehaviourError, match="lower-case"):
        behaviours.register(Behaviour("Sold Out", unlock_cause="sold", freed=np.zeros_like))


SOLD_RUN = {
    "end": "2021-07-01",
    "policy": {
        "after_lock": [
            {"behaviour": "resold", "share": 0.3, "delay": {"distribution": "fixed", "days": 1}},
            _rom(0.3, {"distribution": "fixed", "days": 2}),
        ]
    },
}


@pytest.mark.slow
@pytest.mark.process
def test_a_registered_behaviour_reaches_two_worker_processes(resold: Behaviour) -> None:
    """Registered here only (importing its module registers nothing), it runs in the workers:
    the tasks carry it, and the results are those of this process, bit for bit."""
    scenario = make_scenario(SOLD_RUN, {"replications": 2})
    here = simlock.run(scenario, workers=1, detail_replications=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SequentialFallbackWarning)
        there = simlock.run(scenario, executor=ProcessExecutor(2), detail_replications=2)
    assert there.manifest["executor"] == "processes" and there.manifest["workers"] == 2
    assert there.manifest["executor_fallback"] is None
    causes = there.devices["unlock_cause"].value_counts()
    assert causes["resold"] > 20 and causes["custom_rom"] > 5
    pd.testing.assert_frame_equal(here.summary, there.summary)
    pd.testing.assert_frame_equal(here.devices, there.devices)


def test_sweep_tasks_carry_the_behaviours_their_points_use(resold: Behaviour) -> None:
    """A sweep's tasks, like a run's, take the registered behaviours to the workers; a name no one
    registered stops the sweep before any point runs."""
    sweep = {"parameters": [{"path": "policy.coverage", "values": [0.5, 1.0]}]}
    scenario = make_scenario(SOLD_RUN, {"sweep": sweep})
    tasks = sweep_tasks(make_design(scenario), 1, ("baseline",))
    assert len(tasks) == 2
    assert all(
        task.behaviours == {"resold": RESOLD, "custom_rom": CUSTOM_ROM_BEHAVIOUR} for task in tasks
    )
    behaviours.unregister("resold")
    with pytest.raises(ScenarioError, match=r"policy\.after_lock\[0\]\.behaviour"):
        sweep_tasks(make_design(scenario), 1, ("baseline",))

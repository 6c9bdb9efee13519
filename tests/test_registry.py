"""The registry trigger (`policy.registry`, issue 13): the engine against the per-device
reference model, the closed form of the share locked with exponential registration delays, the
targets it adds, and its validation messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import simlock
from simlock.errors import ScenarioError
from simlock.scenario.models import Scenario
from tests.engine_helpers import engine_frame, make_scenario
from tests.reference_comparison import Case, ReferenceRuns, compare

NOT_RETROACTIVE = Case(
    "a registry that is not retroactive, started mid-run, with a grace, a lognormal "
    "registration delay, travellers exempt for a time, a fixed lock delay and a warning",
    {
        "end": "2021-07-21",
        "checkin": {"jitter_days": 0.3, "offline_rate_per_day": 0.1, "offline_mean_days": 2.0},
        "policy": {
            "lock_delay": {"distribution": "fixed", "days": 1.0},
            "registry": {
                "start": "2021-06-11",
                "grace_days": 5,
                "try_share": 0.7,
                "success_share": 0.8,
                "registration_delay": {
                    "distribution": "lognormal",
                    "median_days": 3,
                    "sigma": 0.7,
                },
                "exempt_for": {"channels": ["traveller"], "days": 10},
            },
            "warning": {"grace_days": 2.0, "resolve_share": 0.2},
        },
    },
    distributions=("days_to_warning", "days_to_lock", "lock_duration"),
    must_happen=("registered", "kept_before_registry", "users_affected", "warned"),
)

RETROACTIVE = Case(
    "a retroactive registry with exponential registration delays, windows and a lift",
    {
        "end": "2021-07-21",
        "checkin": {"model": "poisson", "interval_days": 1.5},
        "policy": {
            "lock_delay": {"distribution": "exponential", "mean_days": 2.0},
            "registry": {
                "start": "2021-06-16",
                "grace_days": 3,
                "try_share": 0.6,
                "registration_delay": {"distribution": "exponential", "mean_days": 4},
                "retroactive": True,
            },
            "windows": [
                {"name": "trickle", "start": "2021-06-01", "end": "2021-06-26", "coverage": 0.4},
                {"name": "surge", "start": "2021-06-26", "end": "2021-07-21", "coverage": 0.9},
            ],
            "lift": {"date": "2021-07-11"},
        },
    },
    must_happen=(
        "registered",
        "users_affected",
        "locked_by_trickle",
        "locked_by_surge",
        "unlocked_by_lift",
    ),
)


@pytest.mark.slow
@pytest.mark.parametrize("case", [NOT_RETROACTIVE, RETROACTIVE], ids=["not-retroactive", "retro"])
def test_engine_matches_the_reference_model_with_a_registry(
    case: Case, reference_runs: ReferenceRuns
) -> None:
    assert compare(case, reference_runs) == []


def _wrong_registry(**change: Any) -> Callable[[Scenario, int], pd.DataFrame]:
    """An engine that runs the scenario's registry with `change` applied: a wrong engine."""

    def simulate(scenario: Scenario, replication: int) -> pd.DataFrame:
        registry = scenario.policy.registry
        assert registry is not None
        policy = scenario.policy.model_copy(update={"registry": registry.model_copy(update=change)})
        return engine_frame(scenario, policy, replication)

    return simulate


@pytest.mark.slow
@pytest.mark.parametrize(
    "change",
    [
        {"exempt_for": None},  # the travellers' exemption ignored
        {"success_share": 0.9},  # registrations fail half as often
        {"grace_days": 6},  # one day more of grace
    ],
    ids=["no-exemption", "success", "grace"],
)
def test_a_wrong_registry_fails_the_comparison(
    change: dict[str, Any], reference_runs: ReferenceRuns
) -> None:
    assert compare(NOT_RETROACTIVE, reference_runs, _wrong_registry(**change)) != []


def test_devices_active_before_a_registry_that_is_not_retroactive_are_kept() -> None:
    scenario = make_scenario(NOT_RETROACTIVE.overrides)
    frame = engine_frame(scenario, scenario.policy, 0)
    start = 10.0  # 2021-06-11
    hits = frame["considered"] | frame["outcome"].isin(["registered", "kept_before_registry"])
    before = hits & (frame["activated"] < start)
    assert before.sum() > 0
    assert (frame.loc[before, "outcome"] == "kept_before_registry").all()
    assert not (frame.loc[hits & ~before, "outcome"] == "kept_before_registry").any()


def test_an_exempt_traveller_is_locked_only_after_the_exemption_and_the_grace() -> None:
    scenario = make_scenario(NOT_RETROACTIVE.overrides)
    frame = engine_frame(scenario, scenario.policy, 0)
    locked = frame[frame["locked"].notna()]
    traveller = locked["channel"] == scenario.channel_names.index("traveller")
    assert traveller.sum() > 0
    days_to_decision = (locked["decided"] - locked["activated"])[traveller]
    # Exempt for 10 days, then 5 days of grace, then the 1-day lock delay.
    assert days_to_decision.min() >= 16.0 - 1e-9
    assert (locked["decided"] - locked["activated"])[~traveller].min() < 16.0


# --- the closed form ---------------------------------------------------------------------------

RATE, GRACE, MEAN, TRY, SUCCESS = 400.0, 6.0, 5.0, 0.8, 0.9
Z_BOUND = 4.5


def share_unregistered(
    grace: float = GRACE, mean: float = MEAN, p_try: float = TRY, p_success: float = SUCCESS
) -> float:
    """P(unregistered at the end of the grace) with exponential registration delays."""
    return (1 - p_try) + p_try * ((1 - p_success) + p_success * np.exp(-grace / mean))


def _closed_form_counts(seed: int) -> tuple[int, int]:
    """(devices subject to the registry, devices it locks) among the activations early enough
    that their lock lands before the end of the run."""
    scenario = make_scenario(
        {
            "seed": seed,
            "end": "2021-07-11",
            "regions": [
                {
                    "id": "CU",
                    "name": "Cuba",
                    "activations": [{"from": "2021-06-01", "rate_per_day": RATE}],
                    "channels": {"official": 1.0},
                    "signals": {"location_share": 0.0},
                }
            ],
            "policy": {
                "detection": {"signals": ["sim"]},
                "lock_delay": {"distribution": "fixed", "days": 0},
                "registry": {
                    "grace_days": GRACE,
                    "try_share": TRY,
                    "success_share": SUCCESS,
                    "registration_delay": {"distribution": "exponential", "mean_days": MEAN},
                },
            },
        }
    )
    frame = engine_frame(scenario, scenario.policy, 0)
    # A lock lands at the first check-in after the grace (daily check-ins, jitter 0.2): two
    # days of margin before the end of the run (day 40).
    early = frame["activated"] < 40 - GRACE - 2
    return int(early.sum()), int((early & frame["locked"].notna()).sum())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_share_locked_follows_the_closed_form(seed: int) -> None:
    subject, locked = _closed_form_counts(seed)
    p = share_unregistered()
    z = (locked - subject * p) / np.sqrt(subject * p * (1 - p))
    assert abs(z) < Z_BOUND, (locked, subject, p, z)


@pytest.mark.parametrize(
    "wrong",
    [
        {"mean": MEAN * 1.5},  # registrations half as slow again
        {"p_try": 1.0},  # everyone tries
        {"grace": GRACE + 1},  # the grace one day too long
    ],
)
def test_the_bound_rejects_a_wrong_closed_form(wrong: dict[str, float]) -> None:
    subject, locked = _closed_form_counts(1)
    p = share_unregistered(**wrong)
    z = (locked - subject * p) / np.sqrt(subject * p * (1 - p))
    assert abs(z) > Z_BOUND


# --- targets and metrics -----------------------------------------------------------------------


def test_unregistered_targets_count_every_registry_lock_as_targeted() -> None:
    scenario = make_scenario(
        NOT_RETROACTIVE.overrides, {"policy": {"targets": {"unregistered": True}}}
    )
    results = simlock.run(scenario, replications=1)
    rows = results.summary[results.summary["group"] == "all"].set_index("metric")["mean"]
    locks_in_cuba = rows["users_affected"] - rows["collateral_outside_banned"]
    assert rows["users_affected"] > 0
    assert rows["targeted_locks"] == locks_in_cuba
    plain = simlock.run(make_scenario(NOT_RETROACTIVE.overrides), replications=1)
    plain_rows = plain.summary[plain.summary["group"] == "all"].set_index("metric")["mean"]
    assert plain_rows["targeted_locks"] < rows["targeted_locks"]  # travellers count now


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "path", "words"),
    [
        (
            {"policy": {"registry": {"exempt_for": {"channels": ["travellers"], "days": 30}}}},
            "policy.registry.exempt_for.channels[0]",
            "did you mean 'traveller'",
        ),
        (
            {"policy": {"registry": {"start": "2022-01-01"}}},
            "policy.registry.start",
            "outside the run",
        ),
        (
            {"policy": {"targets": {"unregistered": True}}},
            "policy.targets.unregistered",
            "no registry",
        ),
        (
            {"variants": {"v": {"registry": {"grace_days": -1}}}},
            "variants.v.registry.grace_days",
            "",
        ),
    ],
)
def test_registry_mistakes_are_reported_at_their_field(
    override: dict[str, Any], path: str, words: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        make_scenario(override)
    (problem,) = caught.value.problems
    assert problem.path == path
    assert words in problem.message


def test_registry_metrics_count_the_devices_table_and_appear_only_with_a_registry() -> None:
    scenario = make_scenario(
        NOT_RETROACTIVE.overrides, {"variants": {"no-registry": {"registry": None}}}
    )
    results = simlock.run(scenario, replications=1)
    outcomes = results.devices.groupby(["variant", "outcome"], observed=True).size()
    rows = results.summary[results.summary["group"] == "all"]
    base = rows[rows["variant"] == "baseline"].set_index("metric")["mean"]
    assert base["registered"] == outcomes["baseline", "registered"] > 0
    assert base["kept_before_registry"] == outcomes["baseline", "kept_before_registry"] > 0
    assert base["share_unregistered"] == pytest.approx(
        base["unregistered"] / (base["unregistered"] + base["registered"])
    )
    without = set(rows[rows["variant"] == "no-registry"]["metric"])
    assert "registered" not in without and "users_affected" in without

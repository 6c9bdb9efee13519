"""Wrong engines the reference comparison must reject: the power of `test_engine_reference.py`.

Each mutant is a deliberately wrong engine, built through seams that do not depend on how the
engine is written inside, so the mutants survive a rewrite of the engine:

* a wrong reading of the specification: the engine given the case's scenario with one thing
  changed (one more desk agent, coverage ignored, the lift a day late, ...) while the devices
  stay those of the true scenario;
* a wrong rule about when things take effect: the engine's per-device result with one column
  redone (a lock in effect when it is commanded rather than at the device's next check-in, ...).

A mutant passes the comparison only if the comparison is too weak to see the mistake, and then
this test fails. A mutant must be caught by the statistics (a paired t or a Kolmogorov-Smirnov
test), not only because the case stops exercising something (`TOO_RARE`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

from simlock.model.population import generate
from simlock.scenario.models import Scenario
from tests.engine_helpers import engine_frame, make_scenario
from tests.reference_comparison import (
    APPEALS_AND_LIFT,
    CASES,
    CONGESTED_DESK,
    LIFT_WITHOUT_UNLOCK,
    POISSON_WARNING,
    TOO_RARE,
    WINDOWS_AND_LIFT,
    Case,
    ReferenceRuns,
    Simulator,
    compare,
    engine,
)

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Mutant:
    """A wrong engine and the comparison case that must catch it."""

    name: str
    case: Case
    simulate: Simulator


def misreads(case: Case, change: dict[str, Any]) -> Simulator:
    """The engine run on the case's scenario with `change` deep-merged over it, on the true
    scenario's devices: an engine that reads one field of the specification wrongly."""
    wrong = make_scenario(case.overrides, change)

    def simulate(scenario: Scenario, replication: int) -> pd.DataFrame:
        return engine_frame(wrong, wrong.policy, replication, generate(scenario, replication))

    return simulate


Edit = Callable[[pd.DataFrame, Scenario], pd.DataFrame]


def redoes(edit: Edit) -> Simulator:
    """The engine with its per-device result edited by `edit`: an engine that applies one rule
    about when things happen wrongly."""

    def simulate(scenario: Scenario, replication: int) -> pd.DataFrame:
        return edit(engine(scenario, replication).copy(), scenario)

    return simulate


def lock_when_commanded(frame: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Locks take effect at the decision (the command), not at the device's next check-in."""
    locked = frame["locked"].notna()
    frame.loc[locked, "locked"] = frame.loc[locked, "decided"]
    return frame


def unlock_when_commanded(frame: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Unlocks take effect at their command (the lift, or the close of an approved appeal), not
    at the device's next check-in."""
    lift = scenario.policy.lift
    by_lift = frame["unlock_cause"] == "lift"
    by_appeal = frame["unlock_cause"] == "appeal"
    if lift is not None:
        frame.loc[by_lift, "unlocked"] = float((lift.date - scenario.start).days)
    frame.loc[by_appeal, "unlocked"] = frame.loc[by_appeal, "appeal_closed"]
    return frame


def appeal_from_the_decision(frame: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """Appeal delays counted from the decision instead of the lock: users appeal before their
    phone is locked, and wait longer at the desk for it."""
    early = frame["appealed"].notna()
    shift = frame.loc[early, "locked"] - frame.loc[early, "decided"]
    frame.loc[early, "appealed"] = frame.loc[early, "appealed"] - shift
    return frame


def end_off_by_one(frame: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """The run's last day left out (an off-by-one end): locks and unlocks on the last day are not
    recorded, and those devices end as if nothing happened then."""
    last = scenario.days - 1.0
    late_lock = frame["locked"] >= last
    frame.loc[late_lock, ["locked", "unlocked"]] = np.nan
    frame.loc[late_lock, "outcome"] = "pending_at_end"
    late_unlock = frame["unlocked"] >= last
    frame.loc[late_unlock, "unlocked"] = np.nan
    frame.loc[late_unlock, "outcome"] = "locked_at_end"
    return frame


def windows(**changes: dict[str, Any]) -> list[dict[str, Any]]:
    """WINDOWS_AND_LIFT's windows with `changes` (by window name) merged into them; a change
    to None drops that field."""
    out = []
    for window in WINDOWS_AND_LIFT.overrides["policy"]["windows"]:
        merged = {**window, **changes.get(window["name"], {})}
        out.append({key: value for key, value in merged.items() if value is not None})
    return out


SURGE_A_DAY_LATE = windows(surge={"start": "2021-06-27"})
EVERY_WINDOW_COVERS_ALL = windows(trickle={"coverage": 1.0}, surge={"coverage": 1.0})
NO_LOOKBACK = windows(surge={"lookback_days": None})
DESK = CONGESTED_DESK.overrides["policy"]["appeals"]

MUTANTS = [
    # The support desk.
    Mutant(
        "one more desk agent",
        CONGESTED_DESK,
        misreads(CONGESTED_DESK, {"policy": {"appeals": {"agents": DESK["agents"] + 1}}}),
    ),
    Mutant(
        "desk capacity ignored",
        CONGESTED_DESK,
        misreads(CONGESTED_DESK, {"policy": {"appeals": {"agents": 1000}}}),
    ),
    Mutant(
        "a desk 10% slower",
        CONGESTED_DESK,
        misreads(
            CONGESTED_DESK, {"policy": {"appeals": {"service_days": DESK["service_days"] * 1.1}}}
        ),
    ),
    Mutant(
        "approval share 1.2 times too high",
        CONGESTED_DESK,
        misreads(
            CONGESTED_DESK,
            {"policy": {"appeals": {"approval_share": DESK["approval_share"] * 1.2}}},
        ),
    ),
    Mutant(
        "appeal share 1.2 times too high",
        CONGESTED_DESK,
        misreads(CONGESTED_DESK, {"policy": {"appeals": {"share": DESK["share"] * 1.2}}}),
    ),
    # Slow check-ins make the gap between a decision and its lock, which this mistake shifts
    # appeals by, days rather than hours: at daily check-ins its longer waits at the desk are at
    # the edge of what 20 replications tell apart.
    Mutant(
        "appeal delay counted from the decision", APPEALS_AND_LIFT, redoes(appeal_from_the_decision)
    ),
    # When commands take effect.
    Mutant(
        "a lock in effect when commanded, not at the next check-in",
        CONGESTED_DESK,
        redoes(lock_when_commanded),
    ),
    Mutant(
        "an unlock in effect when commanded, not at the next check-in",
        APPEALS_AND_LIFT,
        redoes(unlock_when_commanded),
    ),
    Mutant(
        "offline spells ignored",
        CONGESTED_DESK,
        misreads(CONGESTED_DESK, {"checkin": {"offline_rate_per_day": 0.0}}),
    ),
    Mutant(
        "check-ins 25% too frequent",
        # Slow check-ins (every 3 days) make the wait for the next one a large part of the delay.
        APPEALS_AND_LIFT,
        misreads(APPEALS_AND_LIFT, {"checkin": {"interval_days": 3.0 / 1.25}}),
    ),
    Mutant("the run's last day left out", CONGESTED_DESK, redoes(end_off_by_one)),
    # Windows and coverage.
    Mutant(
        "coverage ignored",
        WINDOWS_AND_LIFT,
        misreads(WINDOWS_AND_LIFT, {"policy": {"windows": EVERY_WINDOW_COVERS_ALL}}),
    ),
    Mutant(
        "coverage ignored without windows",
        POISSON_WARNING,
        misreads(POISSON_WARNING, {"policy": {"coverage": 1.0}}),
    ),
    Mutant(
        "no look-back sweep",
        WINDOWS_AND_LIFT,
        misreads(WINDOWS_AND_LIFT, {"policy": {"windows": NO_LOOKBACK}}),
    ),
    Mutant(
        "a surge opening one day late",
        WINDOWS_AND_LIFT,
        misreads(WINDOWS_AND_LIFT, {"policy": {"windows": SURGE_A_DAY_LATE}}),
    ),
    # The lift.
    Mutant(
        "the lift ignored", WINDOWS_AND_LIFT, misreads(WINDOWS_AND_LIFT, {"policy": {"lift": None}})
    ),
    Mutant(
        "the lift a day late",
        WINDOWS_AND_LIFT,
        misreads(WINDOWS_AND_LIFT, {"policy": {"lift": {"date": "2021-07-07"}}}),
    ),
    Mutant(
        "a lift that should unlock does not",
        APPEALS_AND_LIFT,
        misreads(APPEALS_AND_LIFT, {"policy": {"lift": {"unlock": False}}}),
    ),
    Mutant(
        "a lift that should not unlock does",
        LIFT_WITHOUT_UNLOCK,
        misreads(LIFT_WITHOUT_UNLOCK, {"policy": {"lift": {"unlock": True}}}),
    ),
    # Warnings.
    Mutant(
        "a resolve share two thirds of the right one",
        POISSON_WARNING,
        misreads(POISSON_WARNING, {"policy": {"warning": {"resolve_share": 0.2}}}),
    ),
    Mutant(
        "the grace period ignored",
        LIFT_WITHOUT_UNLOCK,
        misreads(LIFT_WITHOUT_UNLOCK, {"policy": {"warning": {"grace_days": 0.0}}}),
    ),
    # Who is targeted.
    Mutant(
        "exemption of allowed SIMs ignored",
        WINDOWS_AND_LIFT,
        misreads(WINDOWS_AND_LIFT, {"policy": {"exemptions": {"allowed_sim": False}}}),
    ),
    Mutant(
        "exemption of travellers ignored",
        LIFT_WITHOUT_UNLOCK,
        misreads(LIFT_WITHOUT_UNLOCK, {"policy": {"exemptions": {"channels": []}}}),
    ),
    Mutant(
        "detection signals combined with all instead of any",
        CONGESTED_DESK,
        misreads(CONGESTED_DESK, {"policy": {"detection": {"rule": "all"}}}),
    ),
]


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_the_comparison_rejects_a_wrong_engine(
    mutant: Mutant, reference_runs: ReferenceRuns
) -> None:
    problems = compare(mutant.case, reference_runs, mutant.simulate)
    statistical = [p for p in problems if not p.endswith(TOO_RARE)]
    assert statistical, f"the wrong engine '{mutant.name}' passed: {problems}"


def test_every_case_has_a_mutant() -> None:
    """Each comparison case is shown able to fail, so none compares nothing."""
    assert {m.case.name for m in MUTANTS} == {c.name for c in CASES}

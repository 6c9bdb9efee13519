"""The columnar engine against the per-device reference model (`tests/reference_model.py`).

Both simulate the same specification on the same devices (the population generator is shared);
the engine with closed forms and counter-based draws, the reference check-in by check-in with
its own random streams. So they must agree in distribution, and each case (`CASES`) compares them on
a small scenario that switches on a set of policy features:

* per-replication statistics (counts of devices, mean delays and waits), paired: replication r
  of both runs on the same devices, so the difference removes the population's own noise; the
  mean difference over `REPS` replications, divided by its standard error, is ~t(REPS - 1);
* distributions of days (activation to warning, to lock, lock duration) pooled over the
  replications: two-sample Kolmogorov-Smirnov (conservative here: both samples come from the
  same devices).

Bounds: |t| < 5.5 (P(|t_19| > 5.5) ≈ 2.6e-5) and KS p-value > 1e-4; with 18 statistics and at
most 3 distributions per case, a false failure has probability below 8e-4 per test. Seeds are
fixed, so the tests are deterministic. The cases, statistics and bounds live in
`tests/reference_comparison.py`; the reference's runs are computed once per test session (the
`reference_runs` fixture) and shared with the wrong engines.

Power: `test_engine_mutants.py` runs the same comparison against deliberately wrong engines (a
lock at the command instead of the next check-in, coverage or the lift ignored, one more desk
agent, a desk 10% slower, offline spells ignored, ...) and fails if any of them passes.
"""

from __future__ import annotations

import pytest

from simlock.model.population import generate
from tests.engine_helpers import engine_frame, make_scenario
from tests.reference_comparison import CASES, WINDOWS_AND_LIFT, Case, ReferenceRuns, compare
from tests.reference_model import simulate_reference

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name.split(";")[0])
def test_engine_matches_the_reference_model(case: Case, reference_runs: ReferenceRuns) -> None:
    assert compare(case, reference_runs) == []


def test_engine_and_reference_consider_the_same_devices() -> None:
    """Detection and exemptions are shared by design: the same devices are considered, and the
    others have the same outcome (exempt or not targeted)."""
    scenario = make_scenario(WINDOWS_AND_LIFT.overrides)
    population = generate(scenario, 0)
    engine = engine_frame(scenario, scenario.policy, 0, population)
    reference = simulate_reference(scenario, scenario.policy, 0, population)
    assert engine["considered"].equals(reference["considered"])
    outside = ~engine["considered"]
    assert engine.loc[outside, "outcome"].equals(reference.loc[outside, "outcome"])
    assert (engine.loc[outside, "outcome"] == "exempt").sum() > 0

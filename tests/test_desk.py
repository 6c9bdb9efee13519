"""The support desk: the simpy process, its fixed-time closed form, and `service:` distributions.

The engine serves a fixed service time with the closed form every earlier release used and any
other service distribution with the simpy process (`simlock.model.desk`): the two must start
every case at the same time when the service time is fixed, and a distributed service time must
agree with the per-device reference model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simlock.errors import ScenarioError
from simlock.model.desk import serve
from simlock.model.policy import fcfs_desk_start
from simlock.scenario.models import Scenario
from tests.engine_helpers import engine_frame, make_scenario
from tests.reference_comparison import CONGESTED_DESK, Case, ReferenceRuns, compare


def _congested(seed: int, cases: int = 400) -> np.ndarray:
    """Arrivals of a desk that cannot keep up: `cases` appeals over 20 days (sorted)."""
    return np.sort(np.random.default_rng(seed).uniform(0.0, 20.0, cases))


@pytest.mark.parametrize("agents", [1, 3, 7])
def test_the_desk_process_starts_fixed_time_cases_as_the_closed_form(agents: int) -> None:
    arrivals = _congested(agents)
    service = 0.4 * agents  # 20 cases a day for a desk that closes 2.5 a day: queues form
    starts = serve(arrivals, np.full(arrivals.size, service), agents, np.inf)
    closed = fcfs_desk_start(arrivals, agents, service)
    assert (starts > arrivals + 1e-9).mean() > 0.5, "the case must be congested"
    np.testing.assert_allclose(starts, closed, rtol=0, atol=1e-9)


def test_the_desk_process_withdraws_the_cases_not_started_when_it_stops() -> None:
    arrivals = np.array([0.0, 0.0, 0.5, 1.0, 1.0, 4.0])
    starts = serve(arrivals, np.full(6, 1.0), agents=2, stop=2.0)
    # Two agents: 0,0 start at once; 0.5 waits for the first to free up at 1.0; the two filed at
    # 1.0 wait until 2.0, the instant the desk stops: not started. The last arrives after it.
    assert starts.tolist() == [0.0, 0.0, 1.0, 1.0, np.inf, np.inf]


def test_a_desk_closed_from_the_start_or_without_cases_serves_nothing() -> None:
    assert serve(np.array([0.0, 1.0]), np.ones(2), agents=1, stop=0.0).tolist() == [np.inf] * 2
    assert serve(np.empty(0), np.empty(0), agents=1, stop=5.0).size == 0


def test_the_desk_process_serves_in_arrival_order_with_each_case_its_own_time() -> None:
    arrivals = np.array([0.0, 0.1, 0.2, 0.3])
    starts = serve(arrivals, np.array([3.0, 0.5, 0.5, 0.5]), agents=2, stop=np.inf)
    # Agent A is busy 0-3; agent B takes the others in turn: 0.1-0.6, 0.6-1.1, 1.1-1.6.
    np.testing.assert_allclose(starts, [0.0, 0.1, 0.6, 1.1])


CONGESTED = {
    "end": "2021-07-11",
    "policy": {
        "lock_delay": {"distribution": "fixed", "days": 2.0},
        "appeals": {
            "share": 0.7,
            "delay": {"distribution": "exponential", "mean_days": 1.0},
            "agents": 2,
            "service_days": 0.5,
            "approval_share": 0.5,
        },
    },
}


def test_the_engine_desk_process_and_closed_form_agree_on_a_congested_desk() -> None:
    """A one-value empirical service time goes through the simpy desk, `service_days` through
    the closed form: the same cases start at the same times (to rounding) and close alike."""
    closed = make_scenario(CONGESTED)
    process = make_scenario(
        CONGESTED,
        {"policy": {"appeals": {"service_days": None, "service": _one_value(0.5)}}},
    )
    a = engine_frame(closed, closed.policy, 0)
    b = engine_frame(process, process.policy, 0)
    waited = (a["appeal_started"] - a["appealed"]).dropna()
    assert (waited > 0.5).sum() > 50, "the desk must be congested"
    for column in ("appealed", "appeal_started", "appeal_closed"):
        np.testing.assert_allclose(a[column], b[column], rtol=0, atol=1e-9)
    assert a["outcome"].equals(b["outcome"])


def _one_value(days: float) -> dict[str, object]:
    return {"distribution": "empirical", "values_days": [days]}


def test_service_days_is_the_fixed_shorthand_of_service() -> None:
    shorthand = make_scenario(CONGESTED)
    spelled = make_scenario(
        CONGESTED,
        {
            "policy": {
                "appeals": {"service_days": None, "service": {"distribution": "fixed", "days": 0.5}}
            }
        },
    )
    assert engine_frame(shorthand, shorthand.policy, 1).equals(
        engine_frame(spelled, spelled.policy, 1)
    )


@pytest.mark.parametrize(
    ("appeals", "field"),
    [
        ({"service": {"distribution": "fixed", "days": 1.0}}, "service"),
        ({"service_days": None}, "service_days"),
    ],
    ids=["both", "neither"],
)
def test_the_desk_needs_exactly_one_service_time(appeals: dict[str, object], field: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        make_scenario(CONGESTED, {"policy": {"appeals": appeals}})
    message = str(caught.value)
    assert f"policy.appeals.{field}" in message
    assert "service_days: null" in message  # how a variant switches from one to the other


def test_a_variant_switches_to_a_service_distribution_by_removing_service_days() -> None:
    scenario = make_scenario(
        CONGESTED,
        {
            "variants": {
                "slow": {
                    "appeals": {
                        "service_days": None,
                        "service": {"distribution": "exponential", "mean_days": 2.0},
                    }
                }
            }
        },
    )
    appeals = scenario.variant("slow").appeals
    assert appeals is not None and appeals.fixed_service_days is None
    assert appeals.service_delay.distribution == "exponential"


DISTRIBUTED_SERVICE = Case(
    "appeals to a congested desk whose service times are lognormal; empirical lock delays",
    {
        **CONGESTED_DESK.overrides,
        "policy": {
            **CONGESTED_DESK.overrides["policy"],
            "appeals": {
                "share": 0.5,
                "delay": {"distribution": "exponential", "mean_days": 2.0},
                "agents": 2,
                "service": {"distribution": "lognormal", "median_days": 0.3, "sigma": 0.8},
                "approval_share": 0.6,
            },
        },
    },
    must_happen=("appeals_filed", "appeals_served", "appeals_approved", "unlocked_by_appeal"),
)


@pytest.mark.slow
def test_a_distributed_service_time_matches_the_reference_model(
    reference_runs: ReferenceRuns,
) -> None:
    assert compare(DISTRIBUTED_SERVICE, reference_runs) == []


@pytest.mark.slow
def test_a_desk_with_the_wrong_service_distribution_fails_the_comparison(
    reference_runs: ReferenceRuns,
) -> None:
    """Power: an engine that serves every case in the median service time is caught (a queue's
    wait depends on the whole distribution, not its middle)."""

    service = _one_value(0.3)
    wrong = make_scenario(
        DISTRIBUTED_SERVICE.overrides, {"policy": {"appeals": {"service": service}}}
    )

    def wrong_service(scenario: Scenario, replication: int) -> pd.DataFrame:
        return engine_frame(scenario, wrong.policy, replication)

    problems = compare(DISTRIBUTED_SERVICE, reference_runs, simulate=wrong_service)
    assert any(p.startswith("mean_appeal_wait") for p in problems), problems

"""Cohorts and phases (issue 13): the engine against the per-device reference model, invariants
on random phasings (hypothesis), the draws of existing streams left alone, the keeping of devices
active before a phase that is not retroactive, and the validation messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simlock
from simlock.errors import ScenarioError
from simlock.model.engine import simulate_variant
from simlock.model.population import generate
from simlock.scenario.models import Scenario
from tests.engine_helpers import engine_frame, make_scenario
from tests.reference_comparison import Case, ReferenceRuns, compare

COHORTS: dict[str, Any] = {
    "cohorts": ["apple", "xiaomi", "samsung", "other"],
    "regions": {
        "CU": {
            "cohorts": {"apple": 0.3, "xiaomi": 0.3, "samsung": 0.25, "other": 0.15},
            "cohorts_by_channel": {"traveller": {"apple": 0.6, "samsung": 0.4}},
        }
    },
}
"""Three brands and the rest in Cuba; travellers bring apples and samsungs only."""

PHASES = Case(
    "phases by brand, two not retroactive and one retroactive, a window for two brands only, "
    "a warning and a lift",
    {
        **COHORTS,
        "end": "2021-07-21",
        "checkin": {"jitter_days": 0.3, "offline_rate_per_day": 0.1, "offline_mean_days": 2.0},
        "policy": {
            "phases": [
                {"cohorts": ["apple"], "from": "2021-06-08", "retroactive": False},
                {"cohorts": ["xiaomi"], "from": "2021-06-18"},
                {"cohorts": ["samsung"], "from": "2021-06-28", "retroactive": False},
            ],
            "windows": [
                {"name": "trickle", "start": "2021-06-01", "end": "2021-07-21", "coverage": 0.8},
                {
                    "name": "surge",
                    "start": "2021-06-25",
                    "end": "2021-07-21",
                    "cohorts": ["samsung"],
                },
            ],
            "warning": {"grace_days": 2.0, "resolve_share": 0.2},
            "lift": {"date": "2021-07-16"},
        },
    },
    distributions=("days_to_warning", "days_to_lock", "lock_duration"),
    must_happen=(
        "other_cohort",
        "kept_before_phase",
        "locked_by_trickle",
        "locked_by_surge",
        "locked_in_cohort_0",
        "locked_in_cohort_1",
        "locked_in_cohort_2",
    ),
)

PHASED_REGISTRY = Case(
    "a registry phased in brand by brand, not retroactive but for one brand, with travellers "
    "exempt for a time and policy cohorts that leave the rest out",
    {
        **COHORTS,
        "end": "2021-07-21",
        "policy": {
            "lock_delay": {"distribution": "fixed", "days": 0.5},
            "cohorts": ["apple", "xiaomi", "samsung"],
            "phases": [
                {"cohorts": ["apple"], "from": "2021-06-06"},
                {"cohorts": ["xiaomi"], "from": "2021-06-16", "retroactive": True},
                {"cohorts": ["samsung"], "from": "2021-06-26"},
            ],
            "registry": {
                "grace_days": 4,
                "try_share": 0.7,
                "success_share": 0.9,
                "registration_delay": {"distribution": "exponential", "mean_days": 3},
                "exempt_for": {"channels": ["traveller"], "days": 7},
            },
        },
    },
    distributions=("days_to_lock",),
    must_happen=(
        "registered",
        "kept_before_registry",
        "other_cohort",
        "users_affected",
        "locked_in_cohort_0",
        "locked_in_cohort_1",
        "locked_in_cohort_2",
    ),
)


PHASED_LIST = Case(
    "a device list over cohort-restricted phases: listing errors both ways, a first-connection "
    "check from a start after some phases, and a window for one brand",
    {
        **COHORTS,
        "end": "2021-07-21",
        "policy": {
            "cohorts": ["apple", "xiaomi", "samsung"],
            "phases": [
                {"cohorts": ["apple", "samsung"], "from": "2021-06-06", "retroactive": False},
                {"cohorts": ["xiaomi"], "from": "2021-06-21"},
            ],
            "device_list": {
                "batch": ["grey_import"],
                "start": "2021-06-11",
                "missed_share": 0.2,
                "false_listing_share": 0.3,
                "check": "first_connection",
            },
            "windows": [
                {"name": "trickle", "start": "2021-06-01", "end": "2021-07-21", "coverage": 0.9},
                {
                    "name": "surge",
                    "start": "2021-07-01",
                    "end": "2021-07-21",
                    "cohorts": ["xiaomi"],
                },
            ],
        },
    },
    must_happen=(
        "other_cohort",
        "kept_before_phase",
        "missed_by_list",
        "connected_before_list",
        "locked_by_trickle",
        "locked_in_cohort_0",
        "locked_in_cohort_1",
        "locked_in_cohort_2",
    ),
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "case",
    [PHASES, PHASED_REGISTRY, PHASED_LIST],
    ids=["phases", "phased-registry", "phased-list"],
)
def test_engine_matches_the_reference_model_with_cohorts(
    case: Case, reference_runs: ReferenceRuns
) -> None:
    assert compare(case, reference_runs) == []


def _wrong_phases(change: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    """An engine that runs the scenario with each phase changed by `change`: a wrong engine."""

    def simulate(scenario: Scenario, replication: int) -> pd.DataFrame:
        phases = [
            phase.model_copy(update=change(phase.model_dump())) for phase in scenario.policy.phases
        ]
        policy = scenario.policy.model_copy(update={"phases": phases})
        return engine_frame(scenario, policy, replication)

    return simulate


@pytest.mark.slow
@pytest.mark.parametrize(
    "change",
    [
        lambda phase: {"retroactive": True},  # every phase retroactive
        lambda phase: {"from_": phase["from_"] + pd.Timedelta(days=2).to_pytimedelta()},
    ],
    ids=["retroactive", "two-days-late"],
)
def test_a_wrong_phasing_fails_the_comparison(
    change: Callable[[dict[str, Any]], dict[str, Any]], reference_runs: ReferenceRuns
) -> None:
    assert compare(PHASES, reference_runs, _wrong_phases(change)) != []


# --- what phases keep and when devices become subject ------------------------------------------


def test_a_phase_that_is_not_retroactive_keeps_devices_active_before_it() -> None:
    scenario = make_scenario(PHASES.overrides)
    frame = engine_frame(scenario, scenario.policy, 0)
    apple, samsung = 0, 2
    for cohort, day in ((apple, 7.0), (samsung, 27.0)):
        of_cohort = (frame["cohort"] == cohort) & (frame["detected"] >= 0)
        reached = of_cohort & (frame["considered"] | (frame["outcome"] == "kept_before_phase"))
        before = reached & (frame["activated"] < day)
        assert before.sum() > 0
        assert (frame.loc[before, "outcome"] == "kept_before_phase").all()
        assert not (frame.loc[reached & ~before, "outcome"] == "kept_before_phase").any()
        assert (frame.loc[of_cohort, "decided"].dropna() >= day).all()
    # The xiaomi phase is retroactive: phones active before it are locked, from its date on.
    xiaomi = frame[(frame["cohort"] == 1) & frame["locked"].notna()]
    assert (xiaomi["activated"] < 17.0).sum() > 0
    assert (xiaomi["decided"] >= 17.0).all()
    # Cohort 3 ("other") is in no phase: never subject.
    assert (frame.loc[frame["cohort"] == 3, "locked"].isna()).all()


def test_a_phase_without_cohorts_makes_a_plain_policy_non_retroactive() -> None:
    scenario = make_scenario({"policy": {"phases": [{"from": "2021-06-16", "retroactive": False}]}})
    frame = engine_frame(scenario, scenario.policy, 0)
    kept = frame["outcome"] == "kept_before_phase"
    assert kept.sum() > 0
    assert (frame.loc[kept, "activated"] < 15.0).all()
    assert (frame.loc[frame["locked"].notna(), "activated"] >= 15.0).all()


def test_a_registry_phase_that_is_not_retroactive_is_the_registrys_keeping() -> None:
    scenario = make_scenario(PHASED_REGISTRY.overrides)
    frame = engine_frame(scenario, scenario.policy, 0)
    kept = frame[frame["outcome"] == "kept_before_registry"]
    starts = {0: 5.0, 2: 25.0}  # apple and samsung; the xiaomi phase is retroactive
    assert set(kept["cohort"]) == set(starts)
    for cohort, day in starts.items():
        assert (kept.loc[kept["cohort"] == cohort, "activated"] < day).all()
    assert (frame.loc[frame["cohort"] == 3, "outcome"].isin(["other_cohort", "not_targeted"])).all()


# --- the draws --------------------------------------------------------------------------------


def test_cohorts_leave_every_other_draw_as_it_was() -> None:
    plain = generate(make_scenario({}), 0)
    with_cohorts = generate(make_scenario(COHORTS), 0)
    for name in ("activated", "region", "channel", "sim", "ip", "gps", "key"):
        assert np.array_equal(getattr(plain, name), getattr(with_cohorts, name)), name
    assert (plain.cohort == -1).all()
    cuba = with_cohorts.region == 0
    assert (with_cohorts.cohort[~cuba] == -1).all()


def test_cohort_shares_are_drawn_per_channel() -> None:
    population = generate(make_scenario(COHORTS, {"end": "2021-12-31"}), 0)
    book = population.codebook
    cuba = population.region == 0
    traveller = population.channel == book.channels.index("traveller")
    grey = cuba & ~traveller
    shares = np.bincount(population.cohort[grey], minlength=4) / grey.sum()
    assert shares == pytest.approx([0.3, 0.3, 0.25, 0.15], abs=0.02)
    travellers = np.bincount(population.cohort[cuba & traveller], minlength=4)
    assert travellers[1] == travellers[3] == 0
    assert travellers[0] / travellers.sum() == pytest.approx(0.6, abs=0.04)


# --- invariants on random phasings -------------------------------------------------------------

PHASE_SETTINGS = settings(
    max_examples=30,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def phased(draw: st.DrawFn) -> dict[str, Any]:
    """Scenario overrides: random phase dates and retroactivity, with or without a registry,
    and windows that may decide some cohorts only."""
    phases = []
    for name in draw(st.permutations(["apple", "xiaomi", "samsung"]))[: draw(st.integers(1, 3))]:
        phase: dict[str, Any] = {
            "cohorts": [name],
            "from": f"2021-06-{draw(st.integers(1, 28)):02d}",
        }
        retroactive = draw(st.sampled_from([None, True, False]))
        if retroactive is not None:
            phase["retroactive"] = retroactive
        phases.append(phase)
    if draw(st.booleans()):
        phases.append({"from": f"2021-07-{draw(st.integers(1, 20)):02d}", "retroactive": False})
    policy: dict[str, Any] = {"phases": phases}
    if draw(st.booleans()):
        policy["registry"] = {"grace_days": draw(st.sampled_from([0, 3, 10])), "try_share": 0.5}
    if draw(st.booleans()):
        brands = ["apple", "xiaomi", "samsung", "other"]
        policy["windows"] = [
            {"name": "early", "start": "2021-06-01", "end": "2021-07-01"},
            {"name": "late", "start": "2021-07-01", "end": "2021-07-31"},
        ]
        for window in policy["windows"]:
            chosen = draw(st.lists(st.sampled_from(brands), min_size=1, max_size=3, unique=True))
            if draw(st.booleans()):
                window["cohorts"] = chosen
    return {**COHORTS, "policy": policy}


def _phase_of(scenario: Scenario, cohort: str | None) -> tuple[float, bool] | None:
    policy = scenario.policy
    for phase in policy.phases:
        if phase.cohorts is not None and cohort in phase.cohorts:
            break
    else:
        rest = [phase for phase in policy.phases if phase.cohorts is None]
        if not rest:
            return None
        phase = rest[0]
    retroactive = phase.retroactive
    if retroactive is None:
        retroactive = policy.registry.retroactive if policy.registry is not None else True
    return float((phase.from_ - scenario.start).days), retroactive


@PHASE_SETTINGS
@given(phased())
def test_no_device_is_decided_before_its_phase_and_kept_devices_predate_it(
    overrides: dict[str, Any],
) -> None:
    scenario = make_scenario(overrides)
    population = generate(scenario, 0)
    result = simulate_variant(scenario, population, scenario.policy, "baseline", 0)
    outcomes = np.array(result.outcomes)[result.outcome]
    names = population.codebook.cohorts
    kept_names = {"kept_before_phase", "kept_before_registry"}
    for device in np.flatnonzero(result.detected >= 0):
        cohort = population.cohort[device]
        phase = _phase_of(scenario, names[cohort] if cohort >= 0 else None)
        outcome = outcomes[device]
        if outcome == "not_targeted":
            continue
        if phase is None:
            assert outcome == "other_cohort"
            continue
        day, retroactive = phase
        activated = population.activated[device]
        assert (outcome in kept_names) == (not retroactive and activated < day), outcome
    for position, device in enumerate(result.considered):
        cohort = population.cohort[device]
        phase = _phase_of(scenario, names[cohort] if cohort >= 0 else None)
        assert phase is not None
        if np.isfinite(result.decided[position]):
            assert result.decided[position] >= phase[0]
    assert (result.outcome[result.considered] < result.outcomes.index("other_cohort")).all()
    for index, window in enumerate(scenario.policy.windows):  # a window decides its cohorts only
        by_window = result.decided_by == index
        if window.cohorts is not None:
            codes = [names.index(c) for c in window.cohorts]
            assert np.isin(population.cohort[result.considered[by_window]], codes).all()


# --- the summary and the plain-language description --------------------------------------------


def test_locks_are_broken_down_by_cohort_in_the_summary() -> None:
    results = simlock.run(make_scenario(PHASES.overrides), replications=1)
    rows = results.summary.set_index(["group", "key", "metric"])["mean"]
    by_cohort = sum(
        rows.get(("cohort", name, "users_affected"), 0.0)
        for name in ("apple", "xiaomi", "samsung", "other")
    )
    assert by_cohort == rows[("all", "all", "users_affected")] > 0
    assert rows[("cohort", "other", "users_affected")] == 0
    assert rows[("all", "all", "kept_before_phase")] > 0
    devices = results.devices
    locked = devices[devices["locked"].notna()].groupby("cohort", observed=False).size()
    assert locked["other"] == 0 and locked.sum() == rows[("all", "all", "users_affected")]
    assert "cohort" not in simlock.run(make_scenario({}), replications=1).devices.columns


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "path", "words"),
    [
        ({"policy": {"cohorts": ["aple"]}}, "policy.cohorts[0]", "did you mean 'apple'"),
        (
            {
                "regions": {
                    "CU": {"cohorts": {"apple": 0.4, "xiaomi": 0.1, "samsung": 0.2, "other": 0.1}}
                }
            },
            "regions[0].cohorts",
            "sum to 0.8",
        ),
        (
            {"regions": {"CU": {"cohorts_by_channel": {"travellers": {"apple": 1.0}}}}},
            "regions[0].cohorts_by_channel.travellers",
            "did you mean 'traveller'",
        ),
        (
            {"policy": {"phases": [{"cohorts": ["apple"], "from": "2022-01-01"}]}},
            "policy.phases[0].from",
            "outside the run",
        ),
        (
            {
                "policy": {
                    "phases": [
                        {"cohorts": ["apple"], "from": "2021-06-05"},
                        {"cohorts": ["xiaomi", "apple"], "from": "2021-06-15"},
                    ]
                }
            },
            "policy.phases[1].cohorts[1]",
            "already in phases[0]",
        ),
        (
            {
                "policy": {
                    "windows": [
                        {"name": "w", "start": "2021-06-05", "end": "2021-06-15", "cohorts": ["x"]}
                    ]
                }
            },
            "policy.windows[0].cohorts[0]",
            "no cohort 'x'",
        ),
        (
            {"policy": {"phases": [{"cohorts": ["apple", "apple"], "from": "2021-06-05"}]}},
            "policy.phases[0].cohorts[1]",
            "apple is listed twice",
        ),
        (
            {"variants": {"v": {"phases": [{"cohorts": ["samsng"], "from": "2021-06-05"}]}}},
            "variants.v.phases[0].cohorts[0]",
            "did you mean 'samsung'",
        ),
    ],
)
def test_cohort_mistakes_are_reported_at_their_field(
    override: dict[str, Any], path: str, words: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        make_scenario(COHORTS, override)
    (problem,) = caught.value.problems
    assert problem.path == path
    assert words in problem.message


def test_a_cohort_without_a_scenario_list_says_where_cohorts_are_named() -> None:
    with pytest.raises(ScenarioError) as caught:
        make_scenario({"policy": {"cohorts": ["apple"]}})
    (problem,) = caught.value.problems
    assert problem.path == "policy.cohorts[0]"
    assert "names no cohorts" in problem.message


def test_the_report_describes_phases_and_draws_the_cohort_figure() -> None:
    import matplotlib

    matplotlib.use("Agg")
    from simlock.report import figures as figs
    from simlock.report.describe import describe_changes, describe_policy

    scenario = make_scenario(
        PHASED_REGISTRY.overrides,
        {"variants": {"all-at-once": {"phases": [{"from": "2021-06-06"}]}}},
    )
    words = describe_policy(scenario.policy, scenario)["cohorts"]
    assert "apple, xiaomi and samsung" in words
    assert "apple from 2021-06-06" in words and "samsung from 2021-06-26" in words
    assert "xiaomi from 2021-06-16 (devices already in use then must comply too" in words
    assert "apple from 2021-06-06 (devices already in use then are kept" in words
    changed = describe_changes(scenario.variant("all-at-once"), scenario.policy, scenario)
    assert any(
        "cohort(s) from 2021-06-06; devices already in use then are kept" in t for t in changed
    )

    results = simlock.run(scenario, replications=2)
    assert figs.COHORT_FIGURE in figs.figures_for(results)
    data = figs.COHORT_FIGURE.data(results)
    locked = data[(data["measure"] == "users_affected") & (data["variant"] == "baseline")]
    assert locked.set_index("cohort")["mean"].sum() == pytest.approx(
        results.summary.query(
            "group == 'all' and metric == 'users_affected' and variant == 'baseline'"
        )["mean"].iloc[0]
    )
    kept = data[(data["measure"] == "kept") & (data["variant"] == "baseline")]
    assert kept.set_index("cohort").loc["xiaomi", "mean"] == 0  # its phase is retroactive
    assert kept.set_index("cohort").loc["apple", "mean"] > 0
    figure = figs.COHORT_FIGURE.plot(results, data)
    assert figure.get_suptitle() == figs.COHORT_FIGURE.title
    legends = [*figure.legends, *(ax.get_legend() for ax in figure.get_axes() if ax.get_legend())]
    legend = " ".join(t.get_text() for one in legends for t in one.get_texts())
    assert "baseline" in legend and "all-at-once" in legend
    over_time = figs.locked_over_time(results)
    marks = " ".join(t.get_text() for ax in over_time.get_axes() for t in ax.texts)
    assert "apple (baseline only); every cohort (all-at-once only)" in marks
    assert "samsung (baseline only)" in marks
    plain = simlock.run(make_scenario({}), replications=1)
    assert figs.COHORT_FIGURE not in figs.figures_for(plain)


def test_a_policy_naming_cohorts_over_a_region_without_shares_is_warned_about() -> None:
    scenario = make_scenario(
        {
            "cohorts": ["apple", "other"],
            "policy": {"phases": [{"cohorts": ["apple"], "from": "2021-06-05"}]},
        }
    )
    (warning,) = [w for w in scenario.warnings() if "cohort" in w]
    assert warning.startswith("policy: the policy names cohorts, but region CU gives no cohort")
    assert not [w for w in make_scenario(PHASES.overrides).warnings() if "cohort" in w]


def test_a_sweep_names_and_keeps_a_cohorts_metric(tmp_path) -> None:
    from simlock.execution.sweep import load_sweep, run_sweep

    sweep = {
        "sweep": {
            "parameters": [
                {"path": "policy.phases[0].from", "values": ["2021-06-08", "2021-06-28"]}
            ],
            "variants": [],
            "metrics": ["cohort.apple.users_affected"],
        }
    }
    with pytest.raises(ScenarioError) as caught:
        make_scenario(PHASES.overrides, sweep, {"sweep": {"metrics": ["cohort.aple.lock_days"]}})
    (problem,) = caught.value.problems
    assert problem.path == "sweep.metrics[0]" and "did you mean 'apple'" in problem.message
    run_sweep(make_scenario(PHASES.overrides, sweep), tmp_path / "out", workers=1)
    rows = load_sweep(tmp_path / "out", "cohort")
    apple = rows[(rows["key"] == "apple")].sort_values("point")["users_affected"].to_numpy()
    assert apple[0] > apple[1] > 0  # the apple phase three weeks later locks fewer apples

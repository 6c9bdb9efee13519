"""The device-list trigger (`policy.device_list`, issue 13): the engine against the per-device
reference model, the closed form of the share locked given the listing errors, its invariants on
random scenarios, its metrics and words in the report, and its validation messages."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import simlock
from simlock.errors import ScenarioError
from simlock.model.device_list import DEVICE_LIST_OUTCOMES
from simlock.model.engine import Outcome, VariantResult, simulate_variant
from simlock.model.population import Population, generate
from simlock.report.describe import describe_changes, describe_policy
from simlock.report.headline import who_where_how_long
from simlock.report.run_report import _overall, _variant_words
from simlock.scenario.models import Policy, Scenario
from tests.cli_helpers import ROOT, invoke
from tests.engine_helpers import engine_frame, make_scenario
from tests.reference_comparison import Case, ReferenceRuns, compare
from tests.test_engine_properties import (
    SETTINGS,
    _check_daily_against_events,
    _check_outcomes,
    _check_times,
    _date,
    scenarios,
)

EVERY_CONNECTION = Case(
    "a device list checked at every connection, started mid-run, with errors both ways, a "
    "warning and a proof-of-purchase desk",
    {
        "end": "2021-07-16",
        "checkin": {"jitter_days": 0.3, "offline_rate_per_day": 0.1, "offline_mean_days": 2.0},
        "policy": {
            "targets": {"channels": ["grey_import"]},
            "lock_delay": {"distribution": "exponential", "mean_days": 1.5},
            "device_list": {
                "batch": ["grey_import"],
                "start": "2021-06-11",
                "missed_share": 0.15,
                "false_listing_share": 0.25,
                "proof_of_purchase": True,
            },
            "warning": {"grace_days": 1.0, "resolve_share": 0.2},
            "appeals": {
                "share": 0.5,
                "delay": {"distribution": "exponential", "mean_days": 3.0},
                "agents": 4,
                "service_days": 0.25,
                "approval_share": 0.8,
            },
        },
    },
    distributions=("days_to_warning", "days_to_lock", "lock_duration"),
    must_happen=(
        "not_listed",
        "missed_by_list",
        "users_affected",
        "appeals_served",
        "unlocked_by_appeal",
    ),
)

FIRST_CONNECTION = Case(
    "a device list checked only at first connection, with a registry, windows and a lift",
    {
        "end": "2021-07-21",
        "checkin": {"model": "poisson", "interval_days": 1.5},
        "policy": {
            "lock_delay": {"distribution": "fixed", "days": 0.5},
            "device_list": {
                "batch": ["grey_import"],
                "start": "2021-06-16",
                "missed_share": 0.3,
                "false_listing_share": 0.4,
                "check": "first_connection",
            },
            "registry": {"grace_days": 2, "try_share": 0.5},
            "windows": [
                {"name": "trickle", "start": "2021-06-01", "end": "2021-06-26", "coverage": 0.5},
                {"name": "surge", "start": "2021-06-26", "end": "2021-07-21", "coverage": 0.9},
            ],
            "lift": {"date": "2021-07-11"},
        },
    },
    must_happen=(
        "connected_before_list",
        "missed_by_list",
        "not_listed",
        "registered",
        "locked_by_surge",
        "unlocked_by_lift",
    ),
)


@pytest.mark.slow
@pytest.mark.parametrize("case", [EVERY_CONNECTION, FIRST_CONNECTION], ids=["every", "first"])
def test_engine_matches_the_reference_model_with_a_device_list(
    case: Case, reference_runs: ReferenceRuns
) -> None:
    assert compare(case, reference_runs) == []


def _wrong_list(case: Case, **change: Any) -> Callable[[Scenario, int], pd.DataFrame]:
    """An engine that runs the case's device list with `change` applied, on the true scenario's
    devices: an engine that reads one field of the list wrongly."""

    def simulate(scenario: Scenario, replication: int) -> pd.DataFrame:
        device_list = scenario.policy.device_list
        assert device_list is not None
        wrong = device_list.model_copy(update=change)
        policy = scenario.policy.model_copy(update={"device_list": wrong})
        return engine_frame(scenario, policy, replication)

    return simulate


@pytest.mark.slow
@pytest.mark.parametrize(
    ("case", "change"),
    [
        (EVERY_CONNECTION, {"missed_share": 0.25}),  # the list misses more of the batch
        (EVERY_CONNECTION, {"false_listing_share": 0.15}),  # fewer legitimate devices listed
        (EVERY_CONNECTION, {"start": None}),  # the list in force from the run's start
        (FIRST_CONNECTION, {"check": "every_connection"}),  # earlier devices checked again
        (EVERY_CONNECTION, {"proof_of_purchase": False}),  # the desk approves the batch too
    ],
    ids=["missed", "false-listing", "start", "check", "proof"],
)
def test_a_wrong_device_list_fails_the_comparison(
    case: Case, change: dict[str, Any], reference_runs: ReferenceRuns
) -> None:
    assert compare(case, reference_runs, _wrong_list(case, **change)) != []


# --- the closed form ---------------------------------------------------------------------------

RATE, BATCH_SHARE, MISSED, FALSE = 400.0, 0.3, 0.2, 0.05
Z_BOUND = 4.5


def _closed_form_counts(seed: int) -> dict[str, tuple[int, int]]:
    """(devices, devices locked) of the batch and of the others, among the activations early
    enough that their lock lands before the end of the run."""
    scenario = make_scenario(
        {
            "seed": seed,
            "end": "2021-07-01",
            "regions": [
                {
                    "id": "CU",
                    "name": "Cuba",
                    "activations": [{"from": "2021-06-01", "rate_per_day": RATE}],
                    "channels": {"looted": BATCH_SHARE, "official": 1 - BATCH_SHARE},
                    "signals": {"location_share": 0.0},
                }
            ],
            "policy": {
                "detection": {"signals": ["sim"]},
                "targets": {"channels": ["looted"]},
                "lock_delay": {"distribution": "fixed", "days": 0},
                "device_list": {
                    "batch": ["looted"],
                    "missed_share": MISSED,
                    "false_listing_share": FALSE,
                },
            },
        }
    )
    frame = engine_frame(scenario, scenario.policy, 0)
    # A lock lands at the first check-in after the activation (daily, jitter 0.2): two days of
    # margin before the end of the run (day 30).
    early = frame["activated"] < 28
    batch = frame["channel"] == scenario.channel_names.index("looted")
    locked = frame["locked"].notna()
    return {
        "batch": (int((early & batch).sum()), int((early & batch & locked).sum())),
        "other": (int((early & ~batch).sum()), int((early & ~batch & locked).sum())),
    }


def share_locked(in_batch: bool, missed: float = MISSED, false: float = FALSE) -> float:
    """P(locked) for a considered device under a list with these errors, no windows, coverage
    1 and no delay: 1 - missed for the batch, the false listing share for the others."""
    return 1 - missed if in_batch else false


def _z(count: tuple[int, int], p: float) -> float:
    devices, locked = count
    return (locked - devices * p) / np.sqrt(devices * p * (1 - p))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_share_locked_follows_the_closed_form(seed: int) -> None:
    counts = _closed_form_counts(seed)
    for group, in_batch in (("batch", True), ("other", False)):
        assert abs(_z(counts[group], share_locked(in_batch))) < Z_BOUND, (group, counts)


@pytest.mark.parametrize(
    ("group", "wrong"),
    [
        ("batch", {"missed": MISSED + 0.04}),  # the list misses 4 points more of the batch
        ("other", {"false": FALSE * 1.4}),  # 40% more legitimate devices listed
        ("other", {"false": FALSE * 0.6}),  # 40% fewer legitimate devices listed
    ],
)
def test_the_bound_rejects_a_wrong_closed_form(group: str, wrong: dict[str, float]) -> None:
    counts = _closed_form_counts(1)
    assert abs(_z(counts[group], share_locked(group == "batch", **wrong))) > Z_BOUND


def test_collateral_share_of_the_locks_follows_from_the_listing_errors() -> None:
    """The share of the locks that are collateral: legitimate devices listed by mistake among
    all listed devices."""
    results = simlock.run(
        make_scenario(
            {
                "end": "2021-07-01",
                "regions": [
                    {
                        "id": "CU",
                        "name": "Cuba",
                        "activations": [{"from": "2021-06-01", "rate_per_day": RATE}],
                        "channels": {"looted": BATCH_SHARE, "official": 1 - BATCH_SHARE},
                        "signals": {"location_share": 0.0},
                    }
                ],
                "policy": {
                    "detection": {"signals": ["sim"]},
                    "targets": {"channels": ["looted"]},
                    "lock_delay": {"distribution": "fixed", "days": 0},
                    "device_list": {
                        "batch": ["looted"],
                        "missed_share": MISSED,
                        "false_listing_share": FALSE,
                    },
                },
            }
        ),
        replications=3,
    )
    rows = results.summary[results.summary["group"] == "all"].set_index("metric")["mean"]
    collateral = FALSE * (1 - BATCH_SHARE)
    expected = collateral / (BATCH_SHARE * (1 - MISSED) + collateral)
    assert rows["collateral_locks"] / rows["users_affected"] == pytest.approx(expected, abs=0.01)


# --- when listed devices are locked ------------------------------------------------------------


def test_a_listed_device_is_decided_only_after_the_list_takes_effect() -> None:
    scenario = make_scenario(EVERY_CONNECTION.overrides)
    frame = engine_frame(scenario, scenario.policy, 0)
    start = 10.0  # 2021-06-11
    decided = frame[frame["decided"].notna()]
    assert (decided["decided"] >= start).all()
    early = decided["activated"] < start
    assert early.sum() > 0, "devices in use before the list are locked after it"


def test_a_first_connection_list_keeps_listed_devices_connected_before_it() -> None:
    scenario = make_scenario(FIRST_CONNECTION.overrides)
    frame = engine_frame(scenario, scenario.policy, 0)
    start = 15.0  # 2021-06-16
    kept = frame["outcome"] == "connected_before_list"
    assert kept.sum() > 0
    assert (frame.loc[kept, "activated"] < start).all()
    assert (frame.loc[frame["considered"], "activated"] >= start).all()


def test_listing_outcomes_follow_the_batch() -> None:
    scenario = make_scenario(EVERY_CONNECTION.overrides)
    frame = engine_frame(scenario, scenario.policy, 0)
    batch = frame["channel"] == scenario.channel_names.index("grey_import")
    assert batch[frame["outcome"] == "missed_by_list"].all()
    assert not batch[frame["outcome"] == "not_listed"].any()
    assert (frame["considered"] & ~batch).sum() > 0, "legitimate devices are listed by mistake"


def test_a_proof_of_purchase_desk_serves_the_batch_but_unlocks_only_legitimate_devices() -> None:
    scenario = make_scenario(EVERY_CONNECTION.overrides)
    frame = engine_frame(scenario, scenario.policy, 0)
    batch = frame["channel"] == scenario.channel_names.index("grey_import")
    served = frame["appeal_closed"].notna()
    assert (served & batch).sum() > 0, "holders of batch devices take the desk's time"
    assert not (frame["appeal_approved"] & batch).any()
    assert (frame.loc[~batch, "outcome"] == "unlocked_by_appeal").sum() > 0


# --- invariants on random scenarios ------------------------------------------------------------


@st.composite
def listed_scenarios(draw: st.DrawFn) -> Scenario:
    """A random small scenario (`test_engine_properties.scenarios`) with a device list over one
    of its channels, possibly from a day inside the run, checked at every or first connection."""
    scenario = draw(scenarios())
    channels = scenario.channel_names
    device_list: dict[str, Any] = {
        "batch": [draw(st.sampled_from(channels))],
        "missed_share": draw(st.sampled_from([0.2, 0.0, 1.0])),
        "false_listing_share": draw(st.sampled_from([0.1, 0.0, 1.0])),
        "check": draw(st.sampled_from(["every_connection", "first_connection"])),
    }
    if draw(st.booleans()):
        device_list["start"] = _date(draw(st.integers(0, int(scenario.days) - 1)))
    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["policy"]["device_list"] = device_list
    return simlock.load_scenario(data)


def _check_listing(
    scenario: Scenario, population: Population, policy: Policy, r: VariantResult
) -> VariantResult:
    """What the list must respect, and the result with the list's outcomes as devices outside
    the policy (so the engine's other outcome checks apply to the rest unchanged)."""
    device_list = policy.device_list
    assert device_list is not None
    first = r.outcomes.index(DEVICE_LIST_OUTCOMES[0])
    names = np.array(r.outcomes)[r.outcome]
    batch = np.isin(population.channel, r.batch)
    # Counts conserved: every device the policy considers before the list is listed, kept
    # before it, or not listed, once.
    left_out = r.outcome >= first
    assert not np.isin(r.considered, np.flatnonzero(left_out)).any()
    assert batch[names == "missed_by_list"].all() and not batch[names == "not_listed"].any()
    if device_list.missed_share == 0:
        assert not (names == "missed_by_list").any()
    if device_list.false_listing_share == 0:
        assert batch[r.considered].all(), "a legitimate device listed without listing errors"
    start = (
        float((device_list.start - scenario.start).days) if device_list.start is not None else 0.0
    )
    decided = np.isfinite(r.decided)
    assert (r.decided[decided] >= start).all(), "a decision before the list takes effect"
    kept = names == "connected_before_list"
    if device_list.check == "every_connection":
        assert not kept.any()
    else:
        assert (population.activated[kept] < start).all()
        assert (population.activated[r.considered] >= start).all()
    outside = np.where(left_out, Outcome.NOT_TARGETED, r.outcome).astype(np.int8)
    return dataclasses.replace(r, outcome=outside)


@pytest.mark.slow
@SETTINGS
@given(listed_scenarios())
def test_engine_invariants_hold_with_a_device_list(scenario: Scenario) -> None:
    population = generate(scenario, 0)
    for name in scenario.variant_names:
        policy = scenario.variant(name)
        result = simulate_variant(scenario, population, policy, name, 0)
        _check_times(scenario, population, policy, result)
        _check_outcomes(
            scenario, population, policy, _check_listing(scenario, population, policy, result)
        )
        _check_daily_against_events(scenario, population, result)
        # Counts conserved: the list splits the devices the same policy without it considers.
        unlisted = policy.model_copy(update={"device_list": None})
        seen = simulate_variant(scenario, population, unlisted, name, 0).considered
        left_out = np.isin(result.outcomes, DEVICE_LIST_OUTCOMES)[result.outcome].sum()
        assert np.isin(result.considered, seen).all()
        assert seen.size == result.considered.size + left_out


# --- metrics and words -------------------------------------------------------------------------


def test_device_list_metrics_count_the_devices_table_and_appear_only_with_a_list() -> None:
    scenario = make_scenario(
        FIRST_CONNECTION.overrides, {"variants": {"no-list": {"device_list": None}}}
    )
    results = simlock.run(scenario, replications=1)
    devices = results.devices
    outcomes = devices.groupby(["variant", "outcome"], observed=True).size()
    rows = results.summary[results.summary["group"] == "all"]
    base = rows[rows["variant"] == "baseline"].set_index("metric")["mean"]
    for name in ("missed_by_list", "connected_before_list"):
        assert base[name] == outcomes["baseline", name] > 0
    assert base["listed"] > base["listed_by_mistake"] > 0
    without = set(rows[rows["variant"] == "no-list"]["metric"])
    assert "listed" not in without and "users_affected" in without


def test_the_report_describes_the_list_and_what_a_variant_changes() -> None:
    scenario = make_scenario(
        EVERY_CONNECTION.overrides,
        {
            "variants": {
                "exact": {"device_list": {"missed_share": 0, "false_listing_share": 0}},
                "no-list": {"device_list": None},
            }
        },
    )
    words = describe_policy(scenario.policy, scenario)["device_list"]
    assert "Device list from 2021-06-11" in words
    assert "misses 15% of the batch" in words and "25% of the other devices" in words
    assert "every connection" in words and "proof of purchase" in words
    exact = describe_changes(scenario.variant("exact"), scenario.policy, scenario)
    assert any("makes no mistake either way" in text for text in exact)
    gone = describe_changes(scenario.variant("no-list"), scenario.policy, scenario)
    assert any(text.startswith("No device list") for text in gone)


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "path", "words"),
    [
        (
            {"policy": {"device_list": {"batch": ["grey_imports"]}}},
            "policy.device_list.batch[0]",
            "did you mean 'grey_import'",
        ),
        (
            {"policy": {"device_list": {"batch": ["grey_import", "grey_import"]}}},
            "policy.device_list.batch[1]",
            "listed twice",
        ),
        (
            {"policy": {"device_list": {"batch": ["grey_import"], "start": "2022-01-01"}}},
            "policy.device_list.start",
            "outside the run",
        ),
        (
            {"policy": {"device_list": {"batch": ["grey_import"], "check": "sometimes"}}},
            "policy.device_list.check",
            "",
        ),
        (
            {
                "policy": {"device_list": {"batch": ["grey_import"]}},
                "variants": {"v": {"device_list": {"missed_share": 1.5}}},
            },
            "variants.v.device_list.missed_share",
            "",
        ),
    ],
)
def test_device_list_mistakes_are_reported_at_their_field(
    override: dict[str, Any], path: str, words: str
) -> None:
    with pytest.raises(ScenarioError) as caught:
        make_scenario(override)
    (problem,) = caught.value.problems
    assert problem.path == path
    assert words in problem.message


def test_a_batch_left_out_of_the_targets_is_warned_about() -> None:
    scenario = make_scenario(
        {
            "policy": {
                "targets": {"channels": ["grey_import"]},
                "device_list": {"batch": ["traveller"]},
            }
        }
    )
    (warning,) = [w for w in scenario.warnings() if "device list" in w]
    assert warning.startswith("policy.targets:") and "traveller" in warning
    fine = make_scenario(EVERY_CONNECTION.overrides)
    assert not [w for w in fine.warnings() if "device list" in w]


# --- the shipped episode -----------------------------------------------------------------------

SAMSUNG = ROOT / "scenarios" / "samsung-tv-block-2021.yaml"
RECORD = ROOT / "docs" / "record" / "samsung-tv-block-2021.md"


@pytest.mark.slow
def test_the_samsung_tv_block_scenario_passes_its_expectations(tmp_path: Path) -> None:
    result = invoke(
        "run",
        SAMSUNG,
        "-o",
        tmp_path / "run",
        "--workers",
        "1",
        "--quiet",
        "--no-report",
        "--check",
    )
    assert result.exit_code == 0, result.output


def test_every_samsung_expectation_cites_a_fact_of_its_record() -> None:
    scenario = simlock.load_scenario(SAMSUNG)
    text = RECORD.read_text(encoding="utf-8")
    assert len(scenario.expectations) >= 5
    for expectation in scenario.expectations:
        anchor = expectation.source.split("#")[1].split()[0]
        assert anchor.startswith("fact-") and f"{{#{anchor}}}" in text, expectation.name
    assert scenario.warnings() == []


def test_the_report_speaks_of_the_list_not_of_shares_of_every_device_seen() -> None:
    """Under a list, the share of every device in the territories says little: the headline and
    each variant's words give what the list named, wrongly named and missed instead."""
    scenario = make_scenario(FIRST_CONNECTION.overrides)
    results = simlock.run(scenario, replications=1)
    words = "".join(str(span) for span in who_where_how_long(results).spans)
    assert "The device list named" in words and "by mistake" in words
    assert "of activations in banned territories" not in words
    assert " came from Cuba (CU)" in words
    spans = _variant_words(results, "baseline", _overall(results))
    detail = "".join(str(span) for span in spans)
    assert "listed devices had connected before it" in detail

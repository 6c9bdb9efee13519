"""The `uncertain:` section and observed targets: validated like every other field, applied by
one function, and used by the expectations' verdicts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from simlock.analysis.expectations import target_bounds, target_scale
from simlock.errors import ScenarioError
from simlock.scenario.loader import load_scenario, with_values
from simlock.scenario.uncertain import field_bounds
from tests.cli_helpers import invoke, small_doc, write_yaml

GOOD = [
    {"path": "policy.windows.surge.coverage", "prior": "uniform", "low": 0.2, "high": 0.9},
    {
        "path": "regions.CU.activations[0].rate_per_day",
        "prior": "loguniform",
        "low": 10,
        "high": 100,
    },
    {"path": "regions.CU.signals.vpn_share", "prior": "normal", "mean": 0.1, "sd": 0.05},
    {"path": "policy.detection.rule", "prior": "choice", "values": ["any", "majority"]},
    {"path": "policy.lift.date", "prior": "uniform", "low": "2021-09-12", "high": "2021-09-14"},
    {"path": "policy.appeals.agents", "prior": "uniform", "low": 1, "high": 4},
]


def with_inputs(*inputs: dict) -> dict:
    doc = small_doc()
    doc["uncertain"] = list(inputs)
    return doc


def problems_of(tmp_path: Path, *inputs: dict) -> list[str]:
    path = write_yaml(tmp_path / "s.yaml", with_inputs(*inputs))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    return [str(p) for p in caught.value.problems]


def test_every_kind_of_prior_loads():
    scenario = load_scenario(with_inputs(*GOOD))
    assert [u.prior for u in scenario.uncertain] == [
        "uniform",
        "loguniform",
        "normal",
        "choice",
        "uniform",
        "uniform",
    ]
    assert scenario.uncertain[4].low == dt.date(2021, 9, 12)


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            {"path": "policy.windows.surge.nothing", "prior": "uniform", "low": 0, "high": 1},
            "s.yaml:{line}: uncertain[0].path: 'policy.windows.surge.nothing': no field 'nothing'",
        ),
        (
            {"path": "policy.coverage", "prior": "uniform", "low": 0.5, "high": 1.5},
            "uncertain[0].high: 1.5 is outside the bounds of policy.coverage (allowed: a number "
            "at least 0 and at most 1)",
        ),
        (
            {"path": "policy.lock_delay.median_days", "prior": "normal", "mean": -2, "sd": 1},
            "uncertain[0].mean: -2 is outside the bounds of policy.lock_delay.median_days "
            "(allowed: a number above 0)",
        ),
        (
            {"path": "policy.coverage", "prior": "choice", "values": [0.5, 2]},
            "uncertain[0].values[1]: 2 is outside the bounds",
        ),
        (
            {"path": "policy.detection.rule", "prior": "uniform", "low": 0, "high": 1},
            "policy.detection.rule holds 'majority', not a number",
        ),
        (
            {"path": "policy.lift.date", "prior": "uniform", "low": 1, "high": 2},
            "policy.lift.date holds a date",
        ),
        (
            {
                "path": "policy.lift.date",
                "prior": "uniform",
                "low": "2021-06-05",
                "high": "2021-09-14",
            },
            "with policy.lift.date = 2021-06-05 the scenario is not valid",
        ),
        (
            {"path": "seed", "prior": "uniform", "low": 1, "high": 5},
            "uncertain[0].path: seed describes or runs the scenario",
        ),
        (
            {"path": "policy.coverage", "prior": "uniform", "low": 0.5, "high": 0.2},
            "uncertain[0].high: high (0.2) must be above low (0.5)",
        ),
        (
            {"path": "policy.coverage", "prior": "loguniform", "low": 0, "high": 0.2},
            "uncertain[0].low:",
        ),
        (
            {"path": "policy.coverage", "prior": "beta", "low": 0, "high": 0.2},
            "uncertain[0]: unknown prior 'beta'",
        ),
        (
            {"path": "policy.detection.rule", "prior": "choice", "values": ["any"], "weights": []},
            "uncertain[0].weights: 0 weight(s) for 1 value(s)",
        ),
    ],
)
def test_a_bad_input_is_reported_with_file_line_and_field_path(tmp_path, item, expected):
    found = problems_of(tmp_path, item)
    line = len((tmp_path / "s.yaml").read_text().splitlines()) - len(item) + 1
    assert any(expected.format(line=line) in text for text in found), found


def test_a_path_given_twice_is_reported(tmp_path):
    found = problems_of(tmp_path, GOOD[0], GOOD[0])
    assert any("uncertain[1].path: 'policy.windows.surge.coverage' is already" in t for t in found)


def test_the_validate_command_exits_2_on_a_bad_prior(tmp_path):
    doc = with_inputs({"path": "policy.coverage", "prior": "uniform", "low": 0.5, "high": 3})
    result = invoke("validate", write_yaml(tmp_path / "s.yaml", doc))
    assert result.exit_code == 2
    assert "uncertain[0].high: 3 is outside the bounds of policy.coverage" in result.stderr


def test_with_values_sets_each_path_rounds_integers_and_drops_the_priors():
    scenario = load_scenario(with_inputs(*GOOD))
    applied, values = with_values(
        scenario,
        {
            "policy.windows.surge.coverage": 0.33,
            "policy.appeals.agents": np.float64(2.6),
            "policy.lift.date": dt.date(2021, 9, 13),
            "policy.detection.rule": "any",
        },
    )
    assert applied.policy.windows[1].coverage == 0.33
    assert applied.policy.appeals.agents == 3 and values["policy.appeals.agents"] == 3
    assert applied.policy.lift.date == dt.date(2021, 9, 13)
    assert applied.policy.detection.rule == "any"
    assert applied.uncertain == []
    assert scenario.policy.windows[1].coverage == 0.6  # the source is left as it was


def test_with_values_rejects_a_value_that_breaks_the_scenario():
    with pytest.raises(ScenarioError, match="coverage"):
        with_values(load_scenario(small_doc()), {"policy.coverage": 1.5})


def test_field_bounds_follow_the_models():
    scenario = load_scenario(with_inputs(*GOOD))
    assert field_bounds(scenario, "regions.CU.signals.vpn_share") == (0.0, 1.0)
    assert field_bounds(scenario, "policy.lock_delay.median_days") == (0.0, None)
    assert field_bounds(scenario, "regions.CU.activations[0].rate_per_day") == (0.0, 1e9)


def observed_doc(**fields) -> dict:
    doc = small_doc()
    doc["expectations"] = [{"name": "target", "metric": "users_affected", **fields}]
    return doc


def test_an_observed_value_with_a_tolerance_or_standard_error_is_a_range():
    scenario = load_scenario(observed_doc(observed=100, tolerance=10))
    assert target_bounds(scenario, scenario.expectations[0]) == (90, 110)
    assert target_scale(scenario, scenario.expectations[0]) == 10
    scenario = load_scenario(observed_doc(observed=100, standard_error=10, min=95))
    low, high = target_bounds(scenario, scenario.expectations[0])
    assert (low, high) == (95, pytest.approx(119.6))
    assert target_scale(scenario, scenario.expectations[0]) == 10


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"observed": 100}, "expectations[0].observed: an observed value needs exactly one"),
        (
            {"observed": 100, "tolerance": 1, "standard_error": 1},
            "exactly one of tolerance and standard_error (both are given)",
        ),
        ({"tolerance": 5, "max": 3}, "expectations[0].tolerance: tolerance needs an observed"),
        ({"observed": "2021-09-01", "tolerance": 3}, "users_affected is not a date"),
    ],
)
def test_a_bad_observation_is_reported(tmp_path, fields, expected):
    path = write_yaml(tmp_path / "s.yaml", observed_doc(**fields))
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert any(expected in str(p) for p in caught.value.problems), caught.value.problems


@pytest.mark.slow
def test_the_verdict_uses_the_observed_range():
    import simlock

    scenario = load_scenario(observed_doc(observed=1e9, tolerance=1))
    results = simlock.run(scenario, replications=2, scale=0.1, detail_replications=0)
    row = results.check().iloc[0]
    assert row["verdict"] == "FAIL" and row["min"] == 1e9 - 1 and row["max"] == 1e9 + 1
    value = row["value"]
    scenario = load_scenario(observed_doc(observed=value, standard_error=value / 10))
    row = simlock.run(scenario, replications=2, scale=0.1, detail_replications=0).check().iloc[0]
    assert row["passed"]

"""The public API raises simlock's own errors (`SimlockError` subclasses), with the command's
plain messages: never a KeyError, ValueError or pydantic ValidationError."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import simlock
from simlock.errors import OptionError, SavedRunError, ScenarioError, SimlockError
from tests.cli_helpers import FAST, SMALL, invoke, small_doc


@pytest.fixture(scope="module")
def scenario() -> simlock.Scenario:
    return simlock.load_scenario(SMALL)


@pytest.fixture(scope="module")
def results(scenario: simlock.Scenario) -> simlock.Results:
    return simlock.run(scenario, replications=2, scale=0.05, workers=1)


def test_an_unknown_variant_has_the_command_s_message(tmp_path: Path, scenario) -> None:
    allowed = f"(allowed: {', '.join(scenario.variant_names)})"
    with pytest.raises(OptionError) as api:
        simlock.run(scenario, variants=["nope"], scale=0.05)
    command = invoke("run", SMALL, "-o", tmp_path / "run", *FAST, "--variant", "nope")
    assert str(api.value) == f"variants: no variant named nope {allowed}"
    assert command.stderr.strip() == f"error: --variant: no variant named nope {allowed}"


def test_a_misspelt_variant_gets_a_did_you_mean(scenario) -> None:
    with pytest.raises(OptionError, match=r"no variant named no_lift; did you mean 'no-lift'\?"):
        simlock.run(scenario, variants="no_lift", scale=0.05)


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"replications": 0}, "replications: 0 is out of range (allowed: 1 to 10,000)"),
        ({"replications": 10_001}, "replications: 10001 is out of range"),
        ({"replications": "3"}, "replications: '3' is not a whole number"),
        ({"seed": -1}, "seed: -1 is out of range (allowed: 0 to 2**63 - 1)"),
        ({"scale": 0}, "scale: 0 is out of range (allowed: 1e-09 to 1e+06)"),
        ({"scale": -2.0}, "scale: -2.0 is out of range"),
        ({"scale": "big"}, "scale: 'big' is not a number"),
        ({"workers": 0}, "workers: 0 is out of range (allowed: 1 to 1024, or None"),
        ({"workers": 2.5}, "workers: 2.5 is not a whole number"),
        ({"detail_replications": -1}, "detail_replications: -1 is out of range"),
    ],
)
def test_bad_run_options_are_option_errors(scenario, options: dict[str, Any], says: str) -> None:
    with pytest.raises(OptionError) as caught:
        simlock.run(scenario, **options)
    assert str(caught.value).startswith(says)


def test_a_path_instead_of_a_scenario_says_how_to_load_it() -> None:
    with pytest.raises(OptionError, match=r"simlock.load_scenario\(path\)"):
        simlock.run(str(SMALL))  # type: ignore[arg-type]


def test_a_hand_built_scenario_with_a_bad_variant_is_a_scenario_error(scenario) -> None:
    broken = scenario.model_copy(
        update={"variants": {"late": {"lift": {"date": dt.date(2021, 6, 2)}}}}
    )
    with pytest.raises(ScenarioError, match="comes before the first window") as caught:
        simlock.run(broken, scale=0.05)
    assert caught.value.problems[0].path.startswith("variants.late")


def test_loading_something_that_is_not_a_run_is_a_saved_run_error(tmp_path: Path) -> None:
    with pytest.raises(SavedRunError, match="no such run folder"):
        simlock.Results.load(tmp_path / "missing")


def test_an_unknown_metric_raises_with_the_closest_name(results) -> None:
    with pytest.raises(
        OptionError, match=r"no metric named 'users_afected'; did you mean 'users_affected'\?"
    ):
        results.metric("users_afected")
    with pytest.raises(OptionError, match="no group named 'regions'; did you mean 'region'"):
        results.metric("users_affected", group="regions")
    assert not results.metric("users_affected").empty


def test_compare_with_an_unknown_baseline_or_not_results(results) -> None:
    with pytest.raises(OptionError, match="baseline: no variant named 'base'"):
        simlock.compare(results, baseline="base")
    with pytest.raises(OptionError, match=r"expected the Results of simlock\.run"):
        simlock.compare(results.summary)  # type: ignore[arg-type]


def test_a_sweep_with_bad_options_is_refused_plainly(tmp_path: Path) -> None:
    doc = small_doc()
    doc["sweep"] = {
        "design": "grid",
        "parameters": [{"path": "policy.windows[0].coverage", "values": [0.5]}],
    }
    scenario = simlock.load_scenario(doc)
    with pytest.raises(OptionError, match="replications: 0 is out of range"):
        simlock.run_sweep(scenario, tmp_path / "a", replications=0)
    with pytest.raises(OptionError, match="workers: '2' is not a whole number"):
        simlock.run_sweep(scenario, tmp_path / "b", workers="2")  # type: ignore[arg-type]
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_every_error_raised_is_a_simlock_error() -> None:
    assert issubclass(OptionError, SimlockError)
    assert not issubclass(OptionError, (KeyError, ValueError))

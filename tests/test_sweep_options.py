"""Sweeps for research (issue 16, item 8): `scale` and `variants` per sweep, region and channel
metrics kept, sensitivity indices of any metric, and a sensitivity method for Latin hypercubes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import simlock
from simlock.errors import ScenarioError
from simlock.execution.sweep import (
    GROUPS_FILE,
    MANIFEST_FILE,
    SENSITIVITY_FIGURE,
    SENSITIVITY_FILE,
    load_sweep,
    make_design,
    run_sweep,
)
from tests.cli_helpers import invoke, write_yaml
from tests.test_sweep import TINY

VARIANTS = {
    "exempt": {"exemptions": {"allowed_sim": True}},
    "no-appeals": {"appeals": None},
    "warn": {"warning": {"grace_days": 2, "resolve_share": 0.5}},
}
COVERAGE = {"path": "policy.windows.surge.coverage", "values": [0.2, 0.9]}


def tiny(sweep: dict[str, Any], **changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(TINY)
    doc.update({"variants": copy.deepcopy(VARIANTS), "replications": 2, **changes})
    doc["sweep"] = {"design": "grid", "parameters": [COVERAGE], **sweep}
    return doc


def overall_of_plain_run(scenario: simlock.Scenario, **options: Any) -> pd.DataFrame:
    plain = simlock.run(scenario, detail_replications=0, workers=1, **options).replicates
    return plain[plain["group"] == "all"].pivot(
        index=["variant", "replication"], columns="metric", values="value"
    )


# -- scale and variants --------------------------------------------------------------------------


@pytest.mark.slow
def test_the_sweep_section_chooses_the_variants_and_the_scale(tmp_path: Path) -> None:
    doc = tiny({"scale": 0.5, "variants": ["warn"]})
    scenario = simlock.load_scenario(doc)
    frame = run_sweep(scenario, tmp_path / "out", workers=1)
    assert list(dict.fromkeys(frame["variant"])) == ["baseline", "warn"]
    plain = overall_of_plain_run(make_design(scenario).scenarios[1], scale=0.5, variants=["warn"])
    swept = frame[frame["point"] == 1].set_index(["variant", "replication"])
    for metric in ("activations", "users_affected", "collateral_locks", "warned"):
        assert swept[metric].to_dict() == plain[metric].to_dict()
    full = overall_of_plain_run(make_design(scenario).scenarios[1], variants=["warn"])
    assert swept["activations"].sum() < 0.6 * full["activations"].sum()
    manifest = json.loads((tmp_path / "out" / MANIFEST_FILE).read_text())
    assert manifest["scale"] == 0.5 and manifest["variants"] == ["baseline", "warn"]


def test_run_sweep_arguments_override_the_section(tmp_path: Path) -> None:
    scenario = simlock.load_scenario(tiny({"variants": ["warn"]}))
    frame = run_sweep(
        scenario, tmp_path / "out", workers=1, scale=0.25, variants=["exempt", "no-appeals"]
    )
    assert list(dict.fromkeys(frame["variant"])) == ["baseline", "exempt", "no-appeals"]
    plain = overall_of_plain_run(make_design(scenario).scenarios[0], scale=0.25)
    swept = frame[frame["point"] == 0].set_index(["variant", "replication"])
    assert swept["activations"].to_dict() == {
        key: value for key, value in plain["activations"].to_dict().items() if key[0] != "warn"
    }


def test_by_default_every_point_runs_every_variant_at_scale_one(tmp_path: Path) -> None:
    scenario = simlock.load_scenario(tiny({}, replications=1))
    frame = run_sweep(scenario, tmp_path / "out", workers=1)
    assert list(dict.fromkeys(frame["variant"])) == ["baseline", *VARIANTS]
    plain = overall_of_plain_run(make_design(scenario).scenarios[0])
    swept = frame[frame["point"] == 0].set_index(["variant", "replication"])
    assert swept["activations"].to_dict() == plain["activations"].to_dict()


def test_an_unknown_sweep_variant_is_an_error_with_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        simlock.load_scenario(tiny({"variants": ["warn", "exmept"]}))
    (problem,) = caught.value.problems
    assert problem.path == "sweep.variants[1]"
    assert "no variant named 'exmept'; did you mean 'exempt'?" in problem.message
    scenario = simlock.load_scenario(tiny({}))
    with pytest.raises(ScenarioError, match="did you mean 'warn'"):
        run_sweep(scenario, tmp_path / "out", variants=["wanr"])
    assert not (tmp_path / "out").exists()


# -- region and channel metrics -------------------------------------------------------------------


@pytest.mark.slow
def test_region_and_channel_metrics_are_kept(tmp_path: Path) -> None:
    scenario = simlock.load_scenario(tiny({"variants": ["exempt"]}))
    out = tmp_path / "out"
    run_sweep(scenario, out, workers=1)
    assert (out / GROUPS_FILE).exists()
    regions = load_sweep(out, "region")
    channels = load_sweep(out, "channel")
    assert set(regions["key"]) == {"CU", "UA-43", "RU"}
    assert set(channels["key"]) == {"grey_import", "traveller", "official"}
    assert "peak_locked_day" not in regions.columns  # an overall-only metric
    plain = simlock.run(
        make_design(scenario).scenarios[1], variants=["exempt"], detail_replications=0, workers=1
    )
    reps = plain.replicates
    for group, frame in (("region", regions), ("channel", channels)):
        expected = reps[(reps["group"] == group) & (reps["metric"] == "users_affected")]
        expected = expected.set_index(["variant", "replication", "key"])["value"].to_dict()
        swept = frame[frame["point"] == 1].set_index(["variant", "replication", "key"])
        assert swept["users_affected"].to_dict() == expected
    with pytest.raises(ValueError, match="all, region, channel or cohort"):
        load_sweep(out, "country")


# -- sensitivity of any metric, and Latin hypercubes ----------------------------------------------

LEVERS = [
    {"path": "policy.windows.surge.coverage", "low": 0.0, "high": 1.0},
    {"path": "policy.appeals.service_days", "low": 0.1, "high": 2.0},
]


@pytest.mark.slow
def test_sensitivity_of_a_chosen_region_metric(tmp_path: Path) -> None:
    sweep = {
        "design": "sobol",
        "samples": 8,
        "parameters": LEVERS,
        "replications": 1,
        "variants": [],
        "metrics": ["region.CU.users_affected", "channel.traveller.collateral_locks"],
    }
    doc = tiny({}, variants={})
    doc["sweep"] = sweep
    out = tmp_path / "out"
    run_sweep(simlock.load_scenario(doc), out, workers=1)
    indices = pd.read_csv(out / SENSITIVITY_FILE)
    assert set(indices["metric"]) == {
        "region.CU.users_affected",
        "channel.traveller.collateral_locks",
    }
    cuba = indices[(indices["metric"] == "region.CU.users_affected")]
    total = cuba[cuba["order"] == "total"].set_index("parameter")["index"]
    assert total["policy.windows.surge.coverage"] > 0.5
    assert total["policy.appeals.service_days"] == pytest.approx(0.0, abs=0.05)


@pytest.mark.parametrize(
    ("metric", "says"),
    [
        ("users_afected", "no metric 'users_afected'; did you mean 'users_affected'?"),
        ("region.UA43.users_affected", "no region 'UA43'; did you mean 'UA-43'?"),
        ("channel.travellers.lock_days", "did you mean 'traveller'?"),
        ("region.CU.peak_locked_day", "exists overall only"),
        ("country.CU.users_affected", "is not a metric"),
    ],
)
def test_an_unknown_metric_is_an_error_before_anything_runs(
    tmp_path: Path, metric: str, says: str
) -> None:
    doc = tiny({"design": "lhs", "parameters": LEVERS, "metrics": ["lock_days", metric]})
    with pytest.raises(ScenarioError) as caught:  # in the file: when it is loaded
        simlock.load_scenario(write_yaml(tmp_path / "sweep.yaml", doc))
    (problem,) = caught.value.problems
    assert problem.path == "sweep.metrics[1]"
    assert problem.line is not None
    assert says in problem.message
    scenario = simlock.load_scenario(tiny({"design": "lhs", "parameters": LEVERS}))
    with pytest.raises(ScenarioError) as caught:  # from Python: before anything runs
        run_sweep(scenario, tmp_path / "out", metrics=[metric])
    assert caught.value.problems[0].path == "sweep.metrics[0]"
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_latin_hypercube_ranks_its_levers_by_rbd_fast(tmp_path: Path) -> None:
    doc = tiny({"design": "lhs", "samples": 40, "parameters": LEVERS, "replications": 1})
    doc["variants"] = {}
    out = tmp_path / "out"
    run_sweep(simlock.load_scenario(doc), out, workers=1)
    indices = pd.read_csv(out / SENSITIVITY_FILE)
    assert set(indices["method"]) == {"RBD-FAST"} and set(indices["order"]) == {"first"}
    users = indices[indices["metric"] == "users_affected"].set_index("parameter")
    assert users.at["policy.windows.surge.coverage", "index"] > 0.5
    assert users.at["policy.appeals.service_days", "index"] < 0.2
    assert users["ci_low"].notna().all()
    defined = indices["ci_low"].notna()  # undefined where a resample of a metric had no variance
    assert (indices["ci_low"] <= indices["index"])[defined].all()
    assert (indices["index"] <= indices["ci_high"])[defined].all()
    assert (out / SENSITIVITY_FIGURE).stat().st_size > 10_000


@pytest.mark.slow
def test_the_sweep_command_takes_scale_variants_and_metrics(tmp_path: Path) -> None:
    doc = tiny({"design": "lhs", "samples": 8, "parameters": LEVERS}, replications=1)
    file = write_yaml(tmp_path / "lhs.yaml", doc)
    out = tmp_path / "out"
    done = invoke(
        "sweep", file, "-o", out, "--workers", "1", "--scale", "0.5", "--variant", "warn",
        "--metric", "region.CU.users_affected",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert "8 points x 2 variant(s) x 1 replication(s)" in done.stdout
    manifest = json.loads((out / MANIFEST_FILE).read_text())
    assert manifest["scale"] == 0.5 and manifest["variants"] == ["baseline", "warn"]
    assert set(pd.read_csv(out / SENSITIVITY_FILE)["metric"]) <= {"region.CU.users_affected"}
    assert "RBD-FAST indices" in done.stdout
    bad = invoke("sweep", file, "-o", tmp_path / "bad", "--variant", "wrn")
    assert bad.exit_code == 2 and "did you mean 'warn'" in bad.stderr


# -- indices that a small sample leaves meaningless are called so -------------------------------


def test_indices_outside_0_1_or_with_wide_intervals_get_a_warning_that_says_what_to_do() -> None:
    from simlock.execution.sweep import noisy_indices_warning

    fine = pd.DataFrame({"index": [0.6, -0.02], "ci_low": [0.5, -0.1], "ci_high": [0.7, 0.05]})
    assert noisy_indices_warning(fine, 1024) is None
    noisy = pd.DataFrame({"index": [1.4, 0.3], "ci_low": [0.9, -0.5], "ci_high": [1.9, 1.1]})
    said = noisy_indices_warning(noisy, 8)
    assert said is not None
    assert "1 outside [0, 1]" in said and "2 with a 95% interval wider than 0.5" in said
    assert "raise sweep.samples (say to 64)" in said


@pytest.mark.slow
def test_a_sobol_sweep_of_two_base_samples_warns_that_its_indices_are_noise(
    tmp_path: Path,
) -> None:
    doc = tiny({"design": "sobol", "samples": 2, "parameters": LEVERS}, variants={})
    doc["replications"] = 1
    file = write_yaml(tmp_path / "sweep.yaml", doc)
    result = invoke("sweep", file, "-o", tmp_path / "out", "--workers", "1", "-q")
    assert result.exit_code == 0, result.stderr
    assert "sensitivity indices" in result.stderr and "raise sweep.samples" in result.stderr

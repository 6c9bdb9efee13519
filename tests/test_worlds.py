"""Runs over plausible worlds: every variant over draws from a posterior, with the plausible range
beside the Monte Carlo interval and differences paired within each world."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import simlock
from simlock.analysis.results import Results
from simlock.analysis.worlds import compare_worlds, summarize_worlds
from simlock.errors import OutputError
from simlock.execution.calibrate import calibrate
from simlock.scenario.loader import load_scenario
from tests.cli_helpers import invoke, small_doc, write_yaml

COVERAGE = "policy.windows.surge.coverage"
CU_RATE = "regions.CU.activations[0].rate_per_day"


def synthetic() -> pd.DataFrame:
    """Two worlds of three replications, two variants; the variant removes 10 in world 0 and
    adds 2 in world 1."""
    rows = []
    for world, base_values, change in ((0, [100, 110, 120], -10), (1, [200, 210, 220], 2)):
        for r, value in enumerate(base_values):
            replication = world * 3 + r
            for variant, v in (("baseline", value), ("warn", value + change)):
                rows.append((variant, world, replication, "all", "all", "users_affected", v))
    return pd.DataFrame(
        rows, columns=["variant", "world", "replication", "group", "key", "metric", "value"]
    )


def test_the_summary_holds_the_plausible_range_beside_the_monte_carlo_interval():
    summary = summarize_worlds(synthetic()).set_index("variant")
    base = summary.loc["baseline"]
    values = [100, 110, 120, 200, 210, 220]
    assert base["mean"] == pytest.approx(160) and base["n"] == 6 and base["worlds"] == 2
    assert base["plausible_low"] == pytest.approx(np.quantile(values, 0.05))
    assert base["plausible_high"] == pytest.approx(np.quantile(values, 0.95))
    # The Monte Carlo interval is over the two world means (110, 210): t(1) * 70.7 / sqrt(2).
    half = 12.7062 * np.std([110, 210], ddof=1) / np.sqrt(2)
    assert base["ci_high"] - base["mean"] == pytest.approx(half, rel=1e-4)


def test_differences_are_paired_within_each_world():
    diff = compare_worlds(synthetic()).iloc[0]
    assert diff["variant"] == "warn"
    assert diff["difference"] == pytest.approx(-4)  # mean of the world means -10 and 2
    assert diff["plausible_low"] == pytest.approx(-10) and diff["plausible_high"] == 2
    assert diff["worlds_same_sign"] == 0.5
    relative = np.array([-10 / 100, -10 / 110, -10 / 120, 2 / 200, 2 / 210, 2 / 220])
    assert diff["relative_median"] == pytest.approx(np.median(relative))
    assert diff["relative_low"] == pytest.approx(np.quantile(relative, 0.05))
    assert diff["relative_high"] == pytest.approx(np.quantile(relative, 0.95))


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory) -> tuple[dict, object]:
    doc = small_doc()
    doc["uncertain"] = [
        {"path": COVERAGE, "prior": "uniform", "low": 0.2, "high": 1.0},
        {"path": CU_RATE, "prior": "loguniform", "low": 10, "high": 160},
        {"path": "policy.lift.date", "prior": "uniform", "low": "2021-09-12", "high": "2021-09-14"},
    ]
    doc["expectations"] = [
        {"name": "affected", "metric": "users_affected", "min": 300, "max": 1500},
    ]
    folder = tmp_path_factory.mktemp("cal")
    calibrate(load_scenario(doc), folder, particles=12, populations=1, scale=0.5, workers=1)
    return doc, folder


@pytest.mark.slow
def test_a_run_over_the_posterior_has_worlds_common_dice_and_plausible_ranges(calibrated, tmp_path):
    doc, folder = calibrated
    scenario = load_scenario(doc)
    results = simlock.run(
        scenario, posterior=folder, worlds=3, replications=2, scale=0.5, detail_replications=0
    )
    replicates = results.replicates
    assert sorted(replicates["world"].unique()) == [0, 1, 2]
    assert sorted(replicates["replication"].unique()) == list(range(6))
    assert (replicates["world"] == replicates["replication"] // 2).all()
    activations = replicates[
        (replicates["metric"] == "activations") & (replicates["group"] == "all")
    ]
    per_task = activations.groupby("replication")["value"].nunique()
    assert (per_task == 1).all()  # every variant of a (world, replication) has the same devices
    assert activations.groupby("world")["value"].mean().nunique() == 3  # the worlds differ
    draws = pd.DataFrame(results.manifest["worlds"]["draws"])
    assert len(draws) == 3 and {COVERAGE, CU_RATE, "policy.lift.date"} <= set(draws.columns)
    summary = results.summary
    assert {"plausible_low", "plausible_high", "worlds"} <= set(summary.columns)
    overall = summary[(summary["group"] == "all") & (summary["metric"] == "users_affected")]
    assert (overall["plausible_low"] <= overall["mean"]).all()
    assert (overall["mean"] <= overall["plausible_high"]).all()
    assert "worlds_same_sign" in results.compare().columns
    check = results.check().iloc[0]
    assert check["worlds"] == 3 and check["n"] == 6
    assert check["plausible_low"] <= check["value"] <= check["plausible_high"]
    again = simlock.run(
        scenario, posterior=folder, worlds=3, replications=2, scale=0.5, detail_replications=0
    )
    pd.testing.assert_frame_equal(again.replicates, replicates)
    loaded = Results.load(results.save(tmp_path / "run"))
    pd.testing.assert_frame_equal(loaded.summary, results.summary)


@pytest.mark.slow
def test_the_run_command_takes_a_posterior(calibrated, tmp_path):
    doc, folder = calibrated
    path = write_yaml(tmp_path / "s.yaml", doc)
    out = tmp_path / "run"
    result = invoke(
        "run",
        path,
        "-o",
        out,
        "--posterior",
        folder,
        "--worlds",
        "2",
        "--replications",
        "1",
        "--scale",
        "0.5",
        "--workers",
        "1",
        "--quiet",
        "--no-report",
    )
    assert result.exit_code == 0, result.stderr
    summary = pd.read_csv(out / "summary.csv")
    assert summary["worlds"].max() == 2 and summary["plausible_high"].notna().any()
    bad = invoke("run", path, "-o", tmp_path / "bad", "--posterior", tmp_path, "--quiet")
    assert bad.exit_code == 2 and "not a calibration" in bad.stderr


def test_a_folder_without_a_calibration_is_refused(tmp_path):
    with pytest.raises(OutputError, match="not a calibration"):
        simlock.run(load_scenario(small_doc()), posterior=tmp_path, worlds=2)

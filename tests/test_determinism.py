"""Determinism: the same scenario and seed give the same frames, bit for bit, run after run,
with one worker in this process or two worker processes (the sequential and the process
executors); a replication's numbers do not depend on how many replications run; and the manifest
holds everything needed to rerun a run from its folder. (The executors' own equality, Dask
included, is tested in test_executors.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import simlock
from simlock.analysis.results import FORMAT_VERSION, FRAMES, scenario_hash
from tests.cli_helpers import SMALL, invoke, run_simlock

OPTIONS = ["--scale", "0.1", "--detail", "2", "--quiet", "--no-report"]


def frames(folder: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in FRAMES}


def assert_same_frames(a: Path, b: Path) -> None:
    left, right = frames(a), frames(b)
    for name in FRAMES:
        pd.testing.assert_frame_equal(left[name], right[name], check_exact=True, obj=name)


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("determinism") / "first"
    result = invoke("run", SMALL, "-o", out, "--workers", "1", *OPTIONS)
    assert result.exit_code == 0, result.output
    return out


def test_two_runs_with_the_same_seed_give_identical_frames(first_run: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert invoke("run", SMALL, "-o", again, "--workers", "1", *OPTIONS).exit_code == 0
    assert_same_frames(first_run, again)
    assert not frames(first_run)["devices"].empty


@pytest.mark.process
def test_one_worker_and_two_worker_processes_give_identical_frames(
    first_run: Path, tmp_path: Path
) -> None:
    out = tmp_path / "two"
    done = run_simlock("run", SMALL, "-o", out, "--workers", "2", *OPTIONS)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert (manifest["executor"], manifest["workers"]) == ("processes", 2)
    assert json.loads((first_run / "manifest.json").read_text())["executor"] == "sequential"
    assert_same_frames(first_run, out)


def test_another_seed_gives_other_numbers(first_run: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    assert (
        invoke("run", SMALL, "-o", other, "--workers", "1", "--seed", "8", *OPTIONS).exit_code == 0
    )
    a = frames(first_run)["replicates"]["value"]
    b = frames(other)["replicates"]["value"]
    assert not a.equals(b)


def test_a_replication_does_not_depend_on_how_many_run() -> None:
    scenario = simlock.load_scenario(SMALL)
    two = simlock.run(scenario, replications=2, scale=0.1, detail_replications=0)
    three = simlock.run(scenario, replications=3, scale=0.1, detail_replications=0)
    shared = three.replicates[three.replicates["replication"] < 2].reset_index(drop=True)
    pd.testing.assert_frame_equal(two.replicates, shared, check_exact=True)


def test_the_manifest_records_what_made_the_run(first_run: Path) -> None:
    manifest = json.loads((first_run / "manifest.json").read_text())
    scenario = simlock.load_scenario(first_run / "scenario.yaml")
    assert manifest["simlock_version"] == simlock.__version__
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["scenario"] == "small"
    assert manifest["scenario_hash"] == scenario_hash(scenario)
    assert manifest["seed"] == scenario.seed == 7
    assert manifest["replications"] == scenario.replications == 2
    assert manifest["replication_seeds"] == [[7, 0], [7, 1]]
    assert manifest["variants"] == ["baseline", "no-lift", "warn", "exempt-allowed-sim"]
    assert manifest["scale"] == 0.1
    assert manifest["detail_replications"] == 2
    assert manifest["devices_simulated"] > 0
    assert {"python", "numpy", "pandas", "pyarrow"} <= set(manifest["environment"])
    assert manifest["wall_seconds"]["total"] > 0
    assert manifest["rerun"] == [
        "simlock",
        "run",
        "scenario.yaml",
        "--scale",
        "0.1",
        "--detail",
        "2",
    ]


def test_the_manifest_rerun_command_reproduces_the_run_from_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = tmp_path / "original"
    made = invoke(
        "run",
        SMALL,
        "-o",
        original,
        "--seed",
        "21",
        "--replications",
        "3",
        "--variant",
        "warn",
        "--scale",
        "0.07",
        "--detail",
        "1",
        "--workers",
        "1",
        "-q",
        "--no-report",
    )
    assert made.exit_code == 0, made.output
    rerun = json.loads((original / "manifest.json").read_text())["rerun"]
    assert rerun[:3] == ["simlock", "run", "scenario.yaml"]
    assert "--variant" in rerun
    monkeypatch.chdir(original)
    again = invoke(*rerun[1:], "-o", tmp_path / "again", "--workers", "1", "-q", "--no-report")
    assert again.exit_code == 0, again.output
    assert_same_frames(original, tmp_path / "again")

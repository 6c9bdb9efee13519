"""Sweeps: field paths reach any field, designs make the right points, every point is validated,
the tidy frame matches plain runs, an interrupted sweep resumes without rerunning anything, and
Sobol designs rank the levers that matter."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import simlock
from simlock.errors import OutputError, ScenarioError
from simlock.execution.executors import ProcessExecutor
from simlock.execution.sweep import (
    MANIFEST_FILE,
    PARTS_DIR,
    POINTS_FILE,
    SENSITIVITY_FIGURE,
    SENSITIVITY_FILE,
    SWEEP_FILE,
    SweepProgress,
    load_sweep,
    make_design,
    run_sweep,
)
from tests.cli_helpers import write_yaml

TINY: dict[str, Any] = {
    "name": "tiny",
    "start": "2021-08-01",
    "end": "2021-09-01",
    "seed": 3,
    "replications": 2,
    "regions": [
        {
            "id": "CU",
            "name": "Cuba",
            "activations": [
                {"from": "2021-08-01", "rate_per_day": 20},
                {"from": "2021-08-15", "rate_per_day": 30},
            ],
            "channels": {"grey_import": 0.8, "traveller": 0.2},
            "travellers_from": "US",
            "signals": {
                "local_sim_share": 0.9,
                "sim_otherwise": "US",
                "vpn_share": 0.1,
                "vpn_exit": "US",
            },
        },
        {
            "id": "UA-43",
            "name": "Crimea",
            "activations": [{"from": "2021-08-01", "rate_per_day": 5}],
            "signals": {"local_sim_share": 0.1, "sim_otherwise": "RU"},
        },
        {"id": "RU", "name": "Russia", "activations": [{"from": "2021-08-01", "rate_per_day": 10}]},
    ],
    "policy": {
        "banned": ["CU", "UA-43"],
        "detection": {"rule": "any"},
        "lock_delay": {"distribution": "fixed", "days": 2},
        "windows": [
            {"name": "trickle", "start": "2021-08-01", "end": "2021-08-20", "coverage": 0.1},
            {"name": "surge", "start": "2021-08-20", "end": "2021-08-28", "coverage": 0.5},
        ],
        "appeals": {
            "share": 0.3,
            "delay": {"distribution": "fixed", "days": 1},
            "agents": 2,
            "service_days": 0.5,
            "approval_share": 0.5,
        },
    },
    "variants": {"exempt": {"exemptions": {"allowed_sim": True}}},
}


def tiny(sweep: dict[str, Any], **changes: Any) -> simlock.Scenario:
    doc = copy.deepcopy(TINY)
    doc.update(changes)
    doc["sweep"] = sweep
    return simlock.load_scenario(doc)


def grid(*parameters: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"design": "grid", "parameters": list(parameters), **extra}


# -- field paths and designs -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "read"),
    [
        ("policy.windows[1].coverage", lambda s: s.policy.windows[1].coverage),
        ("policy.windows.surge.coverage", lambda s: s.policy.windows[1].coverage),
        (
            "regions.CU.activations[1].rate_per_day",
            lambda s: s.regions[0].activations[1].rate_per_day,
        ),
        (
            "regions[2].activations[0].rate_per_day",
            lambda s: s.regions[2].activations[0].rate_per_day,
        ),
        ("regions.UA-43.signals.vpn_share", lambda s: s.regions[1].signals.vpn_share),
        (
            "variants.exempt.exemptions.allowed_sim",
            lambda s: s.variants["exempt"]["exemptions"]["allowed_sim"],
        ),
    ],
)
def test_a_field_path_sets_exactly_that_field(path: str, read: Any) -> None:
    value = False if path.endswith("allowed_sim") else 0.25
    scenario = tiny(grid({"path": path, "values": [value]}))
    before = read(scenario)
    design = make_design(scenario)
    assert read(design.scenarios[0]) == value
    assert read(scenario) == before != value
    assert design.points[path].tolist() == [value]


def test_star_sets_every_item_of_a_list() -> None:
    design = make_design(
        tiny(grid({"path": "regions.CU.activations[*].rate_per_day", "values": [7.0]}))
    )
    assert [seg.rate_per_day for seg in design.scenarios[0].regions[0].activations] == [7.0, 7.0]


@pytest.mark.parametrize(
    ("path", "says", "allowed"),
    [
        ("policy.covrage", "no field 'covrage'", "coverage"),
        ("regions.XX.name", "no item with id or name 'XX'", "UA-43"),
        ("policy.windows[5].coverage", "index 5 is out of range", "surge"),
        ("policy.warning.grace_days", "not set (null)", None),
        ("policy.coverage.low", "is a value", None),
        ("policy..coverage", "empty field name", None),
    ],
)
def test_a_bad_path_names_what_is_allowed(path: str, says: str, allowed: str | None) -> None:
    with pytest.raises(ScenarioError) as caught:
        make_design(tiny(grid({"path": path, "values": [1]})))
    [problem] = caught.value.problems
    assert problem.path == "sweep.parameters[0].path"
    assert says in problem.message
    if allowed:
        assert allowed in (problem.allowed or "")


def test_a_bad_path_in_a_file_points_at_its_line(tmp_path: Path) -> None:
    doc = copy.deepcopy(TINY)
    doc["sweep"] = grid({"path": "policy.coverage", "values": [1]}, samples=4)
    doc["sweep"]["parameters"].append({"path": "policy.lock_delay.dayz", "values": [1]})
    file = write_yaml(tmp_path / "bad.yaml", doc)
    with pytest.raises(ScenarioError) as caught:
        run_sweep(file, tmp_path / "out", workers=1)
    [problem] = caught.value.problems
    assert problem.file == str(file)
    line = file.read_text().splitlines()[problem.line - 1]
    assert "policy.lock_delay.dayz" in line
    assert problem.allowed is not None and "days" in problem.allowed
    assert not (tmp_path / "out").exists()


def test_every_point_is_validated_before_anything_runs(tmp_path: Path) -> None:
    scenario = tiny(grid({"path": "policy.windows.surge.coverage", "values": [0.5, 1.5]}))
    with pytest.raises(ScenarioError, match=r"sweep point 1 \(policy.windows.surge.coverage=1.5\)"):
        run_sweep(scenario, tmp_path / "out", workers=1)
    assert not (tmp_path / "out").exists()


def test_a_scenario_without_a_sweep_is_refused(tmp_path: Path) -> None:
    scenario = simlock.load_scenario(TINY)
    with pytest.raises(ScenarioError, match="declares no sweep"):
        run_sweep(scenario, tmp_path / "out", workers=1)


def test_a_grid_is_the_full_product_and_ranges_are_evenly_spaced() -> None:
    design = make_design(
        tiny(
            grid(
                {"path": "policy.detection.rule", "values": ["any", "majority"]},
                {"path": "regions.CU.signals.vpn_share", "low": 0.0, "high": 0.4},
                samples=3,
            )
        )
    )
    assert len(design.points) == 6
    pairs = set(design.points.itertuples(index=False, name=None))
    assert pairs == {(r, v) for r in ("any", "majority") for v in (0.0, 0.2, 0.4)}


def test_a_latin_hypercube_puts_one_point_in_each_stratum_and_rounds_integers() -> None:
    design = make_design(
        tiny(
            {
                "design": "lhs",
                "samples": 5,
                "parameters": [
                    {"path": "policy.windows.surge.coverage", "low": 0.0, "high": 1.0},
                    {"path": "policy.appeals.agents", "low": 1, "high": 9},
                ],
            }
        )
    )
    coverage = design.points["policy.windows.surge.coverage"].to_numpy()
    assert sorted(np.floor(coverage * 5).astype(int)) == [0, 1, 2, 3, 4]
    agents = [s.policy.appeals.agents for s in design.scenarios]
    assert all(isinstance(a, int) and 1 <= a <= 9 for a in agents)
    assert design.points["policy.appeals.agents"].tolist() == [float(a) for a in agents]


def test_a_sobol_design_has_base_samples_times_parameters_plus_two_points() -> None:
    sweep = {
        "design": "sobol",
        "samples": 4,
        "parameters": [
            {"path": "policy.windows.surge.coverage", "low": 0.0, "high": 1.0},
            {"path": "policy.detection.rule", "values": ["any", "all"]},
        ],
    }
    design = make_design(tiny(sweep))
    assert len(design.points) == 4 * (2 + 2)
    assert set(design.points["policy.detection.rule"]) == {"any", "all"}
    with pytest.raises(ScenarioError, match="power of two"):
        make_design(tiny({**sweep, "samples": 6}))


# -- running, streaming and resuming -----------------------------------------------------------


COVERAGE_GRID = grid({"path": "policy.windows.surge.coverage", "values": [0.0, 1.0]})


def test_the_frame_has_one_row_per_point_variant_and_replication_matching_plain_runs(
    tmp_path: Path,
) -> None:
    scenario = tiny(COVERAGE_GRID)
    frame = run_sweep(scenario, tmp_path / "out", workers=1)
    assert len(frame) == 2 * 2 * 2
    assert list(frame.columns[:4]) == [
        "point",
        "variant",
        "replication",
        "policy.windows.surge.coverage",
    ]
    assert {"users_affected", "collateral_locks", "lock_days"} <= set(frame.columns)
    assert frame[["point", "variant", "replication"]].values.tolist() == [
        [p, v, r] for p in (0, 1) for v in ("baseline", "exempt") for r in (0, 1)
    ]
    pd.testing.assert_frame_equal(load_sweep(tmp_path / "out"), frame)
    points = pd.read_csv(tmp_path / "out" / POINTS_FILE)
    assert points.to_dict(orient="list") == {
        "point": [0, 1],
        "policy.windows.surge.coverage": [0.0, 1.0],
    }
    design = make_design(scenario)
    plain = simlock.run(design.scenarios[1], detail_replications=0, workers=1).replicates
    plain = plain[plain["group"] == "all"].pivot(
        index=["variant", "replication"], columns="metric", values="value"
    )
    swept = frame[frame["point"] == 1].set_index(["variant", "replication"])
    for metric in ("users_affected", "collateral_locks", "lock_days", "peak_locked"):
        assert swept[metric].to_dict() == plain[metric].to_dict()
    surge = frame.groupby("policy.windows.surge.coverage")["users_affected"].mean()
    assert surge[1.0] > surge[0.0]


def test_an_interrupted_sweep_resumes_without_rerunning_finished_tasks(tmp_path: Path) -> None:
    scenario = tiny(COVERAGE_GRID)
    reports: list[SweepProgress] = []

    def stop_after_three(report: SweepProgress) -> None:
        reports.append(report)
        if report.tasks_done == 3:
            raise KeyboardInterrupt

    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_sweep(scenario, out, workers=1, progress=stop_after_three)
    parts = sorted((out / PARTS_DIR).iterdir())
    assert len(parts) == 3
    written = {p.name: p.stat().st_mtime_ns for p in parts}
    assert not (out / SWEEP_FILE).exists()

    with pytest.raises(OutputError, match="--resume"):
        run_sweep(scenario, out, workers=1)
    resumed: list[SweepProgress] = []
    frame = run_sweep(scenario, out, workers=1, resume=True, progress=resumed.append)
    assert resumed[0] == SweepProgress(3, 4, 1, 2, 3)
    assert resumed[-1] == SweepProgress(4, 4, 2, 2, 3)
    assert {p.name: p.stat().st_mtime_ns for p in parts} == written
    fresh = run_sweep(scenario, tmp_path / "fresh", workers=1)
    pd.testing.assert_frame_equal(frame, fresh, check_exact=True)


def test_resuming_with_more_replications_keeps_the_finished_ones(tmp_path: Path) -> None:
    scenario = tiny(COVERAGE_GRID)
    out = tmp_path / "out"
    run_sweep(scenario, out, workers=1, replications=1)
    reports: list[SweepProgress] = []
    frame = run_sweep(
        scenario, out, workers=1, replications=2, resume=True, progress=reports.append
    )
    assert reports[0].resumed == 2
    assert len(frame) == 2 * 2 * 2


def test_resuming_a_folder_of_another_sweep_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_sweep(tiny(COVERAGE_GRID), out, workers=1, replications=1)
    other = tiny(grid({"path": "policy.windows.surge.coverage", "values": [0.2, 0.3]}))
    with pytest.raises(OutputError, match="different scenario or design"):
        run_sweep(other, out, workers=1, resume=True)
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="holds no sweep"):
        run_sweep(other, tmp_path / "stuff", workers=1, resume=True)


@pytest.mark.process
def test_processes_and_dask_give_the_same_frame_bit_for_bit(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    scenario = tiny(COVERAGE_GRID, replications=1)
    here = run_sweep(scenario, tmp_path / "here", workers=1)
    with ProcessExecutor(2) as executor:
        local = run_sweep(scenario, tmp_path / "local", executor=executor)
    with distributed.LocalCluster(
        n_workers=1, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None
    ) as cluster:
        on_dask = run_sweep(scenario, tmp_path / "dask", scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(here, local, check_exact=True)
    pd.testing.assert_frame_equal(here, on_dask, check_exact=True)
    assert '"executor": "dask"' in (tmp_path / "dask" / MANIFEST_FILE).read_text()


# -- sensitivity -------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_sobol_sweep_ranks_the_lever_that_drives_users_affected(tmp_path: Path) -> None:
    sweep = {
        "design": "sobol",
        "samples": 8,
        "replications": 1,
        "parameters": [
            {"path": "policy.windows.surge.coverage", "low": 0.0, "high": 1.0},
            {"path": "policy.appeals.service_days", "low": 0.1, "high": 2.0},
        ],
    }
    out = tmp_path / "out"
    run_sweep(tiny(sweep, variants={}), out, workers=1)
    indices = pd.read_csv(out / SENSITIVITY_FILE)
    assert set(indices.columns) == {
        "variant",
        "metric",
        "parameter",
        "method",
        "order",
        "index",
        "ci_low",
        "ci_high",
    }
    assert set(indices["method"]) == {"Sobol"}
    users = indices[(indices["metric"] == "users_affected") & (indices["order"] == "total")]
    by_parameter = users.set_index("parameter")["index"]
    assert by_parameter["policy.windows.surge.coverage"] > 0.5
    assert by_parameter["policy.appeals.service_days"] == pytest.approx(0.0, abs=0.05)
    assert (indices["ci_low"] <= indices["index"]).all()
    assert (indices["index"] <= indices["ci_high"]).all()
    assert (out / SENSITIVITY_FIGURE).stat().st_size > 10_000


# -- command line ------------------------------------------------------------------------------


def _write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    return write_yaml(tmp_path / "scenario.yaml", doc)


def test_the_sweep_command_writes_the_frame_and_refuses_to_overwrite(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from simlock.cli.commands import app

    doc = {**copy.deepcopy(TINY), "sweep": COVERAGE_GRID, "replications": 1}
    file = _write(tmp_path, doc)
    out = tmp_path / "out"
    runner = CliRunner()
    done = runner.invoke(app, ["sweep", str(file), "-o", str(out), "--workers", "1", "--quiet"])
    assert done.exit_code == 0, done.output
    assert "2 points x 2 variant(s) x 1 replication(s)" in done.output
    assert len(pd.read_parquet(out / SWEEP_FILE)) == 4
    again = runner.invoke(app, ["sweep", str(file), "-o", str(out), "--workers", "1"])
    assert again.exit_code == 2
    assert "--resume" in again.output
    resumed = runner.invoke(app, ["sweep", str(file), "-o", str(out), "--resume", "-q"])
    assert resumed.exit_code == 0, resumed.output


@pytest.mark.parametrize(
    ("sweep", "says"),
    [
        (None, "declares no sweep"),
        (grid({"path": "policy.covrage", "values": [1]}), "no field 'covrage'"),
        (grid({"path": "policy.coverage", "values": [2.0]}), "sweep point 0"),
    ],
)
def test_bad_sweeps_are_a_message_and_exit_code_2(
    tmp_path: Path, sweep: dict[str, Any] | None, says: str
) -> None:
    from typer.testing import CliRunner

    from simlock.cli.commands import app

    file = _write(tmp_path, {**copy.deepcopy(TINY), "sweep": sweep})
    result = CliRunner().invoke(app, ["sweep", str(file), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert says in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists()


def test_the_sweep_command_names_the_file_and_line_of_a_bad_path(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from simlock.cli.commands import app

    sweep = grid(
        {"path": "policy.coverage", "values": [1]}, {"path": "policy.covrage", "values": [1]}
    )
    file = _write(tmp_path, {**copy.deepcopy(TINY), "sweep": sweep})
    line = next(n for n, text in enumerate(file.read_text().splitlines(), 1) if "covrage" in text)
    result = CliRunner().invoke(app, ["sweep", str(file), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert f"{file}:{line}: sweep.parameters[1].path: 'policy.covrage': no field" in (
        " ".join(result.output.split())
    )


def test_a_path_swept_twice_is_refused() -> None:
    parameter = {"path": "policy.windows.surge.coverage", "values": [0.5]}
    with pytest.raises(ScenarioError, match="swept twice"):
        make_design(tiny(grid(parameter, dict(parameter))))

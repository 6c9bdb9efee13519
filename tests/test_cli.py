"""The `simlock` command end to end: version and help, every `run` option doing what it says,
bad option values refused with a message and exit code 2, and run folders that appear whole in
place of nothing, never over someone's files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

import simlock
from simlock.analysis.results import Results
from simlock.execution import folder as folder_module
from tests.cli_helpers import FAST, SMALL, invoke, leftovers, run_simlock, small_doc, write_yaml

COMMANDS = ("validate", "schema", "run", "report", "sweep")


def manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


# -- version and help ----------------------------------------------------------------------------


def test_version_prints_the_package_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"simlock {simlock.__version__}\n"


def test_help_lists_every_command() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.stdout


def test_no_arguments_shows_the_help_instead_of_failing_silently() -> None:
    result = invoke()
    assert "Usage: simlock" in result.output
    assert "Commands" in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_helpful_help(command: str) -> None:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    assert f"Usage: simlock {command}" in result.stdout
    assert len(result.stdout.splitlines()) >= 4


def test_run_help_documents_every_option() -> None:
    text = invoke("run", "--help").stdout
    for option in (
        "--output",
        "--replications",
        "--seed",
        "--variant",
        "--scale",
        "--workers",
        "--detail",
        "--check",
        "--force",
        "--quiet",
        "--no-report",
    ):
        assert option in text


@pytest.mark.process
def test_the_installed_command_runs_as_a_real_process() -> None:
    result = run_simlock("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"simlock {simlock.__version__}"


# -- run and its options ------------------------------------------------------------------------


def test_a_run_writes_its_folder_with_every_table_and_the_manifest(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = invoke("run", SMALL, "-o", out, *FAST)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(f"wrote {out}")
    names = {p.name for p in out.iterdir()}
    for frame in ("summary", "replicates", "daily", "devices", "events"):
        assert f"{frame}.parquet" in names
    assert {"summary.csv", "daily.csv", "replicates.csv", "scenario.yaml"} <= names
    again = Results.load(out)
    assert again.manifest["scale"] == 0.1
    assert again.manifest["replications"] == 2
    assert leftovers(tmp_path) == []


def test_run_options_reach_the_simulation(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = invoke(
        "run",
        SMALL,
        "--output",
        out,
        "--replications",
        "3",
        "--seed",
        "11",
        "--variant",
        "warn",
        "--variant",
        "no-lift",
        "--scale",
        "0.05",
        "--workers",
        "1",
        "--detail",
        "2",
        "--quiet",
        "--no-report",
    )
    assert result.exit_code == 0, result.output
    written = manifest(out)
    assert written["replications"] == 3
    assert written["seed"] == 11
    assert written["replication_seeds"] == [[11, 0], [11, 1], [11, 2]]
    assert written["variants"] == ["baseline", "warn", "no-lift"]
    assert written["scale"] == 0.05
    assert written["workers"] == 1
    assert written["detail_replications"] == 2
    devices = pd.read_parquet(out / "devices.parquet")
    assert sorted(devices["replication"].unique()) == [0, 1]
    summary = pd.read_parquet(out / "summary.parquet")
    assert set(summary["variant"]) == {"baseline", "warn", "no-lift"}
    assert (summary.loc[summary["metric"] == "users_affected", "n"] == 3).all()


def test_detail_zero_keeps_no_device_tables(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert invoke("run", SMALL, "-o", out, *FAST, "--detail", "0").exit_code == 0
    assert pd.read_parquet(out / "devices.parquet").empty
    assert pd.read_parquet(out / "events.parquet").empty


def test_scale_multiplies_every_activation_rate(tmp_path: Path) -> None:
    counts = []
    for scale in ("0.05", "0.2"):
        out = tmp_path / scale
        assert invoke("run", SMALL, "-o", out, *FAST, "--scale", scale).exit_code == 0
        counts.append(manifest(out)["devices_simulated"])
    expected = 2 * 122 * 100  # replications x days x devices/day in small.yaml
    assert counts[0] == pytest.approx(0.05 * expected, rel=0.15)
    assert counts[1] == pytest.approx(0.2 * expected, rel=0.1)


def test_quiet_hides_the_summary_table_and_loud_shows_it(tmp_path: Path) -> None:
    loud = invoke(
        "run", SMALL, "-o", tmp_path / "loud", "--scale", "0.05", "--workers", "1", "--no-report"
    )
    quiet = invoke("run", SMALL, "-o", tmp_path / "quiet", *FAST)
    assert loud.exit_code == quiet.exit_code == 0
    assert "small: 2 replication(s), mean [95% interval]" in loud.stdout
    assert "baseline" in loud.stdout
    assert "replication(s)" not in quiet.stdout
    assert quiet.stdout.strip() == f"wrote {tmp_path / 'quiet'}"


def test_no_report_writes_tables_only(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert invoke("run", SMALL, "-o", out, *FAST).exit_code == 0
    assert not (out / "report.html").exists()
    assert not list(out.glob("*.png"))


def test_the_default_folder_is_runs_slash_the_scenario_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("run", SMALL, *FAST)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "runs" / "small" / "manifest.json").is_file()


def test_an_unknown_variant_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    result = invoke("run", SMALL, "-o", tmp_path / "run", *FAST, "--variant", "nope")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: --variant: no variant named nope "
        "(allowed: baseline, no-lift, warn, exempt-allowed-sim)"
    )
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--scale", "0"),
        ("--scale", "-1"),
        ("--scale", "abc"),
        ("--scale", "1e9"),
        ("--replications", "0"),
        ("--replications", "many"),
        ("--workers", "0"),
        ("--seed", "-1"),
        ("--seed", str(2**64)),
        ("--detail", "-1"),
    ],
)
def test_bad_option_values_are_refused_with_exit_code_2(
    tmp_path: Path, option: str, value: str
) -> None:
    result = invoke("run", SMALL, "-o", tmp_path / "run", option, value)
    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


def test_an_unknown_option_is_refused_with_exit_code_2(tmp_path: Path) -> None:
    result = invoke("run", SMALL, "--replicatons", "3")
    assert result.exit_code == 2
    assert "No such option: --replicatons" in result.stderr


def test_a_bad_scenario_stops_the_run_before_anything_is_written(tmp_path: Path) -> None:
    doc = small_doc()
    doc["policy"]["coverage"] = 3
    file = write_yaml(tmp_path / "bad.yaml", doc)
    result = invoke("run", file, "-o", tmp_path / "run", *FAST)
    assert result.exit_code == 2
    assert f"error: {file}:" in result.stderr
    assert "policy.coverage: Input should be less than or equal to 1" in result.stderr
    assert not (tmp_path / "run").exists()


def test_a_bad_dask_scheduler_address_is_a_message(tmp_path: Path) -> None:
    result = invoke("run", SMALL, "-o", tmp_path / "run", *FAST, "--scheduler", "localhost")
    assert result.exit_code == 2
    assert "is not of the form tcp://HOST:PORT" in result.stderr


# -- the output folder --------------------------------------------------------------------------


def test_the_run_is_written_aside_and_moved_into_place_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    seen: list[Path] = []
    write = folder_module.write_tables

    def watch(results: Results, folder: Path) -> None:
        seen.append(folder)
        assert not out.exists(), "the destination must not exist while the run is written"
        assert folder.parent == out.parent and folder.name.endswith(".partial")
        write(results, folder)

    monkeypatch.setattr(folder_module, "write_tables", watch)
    assert invoke("run", SMALL, "-o", out, *FAST).exit_code == 0
    assert len(seen) == 1 and not seen[0].exists()
    assert (out / "manifest.json").is_file()
    assert leftovers(tmp_path) == []


def test_a_non_empty_folder_is_refused_without_force(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = invoke("run", SMALL, "-o", out, *FAST)
    assert result.exit_code == 2
    assert f"{out}: folder exists and is not empty; use --force" in result.stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_an_empty_folder_is_used_without_force(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    assert invoke("run", SMALL, "-o", out, *FAST).exit_code == 0
    assert (out / "manifest.json").is_file()


def test_force_replaces_an_earlier_run_whole(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert invoke("run", SMALL, "-o", out, *FAST, "--seed", "1").exit_code == 0
    (out / "stale.txt").write_text("from before")
    refused = invoke("run", SMALL, "-o", out, *FAST, "--seed", "2")
    assert refused.exit_code == 2
    assert manifest(out)["seed"] == 1
    forced = invoke("run", SMALL, "-o", out, *FAST, "--seed", "2", "--force")
    assert forced.exit_code == 0, forced.output
    assert manifest(out)["seed"] == 2
    assert not (out / "stale.txt").exists()
    assert leftovers(tmp_path) == []


def test_force_never_deletes_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    out = tmp_path / "documents"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    result = invoke("run", SMALL, "-o", out, *FAST, "--force")
    assert result.exit_code == 2
    assert "holds files that are not a simlock run (thesis.tex)" in result.stderr
    assert (out / "thesis.tex").read_text() == "years of work"


def test_a_file_in_the_way_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.write_text("a file")
    for extra in ((), ("--force",)):
        result = invoke("run", SMALL, "-o", out, *FAST, *extra)
        assert result.exit_code == 2
        assert f"{out}: exists and is not a folder" in result.stderr
    assert out.read_text() == "a file"


def test_a_folder_that_cannot_be_created_is_a_message(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = invoke("run", SMALL, "-o", blocker / "run", *FAST)
    assert result.exit_code == 2
    assert "cannot write here" in result.stderr
    assert leftovers(tmp_path) == []


def test_a_failure_while_writing_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    write = folder_module.write_tables

    def write_then_stop(results: Results, folder: Path) -> None:
        write(results, folder)
        raise KeyboardInterrupt

    monkeypatch.setattr(folder_module, "write_tables", write_then_stop)
    result = invoke("run", SMALL, "-o", out, *FAST)
    assert result.exit_code == 130
    assert "interrupted; nothing was written" in result.stderr
    assert not out.exists()
    assert leftovers(tmp_path) == []


def test_a_failed_rerun_with_force_keeps_the_earlier_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    assert invoke("run", SMALL, "-o", out, *FAST, "--seed", "1").exit_code == 0

    def fail(results: Results, folder: Path) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(folder_module, "write_tables", fail)
    assert invoke("run", SMALL, "-o", out, *FAST, "--seed", "2", "--force").exit_code == 130
    assert manifest(out)["seed"] == 1
    assert leftovers(tmp_path) == []


# -- report ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["missing", "empty", "file"])
def test_report_on_something_that_is_not_a_run_exits_2(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "target"
    if kind == "empty":
        target.mkdir()
    elif kind == "file":
        target.write_text("x")
    result = invoke("report", target)
    assert result.exit_code == 2
    says = "not a simlock run (manifest.json is missing)" if kind == "empty" else "no such run"
    assert says in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_report_rebuilds_the_report_of_a_saved_run(tmp_path: Path) -> None:
    pytest.importorskip("simlock.report.run_report")
    out = tmp_path / "run"
    assert invoke("run", SMALL, "-o", out, *FAST).exit_code == 0
    assert not (out / "report.html").exists()
    result = invoke("report", out)
    assert result.exit_code == 0, result.output
    assert (out / "report.html").stat().st_size > 1000


def test_an_unexpected_error_is_one_paragraph_and_exit_code_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from simlock.cli import commands as cli

    def broken(path: Path) -> None:
        raise RuntimeError("something simlock did not foresee")

    monkeypatch.setattr(cli, "load_with_warnings", broken)
    monkeypatch.setattr(sys, "argv", ["simlock", "validate", str(SMALL)])
    monkeypatch.delenv("SIMLOCK_DEBUG", raising=False)
    with pytest.raises(SystemExit) as caught:
        cli.main()
    assert caught.value.code == 3
    stderr = " ".join(capsys.readouterr().err.split())
    assert "internal error: RuntimeError: something simlock did not foresee" in stderr
    assert "rerun with SIMLOCK_DEBUG=1 for the traceback" in stderr
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_the_report_written_by_run_shows_how_to_rerun_it(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert invoke("run", SMALL, "-o", out, "--scale", "0.05", "--workers", "1", "-q").exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    rerun = " ".join(manifest["rerun"])
    assert rerun.startswith("simlock run scenario.yaml")
    assert rerun in (out / "report.md").read_text()
    assert "numpy" in manifest["environment"]

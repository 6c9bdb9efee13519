"""One writer of the run folder: `simlock run` and `Results.save` write the same folder (same
files, same tables, same manifest but for timings), whole or not at all, and `Results.load`
reads it back equal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import simlock
from simlock.analysis.results import CSV_FRAMES, FRAMES, Results
from simlock.errors import OutputError
from simlock.execution import folder as folder_module
from tests.cli_helpers import SMALL, invoke, leftovers, small_doc, write_yaml

OPTIONS = {"seed": 11, "replications": 2, "scale": 0.1, "detail": 1}
EXPECTATIONS = [
    {"name": "Some locks", "source": "test", "metric": "users_affected", "min": 1},
    {
        "name": "Median delay a few days",
        "source": "test",
        "metric": "days_to_lock_median",
        "min": 0,
        "max": 30,
    },
]


def _scenario_file(tmp_path: Path) -> Path:
    doc = small_doc()
    doc["expectations"] = EXPECTATIONS
    return write_yaml(tmp_path / "small.yaml", doc)


def _api_results(file: Path) -> Results:
    return simlock.run(
        simlock.load_scenario(file),
        seed=OPTIONS["seed"],
        replications=OPTIONS["replications"],
        scale=OPTIONS["scale"],
        detail_replications=OPTIONS["detail"],
        workers=1,
    )


def _cli(file: Path, out: Path, *extra: str) -> None:
    result = invoke(
        "run", file, "-o", out, "--seed", str(OPTIONS["seed"]),
        "--replications", str(OPTIONS["replications"]), "--scale", str(OPTIONS["scale"]),
        "--detail", str(OPTIONS["detail"]), "--workers", "1", "-q", *extra,
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


TIMINGS = {"wall_seconds"}


def _assert_same_folder(a: Path, b: Path) -> None:
    assert _files(a) == _files(b)
    for name in FRAMES:
        pd.testing.assert_frame_equal(
            pd.read_parquet(a / f"{name}.parquet"),
            pd.read_parquet(b / f"{name}.parquet"),
            check_exact=True,
        )
    texts = (*(f"{n}.csv" for n in CSV_FRAMES), "scenario.yaml", "expectations.csv")
    for name in (n for n in texts if (a / n).exists()):
        assert (a / name).read_text() == (b / name).read_text(), name
    ma, mb = (json.loads((f / "manifest.json").read_text()) for f in (a, b))
    assert set(ma) == set(mb)
    assert {k: v for k, v in ma.items() if k not in TIMINGS} == {
        k: v for k, v in mb.items() if k not in TIMINGS
    }
    assert set(ma["wall_seconds"]) == set(mb["wall_seconds"])


@pytest.mark.slow
def test_the_command_and_results_save_write_the_same_folder(tmp_path: Path) -> None:
    file = _scenario_file(tmp_path)
    _cli(file, tmp_path / "cli")
    saved = _api_results(file).save(tmp_path / "api")
    assert saved == tmp_path / "api"
    _assert_same_folder(tmp_path / "cli", tmp_path / "api")
    assert {"report.html", "report.md", "expectations.csv"} <= _files(tmp_path / "api")
    assert any(name.startswith("figures/") for name in _files(tmp_path / "api"))
    assert leftovers(tmp_path) == []


def test_without_the_report_the_folders_are_the_same_too(tmp_path: Path) -> None:
    file = _scenario_file(tmp_path)
    _cli(file, tmp_path / "cli", "--no-report")
    _api_results(file).save(tmp_path / "api", report=False)
    _assert_same_folder(tmp_path / "cli", tmp_path / "api")
    assert "report.html" not in _files(tmp_path / "api")


def test_a_saved_folder_loads_back_equal_and_saves_again_the_same(tmp_path: Path) -> None:
    file = _scenario_file(tmp_path)
    results = _api_results(file)
    first = results.save(tmp_path / "first", report=False)
    loaded = Results.load(first)
    assert loaded == results
    loaded.save(tmp_path / "second", report=False)
    _assert_same_folder(first, tmp_path / "second")


@pytest.fixture(scope="module")
def small() -> Results:
    return simlock.run(simlock.load_scenario(SMALL), replications=1, scale=0.05, workers=1)


def test_an_error_while_writing_leaves_nothing_behind(
    tmp_path: Path, small: Results, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_report(*args: object) -> None:
        raise RuntimeError("figure failed")

    monkeypatch.setattr("simlock.report.run_report.write_report", broken_report)
    with pytest.raises(RuntimeError, match="figure failed"):
        small.save(tmp_path / "run")
    assert not (tmp_path / "run").exists()
    assert leftovers(tmp_path) == []


def test_an_error_while_replacing_an_earlier_run_keeps_it_whole(
    tmp_path: Path, small: Results, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = small.save(tmp_path / "run", report=False)
    before = _files(out)

    def broken_tables(results: Results, staging: Path) -> None:
        (staging / "summary.parquet").write_text("half")
        raise KeyboardInterrupt

    monkeypatch.setattr(folder_module, "write_tables", broken_tables)
    with pytest.raises(KeyboardInterrupt):
        small.save(out, force=True, report=False)
    assert _files(out) == before
    assert Results.load(out) == small
    assert leftovers(tmp_path) == []


def test_save_refuses_a_folder_that_holds_other_files(tmp_path: Path, small: Results) -> None:
    out = tmp_path / "notes"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    with pytest.raises(OutputError, match="folder exists and is not empty"):
        small.save(out, report=False)
    with pytest.raises(OutputError, match="not a simlock run"):
        small.save(out, force=True, report=False)
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]


@pytest.mark.process
def test_a_fresh_interpreter_can_load_and_save_a_run(tmp_path: Path, small: Results) -> None:
    """`import simlock` is all a notebook does before `Results.load(...).save(...)`: the writer
    `Results.save` calls must be installed by it, however lazily `simlock` imports."""
    first = small.save(tmp_path / "first", report=False)
    code = (
        "import sys, simlock\nsimlock.Results.load(sys.argv[1]).save(sys.argv[2], report=False)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(first), str(tmp_path / "second")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    _assert_same_folder(first, tmp_path / "second")

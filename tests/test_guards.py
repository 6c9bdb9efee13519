"""Guards around a run: a run too big for the memory stops before allocating, with the estimate
and a --scale that fits; a run whose numbers contradict each other is reported as a simlock bug
with the scenario hash (exit code 3), never written as a result."""

from __future__ import annotations

import re
import resource
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simlock
from simlock.analysis.consistency import check_consistency
from simlock.analysis.results import Results, scenario_hash
from simlock.errors import ConsistencyError, TooBigError
from simlock.execution import executors
from simlock.execution import memory as guards
from simlock.execution.executors import SequentialExecutor
from simlock.model.population import generate
from tests.cli_helpers import FAST, SMALL, invoke, quiet_env, simlock_command, small_doc, write_yaml

ADDRESS_SPACE = 3 * 1024**3
"""A `ulimit -v` for the child process: a broken guard then fails with MemoryError instead of
taking the machine's memory."""


def huge_doc() -> dict:
    """small.yaml with rates a thousand times above what any machine can hold in a run."""
    doc = small_doc()
    for region in doc["regions"]:
        for segment in region["activations"]:
            segment["rate_per_day"] = 1e9
    return doc


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def simlock_in_limited_memory(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """`simlock ARGS --workers 1 -q` as a real process under the `ADDRESS_SPACE` limit."""
    return subprocess.run(
        [*simlock_command(), *(str(a) for a in args), "--workers", "1", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        env=quiet_env(),
        preexec_fn=_limit_address_space,
        check=False,
    )


# -- too big to run --------------------------------------------------------------------------------


@pytest.mark.process
def test_a_run_too_big_for_memory_stops_before_allocating_and_says_what_fits(
    tmp_path: Path,
) -> None:
    file = write_yaml(tmp_path / "huge.yaml", huge_doc())
    out = tmp_path / "run"
    done = simlock_in_limited_memory("run", file, "-o", out)
    assert done.returncode == 2, done.stderr
    message = done.stderr.replace("\n", " ")
    found = re.search(
        r"this run needs about ([\d,.]+) GB \(([\d,]+) devices per replication, 1 worker\(s\), "
        r"1 detail replication\(s\)\) but ([\d,.]+) (GB|MB) is available; try --scale ([\d.e+-]+)",
        message,
    )
    assert found, message
    needed = float(found[1].replace(",", ""))
    devices = int(found[2].replace(",", ""))
    assert devices == pytest.approx(3 * 1e9 * 122, rel=1e-6)
    assert needed > 1000 * ADDRESS_SPACE / 1e9
    unit = 1e9 if found[4] == "GB" else 1e6
    available = float(found[3].replace(",", "")) * unit
    assert available <= ADDRESS_SPACE
    scale = float(found[5])
    scenario = simlock.load_scenario(file)
    assert guards.estimate_memory(scenario, scale, 1, 1, 4) <= available * 1.05
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [file]
    assert "Traceback" not in done.stderr


@pytest.mark.process
def test_a_sweep_too_big_for_memory_stops_before_writing_anything(tmp_path: Path) -> None:
    doc = huge_doc()
    doc["sweep"] = {"parameters": [{"path": "policy.coverage", "values": [0.5, 1.0]}]}
    file = write_yaml(tmp_path / "huge-sweep.yaml", doc)
    out = tmp_path / "sweep"
    done = simlock_in_limited_memory("sweep", file, "-o", out)
    assert done.returncode == 2, done.stderr
    message = " ".join(done.stderr.split())
    assert "this sweep needs about" in message
    assert "try --scale " in message and "in the sweep: section" in message
    assert "--detail" not in message
    assert not out.exists()


def test_the_suggested_scale_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = simlock.load_scenario(SMALL)
    fits_at_half = guards.estimate_memory(scenario, 0.5, 1, 1, 4)
    monkeypatch.setattr(guards, "available_memory", lambda: fits_at_half)
    refused = invoke("run", SMALL, "-o", tmp_path / "full", "--workers", "1", "-q", "--no-report")
    assert refused.exit_code == 2
    scale = re.search(r"try --scale ([\d.e+-]+)", refused.stderr)
    assert scale, refused.stderr
    assert 0.45 <= float(scale[1]) <= 0.5
    assert not (tmp_path / "full").exists()
    ran = invoke("run", SMALL, "-o", tmp_path / "fits", *FAST[2:], "--scale", scale[1])
    assert ran.exit_code == 0, ran.output


def test_the_python_api_refuses_too_big_a_run_before_allocating(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A notebook's `simlock.run` is checked too: refused with the keyword that fits, instead of
    the kernel being killed by the operating system. "Before allocating" is measured: the refusal
    allocates a small fraction of what drawing the run's devices alone takes."""
    scenario = simlock.load_scenario(SMALL)
    monkeypatch.setattr(
        guards, "available_memory", lambda: guards.estimate_memory(scenario, 5.0, 1, 1, 4)
    )

    def refused() -> int:
        """The peak memory Python allocated while the run was refused (bytes)."""
        tracemalloc.start()
        try:
            with pytest.raises(
                TooBigError, match=r"try --scale [45](\.\d+)? \(from Python: scale=[45](\.\d+)?\)"
            ):
                simlock.run(scenario, scale=10.0, workers=1)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    refused()  # the first call also imports what a run needs
    tracemalloc.start()
    try:
        generate(scenario, 0, 10.0)
        devices = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused() < devices / 20


def test_the_estimate_grows_with_scale_workers_detail_and_variants() -> None:
    scenario = simlock.load_scenario(SMALL)
    base = guards.estimate_memory(scenario, 10, 1, 0, 4)
    assert guards.estimate_memory(scenario, 20, 1, 0, 4) > base
    assert guards.estimate_memory(scenario, 10, 2, 0, 4) > base
    assert guards.estimate_memory(scenario, 10, 1, 1, 4) > base
    assert guards.estimate_memory(scenario, 10, 1, 1, 8) > guards.estimate_memory(
        scenario, 10, 1, 1, 4
    )
    # more workers than replications cannot run more tasks at once
    assert guards.estimate_memory(scenario, 10, 64, 0, 4) == guards.estimate_memory(
        scenario, 10, scenario.replications, 0, 4
    )


def test_the_fitting_scale_is_the_largest_that_fits() -> None:
    scenario = simlock.load_scenario(SMALL)
    available = guards.estimate_memory(scenario, 37.0, 2, 1, 4)
    fitting = guards.fitting_scale(scenario, 1000.0, 2, 1, 4, available)
    assert fitting is not None
    assert guards.estimate_memory(scenario, fitting, 2, 1, 4) <= available
    assert 36.5 <= fitting <= 37.0
    assert guards.fitting_scale(scenario, 1000.0, 2, 1, 4, 1_000) is None


def test_when_no_scale_fits_the_message_says_so() -> None:
    scenario = simlock.load_scenario(SMALL)
    with pytest.raises(TooBigError, match="nothing fits with these settings: try --workers 1"):
        guards.check_fits(scenario, 1.0, 1, 1, 4, available=1_000)
    guards.check_fits(scenario, 1.0, 1, 1, 4, available=10**12)


@pytest.mark.process
def test_available_memory_counts_an_address_space_limit() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from simlock.execution.memory import available_memory; print(available_memory())",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_address_space,
        check=True,
    )
    assert 0 < int(done.stdout) < ADDRESS_SPACE


# -- internal consistency ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def results() -> Results:
    return simlock.run(simlock.load_scenario(SMALL), scale=0.2, detail_replications=1)


def doctored(results: Results, **frames: pd.DataFrame) -> Results:
    return Results(
        scenario=results.scenario,
        summary=results.summary,
        replicates=frames.get("replicates", results.replicates),
        daily=frames.get("daily", results.daily.copy()),
        devices=frames.get("devices", results.devices.copy()),
        events=results.events,
        manifest=results.manifest,
    )


def test_a_real_run_is_consistent(results: Results) -> None:
    check_consistency(results)
    assert results.devices["locked"].notna().any()


def _first_row_with(frame: pd.DataFrame, column: str) -> int:
    return int(np.flatnonzero(frame[column].to_numpy() > 0)[0])


@pytest.mark.parametrize(
    ("break_it", "says"),
    [
        ("negative_locked", "a day has a negative number of locked devices"),
        ("extra_lock", "daily new locks do not add up to users affected"),
        ("lost_activation", "daily activations do not add up to the activations metric"),
        ("unlock_without_lock", "more unlocks than locks"),
        ("extra_complaint", "daily complaints do not add up to the complaints metric"),
        ("complaints_beyond_locks", "more complaints than locked users"),
        ("locked_before_activation", "device(s) locked before activation"),
        ("unlocked_before_lock", "device(s) unlocked without or before a lock"),
        ("locked_undetected", "locked under baseline without being detected"),
    ],
)
def test_a_contradiction_is_a_consistency_error_with_the_scenario_hash(
    results: Results, break_it: str, says: str
) -> None:
    daily = results.daily.copy()
    devices = results.devices.copy()
    if break_it == "negative_locked":
        daily.loc[daily.index[0], "locked"] = -1
    elif break_it == "extra_lock":
        daily.loc[daily.index[_first_row_with(daily, "newly_locked")], "newly_locked"] += 1
    elif break_it == "lost_activation":
        daily.loc[daily.index[_first_row_with(daily, "activations")], "activations"] -= 1
    elif break_it == "unlock_without_lock":
        daily.loc[daily.index[0], "unlocked"] = 10**6
    elif break_it == "extra_complaint":
        daily.loc[daily.index[_first_row_with(daily, "newly_locked")], "complaints"] += 1
    elif break_it == "complaints_beyond_locks":
        daily.loc[daily.index[0], "complaints"] = 10**6
    elif break_it == "locked_before_activation":
        row = devices.index[devices["locked"].notna()][0]
        devices.loc[row, "locked"] = devices.loc[row, "activated"] - 1
    elif break_it == "unlocked_before_lock":
        row = devices.index[devices["locked"].notna()][0]
        devices.loc[row, "unlocked"] = devices.loc[row, "locked"] - 0.5
    else:
        row = devices.index[devices["locked"].notna() & (devices["variant"] == "baseline")][0]
        devices["detected"] = devices["detected"].astype(str)
        devices.loc[row, "detected"] = "RU"
    with pytest.raises(ConsistencyError) as caught:
        check_consistency(doctored(results, daily=daily, devices=devices))
    message = str(caught.value)
    assert says in message
    assert f"scenario hash {scenario_hash(results.scenario)}" in message
    assert f"seed {results.scenario.seed}" in message
    assert "a simlock bug" in message


class _ExecutorWithABug(SequentialExecutor):
    """Runs tasks here, then counts one lock too many on the first day that has locks: what a
    bug anywhere in a replication's simulation looks like to the run that collects it."""

    def map(self, fn, tasks):  # type: ignore[no-untyped-def]
        for made in super().map(fn, tasks):
            row = _first_row_with(made.daily, "newly_locked")
            made.daily.loc[made.daily.index[row], "newly_locked"] += 1
            yield made


def test_the_python_api_refuses_an_inconsistent_run_naming_the_scenario() -> None:
    scenario = simlock.load_scenario(SMALL)
    with pytest.raises(ConsistencyError, match="internal consistency check failed") as caught:
        simlock.run(scenario, scale=0.1, detail_replications=0, executor=_ExecutorWithABug())
    assert f"scenario hash {scenario_hash(scenario)}" in str(caught.value)


def test_the_command_reports_an_inconsistent_run_as_a_bug_with_exit_code_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command builds its executor with `make_executor` (its --workers and --scheduler);
    given one with a bug, it exits 3 and leaves no folder."""
    monkeypatch.setattr(executors, "make_executor", lambda *args, **kwargs: _ExecutorWithABug())
    out = tmp_path / "run"
    result = invoke("run", SMALL, "-o", out, *FAST)
    assert result.exit_code == 3
    scenario = simlock.load_scenario(SMALL)
    assert f"scenario hash {scenario_hash(scenario)}" in result.stderr
    assert "internal consistency check failed" in result.stderr
    assert not out.exists()


def test_the_manifest_hash_names_the_scenario_exactly(tmp_path: Path) -> None:
    doc = small_doc()
    first = scenario_hash(simlock.load_scenario(doc))
    doc["policy"]["coverage"] = 0.99
    assert scenario_hash(simlock.load_scenario(doc)) != first
    assert scenario_hash(simlock.load_scenario(write_yaml(tmp_path / "s.yaml", small_doc()))) == (
        first
    )

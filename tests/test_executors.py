"""Executors: every executor gives the same results, bit for bit; local processes never hang and
fall back to this process with a warning when they cannot start; Dask runs on a real cluster."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import simlock
from simlock.execution.executors import (
    SCHEDULER_ENV,
    DaskExecutor,
    ExecutorError,
    ProcessExecutor,
    SequentialExecutor,
    SequentialFallbackWarning,
    make_executor,
)
from simlock.execution.extras import MissingExtraError

SMALL = Path(__file__).parent / "data" / "small.yaml"


def finish_in_order(step: tuple[str, Path]) -> str:
    """A task of a handshake through a file: "first" creates it and returns at once; "second"
    returns only once the file exists, so it finishes after "first" whatever the scheduling."""
    role, flag = step
    if role == "first":
        flag.touch()
        return role
    deadline = time.monotonic() + 60
    while not flag.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{flag} never appeared: the tasks did not run side by side")
        time.sleep(0.005)
    return role


def in_reverse_order(folder: Path) -> list[tuple[str, Path]]:
    """Tasks submitted in the opposite order to the one they finish in."""
    flag = folder / "first-finished"
    return [("second", flag), ("first", flag)]


def double_but_die_in_a_worker(value: int) -> int:
    """Kills any worker process that runs it: what a pool that cannot start looks like."""
    if multiprocessing.parent_process() is not None:
        os._exit(3)
    return 2 * value


def pid_of_runner(_: int) -> int:
    return os.getpid()


@pytest.fixture(scope="module")
def small() -> simlock.Scenario:
    return simlock.load_scenario(SMALL)


@pytest.fixture(scope="module")
def sequential_results(small: simlock.Scenario) -> simlock.Results:
    return simlock.run(small, scale=0.2, detail_replications=0, executor=SequentialExecutor())


def assert_same_results(a: simlock.Results, b: simlock.Results) -> None:
    for name in ("summary", "replicates", "daily"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


def test_one_worker_runs_here_and_more_use_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    assert isinstance(make_executor(1), SequentialExecutor)
    processes = make_executor(2)
    assert isinstance(processes, ProcessExecutor)
    assert processes.workers == 2
    assert make_executor(None).workers == (os.cpu_count() or 1)


def test_a_scheduler_argument_or_environment_variable_selects_dask(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    chosen = make_executor(2, "tcp://10.0.0.5:8786")
    assert isinstance(chosen, DaskExecutor)
    assert chosen.address == "tcp://10.0.0.5:8786"
    monkeypatch.setenv(SCHEDULER_ENV, "tcp://scheduler.example:8786")
    from_env = make_executor(1)
    assert isinstance(from_env, DaskExecutor)
    assert from_env.address == "tcp://scheduler.example:8786"
    assert isinstance(make_executor(1, ""), SequentialExecutor)


@pytest.mark.process
def test_local_processes_give_bit_identical_frames(
    small: simlock.Scenario, sequential_results: simlock.Results
) -> None:
    with ProcessExecutor(2) as executor:
        in_processes = simlock.run(small, scale=0.2, detail_replications=0, executor=executor)
        pids = set(executor.map(pid_of_runner, range(4)))
    assert_same_results(sequential_results, in_processes)
    assert os.getpid() not in pids


@pytest.mark.process
def test_results_are_yielded_as_tasks_finish(tmp_path: Path) -> None:
    with ProcessExecutor(2) as executor:
        order = list(executor.map(finish_in_order, in_reverse_order(tmp_path)))
    assert order == ["first", "second"]


def test_a_function_defined_in_a_notebook_runs_here_with_a_warning() -> None:
    with pytest.warns(SequentialFallbackWarning, match="top level"):
        results = list(ProcessExecutor(2).map(lambda x: x + 1, [1, 2, 3]))
    assert results == [2, 3, 4]


@pytest.mark.process
def test_workers_that_die_on_start_fall_back_to_this_process_with_a_warning() -> None:
    with pytest.warns(SequentialFallbackWarning, match="died"):
        results = sorted(ProcessExecutor(2).map(double_but_die_in_a_worker, [1, 2, 3]))
    assert results == [2, 4, 6]


@pytest.mark.process
def test_a_program_read_from_stdin_runs_here_with_a_warning_and_no_worker_tracebacks() -> None:
    """Workers re-run the main program from its path; `python -` has none, so they would die
    printing tracebacks. The executor sees it before starting them."""
    program = (
        "import simlock, warnings\n"
        f"s = simlock.load_scenario({str(SMALL)!r})\n"
        "r = simlock.run(s, replications=2, scale=0.05, workers=2)\n"
        "print(len(r.summary) > 0, r.manifest['executor_fallback'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-"], input=program, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("True the main program (<stdin>) is not a file")
    assert "SequentialFallbackWarning" in done.stderr and "<stdin>" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_malformed_scheduler_address_is_refused_with_the_expected_form() -> None:
    with pytest.raises(ExecutorError, match="tcp://HOST:PORT"):
        DaskExecutor("scheduler:8786")


def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    executor = DaskExecutor("tcp://127.0.0.1:9", connect_timeout_s=0.5)
    with pytest.raises(ExecutorError, match="cannot reach the Dask scheduler"), executor:
        pass


def test_missing_dask_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'simlock\[dask\]'"):
        DaskExecutor("tcp://127.0.0.1:8786").__enter__()


@pytest.mark.slow
def test_dask_on_a_local_cluster_gives_bit_identical_frames(
    small: simlock.Scenario, sequential_results: simlock.Results, tmp_path: Path
) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        with DaskExecutor(cluster.scheduler_address) as executor:
            assert executor.workers == 2
            on_dask = simlock.run(small, scale=0.2, detail_replications=0, executor=executor)
            order = list(executor.map(finish_in_order, in_reverse_order(tmp_path)))
    assert_same_results(sequential_results, on_dask)
    assert order == ["first", "second"]

"""Sweep-scale benchmark (issue 6): many replications x variants, summary frames only.

    python benchmarks/bench_sweep.py            # 100 replications x 4 variants, 1M devices
    python benchmarks/bench_sweep.py --quick    # 8 replications x 4 variants, 50k devices

Measures, on this machine:

1. the whole run (`simlock.run`, `detail_replications=0`: no device or event tables) on the local
   executor with 1 worker (in this process) and with 2 worker processes, and the speed-up;
2. the overhead per task of the Dask path: a no-op task and a small real task on a
   `distributed.LocalCluster` on loopback (one worker process, one thread), against the same
   tasks run in this process.

Targets (2-core machine, full size): 2 workers under 120 s; 2 workers >= 1.7x faster than 1.
Run it on an otherwise idle machine: the two measurements use every core.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

VARIANTS = {
    "no-lift": {"lift": None},
    "warn": {"warning": {"grace_days": 3, "resolve_share": 0.2}},
    "exempt-allowed-sim": {"exemptions": {"allowed_sim": True}},
}


def noop(value: int) -> int:
    """A task that does nothing: what is left of its time is the executor's overhead."""
    return value


def scenario_with_variants(devices: int, replications: int) -> Any:
    """The engine benchmark's scenario with three variants: four policies per replication."""
    from bench_scenario import bench_scenario

    import simlock

    doc = bench_scenario(devices)
    doc["replications"] = replications
    doc["variants"] = VARIANTS
    return simlock.load_scenario(doc)


def measure_run(devices: int, replications: int, workers: int) -> dict[str, float]:
    """Wall time of a summary-only run on the local executor with `workers` workers (the scenario
    is built before the clock starts; worker start-up is inside the measurement)."""
    import simlock
    from simlock.execution.executors import make_executor

    scenario = scenario_with_variants(devices, replications)
    clock = time.perf_counter()
    results = simlock.run(
        scenario, detail_replications=0, executor=make_executor(workers, scheduler="")
    )
    wall = time.perf_counter() - clock
    simulated = results.manifest["devices_simulated"]
    return {
        "workers": workers,
        "wall_s": wall,
        "tasks": replications,
        "variants": len(scenario.variant_names),
        "devices_per_replication": simulated / replications,
        "seconds_per_replication": wall / replications,
        "phases_s": results.manifest["wall_seconds"],
    }


def measure_pool_start(workers: int) -> float:
    """Seconds for a fresh local pool to run its first no-op tasks (fork server, imports)."""
    from simlock.execution.executors import ProcessExecutor

    clock = time.perf_counter()
    with ProcessExecutor(workers) as executor:
        list(executor.map(noop, range(workers)))
    return time.perf_counter() - clock


def measure_dask(tasks: int, small_devices: int) -> dict[str, float]:
    """Per-task overhead of Dask on a local cluster: no-op tasks and small real tasks."""
    from distributed import LocalCluster

    from simlock.execution.executors import DaskExecutor, SequentialExecutor
    from simlock.execution.runner import Task, run_task

    scenario = scenario_with_variants(small_devices, 1)
    real = [Task(scenario, r, tuple(scenario.variant_names)) for r in range(tasks // 5 or 1)]
    clock = time.perf_counter()
    list(SequentialExecutor().map(run_task, real))
    here_real = time.perf_counter() - clock
    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            protocol="tcp",
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        DaskExecutor(cluster.scheduler_address) as executor,
    ):
        list(executor.map(noop, range(10)))  # warm the worker up
        clock = time.perf_counter()
        list(executor.map(noop, range(tasks)))
        noop_s = time.perf_counter() - clock
        list(executor.map(run_task, real[:1]))  # the worker imports simlock once
        clock = time.perf_counter()
        list(executor.map(run_task, real))
        dask_real = time.perf_counter() - clock
    return {
        "noop_tasks": tasks,
        "noop_overhead_ms_per_task": 1000 * noop_s / tasks,
        "real_tasks": len(real),
        "real_devices_per_task": small_devices,
        "real_here_ms_per_task": 1000 * here_real / len(real),
        "real_dask_ms_per_task": 1000 * dask_real / len(real),
        "real_overhead_ms_per_task": 1000 * (dask_real - here_real) / len(real),
    }


def _in_fresh_process(flag: str, *values: int) -> Any:
    """Run one measurement in a new interpreter, so it pays its own start-up like a CLI run."""
    out = subprocess.run(
        [sys.executable, __file__, flag, *map(str, values)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--devices", type=int, help="devices per replication (default 1M)")
    parser.add_argument("--replications", type=int, help="replications (default 100)")
    parser.add_argument("--dask-tasks", type=int, help="no-op tasks for the Dask overhead")
    parser.add_argument("--json", action="store_true", help="print one JSON line at the end")
    parser.add_argument("--one-run", type=int, nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--pool-start", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_run:
        print(json.dumps(measure_run(*args.one_run), default=str))
        return
    if args.pool_start:
        print(json.dumps(measure_pool_start(args.pool_start)))
        return
    devices = args.devices or (50_000 if args.quick else 1_000_000)
    replications = args.replications or (8 if args.quick else 100)
    dask_tasks = args.dask_tasks or (50 if args.quick else 500)

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {replications} replications x {len(VARIANTS) + 1} "
        f"variants of {devices:,} devices, summary only"
    )
    runs = [_in_fresh_process("--one-run", devices, replications, workers) for workers in (1, 2)]
    for run in runs:
        print(
            f"  {run['workers']} worker(s): {run['wall_s']:7.1f} s "
            f"({run['seconds_per_replication']:.2f} s per replication of "
            f"{run['devices_per_replication']:,.0f} devices x {run['variants']} variants)"
        )
    speedup = runs[0]["wall_s"] / runs[1]["wall_s"]
    print(f"  speed-up with 2 workers: {speedup:.2f}x (target >= 1.7x)")
    print(
        f"  starting 2 local worker processes: {_in_fresh_process('--pool-start', 2):.1f} s, "
        "paid once per run" + (" (it dominates at --quick sizes)" if args.quick else "")
    )
    print(f"  2 workers under 120 s: {'yes' if runs[1]['wall_s'] < 120 else 'no'}")
    phases = runs[0]["phases_s"]
    print(
        "  1-worker phases (s, summed over tasks): "
        + ", ".join(f"{k} {v:.1f}" for k, v in phases.items())
    )
    dask = measure_dask(dask_tasks, small_devices=20_000)
    print(
        f"Dask LocalCluster (1 worker process, tcp loopback): no-op task "
        f"{dask['noop_overhead_ms_per_task']:.2f} ms each over {dask['noop_tasks']} tasks; "
        f"real task of {dask['real_devices_per_task']:,} devices x {len(VARIANTS) + 1} variants "
        f"{dask['real_dask_ms_per_task']:.0f} ms on Dask vs {dask['real_here_ms_per_task']:.0f} "
        f"ms here (overhead {dask['real_overhead_ms_per_task']:.0f} ms per task)"
    )
    if args.json:
        print(json.dumps({"runs": runs, "speedup": speedup, "dask": dask}, default=str))


if __name__ == "__main__":
    main()

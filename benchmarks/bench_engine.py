"""Engine benchmark: devices/s, events/s, wall time per phase and peak memory at 1M and 5M devices,
and the speed-up over the per-device reference model (tests/reference_model.py) on one scenario.

    python benchmarks/bench_engine.py                 # 1M and 5M devices, reference at 20k
    python benchmarks/bench_engine.py --sizes 200000 --reference-devices 5000   # quick

Each size is one `run_task` (one replication, one variant) with device-level tables, timed by
its own phases, then summarised and written; and once more without them for the peak memory of
the simulation. Each runs in a fresh subprocess so its peak resident memory is its own. Targets
(issue 3, 2-core machine): 5M devices, one replication, one variant simulated (population +
engine) in < 5 s and < 1.5 GB peak; the run's tables built and written in < 5 s; the whole run
>= 30x faster than the per-device reference on the same scenario. The machine is shared: the
load average is printed before and after, and timings taken under load are slower than the
machine can do.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

SIMULATE_TARGET_S, PEAK_TARGET_MB, TABLES_TARGET_S, SPEEDUP_TARGET = 5.0, 1536.0, 5.0, 30.0


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(devices: int, detail: bool = True) -> dict[str, float]:
    """One size, in this process: `run_task` (population, simulation, frames; the phases it
    times), the summary, writing the run folder, and peak memory. Without `detail`, the task
    keeps no device-level tables (what every replication but the first costs a worker)."""
    from bench_scenario import bench_scenario

    import simlock
    from simlock.analysis import metrics
    from simlock.analysis.results import Results
    from simlock.execution.runner import Task, run_task

    scenario = simlock.load_scenario(bench_scenario(devices))
    base_mb = _peak_mb()
    done = run_task(Task(scenario, 0, tuple(scenario.variant_names), detail=detail))
    timings = done.timings
    t_population, t_simulate = timings["population"], timings["simulate"]
    peak_task = _peak_mb()
    row = {
        "devices": done.devices_simulated,
        "population_s": t_population,
        "simulate_s": t_simulate,
        "population_plus_simulate_s": t_population + t_simulate,
        "devices_per_s": done.devices_simulated / (t_population + t_simulate),
        "peak_mb_task": peak_task,
        "import_baseline_mb": base_mb,
    }
    if not detail:
        return row
    clock = time.perf_counter()
    summary = metrics.summarize(done.replicates)
    t_frames = timings["tables"] + time.perf_counter() - clock
    results = Results(
        scenario=scenario,
        summary=summary,
        replicates=done.replicates,
        daily=done.daily,
        devices=done.devices,
        events=done.events,
        manifest={},
    )
    with tempfile.TemporaryDirectory() as folder:
        clock = time.perf_counter()
        results.save(folder, report=False)
        t_write = time.perf_counter() - clock
    # Every event the engine times (cancellations are the lift's, not a device's).
    events = int((results.events["kind"] != "lock_cancelled").sum())
    return {
        **row,
        "events": events,
        "events_per_s": events / t_simulate,
        "frames_s": t_frames,
        "write_tables_s": t_write,
        "tables_s": t_frames + t_write,
        "device_rows_written": len(results.devices),
        "event_rows_written": len(results.events),
        "whole_run_s": t_population + t_simulate + t_frames + t_write,
        "peak_mb_total": _peak_mb(),
    }


def measure_reference(devices: int, repeats: int = 3) -> dict[str, float]:
    """The same scenario at a size the reference can manage: the engine's whole run (median of
    `repeats`; with and without writing the run folder's tables) against the reference model."""
    from bench_scenario import bench_scenario

    import simlock
    from tests.reference_model import simulate_reference

    scenario = simlock.load_scenario(bench_scenario(devices))
    simlock.run(scenario, workers=1, detail_replications=1)  # warm up imports and caches
    runs, saves = [], []
    for _ in range(repeats):
        clock = time.perf_counter()
        results = simlock.run(scenario, workers=1, detail_replications=1)
        runs.append(time.perf_counter() - clock)
        with tempfile.TemporaryDirectory() as folder:
            clock = time.perf_counter()
            results.save(folder, report=False)
            saves.append(runs[-1] + time.perf_counter() - clock)
    t_engine, t_engine_saved = statistics.median(runs), statistics.median(saves)
    clock = time.perf_counter()
    frame = simulate_reference(scenario, scenario.policy, replication=0)
    t_reference = time.perf_counter() - clock
    return {
        "devices": len(frame),
        "considered": int(frame["considered"].sum()),
        "engine_whole_run_s": t_engine,
        "engine_whole_run_and_save_s": t_engine_saved,
        "reference_s": t_reference,
        "speedup": t_reference / t_engine,
        "speedup_with_save": t_reference / t_engine_saved,
    }


def _in_subprocess(*arguments: str) -> dict[str, float]:
    """This script's measurement for `arguments`, in a fresh process (its own peak memory)."""
    out = subprocess.run(
        [sys.executable, __file__, *arguments], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--reference-devices", type=int, default=20_000)
    parser.add_argument("--json", type=Path, help="also write the measurements to this file")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--no-detail", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--reference-one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, detail=not args.no_detail)))
        return
    if args.reference_one:
        print(json.dumps(measure_reference(args.reference_one)))
        return
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {_load()}"
    )
    rows = []
    for size in args.sizes:
        # The simulation's peak is that of a task without device tables, in a process of its own.
        plain = _in_subprocess("--one", str(size), "--no-detail")
        row = {**_in_subprocess("--one", str(size)), "peak_mb_simulate": plain["peak_mb_task"]}
        rows.append(row)
        print(
            f"{row['devices']:>10,} devices | population {row['population_s']:.2f} s + simulate "
            f"{row['simulate_s']:.2f} s = {row['population_plus_simulate_s']:.2f} s | "
            f"{row['devices_per_s']:,.0f} devices/s | {row['events']:,} events, "
            f"{row['events_per_s']:,.0f} events/s | peak {row['peak_mb_simulate']:,.0f} MB"
        )
        print(
            f"{'':>10} tables {row['tables_s']:.2f} s: frames {row['frames_s']:.2f} (daily, "
            f"metrics, devices, events, summary), write {row['write_tables_s']:.2f} "
            f"({row['device_rows_written']:,} device rows, {row['event_rows_written']:,} event "
            f"rows) | peak {row['peak_mb_total']:,.0f} MB with tables"
        )
    ref = None
    if args.reference_devices:
        ref = _in_subprocess("--reference-one", str(args.reference_devices))
        print(
            f"reference at {ref['devices']:,} devices ({ref['considered']:,} simulated check-in "
            f"by check-in): {ref['reference_s']:.2f} s; engine whole run "
            f"{ref['engine_whole_run_s']:.3f} s ({ref['speedup']:.0f}x faster), with the tables "
            f"written {ref['engine_whole_run_and_save_s']:.3f} s "
            f"({ref['speedup_with_save']:.0f}x faster)"
        )
    print(f"targets ({_load()}):")
    for row in rows:
        if row["devices"] >= 4_000_000:
            print(
                f"  {row['devices']:,} devices simulated in {row['population_plus_simulate_s']:.2f}"
                f" s < {SIMULATE_TARGET_S:.0f} s: "
                f"{_verdict(row['population_plus_simulate_s'] < SIMULATE_TARGET_S)}; peak "
                f"{row['peak_mb_simulate']:,.0f} MB < {PEAK_TARGET_MB:,.0f} MB: "
                f"{_verdict(row['peak_mb_simulate'] < PEAK_TARGET_MB)}; tables "
                f"{row['tables_s']:.2f} s < {TABLES_TARGET_S:.0f} s: "
                f"{_verdict(row['tables_s'] < TABLES_TARGET_S)}"
            )
    if ref is not None:
        print(
            f"  speed-up {ref['speedup']:.0f}x >= {SPEEDUP_TARGET:.0f}x: "
            f"{_verdict(ref['speedup'] >= SPEEDUP_TARGET)}"
        )
    if args.json:
        args.json.write_text(json.dumps({"sizes": rows, "reference": ref}, indent=2))


if __name__ == "__main__":
    main()

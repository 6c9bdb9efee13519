"""Engine benchmark: devices/s, events/s, wall time per phase and peak memory at 1M and 5M devices,
and the speed-up over the per-device reference model (tests/reference_model.py) on one scenario.

    python benchmarks/bench_engine.py                 # 1M and 5M devices, reference at 20k
    python benchmarks/bench_engine.py --sizes 200000 --reference-devices 5000   # quick

Each size runs in a fresh subprocess so its peak resident memory is its own. Targets (issue 3,
2-core machine): 5M devices, one replication, one variant simulated in < 5 s and < 1.5 GB;
tables written in < 5 s; the whole run >= 30x faster than the per-device reference.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(devices: int) -> dict[str, float]:
    """One size, in this process: population, simulation, frames, writing, peak memory."""
    import numpy as np
    from bench_scenario import bench_scenario

    import simlock
    from simlock import metrics, population, tables
    from simlock.engine import simulate_variant
    from simlock.results import Results

    scenario = simlock.load_scenario(bench_scenario(devices))
    policy = scenario.policy
    base_mb = _peak_mb()
    clock = time.perf_counter()
    pop = population.generate(scenario, 0)
    t_population = time.perf_counter() - clock
    clock = time.perf_counter()
    result = simulate_variant(scenario, pop, policy, "baseline", 0)
    t_simulate = time.perf_counter() - clock
    peak_simulate = _peak_mb()
    events = int(
        sum(
            np.isfinite(c).sum()
            for c in (result.warned, result.locked, result.unlocked, result.appealed)
        )
        + np.isfinite(result.appeal_closed).sum()
    )
    clock = time.perf_counter()
    banned = np.array([pop.codebook.territory_code(b) for b in policy.banned], dtype=np.int16)
    daily = tables.daily_frame(scenario, pop, result)
    replicates = metrics.replicate_metrics(pop, result, banned, scenario.days, daily)
    devices_frame = tables.devices_frame(scenario, pop, result, banned)
    events_frame = tables.events_frame(scenario, result)
    results = Results(
        scenario=scenario,
        summary=metrics.summarize(replicates),
        replicates=replicates,
        daily=daily,
        devices=devices_frame,
        events=events_frame,
        manifest={},
    )
    t_frames = time.perf_counter() - clock
    with tempfile.TemporaryDirectory() as folder:
        clock = time.perf_counter()
        results.save(folder)
        t_write = time.perf_counter() - clock
    return {
        "devices": len(pop),
        "events": events,
        "population_s": t_population,
        "simulate_s": t_simulate,
        "population_plus_simulate_s": t_population + t_simulate,
        "devices_per_s": len(pop) / (t_population + t_simulate),
        "events_per_s": events / t_simulate,
        "frames_s": t_frames,
        "write_tables_s": t_write,
        "device_rows_written": len(devices_frame),
        "whole_run_s": t_population + t_simulate + t_frames + t_write,
        "peak_mb_simulate": peak_simulate,
        "peak_mb_total": _peak_mb(),
        "import_baseline_mb": base_mb,
    }


def measure_reference(devices: int) -> dict[str, float]:
    """The same scenario at a small size: the engine's whole run against the reference model."""
    from bench_scenario import bench_scenario
    from tests.reference_model import simulate_reference

    import simlock

    scenario = simlock.load_scenario(bench_scenario(devices))
    clock = time.perf_counter()
    simlock.run(scenario, workers=1, detail_replications=1)
    t_engine = time.perf_counter() - clock
    clock = time.perf_counter()
    simulate_reference(scenario, scenario.policy, replication=0)
    t_reference = time.perf_counter() - clock
    return {
        "devices": devices,
        "engine_whole_run_s": t_engine,
        "reference_s": t_reference,
        "speedup": t_reference / t_engine,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--reference-devices", type=int, default=20_000)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--reference-one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    if args.reference_one:
        print(json.dumps(measure_reference(args.reference_one)))
        return
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    rows = []
    for size in args.sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size)],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        row = rows[-1]
        print(
            f"{row['devices']:>10,} devices | population {row['population_s']:.2f} s | simulate "
            f"{row['simulate_s']:.2f} s | {row['devices_per_s']:,.0f} devices/s | "
            f"{row['events_per_s']:,.0f} events/s | frames {row['frames_s']:.2f} s | write "
            f"{row['write_tables_s']:.2f} s ({row['device_rows_written']:,} device rows) | peak "
            f"{row['peak_mb_simulate']:,.0f} MB after simulate, "
            f"{row['peak_mb_total']:,.0f} MB total"
        )
    if args.reference_devices:
        out = subprocess.run(
            [sys.executable, __file__, "--reference-one", str(args.reference_devices)],
            capture_output=True,
            text=True,
            check=True,
        )
        ref = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"reference at {ref['devices']:,} devices: per-device model "
            f"{ref['reference_s']:.2f} s, "
            f"engine whole run {ref['engine_whole_run_s']:.2f} s: {ref['speedup']:.0f}x faster"
        )


if __name__ == "__main__":
    main()

"""Calibration benchmark (issue "Honest answers", speed): what calibration costs on 2 cores.

    python benchmarks/bench_calibrate.py                 # 8 inputs, 1,000 particles, scale 0.1
    python benchmarks/bench_calibrate.py --quick         # 8 inputs, 100 particles, 2 populations
    python benchmarks/bench_calibrate.py --no-calibrate  # the per-simulation figures only

1. One replication of the 2021 baseline (only that variant, as calibration runs it: no device
   table, so untouched regions are counted and only the devices some window could decide are
   drawn) at full scale and at the calibration's scale, in this process: CPU seconds per phase
   (population, simulate, tables), median of `--repeats`, after one run that warms imports and
   caches.
2. A calibration of the 2021 scenario with its first eight uncertain inputs (the others stay at
   the values written in the file), `--particles` per population, at most `--populations`
   populations, at `--scale`, on `--workers` processes: wall time, simulations, and each
   population's tolerance, acceptance rate and effective sample size.

The machine is shared: the load average is printed before and after, and figures taken under
load are slower than the machine can do.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCENARIO = ROOT / "scenarios" / "september-2021.yaml"
INPUTS = 8


def _load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def scenario_with_inputs(count: int) -> Any:
    """The 2021 scenario with its first `count` uncertain inputs, and no worlds section (a
    calibration does not run over worlds)."""
    import simlock
    from simlock.scenario.loader import load_scenario

    doc = simlock.load_scenario(SCENARIO).model_dump(by_alias=True)
    doc["uncertain"] = doc["uncertain"][:count]
    doc["worlds"] = None
    return load_scenario(doc)


def one_replication(scale: float, repeats: int) -> dict[str, float]:
    """CPU seconds of one baseline replication at `scale`, per phase (median of `repeats`)."""
    from simlock.execution.runner import Task, run_task

    scenario = scenario_with_inputs(0)
    run_task(Task(scenario, 0, ("baseline",), scale))
    rows = []
    for replication in range(1, repeats + 1):
        clock = time.process_time()
        done = run_task(Task(scenario, replication, ("baseline",), scale))
        rows.append({"cpu_s": time.process_time() - clock, **done.timings})
        rows[-1]["devices"] = done.devices_simulated
        rows[-1]["drawn"] = done.devices_drawn
    return {key: statistics.median(row[key] for row in rows) for key in rows[0]}


def calibration(particles: int, populations: int, scale: float, workers: int) -> dict[str, Any]:
    """One calibration into a temporary folder; its wall time and populations."""
    from simlock.execution.calibrate import calibrate

    scenario = scenario_with_inputs(INPUTS)
    with tempfile.TemporaryDirectory() as folder:
        clock = time.perf_counter()
        result = calibrate(
            scenario,
            Path(folder) / "calibration",
            particles=particles,
            populations=populations,
            scale=scale,
            workers=workers,
            report=False,
        )
        wall = time.perf_counter() - clock
    table = result.populations
    return {"wall_s": wall, "simulations": int(table["simulations"].sum()), "table": table}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--particles", type=int, default=1000)
    parser.add_argument("--populations", type=int, default=8)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100 particles, 2 populations")
    parser.add_argument("--no-calibrate", action="store_true", help="per-replication figures only")
    args = parser.parse_args()
    if args.quick:
        args.particles, args.populations = 100, 2
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {_load()}"
    )
    for scale in (1.0, args.scale):
        r = one_replication(scale, args.repeats)
        print(
            f"one baseline replication at scale {scale:g} ({r['devices']:,.0f} activations, "
            f"{r['drawn']:,.0f} drawn one by one): {r['cpu_s']:.3f} s CPU (population "
            f"{r['population']:.3f}, simulate {r['simulate']:.3f}, tables {r['tables']:.3f}; "
            f"median of {args.repeats}); target at scale 1: at most 0.2 s"
        )
    if not args.no_calibrate:
        print(
            f"calibrating {INPUTS} inputs: {args.particles} particles, at most "
            f"{args.populations} populations, scale {args.scale:g}, {args.workers} workers ..."
        )
        c = calibration(args.particles, args.populations, args.scale, args.workers)
        print(c["table"].to_string(index=False))
        per_sim = c["wall_s"] * args.workers / max(c["simulations"], 1)
        print(
            f"calibration: {c['wall_s'] / 60:.1f} min wall, {c['simulations']:,} simulations "
            f"({per_sim:.3f} s of a worker each); target < 15 min: "
            f"{'met' if c['wall_s'] < 900 else 'NOT met'}"
        )
    print(_load())


if __name__ == "__main__":
    main()

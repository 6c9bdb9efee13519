"""Realistic-run benchmark: the 2021 scenario (10 regions, ~5 million devices per replication, of
which ~0.8 million in banned territories; 8 policies per replication).

    python benchmarks/bench_realistic.py                  # 4 replications, then the default run
    python benchmarks/bench_realistic.py --no-run         # per-replication figures only
    python benchmarks/bench_realistic.py --scale 0.1      # smaller

1. Per replication, in one fresh process (what one worker does): `run_task` with every variant,
   wall time per phase (population, simulate, tables) and CPU time; the first replication also
   pays for first-touch memory, so it is shown apart from the mean of the others.
2. The default run, `simlock run SCENARIO -o TMP --force -q` (20 replications, one worker per
   core, one detail replication, report included), with the manifest's wall time per phase.

The machine is shared: the load average is printed before and after, and timings taken under
load are slower than the machine can do.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

SCENARIO = HERE.parent / "scenarios" / "september-2021.yaml"


def _load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def measure_replications(count: int, scale: float) -> list[dict[str, float]]:
    """Replications 0..count-1, one after the other in this process, with every variant."""
    import simlock
    from simlock.execution.runner import Task, run_task

    scenario = simlock.load_scenario(SCENARIO)
    rows = []
    for replication in range(count):
        wall, cpu = time.perf_counter(), time.process_time()
        done = run_task(Task(scenario, replication, tuple(scenario.variant_names), scale))
        rows.append(
            {
                "wall_s": time.perf_counter() - wall,
                "cpu_s": time.process_time() - cpu,
                "devices": done.devices_simulated,
                **{f"{phase}_s": seconds for phase, seconds in done.timings.items()},
            }
        )
    return rows


def measure_default_run(scale: float) -> dict[str, float]:
    """`simlock run` as a user types it, in a fresh process; the manifest's phases."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "run"
        command = [sys.executable, "-c", "from simlock.cli.commands import main; main()"]
        command += ["run", str(SCENARIO), "-o", str(out)]
        command += ["--force", "-q", "--scale", str(scale)]
        clock = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - clock
        manifest = json.loads((out / "manifest.json").read_text())
    return {"wall_s": wall, **manifest["wall_seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replications", type=int, default=4)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--no-run", action="store_true", help="skip the default run")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_replications(args.replications, args.scale)))
        return
    print(f"{SCENARIO.name} at scale {args.scale:g}; {os.cpu_count()} cores; {_load()}")
    one = ["--one", "--replications", str(args.replications), "--scale", str(args.scale)]
    out = subprocess.run(
        [sys.executable, __file__, *one],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(out.stdout.strip().splitlines()[-1])
    first, rest = rows[0], rows[1:] or rows

    def mean(key: str) -> float:
        return statistics.mean(row.get(key, 0.0) for row in rest)

    print(
        f"  first replication {first['wall_s']:.2f} s ({first['devices']:,} devices x 8 variants)"
    )
    print(
        f"  then per replication {mean('wall_s'):.2f} s wall, {mean('cpu_s'):.2f} s CPU: "
        f"population {mean('population_s'):.2f}, simulate {mean('simulate_s'):.2f}, "
        f"tables {mean('tables_s'):.2f}"
    )
    if not args.no_run:
        run = measure_default_run(args.scale)
        phases = ", ".join(f"{k} {v:.1f}" for k, v in run.items() if k != "wall_s")
        print(f"  default run (simlock run, 20 replications): {run['wall_s']:.1f} s ({phases})")
    print(f"  ({_load()})")


if __name__ == "__main__":
    main()

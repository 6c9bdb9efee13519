"""Policy-search benchmark (issue 14): trials per minute of `simlock search` on 2 cores.

    python benchmarks/bench_search.py            # the 2021 search: 64 trials, its scale and reps
    python benchmarks/bench_search.py --quick    # 16 trials at scale 0.01

Runs the search of `scenarios/september-2021-search.yaml` (three objectives, five levers) into a
temporary folder with 1 worker (in this process) and with 2 worker processes, and prints trials
per minute, how many distinct policies were simulated (a repeated one is not rerun), and the
machine's load
(`os.getloadavg`): on a shared machine the figures are lower bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCENARIO = ROOT / "scenarios" / "september-2021-search.yaml"


def measure(trials: int, scale: float | None, workers: int) -> dict[str, Any]:
    """Wall time of one search (the pool's start-up included, as a command pays it)."""
    from simlock.execution.executors import make_executor
    from simlock.execution.search import run_search
    from simlock.scenario.loader import load_file, load_scenario

    scenario, _ = load_file(SCENARIO)
    if scale is not None:
        doc = scenario.model_dump(by_alias=True)
        doc["search"]["scale"] = scale
        scenario = load_scenario(doc)
    with tempfile.TemporaryDirectory() as folder:
        clock = time.perf_counter()
        frame = run_search(
            scenario,
            Path(folder) / "search",
            trials=trials,
            executor=make_executor(workers, scheduler=""),
        )
        wall = time.perf_counter() - clock
        manifest = json.loads((Path(folder) / "search" / "search.json").read_text())
    replications = manifest["replications"]
    return {
        "workers": workers,
        "trials": len(frame),
        "replications": replications,
        "scale": manifest["scale"],
        "wall_s": wall,
        "trials_per_minute": 60 * len(frame) / wall,
        "policies_simulated": manifest["policies_simulated"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="16 trials at scale 0.01")
    parser.add_argument("--trials", type=int, help="trials per search (default 64)")
    parser.add_argument("--json", action="store_true", help="print one JSON line at the end")
    args = parser.parse_args()
    trials = args.trials or (16 if args.quick else 64)
    scale = 0.01 if args.quick else None
    load = os.getloadavg()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )
    runs = [measure(trials, scale, workers) for workers in (1, 2)]
    for run in runs:
        print(
            f"  {run['workers']} worker(s): {run['trials']} trials x {run['replications']} "
            f"replications at scale {run['scale']:g} in {run['wall_s']:.1f} s: "
            f"{run['trials_per_minute']:.1f} trials per minute "
            f"({run['policies_simulated']} distinct policies simulated; a repeat is not rerun)"
        )
    if args.json:
        print(json.dumps({"load": load, "runs": runs}))


if __name__ == "__main__":
    main()

"""How long `simlock validate` takes on the shipped 2021 scenario, as a user runs it.

    python benchmarks/bench_validate.py              # 10 runs of the installed `simlock`
    python benchmarks/bench_validate.py --runs 30 --file scenarios/september-2021.yaml

Each run is a fresh process (the interpreter's start and every import count, as they do for a
user), timed by wall clock; the median, best and worst are printed, with which numpy-heavy
modules the command imported (none is the design: the scenario layer imports no numpy, pandas,
scipy, simpy or matplotlib, and `simlock/__init__.py` imports its API lazily). Target (issue 10,
2-core machine): median under 0.6 s. The machine is shared: the load average is printed before
and after, and timings taken under load are slower than the machine can do.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("numpy", "pandas", "scipy", "simpy", "matplotlib", "pyarrow")
TARGET_SECONDS = 0.6


def _command(file: Path) -> list[str]:
    script = Path(sys.executable).parent / "simlock"
    if script.exists():
        return [str(script), "validate", str(file)]
    return [sys.executable, "-m", "simlock.cli", "validate", str(file)]


def _heavy_imports(file: Path) -> list[str]:
    """The numpy-heavy modules that validating `file` imports, in this interpreter."""
    probe = (
        "import sys\n"
        "from simlock.cli.commands import app\n"
        "from typer.testing import CliRunner\n"
        f"result = CliRunner().invoke(app, ['validate', {str(file)!r}])\n"
        "assert result.exit_code == 0, result.output\n"
        f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return done.stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--file", type=Path, default=ROOT / "scenarios" / "september-2021.yaml")
    args = parser.parse_args()
    command = _command(args.file)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    subprocess.run(command, capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    print(f"{' '.join(command[-2:])}: {args.runs} runs")
    print(f"  median {median:.3f} s, best {min(times):.3f} s, worst {max(times):.3f} s")
    verdict = "met" if median < TARGET_SECONDS else "MISSED"
    print(f"  target: median under {TARGET_SECONDS} s -> {verdict}")
    print(f"  numpy-heavy modules imported: {', '.join(_heavy_imports(args.file)) or 'none'}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

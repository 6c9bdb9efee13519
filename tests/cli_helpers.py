"""Helpers shared by the command-line, failure-mode and fuzz tests: the shipped scenarios, a
small valid scenario to break, and ways to run `simlock` in this process or as a real one."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner, Result

from simlock.cli.commands import app

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SMALL = DATA / "small.yaml"
BAD = DATA / "bad"
SCHEMA_FILE = ROOT / "simlock.schema.json"
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
"""Scenarios shipped to users (each names the JSON Schema in its first line)."""
SHIPPED = [SMALL, *SCENARIOS]
"""Every valid scenario in the repository: the test scenario and the shipped ones."""

FAST = ["--scale", "0.1", "--workers", "1", "--quiet", "--no-report"]
"""Options that keep a run of small.yaml well under a second."""


def invoke(*args: str | Path) -> Result:
    """Run `simlock ARGS` in this process (typer's runner); stdout and stderr kept apart."""
    return CliRunner().invoke(app, [str(a) for a in args])


def simlock_command() -> list[str]:
    """The installed `simlock` console script beside this interpreter, or the same entry point
    through `python -c` when the package is not installed as a script."""
    script = Path(sys.executable).parent / "simlock"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from simlock.cli.commands import main; main()"]


def run_simlock(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `simlock ARGS` as a real process and wait for it."""
    return subprocess.run(
        [*simlock_command(), *(str(a) for a in args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=quiet_env(),
        check=False,
    )


def quiet_env() -> dict[str, str]:
    """The environment for a child simlock: no Dask scheduler from outside, plain output."""
    env = {k: v for k, v in os.environ.items() if k != "SIMLOCK_SCHEDULER"}
    env["SIMLOCK_DEBUG"] = ""
    env["MPLBACKEND"] = "Agg"
    return env


def small_doc() -> dict[str, Any]:
    """tests/data/small.yaml as a fresh mapping (dates as `datetime.date`)."""
    return copy.deepcopy(_SMALL_DOC)


def write_yaml(path: Path, doc: Any) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def leftovers(folder: Path) -> list[str]:
    """Temporary files and folders a run or sweep leaves behind if it does not clean up."""
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob(".*")
        if p.name.endswith((".partial", ".old")) or ".partial." in p.name
    )


_SMALL_DOC = yaml.safe_load(SMALL.read_text(encoding="utf-8"))

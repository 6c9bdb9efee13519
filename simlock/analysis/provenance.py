"""What a run was made from, in a form a paper can cite and a reader can rerun.

A run's numbers are fixed by three things, recorded apart so each can be checked on its own:

- the scenario's **content** (regions, channels, policy, variants...): `content_hash` hashes it
  without the options below, so the same scenario run with another seed, replication count,
  scale, variant list or number of workers has the same content hash;
- the run's **options**: seed, replications, scale, variants and detail replications change the
  numbers (the seed and replications pick the random streams; scale multiplies activation
  rates; variants and detail choose what is kept), while the executor and the number of workers
  never do (each replication has its own streams, whatever process runs it);
- the **code**: simlock's version, the git commit of the checkout it was imported from (and
  whether tracked files had uncommitted changes), and the versions of the libraries that compute
  (numpy, pandas, scipy, simpy, pydantic, pyarrow) and of Python.

`record_environment` is called when a run or sweep starts; `Results.provenance()` assembles the
recorded parts into one mapping, with the command that reruns the run from its folder.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
import subprocess
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from simlock.scenario.models import Scenario

LIBRARIES = ("numpy", "pandas", "pyarrow", "scipy", "simpy", "pydantic")
"""Libraries whose version can change a run's numbers or how its files read back."""

RUN_OPTIONS = ("seed", "replications")
"""Fields of the scenario file that are run options: left out of the content hash."""

SWEEP_OPTIONS = ("replications", "scale", "variants", "metrics")
"""Fields of the `sweep:` section that are options of the sweep's runs, left out likewise."""

NUMBERS_UNCHANGED_BY = ("executor", "workers")
"""Options recorded for the record only: they never change a run's numbers."""


def environment() -> dict[str, str]:
    """Python, the platform and the libraries' versions ("not installed" when absent)."""
    return dict(_environment())


@functools.lru_cache(maxsize=1)
def _environment() -> tuple[tuple[str, str], ...]:
    """Looked up once per process: reading every library's metadata takes some 20 ms, more than
    a small run's engine, and what is installed does not change while simlock runs."""
    found = {"python": platform.python_version(), "platform": platform.platform()}
    for package in LIBRARIES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return tuple(found.items())


@functools.lru_cache(maxsize=1)
def git_checkout() -> dict[str, Any] | None:
    """The commit of the git checkout simlock was imported from, and whether tracked files
    differ from it (`dirty`); None for an installed package or when git is unavailable.

    Asked once per process: the code a process runs is the code it imported."""
    source = Path(__file__).resolve().parents[2]
    if not (source / ".git").exists():
        return None
    commit = _git(source, "rev-parse", "HEAD")
    if commit is None:
        return None
    status = _git(source, "status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def _git(folder: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def content_hash(scenario: Scenario) -> str:
    """A short SHA-256 of the scenario's content without its run options (seed, replications,
    and the sweep's replications, scale, variants and metrics): equal for the same scenario run
    with any options."""
    from .results import scenario_document

    document = scenario_document(scenario)
    for key in RUN_OPTIONS:
        document.pop(key, None)
    if isinstance(document.get("sweep"), dict):
        for key in SWEEP_OPTIONS:
            document["sweep"].pop(key, None)
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def record_environment(scenario: Scenario) -> dict[str, Any]:
    """The manifest entries about the code and the content, recorded when a run starts."""
    from simlock._version import __version__

    return {
        "simlock_version": __version__,
        "environment": environment(),
        "git": git_checkout(),
        "content_hash": content_hash(scenario),
    }


def rerun_command(scale: float, detail: int, variants: Sequence[str] | None) -> list[str]:
    """The command that reproduces a run from its folder: the saved scenario.yaml already holds
    the seed and replications used; scale, detail and variants are the options that also change
    the numbers (workers and executors do not)."""
    command = ["simlock", "run", "scenario.yaml", "--scale", repr(scale), "--detail", str(detail)]
    for name in variants or ():
        command += ["--variant", name]
    return command


def provenance(manifest: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    """Citable provenance assembled from a run's manifest (what was recorded when it ran; the
    content hash is computed from the scenario when an older manifest lacks it)."""
    return {
        "simlock_version": manifest.get("simlock_version"),
        "environment": manifest.get("environment"),
        "git": manifest.get("git"),
        "scenario": {
            "name": scenario.name,
            "content_hash": manifest.get("content_hash") or content_hash(scenario),
            "scenario_hash": manifest.get("scenario_hash"),
        },
        "options": {
            "seed": scenario.seed,
            "replications": scenario.replications,
            "scale": manifest.get("scale"),
            "variants": manifest.get("variants"),
            "detail_replications": manifest.get("detail_replications"),
        },
        "numbers_unchanged_by": {key: manifest.get(key) for key in NUMBERS_UNCHANGED_BY},
        "rerun": manifest.get("rerun"),
    }

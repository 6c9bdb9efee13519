"""Checks before and after a run: will it fit in memory, and do its numbers hold together.

Before: the number of devices is known in expectation from the rates, so the memory a run needs
can be estimated before anything is allocated; a run that would not fit stops with the estimate
and the `--scale` that would, instead of being killed by the operating system.

After: cheap invariants that must hold for every run (counts conserved, nothing before
activation, unlocks after locks). A violation is a simlock bug, reported with the scenario hash.
"""

from __future__ import annotations

import math
import os

import numpy as np

from .errors import ConsistencyError, TooBigError
from .population import BYTES_PER_DEVICE, expected_devices
from .results import Results
from .scenario import Scenario

WORKING_BYTES_PER_DEVICE = 160
"""Peak bytes per device while a variant runs (columns, draws and temporaries), measured."""

DETAIL_BYTES_PER_DEVICE_VARIANT = 140
"""Bytes per device and variant of the `devices` frame kept for a detail replication."""


def available_memory() -> int:
    """Bytes of memory available now (MemAvailable on Linux, else physical memory)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def estimate_memory(
    scenario: Scenario, scale: float, workers: int, detail: int, variants: int
) -> int:
    """Bytes a run is expected to need at its peak (with a 4-sigma margin on the device count)."""
    mean = expected_devices(scenario, scale)
    devices = mean + 4 * math.sqrt(mean)
    per_task = devices * (BYTES_PER_DEVICE + WORKING_BYTES_PER_DEVICE)
    detail_bytes = (
        devices * DETAIL_BYTES_PER_DEVICE_VARIANT * variants * min(detail, scenario.replications)
    )
    return int(per_task * max(1, min(workers, scenario.replications)) + detail_bytes + 200e6)


def check_fits(
    scenario: Scenario,
    scale: float,
    workers: int,
    detail: int,
    variants: int,
    available: int | None = None,
) -> None:
    """Raise `TooBigError` if the run would need more memory than is available."""
    need = estimate_memory(scenario, scale, workers, detail, variants)
    have = available if available is not None else available_memory()
    if need <= have:
        return
    devices = expected_devices(scenario, scale)
    fitting = scale * have / need * 0.9
    raise TooBigError(
        f"this run needs about {need / 1e9:.1f} GB ({devices:,.0f} devices per replication, "
        f"{workers} worker(s)) but {have / 1e9:.1f} GB is available; try --scale {fitting:.3g} "
        "or fewer --workers"
    )


def check_consistency(results: Results) -> None:
    """Raise `ConsistencyError` if a run's frames contradict each other."""
    problems: list[str] = []
    daily = results.daily
    if (daily["locked"] < 0).any():
        problems.append("a day has a negative number of locked devices")
    sums = ["newly_locked", "activations", "unlocked"]
    per_task = (
        daily.groupby(["variant", "replication"], observed=True)[sums].sum().add_prefix("daily_")
    )
    overall = results.replicates[results.replicates["group"] == "all"]
    wide = overall.pivot_table(
        index=["variant", "replication"], columns="metric", values="value", observed=True
    )
    joined = per_task.join(wide, how="outer")
    if not np.array_equal(joined["daily_newly_locked"], joined["users_affected"]):
        problems.append("daily new locks do not add up to users affected")
    if not np.array_equal(joined["daily_activations"], joined["activations"]):
        problems.append("daily activations do not add up to the activations metric")
    if (joined["daily_unlocked"] > joined["daily_newly_locked"]).any():
        problems.append("more unlocks than locks")
    devices = results.devices
    if not devices.empty:
        for column in ("warned", "locked", "unlocked", "appealed"):
            early = devices[column] < devices["activated"]
            if early.any():
                problems.append(f"{int(early.sum())} device(s) {column} before activation")
        bad_unlock = devices["unlocked"].notna() & ~(devices["unlocked"] >= devices["locked"])
        if bad_unlock.any():
            problems.append(f"{int(bad_unlock.sum())} device(s) unlocked without or before a lock")
    if problems:
        manifest = results.manifest
        raise ConsistencyError(
            "internal consistency check failed (a simlock bug; please report it with the scenario "
            f"hash {manifest.get('scenario_hash', '?')}, seed {manifest.get('seed', '?')} and "
            "simlock "
            f"{manifest.get('simlock_version', '?')}): " + "; ".join(problems)
        )

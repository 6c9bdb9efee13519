"""Cheap invariants that must hold for every run: counts conserved, nothing before activation,
unlocks after locks. A violation is a simlock bug, reported with the scenario hash."""

from __future__ import annotations

import numpy as np

from simlock.errors import ConsistencyError

from .results import Results


def check_consistency(results: Results) -> None:
    """Raise `ConsistencyError` if a run's frames contradict each other."""
    problems: list[str] = []
    daily = results.daily
    if (daily["locked"] < 0).any():
        problems.append("a day has a negative number of locked devices")
    # One grouped sum per task, and only the metrics compared: this check runs after every run,
    # and at small sizes a day-by-day table per column and a full pivot cost more than the engine.
    summed = [c for c in ("newly_locked", "activations", "unlocked", "complaints") if c in daily]
    per_task = (
        daily.groupby(["variant", "replication"], observed=True)[summed].sum().add_prefix("daily_")
    )
    replicates = results.replicates
    overall = replicates[
        (replicates["group"] == "all")
        & replicates["metric"].isin(["users_affected", "activations", "complaints"])
    ]
    wide = overall.pivot(index=["variant", "replication"], columns="metric", values="value")
    joined = per_task.join(wide, how="outer")
    # A task with no activation at all has no daily rows: its daily totals are zero, not missing.
    joined[per_task.columns] = joined[per_task.columns].fillna(0.0)
    if not np.array_equal(joined["daily_newly_locked"], joined["users_affected"]):
        problems.append("daily new locks do not add up to users affected")
    if not np.array_equal(joined["daily_activations"], joined["activations"]):
        problems.append("daily activations do not add up to the activations metric")
    if "daily_complaints" in joined and not np.array_equal(
        joined["daily_complaints"], joined["complaints"]
    ):
        problems.append("daily complaints do not add up to the complaints metric")
    if (
        "daily_complaints" in joined
        and (joined["daily_complaints"] > joined["daily_newly_locked"]).any()
    ):
        problems.append("more complaints than locked users")
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
        locked = devices[devices["locked"].notna()]
        for variant, rows in locked.groupby("variant", observed=True):
            banned = results.scenario.variant(str(variant)).banned
            undetected = ~rows["detected"].astype(str).isin(banned)
            if undetected.any():
                problems.append(
                    f"{int(undetected.sum())} device(s) locked under {variant} without being "
                    "detected in a banned territory"
                )
    if problems:
        manifest = results.manifest
        raise ConsistencyError(
            "internal consistency check failed (a simlock bug; please report it with the scenario "
            f"hash {manifest.get('scenario_hash', '?')}, seed {manifest.get('seed', '?')} and "
            "simlock "
            f"{manifest.get('simlock_version', '?')}): " + "; ".join(problems)
        )

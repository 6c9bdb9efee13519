"""Cheap invariants that must hold for every run: counts conserved, nothing before activation,
unlocks after locks. A violation is a simlock bug, reported with the scenario hash."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simlock.errors import ConsistencyError

from .results import Results


def check_consistency(results: Results) -> None:
    """Raise `ConsistencyError` if a run's frames contradict each other."""
    problems: list[str] = []
    daily = results.daily
    if (daily["locked"] < 0).any():
        problems.append("a day has a negative number of locked devices")
    daily_total, metric = _task_totals(results)
    if not np.array_equal(daily_total["newly_locked"], metric["users_affected"]):
        problems.append("daily new locks do not add up to users affected")
    if not np.array_equal(daily_total["activations"], metric["activations"]):
        problems.append("daily activations do not add up to the activations metric")
    if "complaints" in daily_total:
        if not np.array_equal(daily_total["complaints"], metric["complaints"]):
            problems.append("daily complaints do not add up to the complaints metric")
        if (daily_total["complaints"] > daily_total["newly_locked"]).any():
            problems.append("more complaints than locked users")
    if (daily_total["unlocked"] > daily_total["newly_locked"]).any():
        problems.append("more unlocks than locks")
    devices = results.devices
    if not devices.empty:
        problems += _device_problems(results)
    if problems:
        manifest = results.manifest
        raise ConsistencyError(
            "internal consistency check failed (a simlock bug; please report it with the scenario "
            f"hash {manifest.get('scenario_hash', '?')}, seed {manifest.get('seed', '?')} and "
            "simlock "
            f"{manifest.get('simlock_version', '?')}): " + "; ".join(problems)
        )


SUMMED = ("newly_locked", "activations", "unlocked", "complaints")
"""The daily columns summed per task (complaints only when the run has them)."""

COMPARED = ("users_affected", "activations", "complaints")
"""The overall metrics those sums must equal."""


def _task_totals(results: Results) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per task (variant x replication, every task of either frame): each daily column's sum and
    each compared metric's overall value (NaN where the replicates lack it).

    A task with no activation at all has no daily rows: its sums are zero, not missing. Done with
    bincount on task codes rather than a pandas group-by, pivot and join: this check runs after
    every run, and at small sizes those cost more than the engine.
    """
    daily, replicates = results.daily, results.replicates
    overall = replicates[(replicates["group"] == "all") & replicates["metric"].isin(COMPARED)]
    names: dict[str, int] = {}
    daily_variant = _variant_codes(daily["variant"], names)
    metric_variant = _variant_codes(overall["variant"], names)
    daily_rep = daily["replication"].to_numpy(dtype=np.int64)
    metric_rep = overall["replication"].to_numpy(dtype=np.int64)
    width = int(max(daily_rep.max(initial=-1), metric_rep.max(initial=-1))) + 1
    daily_task, metric_task = daily_variant * width + daily_rep, metric_variant * width + metric_rep
    tasks = max(len(names) * width, 1)
    present = np.bincount(daily_task, minlength=tasks) + np.bincount(metric_task, minlength=tasks)
    keep = present > 0
    totals = {
        column: np.bincount(daily_task, weights=daily[column].to_numpy(float), minlength=tasks)[
            keep
        ]
        for column in SUMMED
        if column in daily
    }
    metrics = {}
    metric_names = overall["metric"].astype(str).to_numpy()
    values = overall["value"].to_numpy(dtype=float)
    for name in COMPARED:
        column = np.full(tasks, np.nan)
        rows = metric_names == name
        column[metric_task[rows]] = values[rows]
        metrics[name] = column[keep]
    return totals, metrics


def _variant_codes(column, names: dict[str, int]) -> np.ndarray:
    """Each row's variant as a code shared by both frames (`names`, filled as met)."""
    codes, uniques = pd.factorize(column)
    lookup = np.array([names.setdefault(str(u), len(names)) for u in uniques], dtype=np.int64)
    return lookup[codes] if codes.size else np.zeros(0, dtype=np.int64)


def _device_problems(results: Results) -> list[str]:
    """The device table's contradictions: an event before activation, an unlock without or
    before a lock, a lock of a device not detected in one of its variant's banned territories.
    In numpy on the columns (a check that runs after every run must not cost more than it)."""
    devices, problems = results.devices, []
    activated = devices["activated"].to_numpy()
    for column in ("warned", "locked", "unlocked", "appealed"):
        early = int(np.count_nonzero(devices[column].to_numpy() < activated))
        if early:
            problems.append(f"{early} device(s) {column} before activation")
    locked, unlocked = devices["locked"].to_numpy(), devices["unlocked"].to_numpy()
    bad_unlock = int(np.count_nonzero(~np.isnan(unlocked) & ~(unlocked >= locked)))
    if bad_unlock:
        problems.append(f"{bad_unlock} device(s) unlocked without or before a lock")
    variant, detected = (
        devices["variant"].astype("category"),
        devices["detected"].astype("category"),
    )
    allowed = np.zeros((len(variant.cat.categories), len(detected.cat.categories) + 1), dtype=bool)
    for v, name in enumerate(variant.cat.categories):
        banned = set(results.scenario.variant(str(name)).banned)
        allowed[v, :-1] = [str(d) in banned for d in detected.cat.categories]
    is_locked = ~np.isnan(locked)
    v_codes = variant.cat.codes.to_numpy()[is_locked]
    d_codes = detected.cat.codes.to_numpy()[is_locked]  # a missing belief (-1) is never allowed
    undetected = ~allowed[v_codes, d_codes]
    for v in np.unique(v_codes[undetected]):
        count = int(np.count_nonzero(undetected & (v_codes == v)))
        problems.append(
            f"{count} device(s) locked under {variant.cat.categories[v]} without being detected "
            "in a banned territory"
        )
    return problems

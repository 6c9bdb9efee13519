"""Shared helpers for the engine's tests: small scenarios, the engine's and the reference model's
per-device results in one shape, and the counts the statistical tests compare."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

import simlock
from simlock.model.engine import simulate_variant
from simlock.model.population import Population, generate
from simlock.scenario.merge import deep_merge
from simlock.scenario.models import Policy, Scenario

BASE: dict[str, Any] = {
    "name": "engine-test",
    "start": "2021-06-01",
    "end": "2021-07-31",
    "seed": 11,
    "replications": 1,
    "checkin": {"model": "periodic", "interval_days": 1.0, "jitter_days": 0.2},
    "regions": [
        {
            "id": "CU",
            "name": "Cuba",
            "activations": [{"from": "2021-06-01", "rate_per_day": 40}],
            "channels": {"grey_import": 0.8, "traveller": 0.2},
            "travellers_from": "US",
            "signals": {"local_sim_share": 1.0, "location_share": 0.5},
        },
        {
            "id": "RU",
            "name": "Russia",
            "activations": [{"from": "2021-06-01", "rate_per_day": 10}],
        },
    ],
    "policy": {
        "banned": ["CU"],
        "detection": {"signals": ["gps", "ip"], "rule": "any"},
        "lock_delay": {"distribution": "lognormal", "median_days": 4, "sigma": 0.5},
    },
}
"""A two-region world: Cuba (banned; grey imports and US travellers) and Russia (not banned)."""


def make_scenario(*overrides: dict[str, Any]) -> Scenario:
    """`BASE` with each mapping deep-merged over it in turn, validated."""
    data = copy.deepcopy(BASE)
    for override in overrides:
        data = deep_merge(data, override)
    return simlock.load_scenario(data)


def engine_frame(
    scenario: Scenario, policy: Policy, replication: int, population: Population | None = None
) -> pd.DataFrame:
    """The engine's result for one replication in the reference model's shape (one row per
    device, NaN for what never happened, names for causes and outcomes)."""
    devices = population if population is not None else generate(scenario, replication)
    result = simulate_variant(scenario, devices, policy, "baseline", replication)
    n = len(devices)
    idx = result.considered
    considered = np.zeros(n, dtype=bool)
    considered[idx] = True

    def spread(values: np.ndarray) -> np.ndarray:
        out = np.full(n, np.nan)
        out[idx] = np.where(np.isfinite(values), values, np.nan)
        return out

    names = np.array([*result.window_names, "none"], dtype=object)
    decided_by = np.full(n, "none", dtype=object)
    happened = np.isfinite(result.decided) & (result.decided_by >= 0)
    decided_by[idx[happened]] = names[result.decided_by[happened]]
    unlock_cause = np.full(n, "none", dtype=object)
    unlock_cause[idx] = np.array(result.unlock_causes, dtype=object)[result.unlock_cause]
    approved = np.zeros(n, dtype=bool)
    approved[idx] = result.appeal_approved
    return pd.DataFrame(
        {
            "device": np.arange(n),
            "region": devices.region,
            "channel": devices.channel,
            "cohort": devices.cohort,
            "detected": result.detected,
            "considered": considered,
            "activated": devices.activated,
            "decided": spread(result.decided),
            "warned": spread(result.warned),
            "locked": spread(result.locked),
            "unlocked": spread(result.unlocked),
            "appealed": spread(result.appealed),
            "appeal_started": spread(result.appeal_started),
            "appeal_closed": spread(result.appeal_closed),
            "decided_by": decided_by,
            "unlock_cause": unlock_cause,
            "appeal_approved": approved,
            "outcome": np.array(result.outcomes, dtype=object)[result.outcome],
        }
    )


def counts(frame: pd.DataFrame) -> dict[str, int]:
    """What the engine and the reference model must agree on: devices per outcome, warned,
    locked, and appeals filed, served, closed and approved, in one per-device frame."""
    outcome = frame["outcome"]
    return {
        "not_covered": int((outcome == "not_covered").sum()),
        "users_affected": int(frame["locked"].notna().sum()),
        "warned": int(frame["warned"].notna().sum()),
        "resolved_after_warning": int((outcome == "resolved_after_warning").sum()),
        "cancelled_by_lift": int((outcome == "cancelled_by_lift").sum()),
        "pending_at_end": int((outcome == "pending_at_end").sum()),
        "locked_at_end": int((outcome == "locked_at_end").sum()),
        "unlocked_by_lift": int((outcome == "unlocked_by_lift").sum()),
        "unlocked_by_appeal": int((outcome == "unlocked_by_appeal").sum()),
        "unlocked_by_custom_rom": int((outcome == "unlocked_by_custom_rom").sum()),
        "registered": int((outcome == "registered").sum()),
        "kept_before_registry": int((outcome == "kept_before_registry").sum()),
        "other_cohort": int((outcome == "other_cohort").sum()),
        "kept_before_phase": int((outcome == "kept_before_phase").sum()),
        "not_listed": int((outcome == "not_listed").sum()),
        "missed_by_list": int((outcome == "missed_by_list").sum()),
        "connected_before_list": int((outcome == "connected_before_list").sum()),
        "appeals_filed": int(frame["appealed"].notna().sum()),
        "appeals_served": int(frame["appeal_started"].notna().sum()),
        "appeals_closed": int(frame["appeal_closed"].notna().sum()),
        "appeals_approved": int(frame["appeal_approved"].sum()),
    }

"""The registry trigger (`policy.registry`): which considered devices are registered in time,
and when the grace of the others ends.

A device's grace begins at its first use (activation), or at the registry's `start` for a device
already active then (only with `retroactive`: otherwise such a device is kept); a device of a
channel in `exempt_for` begins it `exempt_for.days` after its first use, when its exemption
expires. Its user tries to register with probability `try_share`, at the beginning of the
grace; the registration completes `registration_delay` later and succeeds with probability
`success_share`. A device registered by the end of its grace (`grace_days` after it began) is
never locked; the others are decided `lock_delay` after the end of their grace.

So, for a device subject to the registry, with F the registration delay's distribution function
and g the grace,

    P(unregistered at the end of the grace) = 1 − p_try · p_success · F(g)
                                            = (1 − p_try) + p_try · ((1 − p_success)
                                              + p_success · e^(−g/m))   (exponential, mean m)

which `tests/test_registry.py` checks against the engine. Each device's draws (try, success,
delay) come from its own counter-based streams, the same in every variant.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from simlock.scenario.models import Registry

from .policy import delay_quantile
from .streams import Purpose, uniform

REGISTRY_OUTCOMES = ("registered", "kept_before_registry")
"""Outcomes a registry adds (after the engine's and the behaviours'): registered in time, and
active before a non-retroactive registry's start."""


@dataclass(frozen=True)
class RegistryFate:
    """What the registry makes of each considered device (arrays over them): `kept` (active
    before a non-retroactive registry), `registered` (in time), and `deadline`, the end of the
    grace of the others (`inf` where kept or registered)."""

    kept: np.ndarray
    registered: np.ndarray
    deadline: np.ndarray

    @property
    def unregistered(self) -> np.ndarray:
        """Devices the registry will lock (subject to the policy's windows and lift)."""
        return np.isfinite(self.deadline)


def registry_fate(
    registry: Registry,
    start_day: float | np.ndarray,
    activated: np.ndarray,
    exempt_for: np.ndarray,
    keys: np.ndarray,
    retroactive: np.ndarray | None = None,
) -> RegistryFate:
    """The registry's verdict on devices activated at `activated` (days), whose channel is
    exempt for a time where `exempt_for` holds; `start_day`: the registry's start (days). With
    cohort phases (`simlock.model.cohorts`), `start_day` is each device's (the later of the
    registry's start and its phase's) and `retroactive` each device's phase's rule."""
    if retroactive is None:
        retroactive = np.full(activated.size, registry.retroactive)
    kept = ~retroactive & (activated < start_day)
    first_use = activated
    if registry.exempt_for is not None:
        first_use = np.where(exempt_for, activated + registry.exempt_for.days, activated)
    begins = np.maximum(first_use, start_day)
    tries = uniform(keys, Purpose.REGISTRY_TRY) < registry.try_share
    succeeds = uniform(keys, Purpose.REGISTRY_SUCCESS) < registry.success_share
    delay = delay_quantile(registry.registration_delay, uniform(keys, Purpose.REGISTRY_DELAY))
    registered = ~kept & tries & succeeds & (delay <= registry.grace_days)
    deadline = np.where(kept | registered, np.inf, begins + registry.grace_days)
    return RegistryFate(kept, registered, deadline)


def start_day(registry: Registry, scenario_start: dt.date) -> float:
    """The registry's start in days from the run's start (0 when it has none)."""
    if registry.start is None:
        return 0.0
    return float((registry.start - scenario_start).days)

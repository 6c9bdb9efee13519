"""What the public saw: which locked users complained, and when.

Users affected are not users heard from. The record's facts about *where* (most complaints from
Cuba, none from Crimea reaching Russia's consumer watchdog) are facts about who spoke up, which
depends on media, connectivity and where one can complain as much as on how many were locked.

The observation model is deliberately simple: each locked user complains publicly, once, with
the probability `complaint_share` of the territory where the device was activated (where its
user lives), on the day the lock took effect. The probability does not grow with how long the
device stays locked: in 2021 the public wave (forum threads, the #UnlockXiaomi campaign) came
within days of the locks and the lift followed within days, so the record cannot tell a
duration effect from the territory's propensity, and a constant keeps the propensity one number
a calibration can learn. Each device's decision comes from its own counter-based draw
(`Purpose.COMPLAIN`), so a variant that locks the same device sees the same complaint: variants
differ in complaints only through whom they lock.
"""

from __future__ import annotations

import numpy as np

from simlock.scenario.models import Scenario

from .population import Population
from .streams import Purpose, uniform


def complaint_shares(scenario: Scenario, population: Population) -> np.ndarray:
    """Each region's complaint propensity, indexed by the population's region codes."""
    by_id = {region.id: region.complaint_share for region in scenario.regions}
    return np.array([by_id.get(r, 0.0) for r in population.codebook.regions], dtype=float)


def complaint_times(
    keys: np.ndarray, regions: np.ndarray, locked: np.ndarray, shares: np.ndarray
) -> np.ndarray:
    """When each device's user complained (its lock time), or `inf` if they did not.

    `keys`, `regions` (codes into `shares`) and `locked` (lock times, `inf` when never locked)
    are parallel columns over the same devices.
    """
    out = np.full(locked.shape, np.inf)
    was_locked = np.isfinite(locked)
    if not was_locked.any():
        return out
    u = uniform(keys[was_locked], Purpose.COMPLAIN)
    complains = u < shares[regions[was_locked]]
    rows = np.flatnonzero(was_locked)[complains]
    out[rows] = locked[rows]
    return out

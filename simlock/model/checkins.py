"""When a device next talks to the server: exact closed forms instead of simulated check-ins.

A command issued at time t takes effect at the device's first contact after t. Contacts are the
scheduled check-ins while the device is online, plus the check-in it makes when it comes back
from an offline spell. Online and offline alternate as a two-state Markov process (go offline at
rate r, come back at rate s = 1/mean spell), independent of the schedule. The engine asks only
for the first contact after t given that the device was online at an earlier contact t0 (the
activation, a delivered warning, a delivered lock), so:

* P(offline at t | online at t0) = r/(r+s) * (1 - exp(-(r+s)(t-t0))); if offline, the contact is
  the return, t + Exp(s).
* if online, the next scheduled check-in c races the time of going offline g = t + Exp(r); if
  g < c, the contact is the return g + Exp(s), otherwise c.

Scheduled check-ins are periodic (phase drawn per device, every `interval_days`, each shifted by
its own jitter, a fixed function of the device and the check-in's index, so the schedule is one
consistent sequence however often it is queried) or Poisson (memoryless, so a fresh exponential
is exact). The reference model in the tests simulates the same process check-in by check-in.
"""

from __future__ import annotations

import numpy as np

from simlock.scenario.models import CheckIn

from .streams import Purpose, exponential, uniform


def scheduled_checkin(
    model: CheckIn, activated: np.ndarray, keys: np.ndarray, k: np.ndarray
) -> np.ndarray:
    """Time of periodic check-in number `k` (0, 1, ...) of each device, in days."""
    return _checkin(model, activated, _phase(model, keys), keys, k)


def _phase(model: CheckIn, keys: np.ndarray) -> np.ndarray:
    """Each device's offset of its periodic schedule after its activation, days."""
    return uniform(keys, Purpose.PHASE) * model.interval_days


def _checkin(
    model: CheckIn, activated: np.ndarray, phase: np.ndarray, keys: np.ndarray, k: np.ndarray
) -> np.ndarray:
    jitter = model.jitter_days * (2.0 * uniform(keys, Purpose.JITTER, k) - 1.0)
    return activated + phase + k * model.interval_days + jitter


def next_scheduled(
    model: CheckIn, t: np.ndarray, activated: np.ndarray, keys: np.ndarray, purpose: int
) -> np.ndarray:
    """First scheduled check-in strictly after `t` (online or not).

    Check-in `k_low` is the first that can fall after `t`; where it does not, the next one does
    (jitter is less than half an interval), computed only for those devices.
    """
    if model.model == "poisson":
        return t + exponential(keys, purpose, 2, model.interval_days)
    tau, jitter = model.interval_days, model.jitter_days
    phase = _phase(model, keys)
    k_low = np.maximum(np.ceil((t - jitter - activated - phase) / tau), 0.0).astype(np.uint64)
    first = _checkin(model, activated, phase, keys, k_low)
    late = np.flatnonzero(~(first > t))
    if late.size:
        first[late] = _checkin(
            model, activated[late], phase[late], keys[late], k_low[late] + np.uint64(1)
        )
    return first


def next_contact(
    model: CheckIn,
    t: np.ndarray,
    online_at: np.ndarray,
    activated: np.ndarray,
    keys: np.ndarray,
    purpose: int,
) -> np.ndarray:
    """First contact after `t` of each device known to be online at time `online_at` <= t.

    `purpose` separates the draws of different queries (warning, lock, unlock) so each is
    independent yet identical across variants. Infinite `t` gives infinity.
    """
    finite = np.isfinite(t)
    t_safe = np.where(finite, t, online_at)
    scheduled = next_scheduled(model, t_safe, activated, keys, purpose)
    rate_off = model.offline_rate_per_day
    if rate_off > 0:
        rate_back = 1.0 / model.offline_mean_days
        total = rate_off + rate_back
        p_off = rate_off / total * (-np.expm1(-total * (t_safe - online_at)))
        offline_now = uniform(keys, purpose, 0) < p_off
        back = exponential(keys, purpose, 1, model.offline_mean_days)
        goes_off = t_safe + exponential(keys, purpose, 3, 1.0 / rate_off)
        contact = np.where(
            offline_now,
            t_safe + back,
            np.where(goes_off < scheduled, goes_off + back, scheduled),
        )
    else:
        contact = scheduled
    return np.where(finite, contact, np.inf)

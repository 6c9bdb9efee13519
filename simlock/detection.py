"""What the server believes: the territory it infers for each activation from the signals.

Ground truth (region, channel) stays in the population; this module only produces the server's
belief, so the report can count locks caused by detection errors apart from targeted ones.
"""

from __future__ import annotations

import numpy as np

from .population import NO_SIGNAL, Population
from .scenario import Detection


def infer_territory(
    population: Population, detection: Detection, banned_codes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return (detected territory code per device, detected-in-a-banned-territory mask).

    The detected territory is the banned territory the rule settled on when it found one;
    otherwise the first available signal in the rule's order (what the server would log).
    """
    signals = np.stack([_signal(population, name) for name in detection.signals])
    banned_lookup = np.zeros(len(population.codebook.territories) + 1, dtype=bool)
    banned_lookup[banned_codes] = True
    available = signals != NO_SIGNAL
    is_banned = banned_lookup[signals] & available  # NO_SIGNAL indexes the trailing False

    first_available = _first_where(signals, available)
    n = signals.shape[1]
    if detection.rule == "priority":
        detected = first_available
        hit = banned_lookup[detected]
    elif detection.rule == "any":
        hit = is_banned.any(axis=0)
        detected = np.where(hit, _first_where(signals, is_banned), first_available)
    elif detection.rule == "all":
        same = (signals == first_available) | ~available
        hit = available.any(axis=0) & same.all(axis=0) & banned_lookup[first_available]
        detected = first_available
    else:  # majority: more than half of the available signals name one banned territory
        n_available = available.sum(axis=0)
        hit = np.zeros(n, dtype=bool)
        detected = first_available.copy()
        for row in signals:
            agree = ((signals == row) & available).sum(axis=0)
            wins = (row != NO_SIGNAL) & banned_lookup[row] & (2 * agree > n_available) & ~hit
            detected[wins] = row[wins]
            hit |= wins
    return detected.astype(np.int16), hit


def _signal(population: Population, name: str) -> np.ndarray:
    return {"sim": population.sim, "ip": population.ip, "gps": population.gps}[name]


def _first_where(signals: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per device, the first signal (in rule order) where `mask` holds, else NO_SIGNAL."""
    index = mask.argmax(axis=0)
    picked = np.take_along_axis(signals, index[None, :], axis=0)[0]
    return np.where(mask.any(axis=0), picked, NO_SIGNAL).astype(np.int16)

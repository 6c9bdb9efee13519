"""What the server believes: the territory it infers for each activation from the signals.

Ground truth (region, channel) stays in the population; this module only produces the server's
belief, so the report can count locks caused by detection errors apart from targeted ones.

The inference is the same for every variant that shares a detection rule and a banned list, and
the belief is a function of the device's signals alone. So `infer_territory` applies the rule
once per combination of signals present (a few dozen, for millions of devices), and the engine
reuses one inference for all the variants of a replication that share it
(`cache.ReplicationCache.inference`).
"""

from __future__ import annotations

import numpy as np

from simlock.scenario.models import Detection

from .population import NO_SIGNAL, Population


def infer_territory(
    population: Population, detection: Detection, banned_codes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return (detected territory code per device, detected-in-a-banned-territory mask).

    The detected territory is the banned territory the rule settled on when it found one;
    otherwise the first available signal in the rule's order that names no banned territory, or
    NO_SIGNAL when every available signal names one (what the server would log as the place of
    activation: never a banned territory it did not act on, which would read as a detection).

    The belief depends on the device's signals alone, and millions of devices share a few dozen
    combinations of them: the rule is applied once per combination (every possible one when
    there are few territories, else those present), and each device looks its combination up
    (a few passes over the columns instead of the rule's many).
    """
    signals = [_signal(population, name) for name in detection.signals]
    banned_lookup = np.zeros(len(population.codebook.territories) + 1, dtype=bool)
    banned_lookup[banned_codes] = True  # NO_SIGNAL (-1) indexes the trailing False
    base = len(population.codebook.territories) + 1  # a code and NO_SIGNAL, shifted to 0..base-1
    combinations = base ** len(signals)
    width = np.uint16 if combinations <= 1 << 16 else np.int32 if combinations < 2**31 else np.int64
    combination = signals[0].astype(width)
    combination += 1
    for column in signals[1:]:
        combination *= width(base)
        combination += column.astype(width, copy=False)
        combination += 1
    if combinations <= _EVERY_COMBINATION:  # cheaper to settle them all than to find which occur
        present = np.arange(combinations)
        index = combination
    elif combinations <= _LOOKUP_LIMIT:
        present = np.flatnonzero(np.bincount(combination, minlength=combinations))
        index = combination
    else:  # too many territories for a dense table: number the combinations present
        present, index = np.unique(combination, return_inverse=True)
    digits = np.empty((len(signals), present.size), dtype=np.int16)
    rest = present.copy()
    for row in range(len(signals) - 1, -1, -1):
        digits[row] = rest % base - 1
        rest //= base
    detected_of, hit_of = _apply_rule(detection.rule, digits, banned_lookup)
    if index is combination and present.size < combinations:
        detected_table = np.full(combinations, NO_SIGNAL, dtype=np.int16)
        hit_table = np.zeros(combinations, dtype=bool)
        detected_table[present], hit_table[present] = detected_of, hit_of
        return detected_table[index], hit_table[index]
    return detected_of[index], hit_of[index]


_EVERY_COMBINATION = 1 << 16
"""Most combinations of signals the rule is applied to all at once (65,536: a few milliseconds),
whether or not a device has them; beyond it, only those present."""

_LOOKUP_LIMIT = 1 << 22
"""Most entries of a dense combination table (4 M: 32 MB of codes); beyond it the combinations
present are numbered by sorting, which is slower but needs no table."""


def _apply_rule(
    rule: str, signals: np.ndarray, banned_lookup: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The rule over a (signals x devices) matrix of territory codes: (detected, hit)."""
    available = signals != NO_SIGNAL
    is_banned = banned_lookup[signals] & available
    first_available = _first_where(signals, available)
    n = signals.shape[1]
    if rule == "priority":
        detected = first_available
        hit = banned_lookup[detected]
    elif rule == "any":
        hit = is_banned.any(axis=0)
        detected = np.where(hit, _first_where(signals, is_banned), first_available)
    elif rule == "all":
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
    # A device the rule did not act on is logged where an allowed signal places it ("all" and
    # "majority" can leave a banned first signal unacted on: a Cuban SIM outvoted by a VPN exit).
    allowed = _first_where(signals, available & ~is_banned)
    detected = np.where(hit, detected, allowed)
    return detected.astype(np.int16), hit


def _signal(population: Population, name: str) -> np.ndarray:
    return {"sim": population.sim, "ip": population.ip, "gps": population.gps}[name]


def _first_where(signals: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per device, the first signal (in rule order) where `mask` holds, else NO_SIGNAL."""
    index = mask.argmax(axis=0)
    picked = np.take_along_axis(signals, index[None, :], axis=0)[0]
    return np.where(mask.any(axis=0), picked, NO_SIGNAL).astype(np.int16)

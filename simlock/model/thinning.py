"""Which drawn devices any policy could ever decide: a replication that keeps no device table
needs only those, and counts the others.

Under a territory policy (no registry, device list or cohort rules), whether a window decides a
device depends on its activation time, its coverage draw and its lock delay, and on nothing
else the population draws: detection and exemptions only remove devices, and what follows a
decision (warnings, locks, appeals, unlocks) concerns decided devices alone. Those three are
known before a device's channel and signals are drawn: the time from its process's arrivals,
the two uniforms from its key (counter-based, as the engine draws them). So `decidable` applies
every variant's windows (the engine's rule, `policy.decide_in_window`) to every device first,
and a replication without a device table draws channels and signals only for the devices some
window of some variant would decide, were they detected: in the 2021 scenario about 5% of them.
The others end `not_targeted`, `exempt` or `not_covered` under every variant, which no metric
counts: they are counted per day and channel.

Whatever the policies, the decidable devices draw their channels and signals from the
process's streams and the others from streams of their own (`rest_stream`): so the decidable
devices, and every metric, are the same whether the others are drawn or not, and a policy's
rules (a registry, cohorts) do not change which devices draw from which stream. When every
device is decidable (windows covering everything), the split changes no draw at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from simlock.scenario.models import Delay, Policy, Scenario

from .policy import EnforcementWindow, delay_quantile, windows_in_days
from .streams import BLOCK, Purpose, coverage_uniform, uniform


@dataclass(frozen=True)
class Reach:
    """What could decide a device under the policies given: each distinct pair of windows and
    lock delay (`rules`), the most any window covers (`coverage`), and each policy's
    `signature`, by which a population refuses a policy it was not thinned for."""

    rules: tuple[tuple[tuple[EnforcementWindow, ...], Delay], ...]
    coverage: float
    signatures: frozenset[str]
    exact: bool
    """Whether leaving out the devices no rule decides changes no metric (`reach`)."""


def signature(policy: Policy) -> str:
    """What of a policy decides which devices a window can decide: its windows (or, without
    any, its coverage over the whole run) and its lock delay."""
    windows = [window.model_dump(mode="json") for window in policy.windows]
    return json.dumps([windows, policy.coverage, policy.lock_delay.model_dump(mode="json")])


def thinnable(policy: Policy) -> bool:
    """Whether the devices a window decides under `policy` depend on time, coverage and delay
    alone: not with a registry, a device list, cohorts or phases, or windows of some cohorts,
    whose rules concern every considered device."""
    return (
        policy.registry is None
        and policy.device_list is None
        and policy.cohorts is None
        and not policy.phases
        and all(window.cohorts is None for window in policy.windows)
    )


def reach(scenario: Scenario, policies: Iterable[Policy]) -> Reach:
    """The `Reach` of the policies' windows and lock delays. It is `exact` unless thinning
    would change a metric: a scenario with cohorts counts activations by cohort, and some
    policies' rules are not `thinnable`. An inexact reach still splits the signal streams
    (`generate`), so that a policy's rules do not change which devices draw from which."""
    policies = list(policies)
    exact = not scenario.cohorts and all(thinnable(p) for p in policies)
    rules: dict[str, tuple[tuple[EnforcementWindow, ...], Delay]] = {}
    for policy in policies:
        windows = tuple(windows_in_days(policy, scenario))
        rules.setdefault(signature(policy), (windows, policy.lock_delay))
    coverage = max((w.coverage for windows, _ in rules.values() for w in windows), default=0.0)
    return Reach(tuple(rules.values()), coverage, frozenset(rules), exact)


def decidable(known: Reach, activated: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Per device (activation times and keys), whether some window of some policy would decide
    it, were it detected in a banned territory and not exempt: the engine's own coverage and
    delay draws, and its window rule (`policy.decide_in_window`, as a mask: a covered device
    whose lock delay expires inside the window, or that activated within its look-back with a
    delay expired before it opened). Block by block (`streams.BLOCK` devices), so that the
    dozen passes over each block stay in the processor's cache."""
    out = np.zeros(keys.size, dtype=bool)
    for start in range(0, keys.size, BLOCK):
        stop = min(start + BLOCK, keys.size)
        out[start:stop] = _decidable_block(known, activated[start:stop], keys[start:stop])
    return out


def decide_with_keys(
    known: Reach, activated: np.ndarray, key_stream: np.random.Generator, keep_all: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a process's device keys from `key_stream` (full-range 64-bit integers, as one draw
    of them all would give) and decide which devices are `decidable`, block by block; return
    the mask, and every key (`keep_all`) or the decidable devices' only. A process that keeps
    only those never holds all its keys: fresh memory for millions of them cost as much as
    drawing them."""
    n = activated.size
    decided = np.zeros(n, dtype=bool)
    every_key = np.empty(n if keep_all else 0, dtype=np.uint64)
    kept: list[np.ndarray] = []
    for start in range(0, n, BLOCK):
        stop = min(start + BLOCK, n)
        keys = key_stream.integers(
            0, np.iinfo(np.uint64).max, size=stop - start, dtype=np.uint64, endpoint=True
        )
        block = _decidable_block(known, activated[start:stop], keys)
        decided[start:stop] = block
        if keep_all:
            every_key[start:stop] = keys
        else:
            kept.append(keys[block])
    if keep_all:
        return decided, every_key
    return decided, np.concatenate(kept) if kept else np.empty(0, dtype=np.uint64)


def _decidable_block(known: Reach, activated: np.ndarray, keys: np.ndarray) -> np.ndarray:
    u_coverage = coverage_uniform(keys)
    candidates = np.flatnonzero(u_coverage < known.coverage)
    u_coverage, activated = u_coverage[candidates], activated[candidates]
    u_delay = uniform(keys[candidates], Purpose.LOCK_DELAY)
    decided = np.zeros(candidates.size, dtype=bool)
    inside, scratch = np.empty_like(decided), np.empty_like(decided)
    for windows, lock_delay in known.rules:
        due = delay_quantile(lock_delay, u_delay)
        due += activated
        for window in windows:
            np.greater_equal(due, window.start, out=inside)
            np.less(due, window.end, out=scratch)
            inside &= scratch
            if window.lookback > 0:  # the sweep: activated within the look-back, due before
                np.less(due, window.start, out=scratch)
                scratch &= activated >= window.start - window.lookback
                inside |= scratch
            np.less(u_coverage, window.coverage, out=scratch)
            inside &= scratch
            decided |= inside
    out = np.zeros(keys.size, dtype=bool)
    out[candidates[decided]] = True
    return out


def rest_stream(stream: str) -> str:
    """The stream name of the devices no window can decide (`Draw.stream` plus a suffix no
    region id or channel name has)."""
    return f"{stream}/undecidable"

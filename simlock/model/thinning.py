"""Which drawn devices any policy could ever decide: a replication that keeps no device table
needs only those, and counts the others.

Under a territory policy (no registry, device list or cohort rules), whether a window decides a
device depends on its activation time, its coverage draw and its lock delay, and on nothing
else the population draws: detection and exemptions only remove devices, and what follows a
decision (warnings, locks, appeals, unlocks) concerns decided devices alone. Those three are
known before a device's signals are drawn: the time, and the two uniforms, from its process's
streams, one per device in order (`streams.Kind`). So `decidable` applies every
variant's windows (the engine's rule, `policy.decide_in_window`) to every device first, and a
replication without a device table keeps, and draws signals for, only the devices some window
of some variant would decide, were they detected: in the 2021 scenario about 5% of them. The
others end `not_targeted`, `exempt` or `not_covered` under every variant, which no metric
counts: they are counted per day and channel.

Every device of a process draws its time, key, channel and those two uniforms whether it is
kept or not, and a kept device's signals are counter-based draws on its key
(`streams.Purpose`): so the devices kept, and every metric, are the same whether the others are
drawn or not, and a device's draws are the same whatever the policies' parameters (common
random numbers across sweeps and searches).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from simlock.scenario.models import Delay, Policy, Scenario

from .policy import EnforcementWindow, delay_quantile, windows_in_days
from .streams import BLOCK


@dataclass(frozen=True)
class Rule:
    """One policy's windows and lock delay, with, for each window, the lock-delay draw below
    which the delay is shorter than the window's look-back (`short`; 0 without a look-back):
    a device activated before the look-back with such a delay is due before the window opens,
    so the window cannot decide it, and its delay need not be computed."""

    windows: tuple[EnforcementWindow, ...]
    lock_delay: Delay
    short: tuple[float, ...]

    @classmethod
    def of(cls, windows: tuple[EnforcementWindow, ...], lock_delay: Delay) -> Rule:
        return cls(windows, lock_delay, tuple(_below(lock_delay, w.lookback) for w in windows))


def _below(lock_delay: Delay, days: float) -> float:
    """The largest draw found (by bisection) whose delay is shorter than `days` (0 if none):
    every smaller draw's is too (delays rise with their draw)."""
    low, high = 0.0, 1.0
    if days <= 0 or delay_quantile(lock_delay, np.array([low]))[0] >= days:
        return 0.0
    for _ in range(60):
        middle = (low + high) / 2
        if delay_quantile(lock_delay, np.array([middle]))[0] < days:
            low = middle
        else:
            high = middle
    return low


@dataclass(frozen=True)
class Reach:
    """What could decide a device under the policies given: each distinct pair of windows and
    lock delay (`rules`), the most any window covers (`coverage`), and each policy's
    `signature`, by which a population refuses a policy it was not thinned for."""

    rules: tuple[Rule, ...]
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
    policies' rules are not `thinnable`; `generate` thins only by an exact reach."""
    policies = list(policies)
    exact = not scenario.cohorts and all(thinnable(p) for p in policies)
    rules: dict[str, Rule] = {}
    for policy in policies:
        key = signature(policy)
        if key not in rules:
            rules[key] = Rule.of(tuple(windows_in_days(policy, scenario)), policy.lock_delay)
    coverage = max((w.coverage for rule in rules.values() for w in rule.windows), default=0.0)
    return Reach(tuple(rules.values()), coverage, frozenset(rules), exact)


_MARGIN = 1e-6
"""Days added to a look-back when telling which devices activated before it: far more than a
rounding of an activation time plus a delay, far less than a day."""


def decidable(
    known: Reach, activated: np.ndarray, u_coverage: np.ndarray, u_delay: np.ndarray
) -> np.ndarray:
    """Per device (activation times, coverage and lock-delay draws), whether some window of
    some policy would decide it, were it detected in a banned territory and not exempt: the
    engine's window rule (`policy.decide_in_window`, as a mask: a covered device whose lock
    delay expires inside the window, or that activated within its look-back with a delay expired
    before it opened). Block by block (`streams.BLOCK` devices), so that the dozen passes over
    each block stay in the processor's cache."""
    out = np.zeros(activated.size, dtype=bool)
    for start in range(0, activated.size, BLOCK):
        part = slice(start, start + BLOCK)
        out[part] = _decidable_block(known, activated[part], u_coverage[part], u_delay[part])
    return out


def _decidable_block(
    known: Reach, activated: np.ndarray, u_coverage: np.ndarray, u_delay: np.ndarray
) -> np.ndarray:
    out = np.zeros(activated.size, dtype=bool)
    candidates = np.flatnonzero(u_coverage < known.coverage)
    u_coverage, activated = u_coverage[candidates], activated[candidates]
    u_delay = u_delay[candidates]
    decided = np.zeros(candidates.size, dtype=bool)
    for rule in known.rules:
        # Only a device some window covers before its end, and activated within its look-back
        # or with a delay at least as long, can be decided: its delay is computed, the others'
        # never are (most devices of a long run, for windows of a few days).
        needed = np.zeros(candidates.size, dtype=bool)
        for window, short in zip(rule.windows, rule.short, strict=True):
            covered = (u_coverage < window.coverage) & (activated < window.end)
            if short > 0:  # margin: a sum rounded up to the opening stays early enough
                covered &= (activated >= window.start - window.lookback - _MARGIN) | (
                    u_delay >= short
                )
            needed |= covered
        rows = np.flatnonzero(needed & ~decided)
        at = activated[rows]
        due = delay_quantile(rule.lock_delay, u_delay[rows])
        due += at
        inside, scratch = np.empty(rows.size, dtype=bool), np.empty(rows.size, dtype=bool)
        for window in rule.windows:
            np.greater_equal(due, window.start, out=inside)
            np.less(due, window.end, out=scratch)
            inside &= scratch
            if window.lookback > 0:  # the sweep: activated within the look-back, due before
                np.less(due, window.start, out=scratch)
                scratch &= at >= window.start - window.lookback
                inside |= scratch
            np.less(u_coverage[rows], window.coverage, out=scratch)
            inside &= scratch
            decided[rows[inside]] = True
    out[candidates[decided]] = True
    return out

"""The lock policy's rules as pure functions over device columns.

Nothing here knows about time advancing: each function maps device arrays (times in days from
the scenario start) to decisions. The engine calls them in the order of the policy's timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtri

from simlock.scenario.models import Delay, Policy, Scenario

if TYPE_CHECKING:
    from .population import Population


def delay_quantile(delay: Delay, u: np.ndarray) -> np.ndarray:
    """Inverse CDF of a delay distribution at uniforms `u`: the same `u` gives each variant's
    delay for the same person (common random numbers), days."""
    kind = delay.distribution
    if kind == "fixed":
        return np.full(u.shape, delay.days)
    if kind == "uniform":
        return delay.low_days + u * (delay.high_days - delay.low_days)
    if kind == "exponential":
        return -delay.mean_days * np.log1p(-u)
    if kind == "lognormal":
        return delay.median_days * np.exp(delay.sigma * ndtri(u))
    values = np.asarray(delay.values_days, dtype=float)
    weights = (
        np.ones_like(values) if delay.weights is None else np.asarray(delay.weights, dtype=float)
    )
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order]) / weights.sum()
    index = np.minimum(np.searchsorted(cumulative, u, side="right"), len(values) - 1)
    return values[order][index]


def exempt(population: Population, policy: Policy, banned_codes: np.ndarray) -> np.ndarray:
    """Devices the policy never locks: SIM from an allowed country, or an exempted channel."""
    return exempt_among(population, policy, banned_codes, np.arange(len(population)))


def exempt_among(
    population: Population, policy: Policy, banned_codes: np.ndarray, devices: np.ndarray
) -> np.ndarray:
    """`exempt` for the devices at indices `devices` only (the engine asks about the few devices
    detected in a banned territory, not the whole world)."""
    mask = np.zeros(devices.size, dtype=bool)
    rules = policy.exemptions
    if rules.allowed_sim:
        mask |= ~np.isin(population.sim[devices], banned_codes)
    if rules.channels:
        codes = [i for i, c in enumerate(population.codebook.channels) if c in rules.channels]
        mask |= np.isin(population.channel[devices], codes)
    return mask


def target_channels(population: Population, policy: Policy) -> np.ndarray:
    """Codes (`Codebook.channels`) of the channels the policy targets; a target channel no region
    has (only the default can be one: the scenario refuses others) has no code."""
    channels = population.codebook.channels
    return np.array(
        [channels.index(name) for name in policy.targets.channels if name in channels],
        dtype=np.int64,
    )


@dataclass(frozen=True)
class EnforcementWindow:
    """A window in days from the start; the implicit whole-run window has name `always`."""

    name: str
    start: float
    end: float
    coverage: float
    lookback: float


def windows_in_days(policy: Policy, scenario: Scenario) -> list[EnforcementWindow]:
    """The policy's windows in days; without windows, one window over the whole run."""
    if not policy.windows:
        return [EnforcementWindow("always", 0.0, scenario.days, policy.coverage, 0.0)]
    return [
        EnforcementWindow(
            w.name,
            float((w.start - scenario.start).days),
            float((w.end - scenario.start).days),
            w.coverage,
            w.lookback_days,
        )
        for w in policy.windows
    ]


def lift_day(policy: Policy, scenario: Scenario) -> float:
    """The day of the policy's lift (days from the start), or infinity when it never lifts."""
    if policy.lift is None:
        return np.inf
    return float((policy.lift.date - scenario.start).days)


def decide_in_window(
    window: EnforcementWindow, activated: np.ndarray, due: np.ndarray, u_coverage: np.ndarray
) -> np.ndarray:
    """Decision time each device gets from one window, or infinity.

    A device is covered when its coverage draw is below the window's coverage (staged rollout:
    the same draw in every window, so a device covered at 5% is covered at 60%). A covered device
    is decided when its lock delay expires inside the window; one whose delay expired before the
    window opened, but activated within the look-back, is decided at the opening (the sweep).
    """
    covered = u_coverage < window.coverage
    inside = (due >= window.start) & (due < window.end)
    swept = (
        (due < window.start) & (activated >= window.start - window.lookback) & (window.lookback > 0)
    )
    when = np.where(inside, due, np.where(swept, window.start, np.inf))
    return np.where(covered, when, np.inf)


def fcfs_desk_start(arrivals: np.ndarray, agents: int, service_days: float) -> np.ndarray:
    """Service start times of a first-come-first-served desk with `agents` parallel servers and a
    fixed service time, for arrivals sorted ascending.

    With equal service times the n-th case starts when the (n-agents)-th case ends, so
    start[n] = max(arrival[n], start[n-agents] + service): each residue class modulo `agents`
    is a single-server queue, whose starts are m*s + running max of (arrival[j] - j*s). That sum
    can round a start a few ulps below its own arrival, hence the final maximum with it.
    """
    starts = np.empty_like(arrivals)
    for lane in range(min(agents, arrivals.size)):
        lane_arrivals = arrivals[lane::agents]
        steps = np.arange(lane_arrivals.size) * service_days
        queued = steps + np.maximum.accumulate(lane_arrivals - steps)
        starts[lane::agents] = np.maximum(queued, lane_arrivals)
    return starts

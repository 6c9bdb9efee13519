"""When a window decides devices activated before it opens, and how much that is likely to weigh.

A lock delay counts from activation, and a window decides every covered device whose delay ends
inside it, whenever that device was activated. So a window reaches back by the length of the
delay: with a 30-day delay, a window opening on 1 September locks phones activated in early
August. A look-back (`lookback_days`) reaches back on purpose, sweeping at the opening devices
activated within it whose delay had already ended; what the delay reaches beyond the look-back is
the accident this module estimates, for the report's words and the loader's warnings.

The estimate assumes what the scenario says of activations (the summed piecewise rates of the
banned regions, which give nearly all the devices a policy decides) and ignores what other
windows decide first; it is plain Python, since the scenario layer loads without numpy.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Delay, Policy, Scenario

LIKELY_SHARE = 0.10
"""A window whose decisions are estimated to include at least this share of devices activated
before it opens (and before its look-back) gets a warning."""

REACH_QUANTILE = 0.99
"""How far back a window reaches, in words: the delay's 99th percentile (a lognormal or
exponential delay has no maximum)."""

_POINTS = 200
"""Quantile points over which the estimate averages the delay (midpoints of equal steps)."""


def delay_quantile(delay: Delay, u: float) -> float:
    """The delay (days) at probability `u`: the same inverse CDF as the engine's
    `simlock.model.policy.delay_quantile`, one value at a time."""
    kind = delay.distribution
    if kind == "fixed":
        return delay.days
    if kind == "uniform":
        return delay.low_days + u * (delay.high_days - delay.low_days)
    if kind == "exponential":
        return -delay.mean_days * math.log1p(-u)
    if kind == "lognormal":
        return delay.median_days * math.exp(delay.sigma * NormalDist().inv_cdf(u))
    weights = delay.weights or [1.0] * len(delay.values_days)
    pairs = sorted(zip(delay.values_days, weights, strict=True), key=lambda pair: pair[0])
    total = sum(weight for _, weight in pairs)
    cumulative = 0.0
    for value, weight in pairs:
        cumulative += weight
        if u < cumulative / total:
            return value
    return pairs[-1][0]


def reach_days(delay: Delay) -> float:
    """How many days before a window opens its delay reaches (`REACH_QUANTILE` of the delay)."""
    return delay_quantile(delay, REACH_QUANTILE)


@dataclass(frozen=True)
class WindowReach:
    """What one window decides of devices activated before it opens.

    `before_share`: estimated share of the window's decisions that are devices activated before
    its opening and its look-back, whose delay ends inside it (NaN when the window is expected to
    decide nothing); `reach_days`: how far before the opening such devices were activated (the
    delay's `REACH_QUANTILE`, at most back to the run's start)."""

    name: str
    start: dt.date
    lookback_days: float
    before_share: float
    reach_days: float

    @property
    def likely(self) -> bool:
        return self.before_share >= LIKELY_SHARE


class _Arrivals:
    """Cumulative activations of the banned regions from the run's start, in devices (piecewise
    linear in days)."""

    def __init__(self, scenario: Scenario, policy: Policy) -> None:
        banned = set(policy.banned)
        days = scenario.days
        changes: dict[float, float] = {}
        for region in scenario.regions:
            if region.id not in banned:
                continue
            previous = 0.0
            for segment in region.activations:
                day = float((segment.from_ - scenario.start).days)
                changes[day] = changes.get(day, 0.0) + segment.rate_per_day - previous
                previous = segment.rate_per_day
        self.times = [0.0]
        self.totals = [0.0]
        self.rates = [0.0]
        rate = 0.0
        for day in sorted(changes):
            self._extend(day, rate)
            rate += changes[day]
            self.rates[-1] = rate
        self._extend(days, rate)
        self.end = days

    def _extend(self, day: float, rate: float) -> None:
        if day > self.times[-1]:
            self.totals.append(self.totals[-1] + rate * (day - self.times[-1]))
            self.times.append(day)
            self.rates.append(rate)

    def __call__(self, t: float) -> float:
        """Devices activated before day `t`."""
        t = min(max(t, 0.0), self.end)
        i = bisect.bisect_right(self.times, t) - 1
        return self.totals[i] + self.rates[i] * (t - self.times[i])

    def between(self, low: float, high: float) -> float:
        return max(0.0, self(high) - self(low))


def window_reaches(scenario: Scenario, policy: Policy) -> list[WindowReach]:
    """For each of the policy's windows (none without windows: enforcement then starts with the
    run, before any activation), what it decides of devices activated before it opens."""
    if not policy.windows:
        return []
    arrivals = _Arrivals(scenario, policy)
    delays = [delay_quantile(policy.lock_delay, (k + 0.5) / _POINTS) for k in range(_POINTS)]
    out: list[WindowReach] = []
    for window in policy.windows:
        s = float((window.start - scenario.start).days)
        e = float((window.end - scenario.start).days)
        lookback = window.lookback_days
        decided = before = 0.0
        for d in delays:
            decided += arrivals.between(s - d, e - d)  # delay ends inside the window
            if lookback > 0:
                decided += arrivals.between(s - lookback, s - d)  # swept at the opening
            before += arrivals.between(s - d, min(s - lookback, e - d))
        share = before / decided if decided > 0 else math.nan
        # No device is activated before the run: a window reaches back to its start at most.
        reach = min(reach_days(policy.lock_delay), s)
        out.append(WindowReach(window.name, window.start, lookback, share, reach))
    return out


def reach_warnings(scenario: Scenario, policy: Policy, where: str) -> list[str]:
    """Loader warnings for the windows of `policy` (at `where`: `policy` or `variants.NAME`) whose
    decisions likely include devices activated before they open, by accident of the delay."""
    out: list[str] = []
    for reach in window_reaches(scenario, policy):
        if not reach.likely:
            continue
        before = (
            f"more than {reach.lookback_days:g} days (its look-back) before it opens"
            if reach.lookback_days
            else "before it opens"
        )
        out.append(
            f"{where}.lock_delay: window {reach.name!r} (opening {reach.start}) also locks devices "
            f"activated {before}, because their lock delay ends inside it: an estimated "
            f"{reach.before_share:.0%} of its decisions, activated up to {reach.reach_days:.0f} "
            "days before it opens (a lock delay counts from activation, so a window decides every "
            "covered device whose delay ends inside it, however long before the opening it was "
            "activated)"
        )
    return out

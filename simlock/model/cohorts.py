"""Device cohorts (`simlock.scenario.cohorts`): each device's cohort, drawn with the population,
and what a policy's cohorts and phases make of the devices it considers.

The cohort is drawn per device from its own stream (`Kind.COHORTS`, per region and replication):
one uniform per device, turned into a cohort by the shares of the device's channel
(`cohorts_by_channel`) or of its region. A scenario without cohorts draws nothing, and no other
stream moves, so every other draw is what it was before cohorts existed.

The engine's `cohorts` step (`cohort_fate`) then settles, for each considered device: whether
the policy reaches its cohort at all (`policy.cohorts`, and with phases, a phase naming it), the
day it becomes subject (its phase's `from`; the run's start without phases), and whether it is
kept for being active before a phase that is not retroactive.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from simlock.scenario.cohorts import phase_retroactive
from simlock.scenario.models import Policy, Region, Scenario

from .streams import Kind, generator

if TYPE_CHECKING:
    from .population import Codebook

NO_COHORT = -1
"""Cohort code of a device whose region (and channel) gives no cohort shares."""

COHORT_OUTCOMES = ("other_cohort", "kept_before_phase")
"""Outcomes cohort rules add (after the engine's, the behaviours' and a registry's): a device
of a cohort the policy does not reach, and one active before its phase when the phase is not
retroactive (with a registry, such a device is the registry's `kept_before_registry`)."""


def draw_cohorts(
    scenario: Scenario,
    book: Codebook,
    replication: int,
    channel: np.ndarray,
    counts: list[int],
) -> np.ndarray:
    """Each device's cohort code (int16), region by region (`counts` devices each, in order)."""
    out = np.full(channel.size, NO_COHORT, dtype=np.int16)
    if not scenario.cohorts:
        return out
    offset = 0
    for region, n in zip(scenario.regions, counts, strict=True):
        part = slice(offset, offset + n)
        offset += n
        if n and (region.cohorts is not None or region.cohorts_by_channel):
            _draw_region(scenario, region, book, replication, channel[part], out[part])
    return out


def _draw_region(
    scenario: Scenario,
    region: Region,
    book: Codebook,
    replication: int,
    channel: np.ndarray,
    out: np.ndarray,
) -> None:
    u = generator(scenario.seed, replication, region.id, Kind.COHORTS).random(channel.size)
    for name in region.channels:
        shares = region.cohorts_by_channel.get(name, region.cohorts)
        if shares is None:
            continue
        of_channel = channel == book.channels.index(name)
        codes = np.array([book.cohorts.index(c) for c in shares], dtype=np.int16)
        weights = np.array(list(shares.values()), dtype=float)
        cumulative = np.cumsum(weights) / weights.sum()
        pick = np.searchsorted(cumulative, u[of_channel], side="right")
        out[of_channel] = codes[np.minimum(pick, codes.size - 1)]


def cohort_codes(book: Codebook, names: list[str] | None) -> np.ndarray | None:
    """The codes of cohort names (None for None: every cohort)."""
    if names is None:
        return None
    return np.array([book.cohorts.index(n) for n in names if n in book.cohorts], dtype=np.int16)


@dataclass(frozen=True)
class CohortFate:
    """What the policy's cohort rules make of each considered device (arrays over them):
    `outside` (a cohort the policy does not reach), `kept` (active before its phase, which is
    not retroactive), `subject_from` (the day it becomes subject, days from the run's start) and
    `retroactive` (whether its phase reaches devices active before it)."""

    outside: np.ndarray
    kept: np.ndarray
    subject_from: np.ndarray
    retroactive: np.ndarray


def cohort_fate(
    policy: Policy,
    scenario_start: dt.date,
    book: Codebook,
    cohort: np.ndarray,
    activated: np.ndarray,
) -> CohortFate | None:
    """The cohort rules' verdict on devices of cohorts `cohort` activated at `activated`; None
    when the policy has neither cohorts nor phases (every device is subject from the start)."""
    if policy.cohorts is None and not policy.phases:
        return None
    outside = np.zeros(cohort.size, dtype=bool)
    reached = cohort_codes(book, policy.cohorts)
    if reached is not None:
        outside |= ~np.isin(cohort, reached)
    subject_from = np.zeros(cohort.size)
    retroactive = np.ones(cohort.size, dtype=bool)
    if policy.phases:
        in_phase = np.zeros(cohort.size, dtype=bool)
        named = [c for phase in policy.phases for c in phase.cohorts or []]
        for phase in policy.phases:
            if phase.cohorts is None:  # every cohort no other phase names, and no cohort
                members = ~np.isin(cohort, cohort_codes(book, named))
            else:
                members = np.isin(cohort, cohort_codes(book, phase.cohorts))
            in_phase |= members
            subject_from[members] = float((phase.from_ - scenario_start).days)
            retroactive[members] = phase_retroactive(phase, policy)
        outside |= ~in_phase
    kept = ~outside & ~retroactive & (activated < subject_from)
    return CohortFate(outside, kept, subject_from, retroactive)


def window_members(
    policy: Policy, index: int, book: Codebook, cohort: Callable[[], np.ndarray]
) -> np.ndarray | None:
    """Which devices (of the cohorts `cohort()` gives, asked only when the window names
    cohorts) the policy's window `index` may decide; None: all."""
    if not policy.windows:
        return None
    codes = cohort_codes(book, policy.windows[index].cohorts)
    return None if codes is None else np.isin(cohort(), codes)

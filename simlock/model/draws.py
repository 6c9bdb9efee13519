"""What a replication draws device by device, and what it only counts.

A device whose signals can name no territory any policy bans is never considered by any
variant: every detection rule either acts on a banned territory one of the device's signals
names or places it where an allowed signal does (`detection.infer_territory`), and every trigger
(territory, registry, device list, cohorts) acts only on devices detected in a banned
territory. Such devices end `not_targeted` under every variant, and all a run needs of them is
how many activated each day, through each channel. So `plan` splits a scenario's regions into
draws:

* a region no policy can touch is counted, not drawn (in the 2021 scenario: Russia and mainland
  Ukraine, half of the activations);
* a region some of whose channels no policy can touch (Spain's official sales, when only its
  Cuban travellers can be placed in a banned territory) is split by channel: each channel is its
  own Poisson process at the region's rate times its share (marking the activations of one
  Poisson process by independent channels gives independent processes), with its own streams;
  the untouched channels are counted and the others drawn, their channel known;
* every other region is drawn as one process, each device's channel drawn.

A region with cohort shares is always drawn as one: its devices' cohorts are drawn one by one.

Whether the untouched parts are counted (`count_untouched`) changes nothing else: the split is
the same either way, so the devices drawn are the same, and a counted part's Poisson totals are
those its drawn devices would have.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from simlock.scenario.models import CHANNEL_TRAVELLER, Policy, Region, Scenario

from .streams import Kind, generator

if TYPE_CHECKING:
    from .population import Codebook


@dataclass(frozen=True)
class Draw:
    """One Poisson process of activations: a region's (`channel` None: every channel, each
    device's drawn) or one channel's of a split region, at `share` of the region's rate.
    `stream` names its random streams (`streams.generator`); `counted`: counted, not drawn,
    and then `reach` holds the territories its devices' signals can name."""

    code: int
    region: Region
    channel: str | None
    stream: str
    share: float
    counted: bool
    reach: frozenset[str]

    @property
    def label(self) -> str:
        """How a message names it: the region, with its channel when split."""
        return self.region.id if self.channel is None else f"{self.region.id} ({self.channel})"


def signal_territories(region: Region, channel: str | None = None) -> frozenset[str]:
    """Every territory a device of `region` (of `channel`; None: any) can be placed in by any of
    its signals, whatever the shares: the region itself (SIM, IP, GPS), a foreign SIM's
    country, where its addresses geolocate, the VPN exit, and for travellers their home (SIM
    and roaming IP)."""
    profile = region.signals
    names = {region.id, profile.vpn_exit}
    names.update(n for n in (profile.sim_otherwise, profile.ip_reports) if n is not None)
    if channel is None:
        has_travellers = CHANNEL_TRAVELLER in region.channels
    else:
        has_travellers = channel == CHANNEL_TRAVELLER
    if has_travellers and region.travellers_from is not None:
        names.add(region.travellers_from)
    return frozenset(names)


def plan(scenario: Scenario, policies: Iterable[Policy], count_untouched: bool) -> list[Draw]:
    """The draws of a replication, region by region in the scenario's order."""
    banned = {code for policy in policies for code in policy.banned}
    draws: list[Draw] = []
    for code, region in enumerate(scenario.regions):
        has_cohorts = region.cohorts is not None or bool(region.cohorts_by_channel)
        whole = signal_territories(region)
        if has_cohorts or not whole & banned:
            counted = count_untouched and not has_cohorts and not whole & banned
            draws.append(Draw(code, region, None, region.id, 1.0, counted, whole))
            continue
        reach = {name: signal_territories(region, name) for name in region.channels}
        if all(names & banned for names in reach.values()):
            draws.append(Draw(code, region, None, region.id, 1.0, False, whole))
            continue
        total = sum(region.channels.values())
        for name, share in region.channels.items():
            counted = count_untouched and not reach[name] & banned
            stream = f"{region.id}/{name}"  # no region id has a slash
            draws.append(Draw(code, region, name, stream, share / total, counted, reach[name]))
    return draws


def untouched_regions(scenario: Scenario, policies: Iterable[Policy]) -> dict[str, frozenset[str]]:
    """What `plan` counts (a region, or a split region's channel, by `Draw.label`), with the
    territories its devices' signals can name."""
    return {d.label: d.reach for d in plan(scenario, policies, True) if d.counted}


def segments(scenario: Scenario, activations: list) -> list[tuple[float, float, float]]:
    """(start, end, rate per day) of each non-empty segment of piecewise-constant rates, in days
    from the scenario's start."""
    bounds = [float((seg.from_ - scenario.start).days) for seg in activations] + [scenario.days]
    return [
        (bounds[i], bounds[i + 1], seg.rate_per_day)
        for i, seg in enumerate(activations)
        if bounds[i + 1] > bounds[i]
    ]


def arrival_times(
    scenario: Scenario, draw: Draw, replication: int, scale: float
) -> list[np.ndarray]:
    """Activation times of one drawn process, segment by segment, each sorted (days)."""
    arrivals = generator(scenario.seed, replication, draw.stream, Kind.ARRIVALS)
    times = []
    for start, end, rate in segments(scenario, draw.region.activations):
        count = arrivals.poisson(rate * draw.share * scale * (end - start))
        segment = arrivals.uniform(start, end, size=count)
        segment.sort()
        times.append(segment)
    return times


def count_counted(
    scenario: Scenario, book: Codebook, replication: int, scale: float, draws: Sequence[Draw]
) -> np.ndarray:
    """Activations per day (rows) and region x channel group (columns, region-major) of the
    counted draws; (0, 0) when there are none.

    Each segment's count is the Poisson draw `arrival_times` makes from the same stream, which
    then moves past the uniforms the drawn path would take (so every later segment's count is
    the same too). The activations fall on the segment's days uniformly (a multinomial split by
    each day's overlap with the segment), then, for a whole region, on channels by their shares,
    from the draw's own stream for counts (`Kind.COUNTS`).
    """
    counted_draws = [draw for draw in draws if draw.counted]
    if not counted_draws:
        return np.zeros((0, 0), dtype=np.int64)
    days = int(scenario.days)
    n_channels = len(book.channels)
    counted = np.zeros((days, len(book.regions) * n_channels), dtype=np.int64)
    edges = np.arange(days + 1, dtype=float)
    for draw in counted_draws:
        arrivals = generator(scenario.seed, replication, draw.stream, Kind.ARRIVALS)
        split = generator(scenario.seed, replication, draw.stream, Kind.COUNTS)
        per_day = np.zeros(days, dtype=np.int64)
        for start, end, rate in segments(scenario, draw.region.activations):
            count = arrivals.poisson(rate * draw.share * scale * (end - start))
            arrivals.bit_generator.advance(count)  # one 64-bit draw per uniform time
            overlap = np.clip(np.minimum(edges[1:], end) - np.maximum(edges[:-1], start), 0, None)
            per_day += split.multinomial(count, overlap / overlap.sum())
        names = list(draw.region.channels) if draw.channel is None else [draw.channel]
        columns = draw.code * n_channels + np.array([book.channels.index(c) for c in names])
        if len(names) == 1:
            counted[:, columns[0]] += per_day
            continue
        shares = np.array([draw.region.channels[c] for c in names], dtype=float)
        counted[:, columns] += split.multinomial(per_day, shares / shares.sum())
    return counted

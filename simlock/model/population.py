"""Who activates where and when, through which channel, and what their signals say.

Activations follow each region's piecewise-constant rate (a non-homogeneous Poisson process):
the count in a segment is Poisson, the times uniform within it. Devices are held as columns
(numpy arrays), never as objects, so millions fit in a few hundred megabytes.

Signals are drawn once per device and shared by every variant: SIM country (the region unless
the SIM is foreign; a traveller's SIM is from home), IP country (a VPN exit; a traveller's home
network when roaming, or the region when on local Wi-Fi; otherwise where the region's addresses
geolocate) and GPS (the true region when location services are on, otherwise unavailable).

A region that no policy of the scenario can touch is counted, not drawn (`untouched_regions`):
when neither the region nor any territory its signals can name is banned by any variant, every
detection rule places its devices outside the banned territories, so no policy ever considers
them and the only thing the run needs of them is how many activated each day, through each
channel (`Population.counted`). In the 2021 scenario that is Russia and mainland Ukraine, half of
the activations.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from simlock.scenario.models import CHANNEL_TRAVELLER, Policy, Region, Scenario

from .cohorts import NO_COHORT, draw_cohorts
from .streams import Kind, generator

if TYPE_CHECKING:
    from .cache import ReplicationCache

NO_SIGNAL = -1
"""Code of a signal the server does not get (GPS with location services off)."""


@dataclass(frozen=True)
class Codebook:
    """Names behind the integer codes used in the device columns."""

    territories: tuple[str, ...]
    regions: tuple[str, ...]
    channels: tuple[str, ...]
    cohorts: tuple[str, ...] = ()
    """The scenario's cohorts (`Population.cohort` codes index them; `NO_COHORT`: none)."""

    @classmethod
    def for_scenario(cls, scenario: Scenario, policies: Iterable[Policy] | None = None) -> Codebook:
        """Every territory any signal, region or policy can name, in a fixed order.

        `policies` are every variant's resolved policy (`Scenario.policies()`, resolved here when
        not given): all of them, so that the codes do not depend on which variants run.
        """
        names: list[str] = []

        def add(code: str | None) -> None:
            if code is not None and code not in names:
                names.append(code)

        for region in scenario.regions:
            add(region.id)
        for region in scenario.regions:
            add(region.signals.sim_otherwise)
            add(region.signals.vpn_exit)
            add(region.signals.ip_reports)
            add(region.travellers_from)
        for policy in scenario.policies().values() if policies is None else policies:
            for code in policy.banned:
                add(code)
        channels: list[str] = []
        for region in scenario.regions:
            for channel in region.channels:
                if channel not in channels:
                    channels.append(channel)
        return cls(
            tuple(names),
            tuple(r.id for r in scenario.regions),
            tuple(channels),
            tuple(scenario.cohorts),
        )

    def territory_code(self, name: str) -> int:
        return self.territories.index(name)

    def codes(self, names: Iterable[str]) -> np.ndarray:
        """The territory codes of `names`, in their order (int16, as in the signal columns): a
        policy's banned list as the engine, detection and tables compare it with devices."""
        return np.array([self.territory_code(name) for name in names], dtype=np.int16)

    @cached_property
    def region_territories(self) -> np.ndarray:
        """The territory code of each region, indexed by region code (read-only): where a
        device was activated, as a territory."""
        codes = self.codes(self.regions)
        codes.flags.writeable = False
        return codes


@dataclass
class Population:
    """The devices of one replication, as columns. Times are days from the scenario start.

    The columns are read-only once the population exists: every variant of the replication
    reads them, and `cache` keeps values computed from them. A Population compares by identity.
    """

    activated: np.ndarray  # float64, days
    region: np.ndarray  # int16 index into codebook.regions
    channel: np.ndarray  # int16 index into codebook.channels
    sim: np.ndarray  # int16 territory code
    ip: np.ndarray  # int16 territory code
    gps: np.ndarray  # int16 territory code or NO_SIGNAL
    key: np.ndarray  # uint64, seeds every per-device draw
    codebook: Codebook
    cohort: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int16))
    """int16 index into codebook.cohorts, or NO_COHORT (`simlock.model.cohorts`); a population
    built without it (a scenario without cohorts) has every device in no cohort."""
    counted: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    """Activations per day (rows) and region x channel group (columns, region-major, as
    `analysis.tables.daily_activations`) of the untouched regions' devices, which are counted
    instead of drawn; (0, 0) when every device is drawn."""
    untouchable: dict[str, frozenset[str]] = field(default_factory=dict)
    """Each counted region, with the territories its devices' signals can name: a policy that
    bans none of them cannot touch it (`check_policy`)."""
    drawn_per_day: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))
    """Activations per day and region x channel group of the drawn devices, as `counted`,
    taken while they are drawn (`generate`); (0, 0) for a population built column by column,
    whose columns `analysis.tables.daily_activations` then counts."""
    cache: ReplicationCache = field(init=False, repr=False, compare=False)
    """What the replication's variants share (detections, personal draws, daily counts)."""

    def __post_init__(self) -> None:
        from .cache import ReplicationCache  # the cache computes with modules that need us

        if self.cohort.size != self.activated.size:
            self.cohort = np.full(self.activated.size, NO_COHORT, dtype=np.int16)
        for column in (*self.columns(), self.counted, self.drawn_per_day):
            column.flags.writeable = False
        self.cache = ReplicationCache(self)

    def __len__(self) -> int:
        """The devices drawn (the counted ones are in `counted` only)."""
        return int(self.activated.shape[0])

    @property
    def activations(self) -> int:
        """Every activation of the replication: the devices drawn and those counted."""
        return len(self) + int(self.counted.sum())

    def check_policy(self, policy: Policy) -> None:
        """Refuse a policy that bans a territory a counted region's devices can be placed in:
        those devices were never drawn, so its run would silently miss them. The population
        was drawn for other policies (`generate`'s `policies`)."""
        banned = set(policy.banned)
        for region, names in self.untouchable.items():
            reached = sorted(names & banned)
            if reached:
                raise ValueError(
                    f"the devices of region {region} were counted, not drawn, because no policy "
                    f"given to generate() bans {', '.join(sorted(names))}; this policy bans "
                    f"{', '.join(reached)}: generate the population with it"
                )

    def columns(self) -> tuple[np.ndarray, ...]:
        """Every per-device column, in field order."""
        return (
            self.activated,
            self.region,
            self.channel,
            self.sim,
            self.ip,
            self.gps,
            self.key,
            self.cohort,
        )

    @property
    def nbytes(self) -> int:
        return sum(column.nbytes for column in self.columns())


BYTES_PER_DEVICE = 8 + 2 * 6 + 8
"""Bytes one device takes in a Population (for memory estimates before allocating)."""


def signal_territories(region: Region) -> frozenset[str]:
    """Every territory a device of `region` can be placed in by any of its signals, whatever the
    shares: the region itself (SIM, IP, GPS), a foreign SIM's country, where its addresses
    geolocate, the VPN exit, and with travellers their home (SIM and roaming IP)."""
    profile = region.signals
    names = {region.id, profile.vpn_exit}
    names.update(n for n in (profile.sim_otherwise, profile.ip_reports) if n is not None)
    if CHANNEL_TRAVELLER in region.channels and region.travellers_from is not None:
        names.add(region.travellers_from)
    return frozenset(names)


def untouched_regions(scenario: Scenario, policies: Iterable[Policy]) -> dict[str, frozenset[str]]:
    """The regions no policy in `policies` can touch, with their `signal_territories`.

    Every detection rule either acts on a banned territory one of the device's signals names or
    places the device where an allowed signal does (`detection.infer_territory`), and every
    trigger (territory, registry, device list, cohorts) acts only on devices detected in a banned
    territory. So a region none of whose signal territories any policy bans keeps every device
    `not_targeted` under every variant. A region with cohort shares is always drawn: its devices'
    cohorts are drawn one by one and counted by cohort.
    """
    banned = {code for policy in policies for code in policy.banned}
    out = {}
    for region in scenario.regions:
        if region.cohorts is not None or region.cohorts_by_channel:
            continue
        names = signal_territories(region)
        if names.isdisjoint(banned):
            out[region.id] = names
    return out


def expected_devices(scenario: Scenario, scale: float = 1.0) -> float:
    """Expected activations per replication: the integral of every region's rate over the run."""
    total = 0.0
    for region in scenario.regions:
        for start, end, rate in _segments(scenario, region.activations):
            total += rate * (end - start)
    return total * scale


def _segments(scenario: Scenario, activations: list) -> list[tuple[float, float, float]]:
    bounds = [float((seg.from_ - scenario.start).days) for seg in activations] + [scenario.days]
    return [
        (bounds[i], bounds[i + 1], seg.rate_per_day)
        for i, seg in enumerate(activations)
        if bounds[i + 1] > bounds[i]
    ]


def generate(
    scenario: Scenario,
    replication: int,
    scale: float = 1.0,
    policies: Iterable[Policy] | None = None,
    count_untouched: bool = True,
) -> Population:
    """Draw the devices of one replication; the same (scenario, seed, replication) gives the same
    devices whatever else runs. `policies`: as `Codebook.for_scenario` takes them, and the
    policies the population may be simulated under: the regions none of them can touch
    (`untouched_regions`) are counted, not drawn, unless `count_untouched` is False.

    A counted region's activations per segment are the same Poisson draw as a drawn region's
    (so its total is the same either way); only how they fall on days and channels is drawn
    differently. The other regions' devices do not change with what is counted.

    Each region's draws are written straight into its slice of the population's columns (no
    per-region arrays to concatenate): at millions of devices, fresh memory is a large part of
    the cost.
    """
    policies = list(scenario.policies().values() if policies is None else policies)
    book = Codebook.for_scenario(scenario, policies)
    untouched = untouched_regions(scenario, policies) if count_untouched else {}
    counted = _counted(scenario, book, replication, scale, untouched)
    times = [
        [] if region.id in untouched else _arrival_times(scenario, region, replication, scale)
        for region in scenario.regions
    ]
    counts = [sum(part.size for part in region_times) for region_times in times]
    total = sum(counts)
    activated = np.concatenate([part for region_times in times for part in region_times] or [[]])
    region_code = np.repeat(np.arange(len(counts), dtype=np.int16), counts)
    channel, sim, ip, gps = (np.empty(total, dtype=np.int16) for _ in range(4))
    key = np.empty(total, dtype=np.uint64)
    days = int(scenario.days)
    drawn_per_day = np.zeros((days, len(book.regions) * len(book.channels)), dtype=np.int64)
    offset = 0
    for code, (region, n) in enumerate(zip(scenario.regions, counts, strict=True)):
        if region.id in untouched:
            continue
        part = slice(offset, offset + n)
        offset += n
        is_traveller = _channels(scenario, region, book, replication, channel[part])
        _signals(scenario, region, book, is_traveller, replication, sim[part], ip[part], gps[part])
        key[part] = generator(scenario.seed, replication, region.id, Kind.KEYS).integers(
            0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64, endpoint=True
        )
        _count_drawn(region, code, book, times[code], activated[part], channel[part], drawn_per_day)
    return Population(
        activated.astype(np.float64, copy=False),
        region_code,
        channel,
        sim,
        ip,
        gps,
        key,
        book,
        draw_cohorts(scenario, book, replication, channel, counts),
        counted,
        untouched,
        drawn_per_day,
    )


def _count_drawn(
    region: Region,
    code: int,
    book: Codebook,
    segments: list[np.ndarray],
    activated: np.ndarray,
    channel: np.ndarray,
    out: np.ndarray,
) -> None:
    """Add one drawn region's activations per day and channel into `out` (days x groups).

    Each segment's times are sorted, so a day's count is the difference of two binary searches;
    the devices of every channel but the first are picked out and counted per day, and the first
    channel has the rest. A few passes over the region's smallest columns, instead of counting
    every device's day and group.
    """
    days = out.shape[0]
    edges = np.arange(days + 1, dtype=float)
    per_day = np.zeros(days, dtype=np.int64)
    for segment in segments:
        per_day += np.diff(np.searchsorted(segment, edges))
    names = list(region.channels)
    columns = code * len(book.channels) + np.array([book.channels.index(c) for c in names])
    first = per_day.copy()
    for name, column in zip(names[1:], columns[1:], strict=True):
        times = activated[channel == book.channels.index(name)]
        times = times[times < days]
        of_channel = np.bincount(times.astype(np.int64), minlength=days)
        out[:, column] += of_channel
        first -= of_channel
    out[:, columns[0]] += first


def _counted(
    scenario: Scenario,
    book: Codebook,
    replication: int,
    scale: float,
    untouched: dict[str, frozenset[str]],
) -> np.ndarray:
    """Activations per day and region x channel group of the `untouched` regions (zeros in the
    other regions' columns; (0, 0) when there are none).

    Each segment's count is the Poisson draw `_arrival_times` makes from the same stream, which
    then moves past the uniforms the drawn path would take (so every later segment's count is
    the same too). The activations fall on the segment's days uniformly (a multinomial split by
    each day's overlap with the segment), then on channels by their shares, from the region's
    own stream for counts (`Kind.COUNTS`).
    """
    if not untouched:
        return np.zeros((0, 0), dtype=np.int64)
    days = int(scenario.days)
    n_channels = len(book.channels)
    counted = np.zeros((days, len(book.regions) * n_channels), dtype=np.int64)
    edges = np.arange(days + 1, dtype=float)
    for code, region in enumerate(scenario.regions):
        if region.id not in untouched:
            continue
        arrivals = generator(scenario.seed, replication, region.id, Kind.ARRIVALS)
        split = generator(scenario.seed, replication, region.id, Kind.COUNTS)
        per_day = np.zeros(days, dtype=np.int64)
        for start, end, rate in _segments(scenario, region.activations):
            count = arrivals.poisson(rate * scale * (end - start))
            arrivals.bit_generator.advance(count)  # one 64-bit draw per uniform time
            overlap = np.clip(np.minimum(edges[1:], end) - np.maximum(edges[:-1], start), 0, None)
            per_day += split.multinomial(count, overlap / overlap.sum())
        names = list(region.channels)
        columns = code * n_channels + np.array([book.channels.index(c) for c in names])
        if len(names) == 1:
            counted[:, columns[0]] = per_day
            continue
        shares = np.array([region.channels[c] for c in names], dtype=float)
        counted[:, columns] = split.multinomial(per_day, shares / shares.sum())
    return counted


def _arrival_times(scenario: Scenario, region, replication: int, scale: float) -> list[np.ndarray]:
    """Activation times of one region, segment by segment, each sorted (days)."""
    arrivals = generator(scenario.seed, replication, region.id, Kind.ARRIVALS)
    times = []
    for start, end, rate in _segments(scenario, region.activations):
        count = arrivals.poisson(rate * scale * (end - start))
        segment = arrivals.uniform(start, end, size=count)
        segment.sort()
        times.append(segment)
    return times


def _channels(
    scenario: Scenario, region, book: Codebook, replication: int, out: np.ndarray
) -> np.ndarray:
    """Write each device's channel code into `out`; return which devices are travellers.

    A region with a single channel needs no draw: every device is in it (the draw would pick
    index 0 whatever the uniform, and this stream serves nothing else).
    """
    names = list(region.channels)
    codes = np.array([book.channels.index(c) for c in names], dtype=np.int16)
    n = out.size
    if len(names) == 1:
        out[:] = codes[0]
        return np.full(n, names[0] == CHANNEL_TRAVELLER)
    shares = np.array([region.channels[c] for c in names], dtype=float)
    cumulative = (shares / shares.sum()).cumsum()
    cumulative /= cumulative[-1]
    u = generator(scenario.seed, replication, region.id, Kind.CHANNELS).random(n)
    # The channel `Generator.choice(len(names), size=n, p=shares)` picks from these uniforms
    # (the number of cumulative shares at or below u), by a comparison per channel: the same
    # draws, without choice's index array and binary search.
    out[:] = codes[0]
    for k in range(1, len(names)):
        np.copyto(out, codes[k], where=u >= cumulative[k - 1])
    if CHANNEL_TRAVELLER not in names:
        return np.zeros(n, dtype=bool)
    k = names.index(CHANNEL_TRAVELLER)
    is_traveller = u < cumulative[k]
    if k > 0:
        is_traveller &= u >= cumulative[k - 1]
    return is_traveller


def _signals(
    scenario: Scenario,
    region,
    book: Codebook,
    is_traveller: np.ndarray,
    replication: int,
    sim: np.ndarray,
    ip: np.ndarray,
    gps: np.ndarray,
) -> None:
    """Write the SIM, IP and GPS territory codes of one region's devices into the slices given.

    The signal stream is four rows of n uniforms (SIM, VPN, GPS, Wi-Fi), as one (4, n) draw
    would give them; they are drawn one row at a time into one buffer, and a row that cannot
    change anything (no foreign SIMs, no VPN, location never on, no travellers) is skipped by
    advancing the stream past it, which leaves every later row as it was.
    """
    profile = region.signals
    rng = generator(scenario.seed, replication, region.id, Kind.SIGNALS)
    own = book.territory_code(region.id)
    n = sim.size
    buffer = np.empty(n)

    def next_row(needed: bool) -> np.ndarray | None:
        if needed:
            return rng.random(out=buffer)
        rng.bit_generator.advance(n)  # one 64-bit draw per float64 uniform
        return None

    sim[:] = own
    foreign_sims = profile.sim_otherwise is not None and profile.local_sim_share < 1.0
    u_sim = next_row(foreign_sims)
    if u_sim is not None and profile.sim_otherwise is not None:
        sim[u_sim >= profile.local_sim_share] = book.territory_code(profile.sim_otherwise)
    u_vpn = next_row(profile.vpn_share > 0)
    on_vpn = u_vpn < profile.vpn_share if u_vpn is not None else None
    gps[:] = NO_SIGNAL
    u_gps = next_row(profile.location_share > 0)
    if u_gps is not None:
        gps[u_gps < profile.location_share] = own
    ip[:] = book.territory_code(profile.ip_reports) if profile.ip_reports else own
    if region.travellers_from is not None:
        u_wifi = rng.random(out=buffer)
        home = book.territory_code(region.travellers_from)
        sim[is_traveller] = home
        ip[is_traveller & (u_wifi >= profile.traveller_local_ip_share)] = home
    if on_vpn is not None:
        ip[on_vpn] = book.territory_code(profile.vpn_exit)

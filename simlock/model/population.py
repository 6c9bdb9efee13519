"""Who activates where and when, through which channel, and what their signals say.

Activations follow each region's piecewise-constant rate (a non-homogeneous Poisson process):
the count in a segment is Poisson, the times uniform within it. Devices are held as columns
(numpy arrays), never as objects, so millions fit in a few hundred megabytes.

Signals are drawn once per device and shared by every variant: SIM country (the region unless
the SIM is foreign; a traveller's SIM is from home), IP country (a VPN exit; a traveller's home
network when roaming, or the region when on local Wi-Fi; otherwise where the region's addresses
geolocate) and GPS (the true region when location services are on, otherwise unavailable).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from simlock.scenario.models import CHANNEL_TRAVELLER, Policy, Scenario

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
    cache: ReplicationCache = field(init=False, repr=False, compare=False)
    """What the replication's variants share (detections, personal draws, daily counts)."""

    def __post_init__(self) -> None:
        from .cache import ReplicationCache  # the cache computes with modules that need us

        if self.cohort.size != self.activated.size:
            self.cohort = np.full(self.activated.size, NO_COHORT, dtype=np.int16)
        for column in self.columns():
            column.flags.writeable = False
        self.cache = ReplicationCache(self)

    def __len__(self) -> int:
        return int(self.activated.shape[0])

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
) -> Population:
    """Draw the devices of one replication; the same (scenario, seed, replication) gives the same
    devices whatever else runs. `policies`: as `Codebook.for_scenario` takes them.

    Each region's draws are written straight into its slice of the population's columns (no
    per-region arrays to concatenate): at millions of devices, fresh memory is a large part of
    the cost.
    """
    book = Codebook.for_scenario(scenario, policies)
    times = [_arrival_times(scenario, region, replication, scale) for region in scenario.regions]
    counts = [sum(part.size for part in region_times) for region_times in times]
    total = sum(counts)
    activated = np.concatenate([part for region_times in times for part in region_times] or [[]])
    region_code = np.repeat(np.arange(len(counts), dtype=np.int16), counts)
    channel, sim, ip, gps = (np.empty(total, dtype=np.int16) for _ in range(4))
    key = np.empty(total, dtype=np.uint64)
    offset = 0
    for region, n in zip(scenario.regions, counts, strict=True):
        part = slice(offset, offset + n)
        offset += n
        is_traveller = _channels(scenario, region, book, replication, channel[part])
        _signals(scenario, region, book, is_traveller, replication, sim[part], ip[part], gps[part])
        key[part] = generator(scenario.seed, replication, region.id, Kind.KEYS).integers(
            0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64, endpoint=True
        )
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
    )


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
    channel_gen = generator(scenario.seed, replication, region.id, Kind.CHANNELS)
    local_channel = channel_gen.choice(len(names), size=n, p=shares / shares.sum())
    np.take(codes, local_channel, out=out)
    if CHANNEL_TRAVELLER in names:
        return local_channel == names.index(CHANNEL_TRAVELLER)
    return np.zeros(n, dtype=bool)


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

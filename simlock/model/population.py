"""Who activates where and when, through which channel, and what their signals say.

Activations follow each region's piecewise-constant rate (a non-homogeneous Poisson process):
the count in a segment is Poisson, the times uniform within it. Devices are held as columns
(numpy arrays), never as objects, so millions fit in a few hundred megabytes.

Signals are drawn once per device and shared by every variant: SIM country (the region unless
the SIM is foreign; a traveller's SIM is from home), IP country (a VPN exit; a traveller's home
network when roaming, or the region when on local Wi-Fi; otherwise where the region's addresses
geolocate) and GPS (the true region when location services are on, otherwise unavailable).

Devices no policy of the scenario can touch (none of the territories their signals can name is
banned by any variant) are counted, not drawn: per day and channel (`Population.counted`). Which
those are, and how a region is split by channel when only some of its channels are untouched,
is `draws.plan`'s. In the 2021 scenario that is about 60% of the activations.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from simlock.scenario.models import CHANNEL_TRAVELLER, Policy, Scenario

from .cohorts import NO_COHORT, draw_cohorts
from .draws import Draw, arrival_times, count_counted, count_drawn, plan, segments
from .streams import Kind, generator
from .thinning import decidable, reach, rest_stream, signature, thinnable

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
    `analysis.tables.daily_activations`) of the devices counted instead of drawn (`draws.plan`);
    (0, 0) when every device is drawn."""
    untouchable: dict[str, frozenset[str]] = field(default_factory=dict)
    """What was counted (a region, or a region's channel: `draws.Draw.label`), with the
    territories its devices' signals can name: a policy that bans none of them cannot touch it
    (`check_policy`)."""
    thinned_for: frozenset[str] | None = None
    """When only the devices some window could decide were drawn (`thinning`): the signatures
    of the policies it was drawn for (`thinning.signature`); None when every device was."""
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
        """Every activation of the replication: the devices drawn (all of them, with those a
        thinned population left out: `drawn_per_day`) and those counted."""
        drawn = int(self.drawn_per_day.sum()) if self.drawn_per_day.size else len(self)
        return drawn + int(self.counted.sum())

    def check_policy(self, policy: Policy) -> None:
        """Refuse a policy that bans a territory counted devices can be placed in:
        those devices were never drawn, so its run would silently miss them. The population
        was drawn for other policies (`generate`'s `policies`)."""
        if self.thinned_for is not None and (
            not thinnable(policy) or signature(policy) not in self.thinned_for
        ):
            raise ValueError(
                "only the devices the windows of the policies given to generate() could decide "
                "were drawn; this policy's windows, lock delay or rules differ: generate the "
                "population with it, or with thin=False"
            )
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


def expected_devices(scenario: Scenario, scale: float = 1.0) -> float:
    """Expected activations per replication: the integral of every region's rate over the run."""
    total = 0.0
    for region in scenario.regions:
        for start, end, rate in segments(scenario, region.activations):
            total += rate * (end - start)
    return total * scale


def generate(
    scenario: Scenario,
    replication: int,
    scale: float = 1.0,
    policies: Iterable[Policy] | None = None,
    count_untouched: bool = True,
    thin: bool = False,
) -> Population:
    """Draw the devices of one replication; the same (scenario, seed, replication) gives the same
    devices whatever else runs. `policies`: as `Codebook.for_scenario` takes them, and the
    policies the population may be simulated under: what none of them can touch is counted,
    not drawn (`draws.plan`), unless `count_untouched` is False. With `thin`, so are the devices
    no window of theirs could decide (`thinning`), when that changes no metric: a replication
    that keeps no device table needs no more.

    Each process's draws are written straight into its slice of the population's columns (no
    per-region arrays to concatenate): at millions of devices, fresh memory is a large part of
    the cost.
    """
    policies = list(scenario.policies().values() if policies is None else policies)
    book = Codebook.for_scenario(scenario, policies)
    every_draw = plan(scenario, policies, count_untouched)
    known = reach(scenario, policies)
    thinned = thin and known.exact
    counted = count_counted(scenario, book, replication, scale, every_draw)
    drawn = [draw for draw in every_draw if not draw.counted]
    times = [arrival_times(scenario, draw, replication, scale) for draw in drawn]
    counts = [sum(part.size for part in draw_times) for draw_times in times]
    total = sum(counts)
    activated = np.concatenate([part for draw_times in times for part in draw_times] or [[]])
    region_code = np.repeat(np.array([draw.code for draw in drawn], dtype=np.int16), counts)
    channel, sim, ip, gps = (np.empty(total, dtype=np.int16) for _ in range(4))
    key = np.empty(total, dtype=np.uint64)
    drawn_per_day = np.zeros(
        (int(scenario.days), len(book.regions) * len(book.channels)), dtype=np.int64
    )
    region_counts = [0] * len(scenario.regions)
    keep = np.ones(total, dtype=bool)
    offset = 0
    for draw, n, draw_times in zip(drawn, counts, times, strict=True):
        part = slice(offset, offset + n)
        offset += n
        region_counts[draw.code] += n
        if draw.channel is None:
            is_traveller = _channels(scenario, draw.region, book, replication, channel[part])
        else:
            channel[part] = book.channels.index(draw.channel)
            is_traveller = np.full(n, draw.channel == CHANNEL_TRAVELLER)
        key[part] = generator(scenario.seed, replication, draw.stream, Kind.KEYS).integers(
            0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64, endpoint=True
        )
        decided = decidable(known, activated[part], key[part])
        keep[part] = decided | (not thinned)
        streams = [(draw.stream, decided)]
        if not thinned:
            streams.append((rest_stream(draw.stream), ~decided))
        for stream, mask in streams:
            rows = np.flatnonzero(mask)
            codes = [np.empty(rows.size, dtype=np.int16) for _ in range(3)]
            _signals(scenario, draw, stream, book, is_traveller[rows], replication, *codes)
            for column, values in zip((sim, ip, gps), codes, strict=True):
                column[part][rows] = values
        count_drawn(draw, book, draw_times, activated[part], channel[part], drawn_per_day)
    columns = [activated, region_code, channel, sim, ip, gps, key]
    columns.append(draw_cohorts(scenario, book, replication, channel, region_counts))
    if thinned:
        kept = np.flatnonzero(keep)
        columns = [column[kept] for column in columns]
    return Population(
        *columns[:7],
        book,
        columns[7],
        counted,
        {draw.label: draw.reach for draw in every_draw if draw.counted},
        known.signatures if thinned else None,
        drawn_per_day,
    )


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
    draw: Draw,
    stream: str,
    book: Codebook,
    is_traveller: np.ndarray,
    replication: int,
    sim: np.ndarray,
    ip: np.ndarray,
    gps: np.ndarray,
) -> None:
    """Write the SIM, IP and GPS territory codes of devices of one process into the arrays given,
    from the signal stream `stream` (the process's, or with thinning its undecidable devices').

    The signal stream is four rows of n uniforms (SIM, VPN, GPS, Wi-Fi), as one (4, n) draw
    would give them; they are drawn one row at a time into one buffer, and a row that cannot
    change anything (no foreign SIMs, no VPN, location never on, no travellers) is skipped by
    advancing the stream past it, which leaves every later row as it was.
    """
    region = draw.region
    profile = region.signals
    rng = generator(scenario.seed, replication, stream, Kind.SIGNALS)
    own = book.territory_code(region.id)
    n = sim.size
    buffer, where = np.empty(n), np.empty(n, dtype=bool)

    def next_row(needed: bool) -> np.ndarray | None:
        if needed:
            return rng.random(out=buffer)
        rng.bit_generator.advance(n)  # one 64-bit draw per float64 uniform
        return None

    # Masks go into one reused buffer and codes in with copyto: boolean-index assignment
    # makes an index array first, and fresh masks are fresh memory, at millions of devices.
    sim[:] = own
    foreign_sims = profile.sim_otherwise is not None and profile.local_sim_share < 1.0
    u_sim = next_row(foreign_sims)
    if u_sim is not None and profile.sim_otherwise is not None:
        np.greater_equal(u_sim, profile.local_sim_share, out=where)
        np.copyto(sim, book.territory_code(profile.sim_otherwise), where=where)
    u_vpn = next_row(profile.vpn_share > 0)
    on_vpn = u_vpn < profile.vpn_share if u_vpn is not None else None
    gps[:] = NO_SIGNAL
    u_gps = next_row(profile.location_share > 0)
    if u_gps is not None:
        np.less(u_gps, profile.location_share, out=where)
        np.copyto(gps, own, where=where)
    ip[:] = book.territory_code(profile.ip_reports) if profile.ip_reports else own
    # The Wi-Fi row is the stream's last: when no device is a traveller, not drawing it leaves
    # every other draw as it was.
    if region.travellers_from is not None and is_traveller.any():
        u_wifi = rng.random(out=buffer)
        home = book.territory_code(region.travellers_from)
        np.copyto(sim, home, where=is_traveller)
        np.greater_equal(u_wifi, profile.traveller_local_ip_share, out=where)
        where &= is_traveller
        np.copyto(ip, home, where=where)
    if on_vpn is not None:
        np.copyto(ip, book.territory_code(profile.vpn_exit), where=on_vpn)

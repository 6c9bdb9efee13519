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
from .thinning import Reach, decide_with_keys, reach, rest_stream, signature, thinnable

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
    drawn_per_day = np.zeros(
        (int(scenario.days), len(book.regions) * len(book.channels)), dtype=np.int64
    )
    pieces = [
        _draw_process(scenario, draw, book, replication, scale, known, thinned, drawn_per_day)
        for draw in drawn
    ]
    sizes = [piece["key"].size for piece in pieces]
    region_counts = [0] * len(scenario.regions)
    for draw, size in zip(drawn, sizes, strict=True):
        region_counts[draw.code] += size
    columns = {
        name: np.concatenate([piece[name] for piece in pieces])
        if pieces
        else np.empty(0, dtype=dtype)
        for name, dtype in _COLUMN_TYPES.items()
    }
    region_code = np.repeat(np.array([draw.code for draw in drawn], dtype=np.int16), sizes)
    return Population(
        columns["activated"],
        region_code,
        columns["channel"],
        columns["sim"],
        columns["ip"],
        columns["gps"],
        columns["key"],
        book,
        draw_cohorts(scenario, book, replication, columns["channel"], region_counts),
        counted,
        {draw.label: draw.reach for draw in every_draw if draw.counted},
        known.signatures if thinned else None,
        drawn_per_day,
    )


_COLUMN_TYPES = {
    "activated": np.float64,
    "channel": np.int16,
    "sim": np.int16,
    "ip": np.int16,
    "gps": np.int16,
    "key": np.uint64,
}
"""The columns `_draw_process` gives, with their types."""


def _draw_process(
    scenario: Scenario,
    draw: Draw,
    book: Codebook,
    replication: int,
    scale: float,
    known: Reach,
    thinned: bool,
    per_day: np.ndarray,
) -> dict[str, np.ndarray]:
    """The devices of one process (`draws.Draw`), column by column (`_COLUMN_TYPES`): every one,
    or when `thinned` only those some window could decide (`thinning`), in time order. Adds
    every activation to `per_day` (days x groups).

    Times first (sorted), then keys with the devices' fates (block by block: a thinned process
    never holds all its keys), then channels, then signals: the decidable devices' from the
    process's signal stream, the others' from their own (`thinning.rest_stream`), so that the
    decidable devices are the same whether the others are drawn or not.
    """
    segments_drawn = arrival_times(scenario, draw, replication, scale)
    if len(segments_drawn) == 1:
        activated = segments_drawn[0]
    else:
        activated = np.concatenate(segments_drawn or [np.empty(0)])
    n = activated.size
    key_stream = generator(scenario.seed, replication, draw.stream, Kind.KEYS)
    decided, keys = decide_with_keys(known, activated, key_stream, keep_all=not thinned)
    channel = np.empty(n, dtype=np.int16)
    if draw.channel is not None:
        channel[:] = book.channels.index(draw.channel)
        is_traveller = np.full(n, draw.channel == CHANNEL_TRAVELLER)
        count_drawn(draw, book, segments_drawn, activated, channel, per_day)
    elif len(draw.region.channels) > 1:
        is_traveller = _channels_by_fate(
            scenario,
            draw,
            book,
            replication,
            segments_drawn,
            activated,
            decided,
            channel,
            thinned,
            per_day,
        )
    else:
        is_traveller = _channels(scenario, draw.region, book, replication, channel)
        count_drawn(draw, book, segments_drawn, activated, channel, per_day)
    rows = np.flatnonzero(decided)
    size = rows.size if thinned else n
    sim, ip, gps = (np.empty(size, dtype=np.int16) for _ in range(3))
    streams = [(draw.stream, rows, np.arange(rows.size) if thinned else rows)]
    if not thinned:
        others = np.flatnonzero(~decided)
        streams.append((rest_stream(draw.stream), others, others))
    for stream, devices, at in streams:
        codes = [np.empty(devices.size, dtype=np.int16) for _ in range(3)]
        _signals(scenario, draw, stream, book, is_traveller[devices], replication, *codes)
        for column, values in zip((sim, ip, gps), codes, strict=True):
            column[at] = values
    kept = rows if thinned else slice(None)
    return {
        "activated": activated[kept],
        "channel": channel[kept],
        "sim": sim,
        "ip": ip,
        "gps": gps,
        "key": keys,
    }


def _channels_by_fate(
    scenario: Scenario,
    draw: Draw,
    book: Codebook,
    replication: int,
    segments_drawn: list[np.ndarray],
    activated: np.ndarray,
    decided: np.ndarray,
    out: np.ndarray,
    thinned: bool,
    per_day: np.ndarray,
) -> np.ndarray:
    """Channels of the devices of a whole region with several channels: each decidable
    device's (`thinning`) drawn from the region's channel stream, as `_channels` draws them; the
    others' counted per day, split by the channel shares (their own stream), and, when they
    are drawn too (`thinned` False), dealt out within each day in a shuffled order (their times
    are sorted, so a day's devices are together), so that a thinned and a whole population
    count the same activations per day and channel. Adds those counts to `per_day` (days x
    groups); returns which devices are travellers. Drawing every device's channel took a tenth
    of a thinned replication.
    """
    region = draw.region
    names = list(region.channels)
    codes = np.array([book.channels.index(c) for c in names], dtype=np.int16)
    days = per_day.shape[0]
    is_traveller = np.zeros(decided.size, dtype=bool)
    rows = np.flatnonzero(decided)
    of_rows = np.empty(rows.size, dtype=np.int16)
    is_traveller[rows] = _channels(scenario, region, book, replication, of_rows)
    out[rows] = of_rows
    local_of = np.zeros(len(book.channels), dtype=np.int64)
    local_of[codes] = np.arange(codes.size)
    local = local_of[of_rows]
    edges = np.arange(days + 1, dtype=float)
    every = sum(np.diff(np.searchsorted(segment, edges)) for segment in segments_drawn)
    day = np.minimum(activated[rows].astype(np.int64), days - 1)
    of_decided = np.bincount(day * codes.size + local, minlength=days * codes.size)
    of_decided = of_decided.reshape(days, codes.size)
    shares = np.array([region.channels[c] for c in names], dtype=float)
    counts = generator(scenario.seed, replication, rest_stream(draw.stream), Kind.COUNTS)
    of_others = counts.multinomial(every - of_decided.sum(axis=1), shares / shares.sum())
    per_day[:, draw.code * len(book.channels) + codes] += of_decided + of_others
    if not thinned:
        others = np.flatnonzero(~decided)
        dealt = np.zeros(others.size, dtype=np.int64)
        deal = generator(scenario.seed, replication, rest_stream(draw.stream), Kind.CHANNELS)
        at = 0
        for row in of_others:
            block = np.repeat(np.arange(codes.size), row)
            deal.shuffle(block)
            dealt[at : at + block.size] = block
            at += block.size
        out[others] = codes[dealt]
        if CHANNEL_TRAVELLER in names:
            is_traveller[others] = dealt == names.index(CHANNEL_TRAVELLER)
    return is_traveller


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

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

from simlock.scenario.models import CHANNEL_TRAVELLER, Policy, Region, Scenario

from .cohorts import NO_COHORT, draw_cohorts
from .draws import Draw, arrival_times, count_counted, plan, segments
from .streams import BLOCK, Kind, Purpose, generator, uniform
from .thinning import Reach, decidable, reach, signature, thinnable

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
    u_coverage: np.ndarray = field(default_factory=lambda: np.empty(0))
    """float64 in [0, 1): the device's coverage draw (a window covers it below its coverage),
    the same in every variant. A population built without it draws it from the key."""
    u_delay: np.ndarray = field(default_factory=lambda: np.empty(0))
    """float64 in [0, 1): the device's lock-delay draw (each variant's delay is its quantile),
    the same in every variant. A population built without it draws it from the key."""
    cache: ReplicationCache = field(init=False, repr=False, compare=False)
    """What the replication's variants share (detections, personal draws, daily counts)."""

    def __post_init__(self) -> None:
        from .cache import ReplicationCache  # the cache computes with modules that need us

        if self.cohort.size != self.activated.size:
            self.cohort = np.full(self.activated.size, NO_COHORT, dtype=np.int16)
        if self.u_coverage.size != self.activated.size:
            self.u_coverage = uniform(self.key, Purpose.COVERAGE)
        if self.u_delay.size != self.activated.size:
            self.u_delay = uniform(self.key, Purpose.LOCK_DELAY)
        for column in (*self.columns(), self.counted, self.drawn_per_day):
            column.flags.writeable = False
        self.cache = ReplicationCache(self)

    def __len__(self) -> int:
        """The devices drawn one by one (those counted instead are in `counted`, and those a
        thinned population left out in `drawn_per_day` only)."""
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
            self.u_coverage,
            self.u_delay,
        )

    @property
    def nbytes(self) -> int:
        return sum(column.nbytes for column in self.columns())


BYTES_PER_DEVICE = 8 + 2 * 6 + 8 + 2 * 8
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

    Each process (`draws.Draw`) draws its devices block by block and keeps what is kept
    (`_draw_process`); the columns join the processes' kept devices, region by region.
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
        columns["u_coverage"],
        columns["u_delay"],
    )


_COLUMN_TYPES = {
    "activated": np.float64,
    "channel": np.int16,
    "sim": np.int16,
    "ip": np.int16,
    "gps": np.int16,
    "key": np.uint64,
    "u_coverage": np.float64,
    "u_delay": np.float64,
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

    Times first (sorted); then, block by block (`streams.BLOCK`), every device's key, channel,
    coverage and lock-delay draws, one per device from the process's streams, and when thinned
    its fate: a thinned process never holds all of them, and counts every device per day and
    channel as it goes. Signals are counter-based draws on the keys of the devices kept, so a
    device's draws are the same whichever others are kept.
    """
    segments_drawn = arrival_times(scenario, draw, replication, scale)
    if len(segments_drawn) == 1:
        activated = segments_drawn[0]
    else:
        activated = np.concatenate(segments_drawn or [np.empty(0)])
    names = list(draw.region.channels) if draw.channel is None else [draw.channel]
    codes = np.array([book.channels.index(name) for name in names], dtype=np.int16)
    shares = np.array([draw.region.channels[name] for name in names], dtype=float)
    thresholds = (shares / shares.sum()).cumsum()[:-1]
    days = per_day.shape[0]
    edges = np.arange(days + 1, dtype=float)
    by_day = np.zeros((days, codes.size), dtype=np.int64)
    by_day[:, 0] = sum(np.diff(np.searchsorted(segment, edges)) for segment in segments_drawn)
    stream = {
        kind: generator(scenario.seed, replication, draw.stream, kind)
        for kind in (Kind.KEYS, Kind.CHANNELS, Kind.COVERAGE, Kind.LOCK_DELAY)
    }
    parts: dict[str, list[np.ndarray]] = {name: [] for name in _PART_TYPES}
    for start in range(0, activated.size, BLOCK):
        times = activated[start : start + BLOCK]
        n = times.size
        keys = stream[Kind.KEYS].integers(
            0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64, endpoint=True
        )
        u_coverage = stream[Kind.COVERAGE].random(n)
        u_delay = stream[Kind.LOCK_DELAY].random(n)
        local = np.zeros(n, dtype=np.int64)
        if thresholds.size:
            u_channel = stream[Kind.CHANNELS].random(n)
            for threshold in thresholds:
                local += u_channel >= threshold
        # Every day's activations are counted from the sorted times (above); the devices of the
        # other channels, a few, are counted here and taken from the first channel's.
        others = np.flatnonzero(local)
        others = others[times[others] < days]
        cell = times[others].astype(np.int64) * codes.size + local[others]
        by_day.ravel()[:] += np.bincount(cell, minlength=days * codes.size)
        kept = decidable(known, times, u_coverage, u_delay) if thinned else slice(None)
        block = {
            "activated": times,
            "local": local,
            "key": keys,
            "u_coverage": u_coverage,
            "u_delay": u_delay,
        }
        for name, column in block.items():
            parts[name].append(column[kept])
    by_day[:, 0] -= by_day[:, 1:].sum(axis=1)
    per_day[:, draw.code * len(book.channels) + codes] += by_day
    kept_columns = {
        name: np.concatenate(chunks) if chunks else np.empty(0, dtype=_PART_TYPES[name])
        for name, chunks in parts.items()
    }
    local = kept_columns["local"]
    is_traveller = np.isin(local, [i for i, n in enumerate(names) if n == CHANNEL_TRAVELLER])
    signals = _signals(draw.region, book, kept_columns["key"], is_traveller)
    return {
        "activated": kept_columns["activated"],
        "channel": codes[local],
        **signals,
        "key": kept_columns["key"],
        "u_coverage": kept_columns["u_coverage"],
        "u_delay": kept_columns["u_delay"],
    }


_PART_TYPES = {
    "activated": np.float64,
    "local": np.int64,
    "key": np.uint64,
    "u_coverage": np.float64,
    "u_delay": np.float64,
}


def _signals(
    region: Region, book: Codebook, keys: np.ndarray, is_traveller: np.ndarray
) -> dict[str, np.ndarray]:
    """The SIM, IP and GPS territory codes of devices of `region`, by their signal draws
    (`Purpose.SIM`, `VPN`, `GPS`, `WIFI`, counter-based on their keys); a draw that cannot
    change anything (no foreign SIMs, no VPN, location never on, no travellers) is not made."""
    profile = region.signals
    own = book.territory_code(region.id)
    n = keys.size
    sim = np.full(n, own, dtype=np.int16)
    if profile.sim_otherwise is not None and profile.local_sim_share < 1.0:
        foreign = uniform(keys, Purpose.SIM) >= profile.local_sim_share
        sim[foreign] = book.territory_code(profile.sim_otherwise)
    gps = np.full(n, NO_SIGNAL, dtype=np.int16)
    if profile.location_share > 0:
        gps[uniform(keys, Purpose.GPS) < profile.location_share] = own
    located = book.territory_code(profile.ip_reports) if profile.ip_reports else own
    ip = np.full(n, located, dtype=np.int16)
    if region.travellers_from is not None and is_traveller.any():
        home = book.territory_code(region.travellers_from)
        sim[is_traveller] = home
        travellers = np.flatnonzero(is_traveller)
        roaming = uniform(keys[travellers], Purpose.WIFI) >= profile.traveller_local_ip_share
        ip[travellers[roaming]] = home
    if profile.vpn_share > 0:
        ip[uniform(keys, Purpose.VPN) < profile.vpn_share] = book.territory_code(profile.vpn_exit)
    return {"sim": sim, "ip": ip, "gps": gps}

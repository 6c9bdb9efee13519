"""The scenario format: pydantic models of a scenario file, validated in one place.

A scenario describes a world (regions, their activations, channels and signals, how devices
check in with the vendor's server) and a lock policy, with named variants that override parts of
the policy. Variants override only the policy, so every variant of a replication sees the same
devices (common random numbers) and differences between variants are the policy's alone.

Units are in the field names: `_days` are days, `_per_day` are devices per day, `share` is 0-1.
Dates in files are calendar dates (YYYY-MM-DD); the engine measures time in days from `start`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from simlock.errors import Problem, ScenarioError

from . import cohorts as cohort_rules
from .cohorts import CohortName, Phase
from .device_list import (
    DeviceList,
    batch_target_warning,
    device_list_date_problems,
    device_list_problems,
)
from .merge import MergeError, merge_located, paths_in
from .retroactive import reach_warnings
from .rules import (
    Loc,
    RuleProblem,
    duplicate_problems,
    raise_rule,
    raise_rules,
    relocate,
    rule_error,
)
from .search_section import search_problems, section_model
from .suggest import did_you_mean
from .sweep_names import sweep_name_problems
from .uncertain import UncertainInput

BASELINE = "baseline"
"""Name under which the scenario's own `policy` appears among the variants."""

REGION_PATTERN = r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$"
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"

RegionCode = Annotated[
    str,
    Field(
        pattern=REGION_PATTERN,
        description="ISO 3166-1 alpha-2 code, or an ISO 3166-2 subdivision code such as UA-43",
        examples=["CU", "UA-43"],
    ),
]
Share = Annotated[float, Field(ge=0.0, le=1.0, description="share between 0 and 1")]
NonNegDays = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
PosDays = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=64)]
SIGNALS = ("sim", "ip", "gps")
CHANNEL_TRAVELLER = "traveller"
DEFAULT_TARGET_CHANNEL = "grey_import"
"""The channel a policy targets when its file does not say (`policy.targets`): what every
scenario meant before targets could be written."""
CHANNEL_SHARE_TOLERANCE = 0.001
"""How far a region's channel shares may sum from 1: shares written to a few decimals (0.33333
three times) add up to 1 only within rounding. The population draws channels with the shares
divided by their sum, so such a file means what it says."""
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _day_before(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=1)


class _Model(BaseModel):
    """Strict base: unknown keys are errors, numbers are finite, and fields may use aliases."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, allow_inf_nan=False, validate_default=True
    )


class RateSegment(_Model):
    """From `from` until the next segment (or the end), activations arrive at `rate_per_day`."""

    from_: dt.date = Field(alias="from", description="first day of this segment")
    rate_per_day: float = Field(ge=0.0, le=1e9, description="activations per day (devices/day)")


class Signals(_Model):
    """What each signal the server sees reports for devices activated in a region.

    A signal reports the region's own id when it tells the truth, and another country otherwise:
    a Crimean SIM carries a Russian mobile code, so `local_sim_share` is low and `sim_otherwise`
    is RU there. GPS, when location services are on, always reports the true region.
    """

    local_sim_share: Share = Field(1.0, description="share of SIMs that report this region")
    sim_otherwise: RegionCode | None = Field(
        None, description="country a SIM reports when it does not report this region"
    )
    vpn_share: Share = Field(0.0, description="share of devices whose traffic leaves via a VPN")
    vpn_exit: RegionCode = Field("NL", description="country IP geolocation reports for VPN users")
    ip_reports: RegionCode | None = Field(
        None,
        description="country IP geolocation reports without a VPN (default: this region's id)",
    )
    location_share: Share = Field(
        0.5, description="share of devices with location services on (GPS reports the truth)"
    )
    traveller_local_ip_share: Share = Field(
        0.0,
        description=(
            "share of travellers whose IP geolocates here (hotel or public Wi-Fi) instead of "
            "reporting their home network (roaming)"
        ),
    )

    @model_validator(mode="after")
    def _otherwise_needed(self) -> Signals:
        if self.local_sim_share < 1.0 and self.sim_otherwise is None:
            raise_rule(
                ("sim_otherwise",),
                f"required when local_sim_share ({self.local_sim_share:g}) is below 1: "
                "the country the other SIMs report",
                "a country code such as RU, or local_sim_share: 1",
            )
        return self


class Region(_Model):
    """A territory where devices are activated, with its arrivals, channels and signals."""

    id: RegionCode
    name: str = Field(min_length=1, max_length=200)
    activations: list[RateSegment] = Field(
        min_length=1, max_length=10_000, description="piecewise-constant activation rate by date"
    )
    channels: dict[Name, Share] = Field(
        default_factory=lambda: {"official": 1.0},
        description=(
            "share of activations by channel (official, grey_import, traveller, ...); sums to 1"
        ),
    )
    travellers_from: RegionCode | None = Field(
        None,
        description="home country of travellers: their SIM and roaming IP report it",
    )
    signals: Signals = Field(default_factory=Signals)
    complaint_share: Share = Field(
        0.0,
        description=(
            "the observation model: probability that a user locked here complains publicly "
            "(once, on the day of the lock); 0 = nobody is heard from"
        ),
    )
    cohorts: dict[CohortName, Share] | None = Field(
        None,
        description=(
            "share of activations in each cohort (brand, model, release) of the scenario's "
            "`cohorts`; sums to 1. Without it, devices here have no cohort"
        ),
    )
    cohorts_by_channel: dict[Name, dict[CohortName, Share]] = Field(
        default_factory=dict,
        description="cohort shares for a channel of this region, instead of `cohorts`",
    )

    @field_validator("activations")
    @classmethod
    def _segments_in_order(cls, segments: list[RateSegment]) -> list[RateSegment]:
        raise_rules(
            "Region",
            [
                RuleProblem(
                    (i + 1, "from"),
                    f"segment dates must increase: {after.from_} does not come after "
                    f"{before.from_}",
                    f"a date after {before.from_}",
                )
                for i, (before, after) in enumerate(itertools.pairwise(segments))
                if after.from_ <= before.from_
            ],
            segments,
        )
        return segments

    @field_validator("channels")
    @classmethod
    def _shares_sum_to_one(cls, channels: dict[str, float]) -> dict[str, float]:
        if not channels:
            raise rule_error("at least one channel is needed", "e.g. {official: 1.0}")
        total = sum(channels.values())
        if abs(total - 1.0) > CHANNEL_SHARE_TOLERANCE + 1e-12:  # 0.999 is within 0.001
            raise rule_error(
                f"channel shares must sum to 1 (within {CHANNEL_SHARE_TOLERANCE:g}), they sum "
                f"to {total:g}",
                "shares between 0 and 1 that add up to 1",
            )
        return channels

    @field_validator("cohorts")
    @classmethod
    def _cohort_shares(cls, shares: dict[str, float] | None) -> dict[str, float] | None:
        problem = None if shares is None else cohort_rules.shares_problem(shares, "cohorts")
        if problem is not None:
            raise rule_error(problem, "shares between 0 and 1 that add up to 1")
        return shares

    @field_validator("cohorts_by_channel")
    @classmethod
    def _channel_cohort_shares(
        cls, by_channel: dict[str, dict[str, float]]
    ) -> dict[str, dict[str, float]]:
        problems = [
            RuleProblem((channel,), problem, "shares between 0 and 1 that add up to 1")
            for channel, shares in by_channel.items()
            if (problem := cohort_rules.shares_problem(shares, channel)) is not None
        ]
        raise_rules("Region", problems, by_channel)
        return by_channel

    @model_validator(mode="after")
    def _travellers_have_a_home(self) -> Region:
        if self.channels.get(CHANNEL_TRAVELLER, 0.0) > 0 and self.travellers_from is None:
            raise_rule(
                ("travellers_from",),
                "required when the traveller channel has a share: the travellers' home country",
                "a country code such as US",
            )
        return self


class CheckIn(_Model):
    """How devices talk to the vendor's server; a command takes effect at the next check-in.

    `periodic`: every `interval_days` from a random phase, each check-in shifted by a uniform
    jitter of at most `jitter_days`. `poisson`: check-ins at rate 1/`interval_days`. In both, an
    online device goes offline at rate `offline_rate_per_day` for a spell of mean
    `offline_mean_days` (exponential) and checks in as soon as it is back.
    """

    model: Literal["periodic", "poisson"] = "periodic"
    interval_days: PosDays = Field(1.0, description="(mean) days between check-ins")
    jitter_days: NonNegDays = Field(0.25, description="periodic only: +/- days of jitter")
    offline_rate_per_day: NonNegDays = Field(
        0.0, description="offline spells started per online day"
    )
    offline_mean_days: PosDays = Field(2.0, description="mean length of an offline spell, days")

    @model_validator(mode="after")
    def _jitter_keeps_order(self) -> CheckIn:
        if self.model == "periodic" and self.jitter_days * 2 >= self.interval_days:
            raise_rule(
                ("jitter_days",),
                f"jitter_days ({self.jitter_days:g}) must be less than half of "
                f"interval_days ({self.interval_days:g}), so check-ins stay in order",
                f"0 to less than {self.interval_days / 2:g} days",
                self.jitter_days,
            )
        return self


class FixedDelay(_Model):
    distribution: Literal["fixed"]
    days: NonNegDays


class UniformDelay(_Model):
    distribution: Literal["uniform"]
    low_days: NonNegDays
    high_days: NonNegDays

    @model_validator(mode="after")
    def _ordered(self) -> UniformDelay:
        if self.high_days < self.low_days:
            raise_rule(
                ("high_days",),
                f"high_days ({self.high_days:g}) is below low_days ({self.low_days:g})",
                f"at least low_days ({self.low_days:g})",
                self.high_days,
            )
        return self


class ExponentialDelay(_Model):
    distribution: Literal["exponential"]
    mean_days: PosDays


class LognormalDelay(_Model):
    distribution: Literal["lognormal"]
    median_days: PosDays
    sigma: float = Field(gt=0.0, le=5.0, description="standard deviation of log(days)")


class EmpiricalDelay(_Model):
    distribution: Literal["empirical"]
    values_days: list[NonNegDays] = Field(min_length=1, max_length=10_000)
    weights: list[Annotated[float, Field(gt=0.0)]] | None = None

    @model_validator(mode="after")
    def _weights_match(self) -> EmpiricalDelay:
        if self.weights is not None and len(self.weights) != len(self.values_days):
            raise_rule(
                ("weights",),
                f"{len(self.weights)} weight(s) for {len(self.values_days)} value(s)",
                "one positive weight per value in values_days, or no weights",
                self.weights,
            )
        return self


Delay = Annotated[
    FixedDelay | UniformDelay | ExponentialDelay | LognormalDelay | EmpiricalDelay,
    Field(discriminator="distribution"),
]


class Detection(_Model):
    """How the server infers the territory of an activation from the signals it sees.

    `any`: detected in a banned territory if any used signal reports one. `all`: every available
    signal reports the same banned territory. `majority`: more than half of the available signals
    agree on one banned territory. `priority`: the first available signal in `signals` decides.
    GPS is unavailable when location services are off.
    """

    signals: list[Literal["sim", "ip", "gps"]] = Field(
        default_factory=lambda: ["sim", "ip", "gps"], min_length=1
    )
    rule: Literal["any", "all", "majority", "priority"] = "any"

    @field_validator("signals")
    @classmethod
    def _unique(cls, signals: list[str]) -> list[str]:
        raise_rules(
            "Detection",
            duplicate_problems(signals, "each of sim, ip, gps at most once"),
            signals,
        )
        return signals


class Window(_Model):
    """A period in which lock decisions are taken for a share (`coverage`) of eligible devices.

    A device is decided when its lock delay expires inside the window. With `lookback_days`, the
    opening of the window also sweeps eligible devices activated up to that many days before it
    whose delay had already expired: they are decided at the opening.
    """

    name: Name
    start: dt.date
    end: dt.date = Field(description="first day no longer in the window")
    coverage: Share = Field(1.0, description="share of eligible devices decided in this window")
    lookback_days: NonNegDays = 0.0
    cohorts: list[CohortName] | None = Field(
        None, min_length=1, description="decide devices of these cohorts only; default: all"
    )

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end <= self.start:
            raise_rule(
                ("end",),
                f"window end {self.end} must come after its start {self.start}",
                f"a date after {self.start} (end is the first day no longer in the window)",
                self.end,
            )
        return self


class Lift(_Model):
    """The day the block is lifted: pending locks are cancelled; with `unlock`, locked devices
    unlock at their next check-in."""

    date: dt.date
    unlock: bool = True


class Warning(_Model):
    """A warning delivered at the check-in after the lock decision, `grace_days` before the lock
    command; a share of warned users resolve it (return the device, prove eligibility) and are not
    locked."""

    grace_days: NonNegDays = 3.0
    resolve_share: Share = 0.0


class Exemptions(_Model):
    """Devices never locked. `allowed_sim`: the SIM reports a country that is not banned (the
    usual case of a traveller). `channels`: an oracle exemption by true channel, useful as a
    bound (a vendor cannot see channels)."""

    allowed_sim: bool = False
    channels: list[Name] = Field(default_factory=list)


class Targets(_Model):
    """What the policy means to hit. A lock of a targeted device activated in a banned territory
    is a targeted lock; every other lock is collateral (travellers, official devices, detection
    errors). Targets are given by kind: `channels`, and `unregistered` for a policy with a
    registry (every device it finds unregistered is what it means to hit)."""

    channels: list[Name] = Field(
        default=[DEFAULT_TARGET_CHANNEL],
        min_length=1,
        description=(
            "sales channels whose devices the policy means to lock; each must be a channel of "
            f"some region (default: [{DEFAULT_TARGET_CHANNEL}])"
        ),
    )

    unregistered: bool = Field(
        False,
        description=(
            "with a registry: a lock of any device it finds unregistered (activated in a banned "
            "territory) is targeted, whatever its channel"
        ),
    )

    @field_validator("channels")
    @classmethod
    def _unique(cls, channels: list[str]) -> list[str]:
        raise_rules(
            "Targets",
            duplicate_problems(channels, "each channel at most once"),
            channels,
        )
        return channels


class ExemptFor(_Model):
    """A limited exemption from a registry: devices of these channels (a traveller's phone) may
    be used unregistered for `days` from their first use; then the registry's rule applies to
    them as to any device first used that day (its grace, its registration)."""

    channels: list[Name] = Field(
        min_length=1, description="channels whose devices are exempt for a time, e.g. [traveller]"
    )
    days: PosDays = Field(description="days from first use (activation) until the exemption ends")


class Registry(_Model):
    """A registry trigger: among the devices the policy considers (detected in a banned
    territory and not exempt), a device is locked unless it is registered within `grace_days`
    of its first use (its activation), or of the registry's `start` for a device already active
    then when the registry is `retroactive` (otherwise such a device is kept).

    A share `try_share` of users try to register, at the moment the grace begins; registration
    takes `registration_delay` and succeeds for `success_share` of those who try. A device
    registered by the end of its grace is never locked (outcome `registered`); any other device
    gets its lock decision `lock_delay` after the end of its grace, and from there the policy's
    windows, warning, appeals and lift apply as to any lock. A registration completed after the
    lock does not end it (an appeal can)."""

    start: dt.date | None = Field(
        None,
        description=(
            "the day the registry takes effect (its notice); default: the start of the run"
        ),
    )
    grace_days: NonNegDays = Field(
        0.0, description="days from first use (or from `start`) to register before the lock"
    )
    try_share: Share = Field(1.0, description="share of users who try to register")
    success_share: Share = Field(
        1.0, description="share of registrations that succeed (duty paid, documents accepted)"
    )
    registration_delay: Delay = Field(
        default=FixedDelay(distribution="fixed", days=0.0),
        description="days from the start of the grace until a registration completes",
    )
    retroactive: bool = Field(
        False,
        description=(
            "devices first used before `start` must register too (their grace runs from "
            "`start`); otherwise they are kept. With `policy.phases`, a phase's date is the "
            "start for its cohorts, and a phase may say otherwise for its own"
        ),
    )
    exempt_for: ExemptFor | None = Field(
        None, description="channels exempt for a limited time from first use (travellers)"
    )


class Appeals(_Model):
    """Locked users who contact support. The desk has `agents` working in parallel and serves
    cases first come first served; a case takes `service` (a delay, drawn per case) or the fixed
    `service_days` (the shorthand for `service: {distribution: fixed, days: ...}`): give one of
    the two. Approved cases get an unlock command when their case closes."""

    share: Share = Field(description="share of locked users who appeal")
    delay: Delay = Field(description="days from lock to the appeal")
    agents: int = Field(ge=1, le=100_000, description="cases handled in parallel")
    service_days: PosDays | None = Field(
        None, description="days one case takes (fixed; or give `service`)"
    )
    service: Delay | None = Field(
        None, description="days one case takes, as a distribution (or give `service_days`)"
    )
    approval_share: Share = Field(description="share of served appeals approved (unlocked)")

    @model_validator(mode="after")
    def _one_service_time(self) -> Appeals:
        if (self.service_days is None) == (self.service is None):
            given = "both" if self.service is not None else "neither"
            raise_rule(
                ("service_days",) if self.service is None else ("service",),
                f"{given} of service_days and service given: the desk needs one service time "
                "(in a variant, remove the baseline's with `service_days: null` or "
                "`service: null`)",
                "service_days: <days> (fixed), or service: <a delay distribution>",
            )
        return self

    @property
    def service_delay(self) -> Delay:
        """The service time as a delay distribution (`service_days` as a fixed delay)."""
        if self.service is not None:
            return self.service
        return FixedDelay(distribution="fixed", days=self.service_days)

    @property
    def fixed_service_days(self) -> float | None:
        """Days every case takes when the service time is fixed, else None."""
        delay = self.service_delay
        return float(delay.days) if isinstance(delay, FixedDelay) else None


class AfterLock(_Model):
    """What a share of locked users do to end the lock themselves: a behaviour registered with
    the engine (`simlock.model.behaviours`; built in: `custom_rom`, users who flash a custom ROM
    and escape the lock), taken by `share` of the locked users, `delay` days after the lock."""

    behaviour: Name = Field(description="a registered behaviour, such as custom_rom")
    share: Share = Field(description="share of locked users who behave so")
    delay: Delay = Field(description="days from the lock to the end of the lock")


class Policy(_Model):
    """The vendor's lock policy: who is locked, when, and how locks end."""

    banned: list[RegionCode] = Field(
        min_length=1, description="territories where activation is refused"
    )
    detection: Detection = Field(default_factory=Detection)
    targets: Targets = Field(
        default=Targets(),
        description=(
            "what the policy means to hit: decides which locks are targeted and which collateral "
            f"(default: {{channels: [{DEFAULT_TARGET_CHANNEL}]}})"
        ),
    )
    lock_delay: Delay = Field(
        description=(
            "days from activation to the lock decision (with a registry: from the end of an "
            "unregistered device's grace)"
        )
    )
    registry: Registry | None = Field(
        None,
        description=(
            "lock only devices not registered within a grace period (a national device "
            "registry); combines with everything else the policy has"
        ),
    )
    device_list: DeviceList | None = Field(
        None,
        description=(
            "lock only devices whose serial is on the vendor's list (a stolen or diverted "
            "batch), with listing errors both ways; combines with everything else the policy has"
        ),
    )
    coverage: Share = Field(
        1.0, description="share of eligible devices locked when no windows are given"
    )
    windows: list[Window] = Field(
        default_factory=list,
        max_length=100,
        description="enforcement windows; empty means enforcement over the whole run at `coverage`",
    )
    lift: Lift | None = None
    warning: Warning | None = None
    exemptions: Exemptions = Field(default_factory=Exemptions)
    appeals: Appeals | None = None
    after_lock: list[AfterLock] = Field(
        default_factory=list,
        max_length=20,
        description="behaviours of locked users that end their lock (earliest first)",
    )
    cohorts: list[CohortName] | None = Field(
        None,
        min_length=1,
        description="apply to devices of these cohorts only (of the scenario's); default: all",
    )
    phases: list[Phase] = Field(
        default_factory=list,
        max_length=1000,
        description=(
            "cohorts brought under the policy on their own dates, each phase retroactive or not "
            "(devices of a cohort in no phase are not subject); empty: every device from the start"
        ),
    )

    @field_validator("windows")
    @classmethod
    def _unique_windows(cls, windows: list[Window]) -> list[Window]:
        names = [w.name for w in windows]
        raise_rules(
            "Policy",
            [
                RuleProblem(
                    (i, "name"),
                    f"window name {name!r} is already used by windows[{names.index(name)}]",
                    "a name used by one window only",
                )
                for i, name in enumerate(names)
                if name in names[:i]
            ],
            names,
        )
        return sorted(windows, key=lambda w: w.start)


class Expectation(_Model):
    """A statement about the results a scenario should reproduce, with its source.

    `metric` names a check (any metric of `simlock.scenario.metric_names.METRICS`, or a check of
    `simlock.scenario.expectation_specs.CHECK_SPECS` such as `share_of_locks_before`); its value
    (the mean across replications, reported with its 95% interval) must lie within [`min`,
    `max`] (exclusive with `strict`). Checks whose value is a date take dates as bounds.

    A target that is a number rather than a range gives `observed`, with either a `tolerance`
    (the target range is observed ± tolerance) or a `standard_error` (observed ± 1.96 standard
    errors, a 95% band); with `min`/`max` too, the range is where both hold. `simlock calibrate`
    uses the same ranges as its targets.
    """

    name: str = Field(min_length=1, max_length=200)
    source: str = Field("", description="where the expectation comes from")
    metric: str = Field(min_length=1, description="the check to evaluate")
    variant: str = Field(BASELINE, description="the variant whose results are checked")
    params: dict[str, dt.date | float | str] = Field(
        default_factory=dict,
        description="the check's parameters (a date, a region id, a metric name, a group, a key)",
    )
    min: float | dt.date | None = Field(None, description="lower bound (a date for date checks)")
    max: float | dt.date | None = Field(None, description="upper bound (a date for date checks)")
    strict: bool = Field(False, description="bounds are exclusive")
    observed: float | dt.date | None = Field(
        None, description="observed value (a date for dates), with tolerance or standard_error"
    )
    tolerance: float | None = Field(
        None, gt=0.0, description="observed ± tolerance is the target range (days for dates)"
    )
    standard_error: float | None = Field(
        None,
        gt=0.0,
        description="standard error of observed: the target range is observed ± 1.96 of them",
    )

    @model_validator(mode="after")
    def _observed_with_spread(self) -> Expectation:
        spreads = [n for n in ("tolerance", "standard_error") if getattr(self, n) is not None]
        if self.observed is not None and len(spreads) != 1:
            raise_rule(
                ("observed",),
                "an observed value needs exactly one of tolerance and standard_error"
                + (" (both are given)" if spreads else ""),
                "observed with tolerance, or observed with standard_error",
            )
        if self.observed is None and spreads:
            raise_rule((spreads[0],), f"{spreads[0]} needs an observed value", "observed: a number")
        return self

    @field_validator("params")
    @classmethod
    def _iso_dates(cls, params: dict[str, Any]) -> dict[str, Any]:
        """A date written as text (a mapping built in Python, JSON) is still a date."""
        return {
            key: dt.date.fromisoformat(value)
            if isinstance(value, str) and _ISO_DATE.fullmatch(value)
            else value
            for key, value in params.items()
        }


class SweepParameter(_Model):
    """A parameter to vary, by its field path in the scenario (e.g. policy.coverage)."""

    path: str = Field(min_length=1)
    values: list[Any] | None = Field(None, description="grid values (grid design)")
    low: float | None = None
    high: float | None = None

    @model_validator(mode="after")
    def _grid_or_range(self) -> SweepParameter:
        has_range = self.low is not None and self.high is not None
        if self.values is None and not has_range:
            raise ValueError("give either values or both low and high")
        if has_range and self.high < self.low:  # type: ignore[operator]
            raise ValueError("high must be at least low")
        return self


class Sweep(_Model):
    """A design over parameters: a full grid, a Latin hypercube or a Sobol sequence; the
    variants each point runs, at what scale, and the metrics whose sensitivity is measured."""

    design: Literal["grid", "lhs", "sobol"] = "grid"
    samples: int = Field(16, ge=1, le=1_000_000, description="points (lhs) or base samples (sobol)")
    parameters: list[SweepParameter] = Field(min_length=1)
    replications: int | None = Field(None, ge=1, le=10_000)
    scale: float = Field(
        1.0,
        gt=0.0,
        le=1e6,
        description="multiplies every activation rate at every point (as `simlock run --scale`)",
    )
    variants: list[Name] | None = Field(
        None,
        description=(
            "variants every point runs besides the baseline, which always runs ([] for the "
            "baseline alone); default: all"
        ),
    )
    metrics: list[str] | None = Field(
        None,
        min_length=1,
        description=(
            "metrics whose sensitivity indices are computed and drawn: an overall metric "
            "(users_affected) or a region's or channel's (region.CU.users_affected, "
            "channel.traveller.collateral_locks); default: every overall metric, the figure "
            "showing users_affected, collateral_locks, lock_days and peak_locked"
        ),
    )


Search = section_model(SweepParameter)


class Worlds(_Model):
    """Where `simlock run FILE` finds its plausible worlds when no --posterior is given: a
    calibration shipped with the scenario, so its first run answers with ranges."""

    posterior: str = Field(
        min_length=1,
        max_length=1000,
        description=(
            "calibration folder (simlock calibrate -o), relative to the scenario file; the run "
            "draws its worlds from its posterior"
        ),
    )
    count: int = Field(20, ge=1, le=100_000, description="worlds drawn from the posterior")
    replications: int | None = Field(
        None,
        ge=1,
        le=10_000,
        description="replications in each world (default: the scenario's replications)",
    )


class Scenario(_Model):
    """A whole scenario: the world, the baseline policy, its variants and what to expect."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    start: dt.date
    end: dt.date = Field(description="first day after the run")
    seed: int = Field(0, ge=0, le=2**63 - 1)
    replications: int = Field(1, ge=1, le=10_000)
    checkin: CheckIn = Field(default_factory=CheckIn)
    regions: list[Region] = Field(min_length=1, max_length=5_000)
    policy: Policy
    variants: dict[Name, dict[str, Any]] = Field(
        default_factory=dict,
        description="named overrides of `policy` (deep merge; null removes an optional part)",
    )
    expectations: list[Expectation] = Field(default_factory=list)
    sweep: Sweep | None = None
    uncertain: list[UncertainInput] = Field(
        default_factory=list,
        max_length=100,
        description="inputs whose value is unknown, each with a prior (see simlock calibrate)",
    )
    search: Search | None = None  # type: ignore[valid-type]
    cohorts: list[CohortName] = Field(
        default_factory=list,
        max_length=1000,
        description=(
            "names of the device cohorts (brands, models, release dates) whose shares regions "
            "give and that a policy, a window or a phase can name"
        ),
    )
    worlds: Worlds | None = Field(
        None,
        description=(
            "run over plausible worlds from a shipped calibration by default (simlock run "
            "without --posterior; --no-worlds runs the values written in the file)"
        ),
    )

    @model_validator(mode="after")
    def _cross_field(self) -> Scenario:
        """Rules between fields, each reported at the field to change (one message each)."""
        problems: list[RuleProblem] = []
        ids = [r.id for r in self.regions]
        for i, region_id in enumerate(ids):
            if region_id in ids[:i]:
                problems.append(
                    RuleProblem(
                        ("regions", i, "id"),
                        f"region id {region_id} is already used by regions[{ids.index(region_id)}]",
                        "an id used by one region only",
                    )
                )
        problems += sweep_name_problems(self)
        problems += search_problems(self)
        problems += duplicate_problems(self.cohorts, "each cohort at most once", ("cohorts",))
        for i, region in enumerate(self.regions):
            problems += [
                RuleProblem(("regions", i, *p.loc), p.message, p.allowed)
                for p in cohort_rules.region_problems(region, self.cohorts)
            ]
        if BASELINE in self.variants:
            problems.append(
                RuleProblem(
                    ("variants", BASELINE),
                    f"'{BASELINE}' is the name of the policy itself",
                    "any other variant name",
                )
            )
        if self.end <= self.start:
            problems.append(
                RuleProblem(
                    ("end",),
                    f"end {self.end} must come after start {self.start}",
                    f"a date after {self.start} (end is the first day after the run)",
                )
            )
        else:  # dates inside the run mean nothing until the run itself makes sense
            for i, region in enumerate(self.regions):
                for j, segment in enumerate(region.activations):
                    if not self.start <= segment.from_ < self.end:
                        problems.append(
                            RuleProblem(
                                ("regions", i, "activations", j, "from"),
                                f"segment from {segment.from_} is outside the run "
                                f"{self.start}..{self.end}",
                                f"a date from {self.start} to {_day_before(self.end)}",
                            )
                        )
            problems += [
                RuleProblem(("policy", *p.loc), p.message, p.allowed)
                for p in policy_date_problems(self.policy, self.start, self.end)
                + cohort_rules.policy_problems(self.policy, self.cohorts, self.start, self.end)
            ]
        problems += [
            RuleProblem(("policy", *p.loc), p.message, p.allowed)
            for p in target_problems(self.policy, self.channel_names)
        ]
        raise_rules("Scenario", problems, None)
        return self

    @property
    def days(self) -> float:
        """Length of the run in days."""
        return float((self.end - self.start).days)

    @property
    def channel_names(self) -> list[str]:
        """Every channel some region has, in order of first appearance."""
        return list(dict.fromkeys(name for region in self.regions for name in region.channels))

    @property
    def variant_names(self) -> list[str]:
        """`baseline` first, then the variants in file order."""
        return [BASELINE, *self.variants]

    def variant(self, name: str) -> Policy:
        """The policy of a variant: the baseline policy with the variant's overrides merged in.

        `simlock.load_scenario` has already validated every variant; a scenario built by hand is
        validated here, on first use. An unknown name or a bad override raises `ScenarioError`
        with the messages `simlock validate` prints (without a file: there is none).
        """
        if name != BASELINE and name not in self.variants:
            raise ScenarioError(
                [
                    Problem(
                        f"no variant {name!r}" + did_you_mean(name, self.variant_names),
                        path="variants",
                        allowed=", ".join(self.variant_names),
                    )
                ]
            )
        try:
            return self.merged_policy(name)
        except ValidationError as exc:
            # The loader turns pydantic's errors into plain words; it imports this module, so it
            # is imported here, where a hand-built scenario's bad variant is found.
            from .loader import scenario_error

            raise scenario_error(exc, Policy, self.variants[name], ("variants", name)) from None

    def merged_policy(self, name: str) -> Policy:
        """`variant` for a name the scenario has, raising pydantic's `ValidationError` (the
        loader, which has the file, reports it at its lines)."""
        if name == BASELINE:
            return self.policy
        override = self.variants[name]
        try:
            merged, written = merge_located(
                self.policy.model_dump(by_alias=True), {}, override, paths_in(override)
            )
        except MergeError as exc:
            raise_rule(exc.loc, exc.message, exc.allowed, override)
        try:
            policy = Policy.model_validate(merged)
        except ValidationError as exc:
            raise relocate(exc, "Policy", written) from None
        problems = policy_date_problems(policy, self.start, self.end)
        if self.end > self.start:
            problems += cohort_rules.policy_problems(policy, self.cohorts, self.start, self.end)
        problems += target_problems(policy, self.channel_names)
        raise_rules("Policy", problems, None)
        return policy

    def policies(self, names: list[str] | None = None) -> dict[str, Policy]:
        """Resolved policies by variant name (all variants when `names` is None)."""
        return {n: self.variant(n) for n in (names or self.variant_names)}

    def warnings(self) -> list[str]:
        """Allowed but probably not meant: e.g. a banned territory that no region has (said once
        for the policy, and for a variant only when it sets its own `banned`)."""
        region_ids = {r.id for r in self.regions}
        out: list[str] = []
        for name, policy in self.policies().items():
            if name != BASELINE and "banned" not in self.variants[name]:
                continue
            missing = [b for b in policy.banned if b not in region_ids]
            if missing:
                where = "policy" if name == BASELINE else f"variants.{name}"
                out.append(
                    f"{where}.banned: {', '.join(missing)} is banned but no region has that id "
                    "(only detection errors can point there)"
                )
        for name, policy in self.policies().items():
            if name != BASELINE and "targets" not in self.variants[name]:
                continue
            if _default_targets(policy) and DEFAULT_TARGET_CHANNEL not in self.channel_names:
                where = "policy" if name == BASELINE else f"variants.{name}"
                out.append(
                    f"{where}.targets: the policy targets the {DEFAULT_TARGET_CHANNEL} channel "
                    "(the default when targets are not given), which no region has: every lock "
                    "counts as collateral (name the channels the policy means to hit, e.g. "
                    f"targets: {{channels: [{self.channel_names[0]}]}})"
                )
        for name, policy in self.policies().items():
            if name != BASELINE and not {"targets", "device_list"} & set(self.variants[name]):
                continue
            where = "policy" if name == BASELINE else f"variants.{name}"
            said = batch_target_warning(policy.device_list, policy.targets.channels, where)
            out += [said] if said else []
        for name, policy in self.policies().items():
            override = self.variants.get(name, {})
            if name == BASELINE or {"lock_delay", "windows", "banned"} & set(override):
                where = "policy" if name == BASELINE else f"variants.{name}"
                out += reach_warnings(self, policy, where)
        out += self._cohort_warnings()
        for name, override in self.variants.items():
            if "coverage" in override and self.variant(name).windows:
                out.append(
                    f"variants.{name}.coverage: ignored, the policy has enforcement windows "
                    "(each has its own coverage: override windows instead)"
                )
        from .surprises import surprises  # it reads these models

        return out + surprises(self)

    def _cohort_warnings(self) -> list[str]:
        """A policy that names cohorts, over a banned region whose devices have none: its cohort
        rules never reach that region's devices."""
        out: list[str] = []
        for name, policy in self.policies().items():
            if name != BASELINE and not {"cohorts", "phases", "windows"} & set(self.variants[name]):
                continue
            if not cohort_rules.uses_cohorts(policy):
                continue
            where = "policy" if name == BASELINE else f"variants.{name}"
            for region in self.regions:
                if region.id in policy.banned and region.cohorts is None:
                    out.append(
                        f"{where}: the policy names cohorts, but region {region.id} gives no "
                        "cohort shares: its devices have no cohort, and only channels with "
                        "cohorts_by_channel are reached"
                    )
        return out


def _default_targets(policy: Policy) -> bool:
    return policy.targets.channels == [DEFAULT_TARGET_CHANNEL]


def target_problems(policy: Policy, channels: list[str]) -> list[RuleProblem]:
    """Target channels that no region has (paths relative to the policy): a typo there would
    count every lock as collateral without a word.

    The default targets (`DEFAULT_TARGET_CHANNEL` alone) are no error in a world without that
    channel: a file that does not say what it targets, or its copy written out with every
    default, must keep loading; `Scenario.warnings` says what they mean there."""
    problems = registry_problems(policy, channels)
    problems += device_list_problems(policy.device_list, channels)
    if _default_targets(policy):
        return problems
    for i, name in enumerate(policy.targets.channels):
        if name not in channels:
            problems.append(
                RuleProblem(
                    ("targets", "channels", i),
                    f"no region has a channel {name!r}" + did_you_mean(name, channels),
                    "a channel of some region: " + ", ".join(channels),
                )
            )
    return problems


def registry_problems(policy: Policy, channels: list[str]) -> list[RuleProblem]:
    """A registry's channels that no region has, and registry targets without a registry
    (paths relative to the policy)."""
    problems: list[RuleProblem] = []
    if policy.targets.unregistered and policy.registry is None:
        problems.append(
            RuleProblem(
                ("targets", "unregistered"),
                "the policy has no registry: no device is found unregistered",
                "a policy.registry, or unregistered: false",
            )
        )
    exempt_for = policy.registry.exempt_for if policy.registry is not None else None
    for i, name in enumerate(exempt_for.channels if exempt_for is not None else []):
        if name not in channels:
            problems.append(
                RuleProblem(
                    ("registry", "exempt_for", "channels", i),
                    f"no region has a channel {name!r}" + did_you_mean(name, channels),
                    "a channel of some region: " + ", ".join(channels),
                )
            )
    return problems


def policy_date_problems(policy: Policy, start: dt.date, end: dt.date) -> list[RuleProblem]:
    """Rules that tie a policy to the run's dates: windows inside the run, the lift inside the run
    and after the first window opens. Paths are relative to the policy; a window is named by its
    name, not its index: windows are sorted by start, and the loader, which has the file, maps the
    name to the window's place as written."""
    problems: list[RuleProblem] = []
    inside = f"a date from {start} to {end}"
    for window in policy.windows:
        where: Loc = ("windows", window.name)
        if window.start < start:
            problems.append(
                RuleProblem(
                    (*where, "start"),
                    f"window {window.name} opens on {window.start}, before the run starts "
                    f"({start})",
                    inside,
                )
            )
        if window.end > end:
            problems.append(
                RuleProblem(
                    (*where, "end"),
                    f"window {window.name} ends on {window.end}, after the run ends ({end})",
                    inside,
                )
            )
    registry = policy.registry
    if registry is not None and registry.start is not None and not start <= registry.start < end:
        problems.append(
            RuleProblem(
                ("registry", "start"),
                f"registry start {registry.start} is outside the run {start}..{end}",
                f"a date from {start} to {_day_before(end)}",
            )
        )
    problems += device_list_date_problems(policy.device_list, start, end)
    lift = policy.lift
    if lift is not None:
        if not start <= lift.date <= end:
            problems.append(
                RuleProblem(
                    ("lift", "date"),
                    f"lift date {lift.date} is outside the run {start}..{end}",
                    inside,
                )
            )
        elif policy.windows and lift.date <= policy.windows[0].start:
            first = policy.windows[0]
            problems.append(
                RuleProblem(
                    ("lift", "date"),
                    f"the lift on {lift.date} comes before the first window ({first.name}, "
                    f"opening {first.start}): nothing would be locked",
                    f"a date after {first.start}",
                )
            )
    return problems

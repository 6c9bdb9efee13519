"""The discrete-event engine: devices as columns, simpy for the policy's timeline and the desk.

The policy's moments (each enforcement window's opening, the lift) are simpy processes on an
`Environment` in days, and so are the support desk's cases (`desk`). Everything a device does
between those moments has a closed form (see `checkins`), so the engine never wakes a device: it
updates the device columns with vectorised numpy, one step after another.

The steps of a run, for each variant of a replication, in the order `simulate_variant` calls them
(`STEPS`):

1. `detect`: the territory the server infers; the considered devices are those detected in a
   banned territory and not exempt;
2. `cohorts`: with cohort rules (`simlock.model.cohorts`), devices of a cohort the policy does
   not reach leave the considered devices, and so do those active before a phase that is not
   retroactive (with a registry, the registry keeps those); the others' lock delay (or grace)
   counts from their phase's date at the earliest;
3. `register`: with a registry (`simlock.model.registry`), the devices registered within their
   grace, and those active before a non-retroactive registry, leave the considered devices; the
   others' lock delay counts from the end of their grace;
4. `check_list`: with a device list (`simlock.model.device_list`), only the devices on the
   vendor's list stay considered (the batch's, less those the list missed, and others listed by
   mistake); a listed device's lock delay counts from the list's start at the earliest;
5. `timeline`: simpy runs the windows and the lift. Each window, at its opening, decides the
   covered considered devices (of its cohorts) whose lock delay expires inside it, and sweeps
   those activated within its look-back (decided at the opening); the lift, at its date, ends
   the policy;
6. `warn`: with a warning policy, a decision is a warning delivered at the next contact, then
   the lock command `grace_days` later (unless the user resolves it); otherwise it is the lock
   command itself;
7. `lock`: the lock takes effect at the first contact after the command;
8. `after_lock`: the behaviours of `policy.after_lock` (`behaviours`) say when locked users end
   their lock themselves (a custom ROM);
9. `appeal`: locked users appeal after their delay, unless they are free by then; the desk serves
   them first come first served (`desk`); approved cases get an unlock command when their case
   closes (a proof-of-purchase desk approves no device of a device list's batch);
10. `unlock`: the lift's unlock command (with `lift.unlock`) and an approved appeal's take effect
   at the first contact after the command; a behaviour's end of the lock, when it comes first;
11. `conclude`: each device's outcome, the last of these that applies.

With the result comes the observation (`observation`): each locked user complains publicly with
their territory's propensity, on the day of the lock.

Events at the same instant, and what the lift ends:

* the lift ends the policy: a decision, a warning, a lock command at the end of a grace period
  or a lock dated at or after the lift never happens, and those not in effect by then are
  cancelled, however late they would have come (`cancelled_by_lift`). A window opening at the
  lift's instant decides nothing (the lift's process is scheduled first, and simpy serves events
  at one instant in the order they were scheduled);
* the end of the run comes before anything at its instant: events at or after `end` are not
  recorded (a device still locked then is censored, one whose unlock lands exactly on `end` is
  `locked_at_end`), and a lift dated on `end` (the first day after the run) never takes effect;
* between two unlocks at one instant, the lift's comes before an appeal's, and either before a
  behaviour's; a user whom a behaviour frees at the instant they would appeal does not appeal.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
import simpy

from simlock.scenario.models import CheckIn, Policy, Scenario

from . import behaviours as registry
from .behaviours import Behaviour
from .cache import Belief
from .checkins import next_contact
from .cohorts import COHORT_OUTCOMES, cohort_fate, window_members
from .desk import desk_starts
from .device_list import DEVICE_LIST_OUTCOMES, batch_codes, cannot_prove, listing_fate
from .device_list import start_day as list_start_day
from .observation import complaint_shares, complaint_times
from .policy import (
    EnforcementWindow,
    decide_in_window,
    delay_quantile,
    exempt_among,
    lift_day,
    target_channels,
    windows_in_days,
)
from .population import Population
from .registry import REGISTRY_OUTCOMES, registry_fate, start_day
from .streams import Purpose, uniform

STEPS = (
    "detect",
    "cohorts",
    "register",
    "check_list",
    "timeline",
    "warn",
    "lock",
    "after_lock",
    "appeal",
    "unlock",
    "conclude",
)
"""The engine's steps, in the order it runs them (the module docstring says what each does)."""


class Outcome(IntEnum):
    """What finally happened to a device under one variant. A behaviour after a lock adds
    `unlocked_by_<its cause>` after these (`VariantResult.outcomes`)."""

    NOT_TARGETED = 0
    EXEMPT = 1
    NOT_COVERED = 2
    CANCELLED_BY_LIFT = 3
    RESOLVED_AFTER_WARNING = 4
    PENDING_AT_END = 5
    LOCKED_AT_END = 6
    UNLOCKED_BY_LIFT = 7
    UNLOCKED_BY_APPEAL = 8


class UnlockCause(IntEnum):
    """Why a lock ended. A behaviour after a lock adds its own cause after these
    (`VariantResult.unlock_causes`)."""

    NONE = 0
    LIFT = 1
    APPEAL = 2


OUTCOMES = tuple(o.name.lower() for o in Outcome)
UNLOCK_CAUSES = tuple(c.name.lower() for c in UnlockCause)


FATE_FILLS: dict[str, float | int | bool] = {
    "decided": np.inf,
    "decided_by": -1,
    "warned": np.inf,
    "locked": np.inf,
    "unlocked": np.inf,
    "unlock_cause": 0,  # UnlockCause.NONE
    "appealed": np.inf,
    "appeal_started": np.inf,
    "appeal_closed": np.inf,
    "appeal_approved": False,
    "complained": np.inf,
}
"""The columns of a device's fate (`VariantResult.fate`), each with its value for a device to
which nothing happened (`inf`: never)."""


@dataclass
class VariantResult:
    """The fate of every device under one variant of one replication.

    `banned` holds the variant's banned territory codes (`Codebook.codes`), `targets` the codes
    of the channels its policy targets (`policy.targets`, among `Codebook.channels`; a target
    channel no device came through has no code), and `belief` names its detection
    (`cache.Belief`): variants with the same belief share `detected` and what the tables derive
    from it. `lift_day` is the day of the policy's lift (`policy.lift_day`: infinity without
    one). `outcome` and `detected` cover all devices; `considered` holds the indices of the
    devices detected in a banned territory and not exempt. `outcome` and `unlock_cause` are
    codes into `outcomes` and `unlock_causes` (names; `Outcome` and `UnlockCause` first, then
    the policy's behaviours after a lock, then a registry's `REGISTRY_OUTCOMES`, then a device
    list's `DEVICE_LIST_OUTCOMES`, then with cohort rules `cohorts.COHORT_OUTCOMES`). With a
    registry, the considered devices are those it found unregistered; `targets_unregistered`:
    the policy targets them (`policy.targets`). With a device list, they are those on the list;
    `batch`: the codes of its batch channels.

    Only the considered devices decided before the lift have a fate: `active` holds their
    positions among `considered` (ascending), and `fate` one column per name of `FATE_FILLS`
    over them (`decided`, `decided_by`, `warned`, `locked`, ... `complained`, when the user
    complained publicly: the observation model). A few percent of the considered devices are
    ever decided, so the tables count over these columns. The same names as attributes
    (`result.locked`) give a column over every considered device, filled with `FATE_FILLS`
    where nothing happened (made on first use).
    """

    variant: str
    replication: int
    window_names: tuple[str, ...]
    banned: np.ndarray
    targets: np.ndarray
    belief: Belief
    lift_day: float
    detected: np.ndarray
    outcome: np.ndarray
    considered: np.ndarray
    active: np.ndarray
    fate: dict[str, np.ndarray]
    outcomes: tuple[str, ...] = OUTCOMES
    unlock_causes: tuple[str, ...] = UNLOCK_CAUSES
    targets_unregistered: bool = False
    batch: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    """Codes (`Codebook.channels`) of a device list's batch channels (empty without one)."""
    _dense: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False)

    @property
    def decided_devices(self) -> np.ndarray:
        """Indices (in the population) of the devices with a fate, in `fate`'s order."""
        return self.considered[self.active]

    def dense(self, name: str) -> np.ndarray:
        """The fate column `name` over every considered device (read-only; kept)."""
        if name not in self._dense:
            values = self.fate[name]
            column = np.full(self.considered.size, FATE_FILLS[name], dtype=values.dtype)
            column[self.active] = values
            column.flags.writeable = False
            self._dense[name] = column
        return self._dense[name]

    def __getattr__(self, name: str) -> np.ndarray:
        # Only reached for names that are not fields: the fate columns, spread over `considered`.
        if name in FATE_FILLS:
            return self.dense(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def simulate_variant(
    scenario: Scenario,
    population: Population,
    policy: Policy,
    variant: str,
    replication: int,
    behaviours: Mapping[str, Behaviour] | None = None,
) -> VariantResult:
    """Apply one policy to one replication's devices, step by step (`STEPS`, in the module
    docstring's order). `behaviours`: those the policy's `after_lock` names (`behaviours.resolve`;
    looked up in this process's registry when not given)."""
    if behaviours is None:
        behaviours = registry.resolve({variant: policy})
    run = _VariantRun(scenario, population, policy, variant, replication)
    run.detect()
    run.cohorts()
    run.register()
    run.check_list()
    run.timeline()
    fate = run.decided_devices(behaviours)
    fate.warn()
    fate.lock()
    fate.after_lock()
    fate.appeal()
    fate.unlock()
    fate.conclude()
    return run.result(fate)


class _VariantRun:
    """One variant's run over its considered devices: detection, then the policy's timeline.

    What does not depend on the variant's policy beyond its detection (the considered devices'
    keys, activation times and personal draws) comes from the population's cache, shared by the
    variants that detect alike; what follows the timeline works only on the devices decided
    (`_Fate`).
    """

    def __init__(
        self,
        scenario: Scenario,
        population: Population,
        policy: Policy,
        variant: str,
        replication: int,
    ) -> None:
        self.scenario, self.population, self.policy = scenario, population, policy
        self.targets = target_channels(population, policy)
        self.variant, self.replication = variant, replication
        self.banned = population.codebook.codes(policy.banned)
        self.windows: list[EnforcementWindow] = windows_in_days(policy, scenario)
        self.reach = max((window.coverage for window in self.windows), default=0.0)
        """The most any window covers: a device whose coverage draw is above it is never decided."""
        self.lift_day = lift_day(policy, scenario)
        # A lift dated on the end (the first day after the run) never takes effect.
        self.lift_time = self.lift_day if self.lift_day < scenario.days else np.inf
        """When the lift ended the policy (`inf`: never), set by `timeline`."""
        empty = np.empty(0)
        self.belief: Belief | None = None
        self.detected = np.empty(0, dtype=np.int16)
        self.outcome = np.empty(0, dtype=np.int8)
        self.considered = np.empty(0, dtype=np.int64)
        self.keys = np.empty(0, dtype=np.uint64)
        self.activated = self.u_coverage = self.delay = self.due = self.decided = empty
        self.decided_by = np.empty(0, dtype=np.int8)
        self.policy_over = False
        self.reachable = np.empty(0, dtype=np.int64)
        """Positions of the considered devices some window covers (`timeline`); the others'
        lock delay is NaN (`cache.lock_delays`): never needed."""
        self.kept_devices = self.registered_devices = np.empty(0, dtype=np.int64)
        """Devices a registry kept (active before it) or found registered in time (`register`)."""
        self.other_cohort_devices = self.kept_by_phase = np.empty(0, dtype=np.int64)
        """Devices of a cohort the policy does not reach, or kept before their phase (`cohorts`)."""
        self.subject_from: np.ndarray | None = None
        self.subject_retroactive: np.ndarray | None = None
        """With phases: the day each considered device becomes subject, and whether its phase
        reaches devices active before it (`cohorts`; None without phases)."""
        self.has_cohort_rules = False
        self.list_outcomes: dict[str, np.ndarray] = {}
        """Devices a device list leaves out, by `DEVICE_LIST_OUTCOMES` name (`check_list`)."""

    def detect(self) -> None:
        """Step 1: the inference, the exemptions, and the considered devices' columns."""
        population, policy = self.population, self.policy
        population.check_policy(policy)
        inference = population.cache.inference(policy.detection, self.banned)
        self.belief, self.detected = inference.belief, inference.detected
        hits = inference.hits
        exempted = exempt_among(population, policy, self.banned, hits)
        self.outcome = np.full(len(population), Outcome.NOT_TARGETED, dtype=np.int8)
        self.outcome[hits[exempted]] = Outcome.EXEMPT
        kept = ~exempted
        self.considered = hits[kept]
        self.outcome[self.considered] = Outcome.NOT_COVERED
        hit_keys, hit_activated = population.cache.hit_columns(inference)
        u_coverage = population.cache.coverage_draws(inference)
        delay = population.cache.lock_delays(inference, policy.lock_delay, self.reach)

        def of_considered(column: np.ndarray) -> np.ndarray:
            return column if not exempted.any() else column[kept]

        self.keys = of_considered(hit_keys)
        self.activated = of_considered(hit_activated)
        self.u_coverage = of_considered(u_coverage)
        self.delay = of_considered(delay)
        self.due = self.activated + self.delay
        self.decided = np.full(self.considered.size, np.inf)
        self.decided_by = np.full(self.considered.size, -1, dtype=np.int8)

    def cohorts(self) -> None:
        """Step 2: with cohort rules, keep only the devices of reached cohorts (and, without a
        registry, not kept by their phase); their delay counts from their phase at the earliest."""
        population = self.population
        fate = cohort_fate(
            self.policy,
            self.scenario.start,
            population.codebook,
            population.cohort[self.considered],
            self.activated,
        )
        if fate is None:
            return
        self.has_cohort_rules = True
        kept = fate.kept if self.policy.registry is None else np.zeros_like(fate.kept)
        self.other_cohort_devices = self.considered[fate.outside]
        self.kept_by_phase = self.considered[kept]
        left = ~fate.outside & ~kept
        self.considered = self.considered[left]
        self.keys = self.keys[left]
        self.activated = self.activated[left]
        self.u_coverage = self.u_coverage[left]
        self.delay = self.delay[left]
        self.decided = self.decided[left]
        self.decided_by = self.decided_by[left]
        if self.policy.phases:
            self.subject_from = fate.subject_from[left]
            self.subject_retroactive = fate.retroactive[left]
        self.due = np.maximum(self.activated, fate.subject_from[left]) + self.delay

    def register(self) -> None:
        """Step 3: with a registry, keep only the devices it finds unregistered; their lock delay
        counts from the end of their grace (`simlock.model.registry`)."""
        rules = self.policy.registry
        if rules is None:
            return
        exempt_for = np.zeros(self.considered.size, dtype=bool)
        if rules.exempt_for is not None:
            codes = [
                self.population.codebook.channels.index(name)
                for name in rules.exempt_for.channels
                if name in self.population.codebook.channels
            ]
            exempt_for = np.isin(self.population.channel[self.considered], codes)
        begins = start_day(rules, self.scenario.start)
        fate = registry_fate(
            rules,
            begins if self.subject_from is None else np.maximum(begins, self.subject_from),
            self.activated,
            exempt_for,
            self.keys,
            self.subject_retroactive,
        )
        self.kept_devices = self.considered[fate.kept]
        self.registered_devices = self.considered[fate.registered]
        left = fate.unregistered
        self.considered = self.considered[left]
        self.keys = self.keys[left]
        self.activated = self.activated[left]
        self.u_coverage = self.u_coverage[left]
        self.delay = self.delay[left]
        self.due = fate.deadline[left] + self.delay
        self.decided = self.decided[left]
        self.decided_by = self.decided_by[left]

    def check_list(self) -> None:
        """Step 4: with a device list, keep only the listed devices; their lock delay counts from
        the list's start at the earliest (`simlock.model.device_list`)."""
        rules = self.policy.device_list
        if rules is None:
            return
        codes = batch_codes(rules, self.population.codebook.channels)
        in_batch = np.isin(self.population.channel[self.considered], codes)
        fate = listing_fate(
            rules, list_start_day(rules, self.scenario.start), self.activated, in_batch, self.keys
        )
        for name, mask in zip(
            DEVICE_LIST_OUTCOMES, (fate.unlisted, fate.missed, fate.before), strict=True
        ):
            self.list_outcomes[name] = self.considered[mask]
        left = fate.listed
        self.considered = self.considered[left]
        self.keys = self.keys[left]
        self.activated = self.activated[left]
        self.u_coverage = self.u_coverage[left]
        self.delay = self.delay[left]
        self.due = np.maximum(self.due[left], fate.earliest + self.delay)
        self.decided = self.decided[left]
        self.decided_by = self.decided_by[left]

    def timeline(self) -> None:
        """Step 5: the windows and the lift as simpy processes, until the end of the run."""
        self.reachable = np.flatnonzero(self.u_coverage < self.reach)
        env = simpy.Environment()
        if np.isfinite(self.lift_time):  # first: at one instant, the lift comes before a window
            env.process(self._lift(env, self.lift_time))
        for index, window in enumerate(self.windows):
            env.process(self._open_window(env, index, window))
        env.run(until=self.scenario.days)

    def _open_window(
        self, env: simpy.Environment, index: int, window: EnforcementWindow
    ) -> Generator[simpy.Event, None, None]:
        """At the opening, decide every device this window covers (its sweep included)."""
        yield env.timeout(window.start)
        if self.policy_over:  # the lift has ended the policy; later windows decide nothing
            return
        # Uncovered devices get no decision from this window: look at the covered ones only,
        # among those some window covers (the same draw in every window: `timeline`).
        covered = self.reachable[self.u_coverage[self.reachable] < window.coverage]
        members = window_members(
            self.policy,
            index,
            self.population.codebook,
            lambda: self.population.cohort[self.considered[covered]],
        )
        if members is not None:
            covered = covered[members]
        when = decide_in_window(
            window, self.activated[covered], self.due[covered], self.u_coverage[covered]
        )
        earlier = when < self.decided[covered]
        self.decided[covered[earlier]] = when[earlier]
        self.decided_by[covered[earlier]] = index

    def _lift(self, env: simpy.Environment, at: float) -> Generator[simpy.Event, None, None]:
        """At the lift, the policy ends: no window decides any more."""
        yield env.timeout(at)
        self.policy_over = True

    def decided_devices(self, behaviours: Mapping[str, Behaviour]) -> _Fate:
        """The devices decided before the lift, whose fate the next steps settle.

        A device without a decision before the lift is never warned, locked, appealed or
        unlocked, so the steps run on the decided devices only and the considered devices'
        columns are `inf` (never) elsewhere.
        """
        active = np.flatnonzero(self.decided < self.lift_time)
        return _Fate(
            active,
            self.keys[active],
            self.activated[active],
            self.considered[active],
            self.decided[active],
            self.scenario,
            self.policy,
            self.lift_time,
            behaviours,
            cannot_prove(
                self.policy.device_list,
                self.population.channel[self.considered[active]],
                self.population.codebook.channels,
            ),
        )

    def result(self, fate: _Fate) -> VariantResult:
        """The variant's result: the fate of the decided devices, over them only."""
        self.outcome[fate.devices] = fate.outcome
        active = fate.active
        extra = registry.causes(self.policy, fate.behaviours)
        outcomes = (*OUTCOMES, *(f"unlocked_by_{cause}" for cause in extra))
        if self.policy.registry is not None:
            registered, kept = (len(outcomes) + i for i in range(len(REGISTRY_OUTCOMES)))
            self.outcome[self.registered_devices] = registered
            self.outcome[self.kept_devices] = kept
            outcomes = (*outcomes, *REGISTRY_OUTCOMES)
        batch = np.empty(0, dtype=np.int64)
        if self.policy.device_list is not None:
            for name in DEVICE_LIST_OUTCOMES:
                self.outcome[self.list_outcomes[name]] = len(outcomes)
                outcomes = (*outcomes, name)
            batch = batch_codes(self.policy.device_list, self.population.codebook.channels)
        if self.has_cohort_rules:
            other, kept = (len(outcomes) + i for i in range(len(COHORT_OUTCOMES)))
            self.outcome[self.other_cohort_devices] = other
            self.outcome[self.kept_by_phase] = kept
            outcomes = (*outcomes, *COHORT_OUTCOMES)
        assert self.belief is not None, "detect runs first"
        columns = {
            "decided": self.decided[active],
            "decided_by": self.decided_by[active],
            "warned": fate.warned,
            "locked": fate.locked,
            "unlocked": fate.unlocked,
            "unlock_cause": fate.unlock_cause,
            "appealed": fate.appealed,
            "appeal_started": fate.appeal_started,
            "appeal_closed": fate.appeal_closed,
            "appeal_approved": fate.appeal_approved,
            "complained": complaint_times(
                self.keys[active],
                self.population.region[fate.devices],
                fate.locked,
                complaint_shares(self.scenario, self.population),
            ),
        }
        return VariantResult(
            variant=self.variant,
            replication=self.replication,
            window_names=tuple(w.name for w in self.windows),
            banned=self.banned,
            targets=self.targets,
            belief=self.belief,
            lift_day=self.lift_day,
            detected=self.detected,
            outcome=self.outcome,
            considered=self.considered,
            active=active,
            fate=columns,
            outcomes=outcomes,
            unlock_causes=(*UNLOCK_CAUSES, *extra),
            targets_unregistered=self.policy.targets.unregistered,
            batch=batch,
        )


class _Fate:
    """What happens to the decided devices of one variant after their decision: columns over
    those devices (`devices`: their indices in the population, ascending; `active`: their
    positions among the considered devices), each filled by one step (`inf`: never)."""

    def __init__(
        self,
        active: np.ndarray,
        keys: np.ndarray,
        activated: np.ndarray,
        devices: np.ndarray,
        decided: np.ndarray,
        scenario: Scenario,
        policy: Policy,
        lift_time: float,
        behaviours: Mapping[str, Behaviour],
        unprovable: np.ndarray,
    ) -> None:
        size = decided.size
        self.unprovable = unprovable
        """Devices whose appeal is refused whatever the desk's verdict (`device_list`)."""
        self.active, self.keys, self.activated, self.devices = active, keys, activated, devices
        self.decided = decided
        self.checkin: CheckIn = scenario.checkin
        self.horizon = scenario.days
        self.policy, self.lift_time, self.behaviours = policy, lift_time, behaviours
        unlock_on_lift = policy.lift is not None and policy.lift.unlock
        self.lift_command = lift_time if unlock_on_lift else np.inf
        """When the lift issues its unlock commands (`inf`: it does not)."""
        # Filled by `warn`:
        self.warned = np.full(size, np.inf)
        self.resolved = np.zeros(size, dtype=bool)
        self.lock_command = decided
        self.online_at = activated
        """The last time each device is known online before its lock (activation, warning)."""
        self.cancelled = np.zeros(size, dtype=bool)
        """Decisions the lift ended before they took effect (filled by `warn` and `lock`)."""
        # Filled by `lock`:
        self.locked = np.full(size, np.inf)
        # Filled by `after_lock`:
        self.freed = np.full(size, np.inf)
        self.freed_by = np.full(size, -1, dtype=np.int8)
        # Filled by `appeal`:
        self.appealed = np.full(size, np.inf)
        self.appeal_started = np.full(size, np.inf)
        self.appeal_closed = np.full(size, np.inf)
        self.appeal_approved = np.zeros(size, dtype=bool)
        self.appeal_command = np.full(size, np.inf)
        # Filled by `unlock` and `conclude`:
        self.unlocked = np.full(size, np.inf)
        self.unlock_cause = np.zeros(size, dtype=np.int8)
        self.outcome = np.full(size, Outcome.PENDING_AT_END, dtype=np.int8)

    def warn(self) -> None:
        """Step 6: warnings delivered and resolved, and the lock commands that follow."""
        warning = self.policy.warning
        if warning is None:
            return
        lift_time = self.lift_time
        warned = self._contact(self.decided, self.activated, Purpose.WARN_CONTACT)
        delivered = warned < min(lift_time, self.horizon)
        self.warned = np.where(delivered, warned, np.inf)
        self.cancelled |= np.isfinite(warned) & (warned >= lift_time)
        self.resolved = delivered & (uniform(self.keys, Purpose.RESOLVE) < warning.resolve_share)
        command = np.where(delivered & ~self.resolved, self.warned + warning.grace_days, np.inf)
        self.cancelled |= np.isfinite(command) & (command >= lift_time)
        self.lock_command = np.where(command < lift_time, command, np.inf)
        self.online_at = np.where(delivered, self.warned, self.activated)

    def lock(self) -> None:
        """Step 7: each lock command takes effect at the next contact (before the lift)."""
        locked = self._contact(self.lock_command, self.online_at, Purpose.LOCK_CONTACT)
        self.cancelled |= np.isfinite(locked) & (locked >= self.lift_time)
        self.locked = np.where(locked < min(self.lift_time, self.horizon), locked, np.inf)

    def after_lock(self) -> None:
        """Step 8: when the policy's behaviours after a lock free each locked device."""
        if not self.policy.after_lock:
            return
        locked = np.flatnonzero(np.isfinite(self.locked))
        freed, by = registry.freed_at(
            self.policy, self.behaviours, self.keys[locked], self.locked[locked]
        )
        self.freed[locked], self.freed_by[locked] = freed, by

    def appeal(self) -> None:
        """Step 9: the support desk; approved cases get an unlock command when they close."""
        appeals = self.policy.appeals
        if appeals is None:
            return
        horizon = self.horizon
        is_locked = np.isfinite(self.locked)
        wants = is_locked & (uniform(self.keys, Purpose.APPEAL) < appeals.share)
        filed_at = self.locked + delay_quantile(
            appeals.delay, uniform(self.keys, Purpose.APPEAL_DELAY)
        )
        filed = wants & (filed_at < min(self.lift_command, horizon))
        if self.policy.after_lock:  # a user free by then does not appeal
            filed &= filed_at < self.freed
        self.appealed[filed] = filed_at[filed]

        cases = np.flatnonzero(filed)
        cases = cases[np.lexsort((self.devices[cases], filed_at[cases]))]
        fixed = appeals.fixed_service_days
        if fixed is not None:
            service = np.full(cases.size, fixed)
        else:
            service = delay_quantile(
                appeals.service_delay, uniform(self.keys[cases], Purpose.SERVICE)
            )
        # The lift withdraws every case not yet started; the desk is cleared.
        stop = min(self.lift_command, horizon)
        starts = desk_starts(filed_at[cases], service, appeals.agents, stop, fixed)
        closes = starts + service
        served = starts < stop
        self.appeal_started[cases[served]] = starts[served]
        closed_in_run = served & (closes < horizon)
        self.appeal_closed[cases[closed_in_run]] = closes[closed_in_run]
        approved = uniform(self.keys[cases], Purpose.APPROVAL) < appeals.approval_share
        approved &= ~self.unprovable[cases]
        self.appeal_approved[cases] = approved & closed_in_run
        grant = cases[approved & closed_in_run]
        self.appeal_command[grant] = self.appeal_closed[grant]

    def unlock(self) -> None:
        """Step 10: unlock commands (lift, appeal) take effect at the next contact; a behaviour's
        end of the lock, when it comes first."""
        is_locked = np.isfinite(self.locked)
        command = np.where(is_locked, np.minimum(self.appeal_command, self.lift_command), np.inf)
        unlocked = self._contact(
            command, np.where(is_locked, self.locked, self.activated), Purpose.UNLOCK_CONTACT
        )
        cause = np.where(
            self.appeal_command < self.lift_command, UnlockCause.APPEAL, UnlockCause.LIFT
        )
        if self.policy.after_lock:
            escaped = self.freed < unlocked
            unlocked = np.where(escaped, self.freed, unlocked)
            cause = np.where(escaped, len(UnlockCause) + self.freed_by, cause)
        self.unlocked = np.where(unlocked < self.horizon, unlocked, np.inf)
        self.unlock_cause = np.where(np.isfinite(self.unlocked), cause, UnlockCause.NONE).astype(
            np.int8
        )

    def conclude(self) -> None:
        """Step 11: every device here has a decision: what happened after it, the last that
        applies."""
        outcome = self.outcome
        outcome[self.cancelled] = Outcome.CANCELLED_BY_LIFT
        outcome[self.resolved] = Outcome.RESOLVED_AFTER_WARNING
        outcome[np.isfinite(self.locked)] = Outcome.LOCKED_AT_END
        outcome[self.unlock_cause == UnlockCause.LIFT] = Outcome.UNLOCKED_BY_LIFT
        outcome[self.unlock_cause == UnlockCause.APPEAL] = Outcome.UNLOCKED_BY_APPEAL
        by_behaviour = self.unlock_cause >= len(UnlockCause)
        outcome[by_behaviour] = len(Outcome) + self.unlock_cause[by_behaviour] - len(UnlockCause)

    def _contact(self, t: np.ndarray, online_at: np.ndarray, purpose: Purpose) -> np.ndarray:
        """First contact after `t`, computed only where `t` is finite (most never need one)."""
        out = np.full(t.size, np.inf)
        todo = np.flatnonzero(np.isfinite(t) & (t < self.horizon))
        if todo.size:
            out[todo] = next_contact(
                self.checkin,
                t[todo],
                online_at[todo],
                self.activated[todo],
                self.keys[todo],
                purpose,
            )
        return out

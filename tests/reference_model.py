"""A small, plain reference model of the lock policy: one simpy process per device.

Used only by the tests (to prove the columnar engine right) and by `benchmarks/bench_engine.py`
(to measure how much faster the engine is). It is written from the specification (the README's
"model in one paragraph", the scenario format's docstrings and the engine module docstring), not
from the engine's closed forms: every check-in is simulated one by one, and every random draw
comes from its own `numpy.random.Generator` (spawned from the scenario seed), in the order the
simulation needs it. It shares with the engine only what defines *which* devices exist and what
the server believes about them: the population generator and the detection and exemption rules.

How it runs, for each device detected in a banned territory and not exempt:

* the device process starts at the activation (a contact: the device is online then), then
  alternates online and offline spells (goes offline at rate `offline_rate_per_day`, comes back
  after an exponential spell of mean `offline_mean_days`), checks in on its schedule while online
  and once more the moment it comes back;
* the periodic schedule is check-in k at activation + phase + k * interval + jitter_k, with the
  phase uniform on [0, interval) and each jitter uniform on [-jitter, +jitter]; scheduled check-ins
  before the activation or while offline are missed. Poisson check-ins have exponential gaps of
  mean `interval_days` (those falling in an offline spell are missed);
* the server holds at most one command per device (warning, lock or unlock); it takes effect at
  the first contact strictly after it was issued.

The server side: a clock process decides each device when its lock delay expires, if a window is
open then whose coverage covers it; each window, at its opening, sweeps the covered devices whose
delay expired before it and that were activated within its look-back. A decision issues a lock
command, or with a warning policy a warning command; a delivered warning is resolved by a share
of users at once, otherwise the lock command follows `grace_days` later. The lift process cancels
every warning and lock not yet in effect, ends all decisions, and (with `unlock`) issues unlock
commands to locked devices and withdraws the appeals the desk has not started. Each locked user
appeals with probability `share` after a delay; the desk is a `simpy.Resource` with `agents`
servers, each case taking its own service time (drawn when it starts, from `service`, or the
fixed `service_days`); an approved case issues an unlock command when it closes. Behaviours after
a lock (`policy.after_lock`; this model knows the built-in `custom_rom`): at the lock, each entry
in turn is taken with probability `share`, and ends the lock `delay` later if the device is still
locked (or only has an unlock command pending) then.

Where the specification leaves a choice open, this model takes the one the README and the
engine's docstrings state, and says so:

* coverage is one draw per device, compared with each window's coverage (a device covered at 5%
  is covered at 60%: staged rollout), as in `simlock.model.policy.decide_in_window`;
* when several windows would decide a device, the earliest decision counts, and between windows
  deciding at the same time, the one listed first (windows are sorted by start) is the cause;
* a window only decides devices activated before its end; a sweep needs a positive look-back;
* the lift at day T ends the policy: decisions due at or after T never happen (the device is
  `not_covered`, i.e. never decided), every decision not yet in effect at T is `cancelled_by_lift`
  (a warning not yet delivered, a warned user still in grace, a lock command not yet delivered);
* appeals are filed only before the lift's unlock command (after it the device is being unlocked
  anyway); cases the desk has not started at the lift are withdrawn, cases in service still close
  (and their verdict is recorded), but the unlock then comes from the lift, which was first;
* a lift with `unlock: false` cancels pending locks, leaves locked devices locked and the desk
  open;
* a user whose lock a behaviour has ended does not appeal (a behaviour's process is started
  before the appeal's, so at the same instant it comes first); a case already filed is still
  served and its verdict recorded;
* events at or after the end of the run are not recorded (a device locked then is censored);
* a registry (`policy.registry`) is settled device by device before the run: a device active
  before a registry that is not retroactive is kept; the grace of the others begins at the
  later of first use (plus the limited exemption of its channel, if any) and the registry's
  start; a user tries to register with probability `try_share`, the registration completes a
  drawn delay after the grace begins and succeeds with probability `success_share`; one
  completed by the end of the grace (inclusive) keeps the device out of the policy, any other
  device's lock delay counts from the end of its grace;
* cohort rules (`policy.cohorts`, `policy.phases`, `windows[].cohorts`) are settled device by
  device before the registry: a device whose cohort the policy does not name, or (with phases)
  that no phase names and without a phase that has no cohorts, is `other_cohort`; a device's
  phase makes it subject from the phase's date: its lock delay (or, with a registry, its grace)
  counts from the later of its activation and that date; a device activated before the date of
  a phase that is not retroactive (a phase says so, or else the registry does, or else it is
  retroactive) is kept (`kept_before_phase`; with a registry, the registry keeps it as
  `kept_before_registry`); a window with cohorts decides only devices of those cohorts;
* a device list (`policy.device_list`) is settled device by device after the registry: a device
  of a batch channel is on the list unless the list missed it (probability `missed_share`), any
  other with probability `false_listing_share`; a device not on the list is out of the policy
  (`not_listed`, or `missed_by_list` for the batch); a listed device first connected before the
  list's start is kept (`connected_before_list`) when the list is checked only at a first
  connection; any other listed device is decided its lock delay after the later of when it
  would have been due (activation, or the end of a registry's grace) and the list's start;
  with `proof_of_purchase`, the desk approves no appeal of a batch device (it still serves it).
"""

from __future__ import annotations

import zlib
from collections.abc import Generator
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import pandas as pd
import simpy

from simlock.model.detection import infer_territory
from simlock.model.policy import exempt
from simlock.model.population import Population, generate
from simlock.scenario.device_list import DeviceList
from simlock.scenario.models import Delay, Policy, Registry, Scenario

REFERENCE_STREAM = zlib.crc32(b"reference-model")
"""Spawn-key entry that keeps the reference's draws apart from every stream of the engine."""

OUTCOMES = (
    "not_targeted",
    "exempt",
    "not_covered",
    "cancelled_by_lift",
    "resolved_after_warning",
    "pending_at_end",
    "locked_at_end",
    "unlocked_by_lift",
    "unlocked_by_appeal",
)
"""Outcome names, the same words as the engine's `Outcome` (lower case)."""


class _State(IntEnum):
    """Where a considered device stands in the policy's life cycle."""

    IDLE = 0  # never decided (yet)
    WARN_PENDING = 1  # warning command issued, not delivered
    WARNED = 2  # warning delivered, waiting for the grace period to end
    LOCK_PENDING = 3  # lock command issued, not delivered
    LOCKED = 4
    UNLOCK_PENDING = 5  # unlock command issued, not delivered
    UNLOCKED = 6
    RESOLVED = 7
    CANCELLED = 8


_FINISHED = {_State.UNLOCKED, _State.RESOLVED, _State.CANCELLED}


def sample_delay(delay: Delay, rng: np.random.Generator, size: int) -> np.ndarray:
    """Draw `size` delays (days) straight from the distribution's definition."""
    kind = delay.distribution
    if kind == "fixed":
        return np.full(size, float(delay.days))
    if kind == "uniform":
        return rng.uniform(delay.low_days, delay.high_days, size)
    if kind == "exponential":
        return rng.exponential(delay.mean_days, size)
    if kind == "lognormal":
        return rng.lognormal(np.log(delay.median_days), delay.sigma, size)
    values = np.asarray(delay.values_days, dtype=float)
    weights = np.ones(values.size) if delay.weights is None else np.asarray(delay.weights, float)
    return rng.choice(values, size=size, p=weights / weights.sum())


@dataclass(frozen=True)
class _Window:
    name: str
    start: float
    end: float
    coverage: float
    lookback: float


class _Reference:
    """The state of one reference run: a simpy environment, the server and its devices."""

    def __init__(
        self, scenario: Scenario, policy: Policy, population: Population, replication: int
    ) -> None:
        self.scenario, self.policy, self.population = scenario, policy, population
        self.horizon = scenario.days
        sequence = np.random.SeedSequence(scenario.seed, spawn_key=(replication, REFERENCE_STREAM))
        self.rng = np.random.Generator(np.random.PCG64(sequence))
        banned = population.codebook.codes(policy.banned)
        self.detected, hit = infer_territory(population, policy.detection, banned)
        self.exempted = exempt(population, policy, banned) & hit
        self.considered = np.flatnonzero(hit & ~self.exempted)
        n = len(population)
        self.env = simpy.Environment()
        self.state = [_State.IDLE] * n
        self.command_at = np.full(n, np.inf)
        self.times = {
            name: np.full(n, np.nan)
            for name in (
                "decided",
                "warned",
                "locked",
                "unlocked",
                "appealed",
                "appeal_started",
                "appeal_closed",
            )
        }
        self.decided_by = np.full(n, -1, dtype=np.int16)
        self.unlock_cause = np.full(n, "none", dtype=object)
        self.appeal_approved = np.zeros(n, dtype=bool)
        self.policy_over = False
        self.lift_unlocked = False
        self.windows = [
            _Window(
                w.name,
                float((w.start - scenario.start).days),
                float((w.end - scenario.start).days),
                w.coverage,
                w.lookback_days,
            )
            for w in policy.windows
        ] or [_Window("always", 0.0, self.horizon, policy.coverage, 0.0)]
        self.last_window_end = max(w.end for w in self.windows)
        size = n
        rng = self.rng
        self.u_coverage = rng.random(size)
        lock_delay = sample_delay(policy.lock_delay, rng, size)
        self.due = population.activated + lock_delay
        self.registry_outcome: dict[int, str] = {}
        self.subject_from = np.zeros(size)
        self.retroactive = np.full(
            size, policy.registry.retroactive if policy.registry is not None else True
        )
        if policy.cohorts is not None or policy.phases:
            self.considered = self.select_cohorts(lock_delay)
        if policy.registry is not None:
            self.considered = self.register(policy.registry, lock_delay)
        self.list_outcome: dict[int, str] = {}
        if policy.device_list is not None:
            self.considered = self.check_list(policy.device_list, lock_delay)
        self.desk = (
            simpy.Resource(self.env, capacity=policy.appeals.agents) if policy.appeals else None
        )

    # --- cohorts -------------------------------------------------------------------------------

    def cohort_of(self, i: int) -> str | None:
        code = self.population.cohort[i]
        return self.population.codebook.cohorts[code] if code >= 0 else None

    def select_cohorts(self, lock_delay: np.ndarray) -> np.ndarray:
        """The considered devices the cohort rules reach, one device at a time; the others are
        `other_cohort` or kept before their phase."""
        policy, start = self.policy, self.scenario.start
        subject = []
        for i in self.considered:
            name = self.cohort_of(i)
            if policy.cohorts is not None and name not in policy.cohorts:
                self.registry_outcome[i] = "other_cohort"
                continue
            if policy.phases:
                named = [p for p in policy.phases if p.cohorts is not None and name in p.cohorts]
                rest = [p for p in policy.phases if p.cohorts is None]
                phases = named or rest
                if not phases:
                    self.registry_outcome[i] = "other_cohort"
                    continue
                phase = phases[0]
                self.subject_from[i] = float((phase.from_ - start).days)
                if phase.retroactive is not None:
                    self.retroactive[i] = phase.retroactive
            activated = self.population.activated[i]
            kept = activated < self.subject_from[i] and not self.retroactive[i]
            if kept and policy.registry is None:
                self.registry_outcome[i] = "kept_before_phase"
                continue
            self.due[i] = max(activated, self.subject_from[i]) + lock_delay[i]
            subject.append(i)
        return np.array(subject, dtype=np.int64)

    def window_decides(self, window: int, i: int) -> bool:
        """Whether the policy's window `window` decides devices of device i's cohort."""
        if not self.policy.windows:
            return True
        cohorts = self.policy.windows[window].cohorts
        return cohorts is None or self.cohort_of(i) in cohorts

    # --- the registry -------------------------------------------------------------------------

    def register(self, registry: Registry, lock_delay: np.ndarray) -> np.ndarray:
        """The considered devices the registry finds unregistered, one device at a time: the
        others are kept (active before a registry that is not retroactive) or registered in
        time; the lock delay of the unregistered counts from the end of their grace."""
        start = self.scenario.start
        registry_day = float((registry.start - start).days) if registry.start else 0.0
        book = self.population.codebook
        exempt_for = registry.exempt_for
        exempt_codes = (
            {book.channels.index(c) for c in exempt_for.channels if c in book.channels}
            if exempt_for is not None
            else set()
        )
        unregistered = []
        for i in self.considered:
            activated = self.population.activated[i]
            start_day = max(registry_day, self.subject_from[i])  # a phase may start it later
            if activated < start_day and not self.retroactive[i]:
                self.registry_outcome[i] = "kept_before_registry"
                continue
            first_use = activated
            if exempt_for is not None and self.population.channel[i] in exempt_codes:
                first_use += exempt_for.days  # the exemption expires: the rule applies
            grace_begins = max(first_use, start_day)
            deadline = grace_begins + registry.grace_days
            if self.rng.random() < registry.try_share:
                completed = grace_begins + sample_delay(registry.registration_delay, self.rng, 1)[0]
                if self.rng.random() < registry.success_share and completed <= deadline:
                    self.registry_outcome[i] = "registered"
                    continue
            self.due[i] = deadline + lock_delay[i]
            unregistered.append(i)
        return np.array(unregistered, dtype=np.int64)

    # --- the device list ------------------------------------------------------------------------

    def check_list(self, device_list: DeviceList, lock_delay: np.ndarray) -> np.ndarray:
        """The considered devices on the vendor's list, one device at a time: the others are
        not listed (or missed, for the batch), and a first-connection list keeps the listed
        devices first connected before it; a listed device is not due before the list's start
        plus its lock delay."""
        book = self.population.codebook
        start_day = (
            float((device_list.start - self.scenario.start).days) if device_list.start else 0.0
        )
        batch = {book.channels.index(c) for c in device_list.batch if c in book.channels}
        listed = []
        for i in self.considered:
            in_batch = self.population.channel[i] in batch
            draw = self.rng.random()
            if in_batch and draw < device_list.missed_share:
                self.list_outcome[i] = "missed_by_list"
                continue
            if not in_batch and draw >= device_list.false_listing_share:
                self.list_outcome[i] = "not_listed"
                continue
            first_connection = self.population.activated[i]
            if device_list.check == "first_connection" and first_connection < start_day:
                self.list_outcome[i] = "connected_before_list"
                continue
            self.due[i] = max(self.due[i], start_day + lock_delay[i])
            listed.append(i)
        return np.array(listed, dtype=np.int64)

    def _unprovable(self, i: int) -> bool:
        """A proof-of-purchase desk refuses the holder of a batch device."""
        device_list = self.policy.device_list
        if device_list is None or not device_list.proof_of_purchase:
            return False
        return self.population.codebook.channels[self.population.channel[i]] in device_list.batch

    # --- the device ---------------------------------------------------------------------------

    def device(self, i: int) -> Generator[simpy.Event, None, None]:
        """Check in, one check-in at a time, from the activation until nothing can change."""
        env, rng, checkin = self.env, self.rng, self.scenario.checkin
        yield env.timeout(self.population.activated[i])
        interval, jitter = checkin.interval_days, checkin.jitter_days
        periodic = checkin.model == "periodic"
        offline_rate, spell_mean = checkin.offline_rate_per_day, checkin.offline_mean_days
        phase = rng.uniform(0.0, interval)
        count = 0

        def following(previous: float) -> float:
            """The scheduled check-in after `previous` (online or not: it may be missed)."""
            nonlocal count
            if not periodic:
                return previous + rng.exponential(interval)
            count += 1
            return activated + phase + (count - 1) * interval + rng.uniform(-jitter, jitter)

        activated = env.now
        scheduled = following(activated)
        while scheduled <= env.now:
            scheduled = following(scheduled)
        goes_offline = env.now + rng.exponential(1.0 / offline_rate) if offline_rate else np.inf
        while not self._finished(i):
            if scheduled < goes_offline:
                yield env.timeout(scheduled - env.now)
                self.contact(i)
                scheduled = following(scheduled)
            else:
                yield env.timeout(goes_offline - env.now)
                yield env.timeout(rng.exponential(spell_mean))
                self.contact(i)  # back online: the device checks in at once
                goes_offline = env.now + rng.exponential(1.0 / offline_rate)
                while scheduled <= env.now:  # check-ins scheduled while offline were missed
                    scheduled = following(scheduled)

    def _finished(self, i: int) -> bool:
        """Nothing more can happen to this device (its process may stop)."""
        state = self.state[i]
        if state in _FINISHED:
            return True
        return state == _State.IDLE and (self.policy_over or self.env.now >= self.last_window_end)

    def contact(self, i: int) -> None:
        """The device talks to the server: a command issued strictly before now takes effect."""
        now = self.env.now
        if not now > self.command_at[i]:
            return
        state = self.state[i]
        if state == _State.WARN_PENDING:
            self.times["warned"][i] = now
            warning = self.policy.warning
            if self.rng.random() < warning.resolve_share:
                self._set(i, _State.RESOLVED)
            else:
                self._set(i, _State.WARNED)
                self.env.process(self.grace(i, warning.grace_days))
        elif state == _State.LOCK_PENDING:
            self.times["locked"][i] = now
            self._set(i, _State.LOCKED)
            for entry in self.policy.after_lock:
                if self.rng.random() < entry.share:
                    self.env.process(self.after_lock(i, entry.behaviour, entry.delay))
            appeals = self.policy.appeals
            if appeals is not None and self.rng.random() < appeals.share:
                self.env.process(self.appeal(i))
        elif state == _State.UNLOCK_PENDING:
            self.times["unlocked"][i] = now
            self._set(i, _State.UNLOCKED)

    def _set(self, i: int, state: _State, command_at: float = np.inf) -> None:
        self.state[i] = state
        self.command_at[i] = command_at

    # --- the server ---------------------------------------------------------------------------

    def decide(self, i: int, window: int) -> None:
        """A lock decision: a warning command, or a lock command, issued now."""
        self.times["decided"][i] = self.env.now
        self.decided_by[i] = window
        pending = _State.WARN_PENDING if self.policy.warning is not None else _State.LOCK_PENDING
        self._set(i, pending, self.env.now)

    def clock(self, order: np.ndarray) -> Generator[simpy.Event, None, None]:
        """Decide each device when its lock delay expires, if an open window covers it then."""
        for i in order:
            due = self.due[i]
            if due >= self.last_window_end:
                return
            if due > self.env.now:
                yield self.env.timeout(due - self.env.now)
            if self.policy_over or self.state[i] != _State.IDLE:
                continue
            for index, window in enumerate(self.windows):
                if (
                    window.start <= due < window.end
                    and self.u_coverage[i] < window.coverage
                    and self.window_decides(index, i)
                ):
                    self.decide(i, index)
                    break

    def open_window(self, index: int) -> Generator[simpy.Event, None, None]:
        """At its opening, a window with a look-back sweeps covered devices already due."""
        window = self.windows[index]
        yield self.env.timeout(window.start)
        if self.policy_over or window.lookback <= 0:
            return
        for i in self.considered:
            if (
                self.state[i] == _State.IDLE
                and self.due[i] < window.start
                and self.population.activated[i] >= window.start - window.lookback
                and self.u_coverage[i] < window.coverage
                and self.window_decides(index, i)
            ):
                self.decide(i, index)

    def grace(self, i: int, days: float) -> Generator[simpy.Event, None, None]:
        """After the grace period, the lock command (unless the lift cancelled it)."""
        yield self.env.timeout(days)
        if self.state[i] == _State.WARNED:
            self._set(i, _State.LOCK_PENDING, self.env.now)

    def lift(self, at: float, unlock: bool) -> Generator[simpy.Event, None, None]:
        """End the policy: cancel what is pending, unlock the locked (with `unlock`)."""
        yield self.env.timeout(at)
        self.policy_over = True
        self.lift_unlocked = unlock
        for i in self.considered:
            state = self.state[i]
            if state in (_State.WARN_PENDING, _State.WARNED, _State.LOCK_PENDING):
                self._set(i, _State.CANCELLED)
            elif state == _State.LOCKED and unlock:
                self._set(i, _State.UNLOCK_PENDING, at)
                self.unlock_cause[i] = "lift"

    def after_lock(
        self, i: int, behaviour: str, delay: Delay
    ) -> Generator[simpy.Event, None, None]:
        """A locked user who behaves so ends the lock after the delay, if still locked then."""
        if behaviour != "custom_rom":
            raise NotImplementedError(f"the reference model does not know {behaviour!r}")
        yield self.env.timeout(sample_delay(delay, self.rng, 1)[0])
        if self.state[i] in (_State.LOCKED, _State.UNLOCK_PENDING):
            self.times["unlocked"][i] = self.env.now
            self._set(i, _State.UNLOCKED)
            self.unlock_cause[i] = "custom_rom"

    def appeal(self, i: int) -> Generator[simpy.Event, None, None]:
        """A locked user appeals after a delay and waits for the desk (first come first served)."""
        appeals = self.policy.appeals
        env = self.env
        yield env.timeout(sample_delay(appeals.delay, self.rng, 1)[0])
        if self.lift_unlocked or self.state[i] == _State.UNLOCKED:
            return  # the lift is unlocking the device already, or a behaviour has freed it
        self.times["appealed"][i] = env.now
        with self.desk.request() as request:
            yield request
            if self.lift_unlocked:
                return  # withdrawn: the lift cleared the desk before this case started
            self.times["appeal_started"][i] = env.now
            yield env.timeout(sample_delay(appeals.service_delay, self.rng, 1)[0])
            self.times["appeal_closed"][i] = env.now
            approved = self.rng.random() < appeals.approval_share and not self._unprovable(i)
            self.appeal_approved[i] = approved
            if approved and self.state[i] == _State.LOCKED:
                self._set(i, _State.UNLOCK_PENDING, env.now)
                self.unlock_cause[i] = "appeal"

    # --- running and reporting ----------------------------------------------------------------

    def run(self) -> pd.DataFrame:
        env = self.env
        for i in self.considered:
            env.process(self.device(i))
        order = self.considered[np.argsort(self.due[self.considered], kind="stable")]
        env.process(self.clock(order))
        for index in range(len(self.windows)):
            env.process(self.open_window(index))
        lift = self.policy.lift
        if lift is not None:
            env.process(self.lift(float((lift.date - self.scenario.start).days), lift.unlock))
        env.run(until=self.horizon)
        return self.frame()

    def outcome(self, i: int, considered: bool) -> str:
        if not considered:
            if i in self.registry_outcome:
                return self.registry_outcome[i]
            if i in self.list_outcome:
                return self.list_outcome[i]
            return "exempt" if self.exempted[i] else "not_targeted"
        state = self.state[i]
        if state == _State.UNLOCKED:
            return f"unlocked_by_{self.unlock_cause[i]}"
        return {
            _State.IDLE: "not_covered",
            _State.WARN_PENDING: "pending_at_end",
            _State.WARNED: "pending_at_end",
            _State.LOCK_PENDING: "pending_at_end",
            _State.LOCKED: "locked_at_end",
            _State.UNLOCK_PENDING: "locked_at_end",
            _State.RESOLVED: "resolved_after_warning",
            _State.CANCELLED: "cancelled_by_lift",
        }[state]

    def frame(self) -> pd.DataFrame:
        population = self.population
        n = len(population)
        is_considered = np.zeros(n, dtype=bool)
        is_considered[self.considered] = True
        names = [w.name for w in self.windows]
        unlocked = ~np.isnan(self.times["unlocked"])
        return pd.DataFrame(
            {
                "device": np.arange(n),
                "region": population.region,
                "channel": population.channel,
                "cohort": population.cohort,
                "detected": self.detected,
                "considered": is_considered,
                "activated": population.activated,
                **self.times,
                "decided_by": [names[w] if w >= 0 else "none" for w in self.decided_by],
                "unlock_cause": np.where(unlocked, self.unlock_cause, "none"),
                "appeal_approved": self.appeal_approved,
                "outcome": [self.outcome(i, is_considered[i]) for i in range(n)],
            }
        )


def simulate_reference(
    scenario: Scenario, policy: Policy, replication: int, population: Population | None = None
) -> pd.DataFrame:
    """Simulate one replication of `policy` device by device; one row per device.

    The devices are those of `simlock.model.population.generate(scenario, replication)` (pass
    `population` to reuse them). Times are days from the start, NaN for what never happened
    before the end of the run; `decided_by` and `unlock_cause` name the window and the cause
    (`lift`, `appeal`, `custom_rom`), `outcome` is one of `OUTCOMES` or `unlocked_by_custom_rom`.
    """
    devices = population if population is not None else generate(scenario, replication)
    return _Reference(scenario, policy, devices, replication).run()

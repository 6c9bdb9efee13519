"""The discrete-event engine: devices as columns, simpy for the policy's timeline.

One process per enforcement window and one for the lift run on a simpy `Environment` in days.
Everything a device does between those moments has a closed form (see `checkins`), so the engine
never wakes a device: at each policy moment it updates the device columns with vectorised numpy.

The order of a run, for each variant of a replication:

1. detection: the territory the server infers; eligible = detected in a banned territory and
   not exempt;
2. each window, at its opening, decides the covered eligible devices whose lock delay expires
   inside it, and sweeps those activated within its look-back (decided at the opening);
3. a decision is a lock command, or with a warning policy a warning delivered at the next
   contact, then the lock command `grace_days` later (unless the user resolves it);
4. the lock takes effect at the first contact after the command;
5. the lift, at its date, cancels every lock not yet delivered and issues unlock commands;
6. appeals: locked users appeal after their delay, the desk serves them first come first served,
   approved cases get an unlock command when their case closes;
7. an unlock takes effect at the first contact after its command;
8. the observation: each locked user complains publicly with their territory's propensity
   (`observation`).

Events after the end of the run are not recorded: a device still locked then is censored.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import simpy

from simlock.scenario.models import CheckIn, Policy, Scenario

from .checkins import next_contact
from .detection import cached_inference
from .observation import complaint_shares, complaint_times
from .policy import (
    decide_in_window,
    delay_quantile,
    exempt_among,
    fcfs_desk_start,
    lift_day,
    personal_draws,
    target_channels,
    windows_in_days,
)
from .population import Population
from .streams import Purpose, uniform


class Outcome(IntEnum):
    """What finally happened to a device under one variant."""

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
    NONE = 0
    LIFT = 1
    APPEAL = 2


@dataclass
class VariantResult:
    """The fate of every device under one variant of one replication.

    `banned` holds the variant's banned territory codes (`Codebook.codes`), `targets` the codes
    of the channels its policy targets (`policy.targets`, among `Codebook.channels`; a target
    channel no device came through has no code), and `belief` names its
    detection among the population's memos (`detection.Inference.key`): variants with the same
    belief share `detected` and what the tables derive from it. `lift_day` is the day of the
    policy's lift (`policy.lift_day`: infinity without one). `outcome` and `detected` cover all
    devices; the time columns cover only the `considered` devices (detected in a banned
    territory and not exempt), indexed by `considered`, with `inf` for what never happened
    before the end of the run. `complained` is when the device's user complained publicly (the
    observation model, `observation`): their lock time, or `inf`.
    """

    variant: str
    replication: int
    window_names: tuple[str, ...]
    banned: np.ndarray
    targets: np.ndarray
    belief: tuple[object, ...]
    lift_day: float
    detected: np.ndarray
    outcome: np.ndarray
    considered: np.ndarray
    decided: np.ndarray
    decided_by: np.ndarray
    warned: np.ndarray
    locked: np.ndarray
    unlocked: np.ndarray
    unlock_cause: np.ndarray
    appealed: np.ndarray
    appeal_started: np.ndarray
    appeal_closed: np.ndarray
    appeal_approved: np.ndarray
    complained: np.ndarray


def simulate_variant(
    scenario: Scenario, population: Population, policy: Policy, variant: str, replication: int
) -> VariantResult:
    """Apply one policy to one replication's devices (see the module docstring for the order)."""
    run = _VariantRun(scenario, population, policy, variant, replication)
    env = simpy.Environment()
    for index, window in enumerate(run.windows):
        env.process(run.open_window(env, index, window))
    if np.isfinite(run.lift_time):
        env.process(run.lift(env, run.lift_time))
    env.run(until=scenario.days)
    return run.result if run.result is not None else run.settle(lift_time=np.inf)


class _VariantRun:
    """The mutable state of one variant's run: columns over the considered devices, until
    `settle` turns them into the `result`.

    What does not depend on the variant's policy beyond its detection (the considered devices'
    keys, activation times and personal draws) is kept with the population and shared by the
    variants that detect alike; the settlement works only on the devices a window decided.
    """

    def __init__(
        self,
        scenario: Scenario,
        population: Population,
        policy: Policy,
        variant: str,
        replication: int,
    ) -> None:
        self.scenario, self.policy, self.population = scenario, policy, population
        self.targets = target_channels(population, policy)
        self.variant, self.replication = variant, replication
        self.banned = banned = population.codebook.codes(policy.banned)
        inference = cached_inference(population, policy.detection, banned)
        self.belief = inference.key
        self.detected = inference.detected
        hits = inference.hits
        exempted = exempt_among(population, policy, banned, hits)
        self.outcome = np.full(len(population), Outcome.NOT_TARGETED, dtype=np.int8)
        self.outcome[hits[exempted]] = Outcome.EXEMPT
        kept = ~exempted
        self.considered = hits[kept]
        self.outcome[self.considered] = Outcome.NOT_COVERED
        hit_keys, hit_activated = population.memo(
            ("hit columns", inference.key),
            lambda: _read_only(population.key[hits], population.activated[hits]),
        )
        u_coverage, delay = population.memo(
            ("personal draws", inference.key, policy.lock_delay.model_dump_json()),
            lambda: _read_only(*personal_draws(hit_keys, policy)),
        )

        def of_considered(column: np.ndarray) -> np.ndarray:
            return column if not exempted.any() else column[kept]

        self.keys = of_considered(hit_keys)
        self.activated = of_considered(hit_activated)
        self.u_coverage = of_considered(u_coverage)
        self.due = self.activated + of_considered(delay)
        self.windows = windows_in_days(policy, scenario)
        size = self.considered.size
        self.decided = np.full(size, np.inf)
        self.decided_by = np.full(size, -1, dtype=np.int8)
        self.lift_time = lift_day(policy, scenario)
        self.result: VariantResult | None = None

    def open_window(self, env: simpy.Environment, index: int, window):
        """At the opening, decide every device this window covers (its sweep included)."""
        yield env.timeout(window.start)
        if self.result is not None:  # the lift has ended the policy; later windows decide nothing
            return
        # Uncovered devices get no decision from this window: look at the covered ones only.
        covered = np.flatnonzero(self.u_coverage < window.coverage)
        when = decide_in_window(
            window, self.activated[covered], self.due[covered], self.u_coverage[covered]
        )
        earlier = when < self.decided[covered]
        self.decided[covered[earlier]] = when[earlier]
        self.decided_by[covered[earlier]] = index

    def lift(self, env: simpy.Environment, at: float):
        """At the lift, cancel locks not yet delivered and settle everything up to now."""
        yield env.timeout(at)
        self.settle(lift_time=at)

    def settle(self, lift_time: float) -> VariantResult:
        """Deliver warnings and locks (those before `lift_time`), then appeals and unlocks: the
        variant's `result`.

        A device without a decision before `lift_time` is never warned, locked, appealed or
        unlocked, so the settlement runs on the decided devices only and the considered devices'
        columns are `inf` (never) elsewhere.
        """
        # Decisions due at or after the lift never happen: the policy is over, nothing is pending.
        active = np.flatnonzero(self.decided < lift_time)
        fate = _Fate(
            self.keys[active],
            self.activated[active],
            self.considered[active],
            self.scenario.checkin,
            self.scenario.days,
        )
        fate.settle(self.policy, self.decided[active], lift_time)
        self.outcome[fate.devices] = fate.outcome

        def spread(values: np.ndarray, fill: float | bool | int = np.inf) -> np.ndarray:
            column = np.full(self.considered.size, fill, dtype=values.dtype)
            column[active] = values
            return column

        self.result = VariantResult(
            variant=self.variant,
            replication=self.replication,
            window_names=tuple(w.name for w in self.windows),
            banned=self.banned,
            targets=self.targets,
            belief=self.belief,
            lift_day=self.lift_time,
            detected=self.detected,
            outcome=self.outcome,
            considered=self.considered,
            decided=spread(self.decided[active]),
            decided_by=spread(self.decided_by[active], -1),
            warned=spread(fate.warned),
            locked=spread(fate.locked),
            unlocked=spread(fate.unlocked),
            unlock_cause=spread(fate.unlock_cause, UnlockCause.NONE),
            appealed=spread(fate.appealed),
            appeal_started=spread(fate.appeal_started),
            appeal_closed=spread(fate.appeal_closed),
            appeal_approved=spread(fate.appeal_approved, False),
            complained=spread(
                complaint_times(
                    self.keys[active],
                    self.population.region[self.considered[active]],
                    fate.locked,
                    complaint_shares(self.scenario, self.population),
                )
            ),
        )
        return self.result


class _Fate:
    """What happens to the decided devices of one variant after their decision: columns over
    those devices (`devices`: their indices in the population, ascending), until `horizon`
    (days)."""

    def __init__(
        self,
        keys: np.ndarray,
        activated: np.ndarray,
        devices: np.ndarray,
        checkin: CheckIn,
        horizon: float,
    ) -> None:
        self.keys, self.activated, self.devices = keys, activated, devices
        self.checkin, self.horizon = checkin, horizon

    def settle(self, policy: Policy, decided: np.ndarray, lift_time: float) -> None:
        """See `_VariantRun.settle`; `decided` is each device's decision time (before the lift)."""
        horizon = self.horizon
        # A lift inside the run cancels every decision not in effect by then, however late the
        # device would have received it (even after the end of the run).
        cancelled = np.zeros(decided.size, dtype=bool)

        online_at = self.activated
        command = decided
        self.warned = np.full(decided.size, np.inf)
        resolved = np.zeros(decided.size, dtype=bool)
        warning = policy.warning
        if warning is not None:
            warned = self._contact(decided, online_at, Purpose.WARN_CONTACT)
            delivered = warned < min(lift_time, horizon)
            self.warned = np.where(delivered, warned, np.inf)
            cancelled |= np.isfinite(warned) & (warned >= lift_time)
            resolved = delivered & (uniform(self.keys, Purpose.RESOLVE) < warning.resolve_share)
            command = np.where(delivered & ~resolved, self.warned + warning.grace_days, np.inf)
            cancelled |= np.isfinite(command) & (command >= lift_time)
            command = np.where(command < lift_time, command, np.inf)
            online_at = np.where(delivered, self.warned, online_at)

        locked = self._contact(command, online_at, Purpose.LOCK_CONTACT)
        cancelled |= np.isfinite(locked) & (locked >= lift_time)
        self.locked = np.where(locked < min(lift_time, horizon), locked, np.inf)
        is_locked = np.isfinite(self.locked)

        unlock_on_lift = policy.lift is not None and policy.lift.unlock
        lift_command = lift_time if unlock_on_lift else np.inf
        appeal_command = self._appeals(policy, is_locked, lift_command)
        unlock_command = np.where(is_locked, np.minimum(appeal_command, lift_command), np.inf)
        unlocked = self._contact(
            unlock_command, np.where(is_locked, self.locked, self.activated), Purpose.UNLOCK_CONTACT
        )
        self.unlocked = np.where(unlocked < horizon, unlocked, np.inf)
        self.unlock_cause = np.where(
            np.isfinite(self.unlocked),
            np.where(appeal_command < lift_command, UnlockCause.APPEAL, UnlockCause.LIFT),
            UnlockCause.NONE,
        ).astype(np.int8)

        # Every device here has a decision: what happened after it, the last that applies.
        outcome = np.full(decided.size, Outcome.PENDING_AT_END, dtype=np.int8)
        outcome[cancelled] = Outcome.CANCELLED_BY_LIFT
        outcome[resolved] = Outcome.RESOLVED_AFTER_WARNING
        outcome[is_locked] = Outcome.LOCKED_AT_END
        outcome[self.unlock_cause == UnlockCause.LIFT] = Outcome.UNLOCKED_BY_LIFT
        outcome[self.unlock_cause == UnlockCause.APPEAL] = Outcome.UNLOCKED_BY_APPEAL
        self.outcome = outcome

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

    def _appeals(self, policy: Policy, is_locked: np.ndarray, lift_command: float) -> np.ndarray:
        """Run the support desk; return each device's appeal unlock command time (or inf)."""
        size = is_locked.size
        self.appealed = np.full(size, np.inf)
        self.appeal_started = np.full(size, np.inf)
        self.appeal_closed = np.full(size, np.inf)
        self.appeal_approved = np.zeros(size, dtype=bool)
        appeals = policy.appeals
        if appeals is None:
            return np.full(size, np.inf)
        wants = is_locked & (uniform(self.keys, Purpose.APPEAL) < appeals.share)
        filed_at = self.locked + delay_quantile(
            appeals.delay, uniform(self.keys, Purpose.APPEAL_DELAY)
        )
        filed = wants & (filed_at < min(lift_command, self.horizon))
        self.appealed[filed] = filed_at[filed]

        cases = np.flatnonzero(filed)
        cases = cases[np.lexsort((self.devices[cases], filed_at[cases]))]
        starts = fcfs_desk_start(filed_at[cases], appeals.agents, appeals.service_days)
        closes = starts + appeals.service_days
        # The lift withdraws every case not yet started; the desk is cleared.
        served = starts < min(lift_command, self.horizon)
        self.appeal_started[cases[served]] = starts[served]
        closed_in_run = served & (closes < self.horizon)
        self.appeal_closed[cases[closed_in_run]] = closes[closed_in_run]
        approved = uniform(self.keys[cases], Purpose.APPROVAL) < appeals.approval_share
        self.appeal_approved[cases] = approved & closed_in_run
        command = np.full(size, np.inf)
        grant = cases[approved & closed_in_run]
        command[grant] = self.appeal_closed[grant]
        return command


def _read_only(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arrays, made read-only: they are shared by every variant that reuses them."""
    for array in arrays:
        array.flags.writeable = False
    return arrays

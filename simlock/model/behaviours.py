"""Behaviours after a lock: what locked users do to end their lock themselves.

A scenario chooses them by name, per policy (`policy.after_lock`): each entry names a registered
behaviour, the share of locked users who take it and the delay after the lock when it frees the
device. The engine asks every behaviour when it frees each locked device; the earliest end of a
lock wins (a lift's or an appeal's unlock included), and its unlock cause is recorded.

Built in: `custom_rom` (users flash a custom ROM and escape the lock `delay` after it; the 2021
record says phones on custom ROMs escaped). To add one, register it before the run::

    import numpy as np
    from simlock.model.behaviours import Behaviour, LockedUsers, register

    def resold(users: LockedUsers) -> np.ndarray:
        sells = users.uniform(0) < users.share
        return np.where(sells, users.locked + users.delay_days(1), np.inf)

    register(Behaviour("resold", unlock_cause="resold", freed=resold,
                       description="sell the phone for parts"))

The function must live in an importable module (a package, or the script run with the
`if __name__ == "__main__":` guard): the runner hands the behaviours a run needs to its worker
processes with each task, and a worker finds the function by its module and name. Draws come from
`users.uniform(k)`: the behaviour's own stream (`Purpose.AFTER_LOCK` with a counter made from its
name), a fixed uniform per device and `k`, the same in every variant (common random numbers) and
apart from every other draw.
"""

from __future__ import annotations

import difflib
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from simlock.errors import Problem, ScenarioError, SimlockError
from simlock.scenario.models import BASELINE, NAME_PATTERN, Delay, Policy

from .policy import delay_quantile
from .streams import Purpose, uniform

RESERVED_CAUSES = ("none", "lift", "appeal", "approved", "rejected")
"""Causes the engine and the event log already use: a behaviour's cause must differ."""


class BehaviourError(SimlockError):
    """A behaviour cannot be registered, or misbehaves when asked (a programming error in it)."""


@dataclass(frozen=True)
class LockedUsers:
    """The locked devices one after-lock entry applies to: their keys and lock times (days),
    the entry's `share` and `delay`, and the behaviour's stream."""

    keys: np.ndarray
    locked: np.ndarray
    share: float
    delay: Delay
    stream: int

    def uniform(self, k: int) -> np.ndarray:
        """Draw `k` (0 to 255) of the behaviour's stream: one uniform in (0, 1) per device."""
        if not 0 <= k < 256:
            raise BehaviourError(f"draw index {k} is outside 0..255")
        return uniform(self.keys, Purpose.AFTER_LOCK, (self.stream << 8) + k)

    def delay_days(self, k: int) -> np.ndarray:
        """The entry's `delay` for each device, from draw `k` of the stream (days)."""
        return delay_quantile(self.delay, self.uniform(k))


@dataclass(frozen=True)
class Behaviour:
    """A behaviour after a lock. `freed(users)` returns, per locked device, the time (days) the
    behaviour ends its lock, `inf` where it does not; `unlock_cause` names it in the tables
    (`unlock_cause`, the event log's `cause`) and its outcome is `unlocked_by_<unlock_cause>`;
    `description` is a verb phrase the report puts after "5% of locked users"."""

    name: str
    unlock_cause: str
    freed: Callable[[LockedUsers], np.ndarray]
    description: str = ""

    @property
    def outcome(self) -> str:
        return f"unlocked_by_{self.unlock_cause}"

    @property
    def stream(self) -> int:
        """The behaviour's stream number (from its name, so it does not depend on what else is
        registered)."""
        return zlib.crc32(self.name.encode())


_REGISTRY: dict[str, Behaviour] = {}


def register(behaviour: Behaviour) -> Behaviour:
    """Make `behaviour` available to scenarios by its name (registering the same one again is
    allowed; another under a taken name is not)."""
    for label, value in (("name", behaviour.name), ("unlock_cause", behaviour.unlock_cause)):
        if not re.fullmatch(NAME_PATTERN, value):
            raise BehaviourError(
                f"behaviour {label} {value!r}: use lower-case letters, digits, _ and -"
            )
    if behaviour.unlock_cause in RESERVED_CAUSES:
        raise BehaviourError(
            f"behaviour {behaviour.name}: unlock cause {behaviour.unlock_cause!r} is taken "
            f"(the engine uses {', '.join(RESERVED_CAUSES)})"
        )
    known = _REGISTRY.get(behaviour.name)
    if known is not None and known != behaviour:
        raise BehaviourError(f"a behaviour named {behaviour.name!r} is already registered")
    _REGISTRY[behaviour.name] = behaviour
    return behaviour


def unregister(name: str) -> None:
    """Forget a registered behaviour (tests, notebooks redefining one)."""
    _REGISTRY.pop(name, None)


def registered() -> dict[str, Behaviour]:
    """Every registered behaviour by name, built-ins first."""
    return dict(_REGISTRY)


def resolve(policies: Mapping[str, Policy]) -> dict[str, Behaviour]:
    """The behaviours `policies` (by variant name) use, by name; a name nobody registered is a
    `ScenarioError` at its field, saying which names are registered."""
    needed: dict[str, Behaviour] = {}
    problems: list[Problem] = []
    for variant, policy in policies.items():
        where = "policy" if variant == BASELINE else f"variants.{variant}"
        for i, entry in enumerate(policy.after_lock):
            behaviour = _REGISTRY.get(entry.behaviour)
            if behaviour is None:
                close = difflib.get_close_matches(entry.behaviour, list(_REGISTRY), n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                problems.append(
                    Problem(
                        f"no behaviour named {entry.behaviour!r} is registered{hint}",
                        f"{where}.after_lock[{i}].behaviour",
                        allowed=", ".join(_REGISTRY) + ", or a behaviour registered with "
                        "simlock.model.behaviours.register before the run",
                    )
                )
            else:
                needed[entry.behaviour] = behaviour
    if problems:
        raise ScenarioError(problems)
    return needed


def causes(policy: Policy, behaviours: Mapping[str, Behaviour]) -> tuple[str, ...]:
    """The unlock causes of the policy's after-lock entries, in their order."""
    return tuple(behaviours[entry.behaviour].unlock_cause for entry in policy.after_lock)


def freed_at(
    policy: Policy,
    behaviours: Mapping[str, Behaviour],
    keys: np.ndarray,
    locked: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(time each locked device is freed by a behaviour or `inf`, index of the entry that freed
    it or -1): the earliest entry wins, the first listed between entries at the same instant."""
    freed = np.full(keys.size, np.inf)
    by = np.full(keys.size, -1, dtype=np.int8)
    for index, entry in enumerate(policy.after_lock):
        behaviour = behaviours[entry.behaviour]
        users = LockedUsers(keys, locked, entry.share, entry.delay, behaviour.stream)
        when = np.asarray(behaviour.freed(users), dtype=float)
        if when.shape != keys.shape:
            raise BehaviourError(
                f"behaviour {behaviour.name} returned {when.shape[0] if when.ndim else 0} "
                f"time(s) for {keys.size} locked device(s)"
            )
        if (when < locked).any():
            raise BehaviourError(f"behaviour {behaviour.name} ended a lock before it started")
        earlier = when < freed
        freed[earlier] = when[earlier]
        by[earlier] = index
    return freed, by


def _custom_rom(users: LockedUsers) -> np.ndarray:
    """A share of locked users flash a custom ROM, which ends the lock `delay` after it."""
    flashes = users.uniform(0) < users.share
    return np.where(flashes, users.locked + users.delay_days(1), np.inf)


CUSTOM_ROM = register(
    Behaviour(
        "custom_rom",
        unlock_cause="custom_rom",
        freed=_custom_rom,
        description="flash a custom ROM and escape the lock",
    )
)

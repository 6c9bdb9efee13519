"""A behaviour after a lock defined outside simlock, as a user's own module would define one.

Importing this module registers nothing: `tests/test_after_lock.py` registers `RESOLD` in the
test process only, so a worker process that runs it proves the behaviour travelled with the task.
"""

from __future__ import annotations

import numpy as np

from simlock.model.behaviours import Behaviour, LockedUsers


def resold(users: LockedUsers) -> np.ndarray:
    """A share of locked users sell the phone for parts: its lock no longer matters to them
    (the buyer strips it), `delay` after the lock."""
    sells = users.uniform(0) < users.share
    return np.where(sells, users.locked + users.delay_days(1), np.inf)


RESOLD = Behaviour(
    "resold", unlock_cause="resold", freed=resold, description="sell the phone for parts"
)

"""Why the days from activation to lock are more than the lock delay, in words for the report.

A reader who set a median lock delay of 3 days and reads a median of 4.8 days from activation to
lock suspects a bug. The engine counts the delay from activation, but a lock takes effect only at
the device's first contact with the server after the decision (the next scheduled check-in, or
the return from an offline spell), a warning adds its grace days, and a window's look-back
decides, at the window's opening, devices whose delay had run out before it: those locks come up
to the look-back's length after activation.
"""

from __future__ import annotations

import math

import numpy as np

from simlock.analysis.formatting import format_value
from simlock.analysis.results import Results
from simlock.model.policy import delay_quantile
from simlock.scenario.models import BASELINE


def delay_note(results: Results) -> str | None:
    """One paragraph comparing the baseline's lock delay with its days from activation to lock,
    with the reasons that apply to its policy; None when nothing was locked."""
    rows = results.summary[
        (results.summary["variant"] == BASELINE)
        & (results.summary["group"] == "all")
        & (results.summary["metric"] == "days_to_lock_median")
    ]
    if rows.empty or not math.isfinite(float(rows["mean"].iloc[0])):
        return None
    scenario = results.scenario
    policy = scenario.policy
    start = scenario.start
    delay = float(delay_quantile(policy.lock_delay, np.array([0.5]))[0])
    observed = float(rows["mean"].iloc[0])
    checkin = scenario.checkin
    reasons = [
        "a lock takes effect only at the device's next check-in after the decision "
        f"(every {format_value(checkin.interval_days, 'days', start)} days on average here"
        + (", later when the device is offline" if checkin.offline_rate_per_day > 0 else "")
        + ")"
    ]
    if policy.warning is not None:
        reasons.append(
            f"a warning comes first, with {format_value(policy.warning.grace_days, 'days', start)}"
            " days of grace before the lock command"
        )
    sweeping = [w for w in policy.windows if w.lookback_days > 0]
    if sweeping:
        names = ", ".join(
            f"{w.name}, {format_value(w.lookback_days, 'days', start)} days" for w in sweeping
        )
        reasons.append(
            f"a window with a look-back ({names}) decides, at its opening, devices whose delay "
            "had already run out before it opened, so those locks come days after the delay"
        )
    return (
        f"Days from activation to lock are longer than the lock delay: the baseline's delay has "
        f"a median of {format_value(delay, 'days', start)} days, and the median time from "
        f"activation to lock is {format_value(observed, 'days', start)} days. The delay counts "
        "from activation, but " + "; ".join(reasons) + "."
    )

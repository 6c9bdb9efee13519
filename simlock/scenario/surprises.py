"""Warnings for what a scenario allows but a person probably did not mean, each naming the field
and what was probably meant.

They are warnings, not errors, because each is a valid scenario: a channel may have any name,
and a lift may be planned for the day the run ends. But only the channel named exactly
`traveller` is treated as travellers (its devices' SIM and IP report `travellers_from`), and a
lift on the first day after the run never takes effect: a file that looks otherwise gives
numbers that are silently not what its author meant.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from simlock.errors import field_path

from .models import BASELINE, CHANNEL_TRAVELLER

if TYPE_CHECKING:
    from .models import Region, Scenario

_LOOKS_LIKE = 0.75
"""difflib's ratio from which a channel name reads as a misspelt `traveller` (travellers 0.95,
traveler 0.94, travel 0.8; trader 0.67 and retailer 0.59 do not)."""


def surprises(scenario: Scenario) -> list[str]:
    """Every warning of this module for `scenario`, in file order."""
    out: list[str] = []
    for i, region in enumerate(scenario.regions):
        out += _traveller_channel(i, region)
    out += _lift_at_the_end(scenario)
    out += _windows_past_the_lift(scenario)
    return out


def _looks_like_traveller(channel: str) -> bool:
    if channel == CHANNEL_TRAVELLER:
        return False
    ratio = difflib.SequenceMatcher(None, channel, CHANNEL_TRAVELLER).ratio()
    return ratio >= _LOOKS_LIKE or "travel" in channel


def _traveller_channel(index: int, region: Region) -> list[str]:
    """A misspelt `traveller` channel, or `travellers_from` without a traveller channel."""
    out: list[str] = []
    at = ("regions", index)
    has_travellers = region.channels.get(CHANNEL_TRAVELLER, 0.0) > 0
    lookalikes = [c for c in region.channels if _looks_like_traveller(c)]
    if not has_travellers:
        for channel in lookalikes:
            out.append(
                f"{field_path((*at, 'channels', channel))}: only a channel named "
                f"'{CHANNEL_TRAVELLER}' is treated as travellers (SIM and IP from "
                f"travellers_from); did you mean '{CHANNEL_TRAVELLER}'? As written, "
                f"{channel!r} devices are locals"
            )
    if region.travellers_from is not None and not has_travellers:
        hint = (
            f"did you mean to name the channel {lookalikes[0]!r} '{CHANNEL_TRAVELLER}'?"
            if lookalikes
            else f"did you mean to give the region a '{CHANNEL_TRAVELLER}' channel?"
        )
        out.append(
            f"{field_path((*at, 'travellers_from'))}: {region.travellers_from} is set but "
            f"{region.id} has no '{CHANNEL_TRAVELLER}' channel, so nothing uses it; {hint}"
        )
    return out


def _lift_at_the_end(scenario: Scenario) -> list[str]:
    """A lift on the run's `end` (the first day after the run, allowed by the date rule) never
    takes effect. Said once for the policy, and for a variant only when it sets its own lift."""
    out: list[str] = []
    for name in scenario.variant_names:
        override = scenario.variants.get(name, {})
        if name != BASELINE and not isinstance(override.get("lift"), dict):
            continue
        lift = scenario.variant(name).lift
        if lift is None or lift.date < scenario.end:
            continue
        where = ("policy",) if name == BASELINE else ("variants", name)
        out.append(
            f"{field_path((*where, 'lift', 'date'))}: the lift on {lift.date} is the run's end "
            "(the first day after the run), so it never takes effect; did you mean a date "
            f"before {scenario.end}, or no lift (lift: null)?"
        )
    return out


def _windows_past_the_lift(scenario: Scenario) -> list[str]:
    """A window that runs past the lift: the lift stops all enforcement, so its days after the
    lift decide nothing (extending a window to enforce longer does nothing while the lift stays).
    Said for the policy, and for a variant only when it sets its own windows or lift."""
    out: list[str] = []
    for name in scenario.variant_names:
        override = scenario.variants.get(name, {})
        if name != BASELINE and "windows" not in override and "lift" not in override:
            continue
        policy = scenario.variant(name)
        if policy.lift is None:
            continue
        where = ("policy",) if name == BASELINE else ("variants", name)
        for window in policy.windows:
            if window.end <= policy.lift.date:
                continue
            out.append(
                f"{field_path((*where, 'windows', window.name, 'end'))}: window "
                f"'{window.name}' runs to {window.end}, past the lift on {policy.lift.date}, "
                "which stops all enforcement: its days after the lift decide nothing. Did you "
                "mean to move the lift (lift.date) as well, or to remove it (lift: null)?"
            )
    return out

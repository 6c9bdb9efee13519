"""Cohorts and phases in plain words, for the report's description of a scenario and its policy
(`describe`): which cohorts a policy reaches, when each phase brings its cohorts in, and whether
devices already in use then are kept."""

from __future__ import annotations

from simlock.scenario.cohorts import phase_retroactive
from simlock.scenario.models import Policy, Region, Scenario

NO_COHORTS = "Every device, whatever its cohort, from the start."
"""What a variant without the baseline's cohort rules says instead."""


def _names(names: list[str]) -> str:
    shown = [name.replace("_", " ") for name in names]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def describe_cohorts(policy: Policy, scenario: Scenario) -> str | None:
    """The policy's cohort rules in one sentence (None when it has none)."""
    if policy.cohorts is None and not policy.phases:
        return None
    parts: list[str] = []
    if policy.cohorts is not None:
        parts.append(f"Only devices of the {_names(policy.cohorts)} cohort(s)")
    else:
        parts.append("Devices of every cohort")
    if policy.phases:
        named = [c for phase in policy.phases for c in phase.cohorts or []]
        phases = []
        for phase in sorted(policy.phases, key=lambda p: p.from_):
            who = (
                _names(phase.cohorts)
                if phase.cohorts is not None
                else "every other cohort"
                if named
                else "every device"
            )
            rule = (
                f"devices of {who} in use before then must comply too, their time counted from "
                "that day"
                if phase_retroactive(phase, policy)
                else f"devices of {who} in use before then are kept (not retroactive)"
            )
            phases.append(f"{who} from {phase.from_.isoformat()} ({rule})")
        parts.append("are subject in phases: " + "; ".join(phases))
        if not any(phase.cohorts is None for phase in policy.phases):
            parts.append("devices of a cohort in no phase are never subject")
    else:
        parts.append("are subject from the start")
    text = "Cohorts: " + parts[0] + " " + ", ".join(parts[1:]) + "."
    if policy.registry is not None and policy.phases:
        text += (
            " With the registry, a device's grace begins at the later of its first use and its "
            "phase (and of the registry's start)."
        )
    return text


def window_cohorts(cohorts: list[str] | None) -> str:
    """What a window's cohorts add to its description ('' when it decides every cohort)."""
    return "" if cohorts is None else f", deciding devices of {_names(cohorts)} only"


def describe_region_cohorts(region: Region) -> str:
    """A region's cohort shares (and the channels with their own), or a dash."""
    if region.cohorts is None and not region.cohorts_by_channel:
        return "none"
    text = (
        ", ".join(f"{name.replace('_', ' ')} {share:.0%}" for name, share in region.cohorts.items())
        if region.cohorts is not None
        else "none"
    )
    for channel, shares in region.cohorts_by_channel.items():
        text += f"; {channel.replace('_', ' ')}: " + ", ".join(
            f"{name.replace('_', ' ')} {share:.0%}" for name, share in shares.items()
        )
    return text

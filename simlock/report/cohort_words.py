"""Cohorts and phases in plain words, for the report's description of a scenario and its policy
(`describe`): which cohorts a policy reaches, when each phase brings its cohorts in, and whether
devices already in use then are kept."""

from __future__ import annotations

from simlock.scenario.cohorts import Phase, phase_retroactive
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
    reach = (
        f"only devices of the {_names(policy.cohorts)} cohort(s)"
        if policy.cohorts is not None
        else "devices of every cohort"
    )
    if not policy.phases:
        return f"Cohorts: the policy applies to {reach}, from the start."
    named = [c for phase in policy.phases for c in phase.cohorts or []]
    ordered = sorted(policy.phases, key=lambda p: p.from_)
    rules = {phase_retroactive(phase, policy) for phase in ordered}

    def who(phase: Phase) -> str:
        if phase.cohorts is not None:
            return _names(phase.cohorts)
        return "every other cohort" if named else "every device"

    def rule(retroactive: bool) -> str:
        return (
            "devices already in use then must comply too, their time counted from that date"
            if retroactive
            else "devices already in use then are kept (not retroactive)"
        )

    if len(ordered) == 1 and ordered[0].cohorts is None:
        text = (
            f"Cohorts: the policy applies to {reach} from {ordered[0].from_.isoformat()}; "
            f"{rule(rules.pop())}."
        )
    elif len(rules) == 1:
        text = (
            f"Cohorts: the policy applies to {reach}, phased in by cohort: "
            + "; ".join(f"{who(p)} from {p.from_.isoformat()}" for p in ordered)
            + f". In each phase, {rule(rules.pop())}."
        )
    else:
        text = (
            f"Cohorts: the policy applies to {reach}, phased in by cohort: "
            + "; ".join(
                f"{who(p)} from {p.from_.isoformat()} ({rule(phase_retroactive(p, policy))})"
                for p in ordered
            )
            + "."
        )
    reached = policy.cohorts if policy.cohorts is not None else scenario.cohorts
    left_out = [c for c in reached if c not in named]
    if left_out and not any(phase.cohorts is None for phase in policy.phases):
        text += f" Devices of {_names(left_out)}, in no phase, are never subject."
    if policy.registry is not None:
        text += (
            " With the registry, a device's grace begins at the latest of its first use, its "
            "phase and the registry's start."
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

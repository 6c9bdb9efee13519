"""Cohorts: a named category every device carries (a brand, a model, a release date), and the
policy's phases, which bring cohorts under a policy on their own dates.

A scenario names its cohorts once (`cohorts: [iphone, xiaomi, other]`); each region gives the
share of its activations in each cohort (`cohorts: {iphone: 0.2, ...}`), and may give other shares
for a channel (`cohorts_by_channel: {traveller: {iphone: 0.5, ...}}`: travellers bring other
phones than the shops sell). A region without shares has devices of no cohort, which no cohort
rule reaches.

A policy can then apply to some cohorts only (`policy.cohorts`), a window can decide some cohorts
only (`windows[].cohorts`), and `policy.phases` bring cohorts in on their own dates: a device of a
phase's cohorts is subject from the phase's `from` (its lock delay, or a registry's grace, counts
from then at the earliest), and when the phase is not `retroactive` a device activated before
that date is kept (never locked). A phase without `cohorts` is every cohort no other phase names
(a policy without cohorts is made non-retroactive by one such phase). A device whose cohort is in
no phase is not subject at all.

Whether a phase is retroactive, when it does not say, follows the registry (`registry.retroactive`:
the one rule for devices already in use); without a registry a phase is retroactive, as a policy
without phases is: a device active before the phase is decided when its delay, counted from the
phase's date, ends.

This module is plain Python (the scenario layer loads without numpy): the phase model and the
rules that tie cohort names and phase dates to the scenario.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .rules import RuleProblem, duplicate_problems, raise_rules
from .suggest import did_you_mean

if TYPE_CHECKING:
    from .models import Policy, Region

COHORT_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
CohortName = Annotated[str, Field(pattern=COHORT_PATTERN, max_length=64)]
SHARE_TOLERANCE = 0.001
"""How far a region's cohort shares may sum from 1 (as its channel shares: shares written to a
few decimals add up to 1 only within rounding; the population divides by their sum)."""


class Phase(BaseModel):
    """Cohorts brought under the policy from a date: their devices are subject from `from` (a
    lock delay or a registry's grace counts from then at the earliest); with `retroactive: false`
    those activated before it are kept. Without `cohorts`: every cohort no other phase names."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, allow_inf_nan=False, validate_default=True
    )

    cohorts: list[CohortName] | None = Field(
        None,
        min_length=1,
        description="cohorts of this phase; default: every cohort no other phase names",
    )
    from_: dt.date = Field(alias="from", description="the day these cohorts become subject")
    retroactive: bool | None = Field(
        None,
        description=(
            "devices activated before `from` are subject too (their delay or grace counts from "
            "`from`); false: they are kept. Default: the registry's `retroactive`, or true "
            "without a registry"
        ),
    )

    @model_validator(mode="after")
    def _unique(self) -> Phase:
        names = self.cohorts or []
        raise_rules(
            "Phase",
            duplicate_problems(names, "each cohort at most once", ("cohorts",)),
            names,
        )
        return self


def phase_retroactive(phase: Phase, policy: Policy) -> bool:
    """Whether a phase's devices activated before it are subject (the module docstring's rule)."""
    if phase.retroactive is not None:
        return phase.retroactive
    if policy.registry is not None:
        return policy.registry.retroactive
    return True


def shares_problem(shares: dict[str, float], what: str) -> str | None:
    """Why cohort shares are not a distribution (None when they are)."""
    if not shares:
        return f"at least one cohort is needed in {what}"
    total = sum(shares.values())
    if abs(total - 1.0) > SHARE_TOLERANCE + 1e-12:
        return f"cohort shares must sum to 1 (within {SHARE_TOLERANCE:g}), they sum to {total:g}"
    return None


def region_problems(region: Region, names: list[str]) -> list[RuleProblem]:
    """A region's cohort shares that name no cohort of the scenario (paths relative to the
    region), or a channel it does not have."""
    problems: list[RuleProblem] = []
    allowed = _allowed(names)
    for name in region.cohorts or {}:
        if name not in names:
            problems.append(
                RuleProblem(("cohorts", name), _unknown(name, names), allowed),
            )
    for channel, shares in region.cohorts_by_channel.items():
        if channel not in region.channels:
            problems.append(
                RuleProblem(
                    ("cohorts_by_channel", channel),
                    f"region {region.id} has no channel {channel!r}"
                    + did_you_mean(channel, list(region.channels)),
                    "a channel of this region: " + ", ".join(region.channels),
                )
            )
        for name in shares:
            if name not in names:
                problems.append(
                    RuleProblem(
                        ("cohorts_by_channel", channel, name), _unknown(name, names), allowed
                    )
                )
    return problems


def policy_problems(
    policy: Policy, names: list[str], start: dt.date, end: dt.date
) -> list[RuleProblem]:
    """The policy's cohort rules against the scenario (paths relative to the policy): every
    cohort it names is one of the scenario's, each cohort in one phase at most, one phase at most
    without cohorts, a phase's cohorts among the policy's, and phase dates inside the run."""
    problems: list[RuleProblem] = []
    allowed = _allowed(names)

    def check(loc: tuple[str | int, ...], listed: list[str] | None) -> None:
        for i, name in enumerate(listed or []):
            if name not in names:
                problems.append(RuleProblem((*loc, i), _unknown(name, names), allowed))

    check(("cohorts",), policy.cohorts)
    for window in policy.windows:
        check(("windows", window.name, "cohorts"), window.cohorts)
    seen: dict[str, int] = {}
    catch_all: int | None = None
    for p, phase in enumerate(policy.phases):
        check(("phases", p, "cohorts"), phase.cohorts)
        if phase.cohorts is None:
            if catch_all is not None:
                problems.append(
                    RuleProblem(
                        ("phases", p, "cohorts"),
                        f"phases[{catch_all}] already has no cohorts (every cohort no other "
                        "phase names): a second such phase would have no devices",
                        "a list of cohorts",
                    )
                )
            catch_all = p
        for i, name in enumerate(phase.cohorts or []):
            if name in seen:
                problems.append(
                    RuleProblem(
                        ("phases", p, "cohorts", i),
                        f"cohort {name} is already in phases[{seen[name]}]",
                        "each cohort in one phase at most",
                    )
                )
            seen.setdefault(name, p)
            if policy.cohorts is not None and name in names and name not in policy.cohorts:
                problems.append(
                    RuleProblem(
                        ("phases", p, "cohorts", i),
                        f"cohort {name} is not among the policy's cohorts, so it is never subject",
                        "one of the policy's cohorts: " + ", ".join(policy.cohorts),
                    )
                )
        if not start <= phase.from_ < end:
            problems.append(
                RuleProblem(
                    ("phases", p, "from"),
                    f"phase from {phase.from_} is outside the run {start}..{end}",
                    f"a date from {start} to {end - dt.timedelta(days=1)}",
                )
            )
    return problems


def uses_cohorts(policy: Policy) -> bool:
    """Whether the policy's rules depend on the devices' cohorts."""
    return (
        policy.cohorts is not None
        or any(phase.cohorts is not None for phase in policy.phases)
        or any(window.cohorts is not None for window in policy.windows)
    )


def _unknown(name: str, names: list[str]) -> str:
    if not names:
        return f"no cohort {name!r}: the scenario names no cohorts (a top-level cohorts: list)"
    return f"no cohort {name!r}" + did_you_mean(name, names)


def _allowed(names: list[str]) -> str:
    if not names:
        return "a cohort named in the scenario's top-level cohorts: list"
    return "a cohort of the scenario: " + ", ".join(names)

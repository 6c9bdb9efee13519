"""Names that refer to another part of the scenario, checked against what the scenario defines.

A channel exempted by the policy or a variant must be a channel some region has, and a sweep's
parameter must name a field the scenario has; expectations' variants, regions, channels and
metrics are checked with the rest of each expectation (`expectation_specs`), and windows that a
variant changes by name when it is merged (`Scenario.variant`). A name that refers to nothing
would otherwise be ignored in silence: `exemptions: {channels: [offical]}` exempts nobody.
Each problem says what the scenario defines and, when one is close, what was probably meant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import fieldpaths
from .expectation_specs import Found
from .rules import Loc
from .suggest import did_you_mean

if TYPE_CHECKING:
    from .models import Scenario


def problems(scenario: Scenario) -> list[Found]:
    """Every name in `scenario` that refers to something it does not define."""
    channels = list(dict.fromkeys(c for r in scenario.regions for c in r.channels))
    found = _unknown(
        ("policy", "exemptions", "channels"), scenario.policy.exemptions.channels, channels
    )
    for name, override in scenario.variants.items():
        exemptions = override.get("exemptions")
        if isinstance(exemptions, dict) and isinstance(exemptions.get("channels"), list):
            at = ("variants", name, "exemptions", "channels")
            found += _unknown(at, exemptions["channels"], channels)
    return found + sweep_path_problems(scenario)


def _unknown(at: Loc, named: list[Any], channels: list[str]) -> list[Found]:
    return [
        (
            (*at, i),
            f"no region has a channel {channel!r}" + did_you_mean(channel, channels),
            ", ".join(channels),
        )
        for i, channel in enumerate(named)
        if channel not in channels
    ]


def sweep_path_problems(scenario: Scenario) -> list[Found]:
    """Each sweep parameter whose path leads to no field of the scenario (the sweep sets it in
    the scenario's plain data, where the sweep section itself is left out)."""
    if scenario.sweep is None:
        return []
    base = scenario.model_dump(by_alias=True, exclude={"sweep"})
    found: list[Found] = []
    for i, parameter in enumerate(scenario.sweep.parameters):
        try:
            fieldpaths.assign(base, fieldpaths.tokens(parameter.path), None, dry_run=True)
        except fieldpaths.PathError as exc:
            allowed = ", ".join(exc.allowed) if exc.allowed else None
            found.append(
                (("sweep", "parameters", i, "path"), f"{parameter.path!r}: {exc}", allowed)
            )
    return found

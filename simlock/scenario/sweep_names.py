"""Names a sweep section refers to: the variants every point runs and the metrics whose
sensitivity it measures, checked against what the scenario defines when it is loaded.

A metric is named as the sweep's frames name it: an overall metric (`users_affected`), or a
region's, channel's or cohort's (`region.CU.users_affected`, `channel.traveller.collateral_locks`,
`cohort.samsung.users_affected`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .metric_names import METRICS, OVERALL_ONLY
from .rules import RuleProblem
from .suggest import did_you_mean

if TYPE_CHECKING:
    from .models import Scenario

GROUPS = ("region", "channel", "cohort")
"""Groups a sweep keeps besides the whole run (`all`)."""


@dataclass(frozen=True)
class MetricName:
    """A metric of a sweep: overall (`users_affected`: group and key `all`) or a region's or
    channel's (`region.CU.users_affected`: group, key, metric)."""

    group: str
    key: str
    metric: str

    @classmethod
    def parse(cls, name: str) -> MetricName:
        parts = name.split(".")
        if len(parts) == 3:
            return cls(*parts)
        return cls("all", "all", name)

    def __str__(self) -> str:
        return self.metric if self.group == "all" else f"{self.group}.{self.key}.{self.metric}"

    def describe(self) -> str:
        """What it measures, in words, with the region or channel."""
        words = METRICS.get(self.metric, self.metric)
        return words if self.group == "all" else f"{words} ({self.group} {self.key})"


def sweep_name_problems(scenario: Scenario) -> list[RuleProblem]:
    """The sweep's variants and metrics that name nothing the scenario defines (paths from the
    scenario's root)."""
    sweep = scenario.sweep
    if sweep is None:
        return []
    problems = [
        RuleProblem(
            ("sweep", "variants", i),
            f"no variant named {name!r}" + did_you_mean(name, scenario.variant_names),
            ", ".join(scenario.variant_names),
        )
        for i, name in enumerate(sweep.variants or [])
        if name not in scenario.variant_names
    ]
    keys = group_keys(scenario)
    for i, name in enumerate(sweep.metrics or []):
        problem = metric_problem(name, keys)
        if problem is not None:
            problems.append(RuleProblem(("sweep", "metrics", i), *problem))
    return problems


def group_keys(scenario: Scenario) -> dict[str, list[str]]:
    """The keys each group has: region ids, channels, and cohorts (`none`: devices of a region
    without cohort shares; no cohort keys without cohorts)."""
    return {
        "region": [r.id for r in scenario.regions],
        "channel": scenario.channel_names,
        "cohort": [*scenario.cohorts, "none"] if scenario.cohorts else [],
    }


def metric_problem(name: str, keys: dict[str, list[str]]) -> tuple[str, str] | None:
    """(message, allowed) for a metric name that names no metric, region or channel."""
    wanted = MetricName.parse(name)
    if len(name.split(".")) not in (1, 3) or wanted.group not in ("all", *GROUPS):
        return (
            f"{name!r} is not a metric: give a metric's name, or region.ID.METRIC, "
            "channel.NAME.METRIC or cohort.NAME.METRIC",
            "users_affected, region.CU.users_affected, channel.traveller.lock_days, ...",
        )
    if wanted.group != "all" and wanted.key not in keys[wanted.group]:
        known = keys[wanted.group]
        return (
            f"no {wanted.group} {wanted.key!r}" + did_you_mean(wanted.key, known),
            ", ".join(known),
        )
    if wanted.group != "all" and wanted.metric in OVERALL_ONLY:
        return (
            f"{wanted.metric} exists overall only, not per {wanted.group}",
            ", ".join(m for m in METRICS if m not in OVERALL_ONLY),
        )
    known = [m for m in METRICS if wanted.group == "all" or m not in OVERALL_ONLY]
    if wanted.metric not in known:
        return f"no metric {wanted.metric!r}" + did_you_mean(wanted.metric, known), ", ".join(known)
    return None

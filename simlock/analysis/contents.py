"""What a run holds, as the report and its figures see it: the variants in scenario order and
their policies, how many replications ran, and which kept device-level rows.

A saved run may hold variants its scenario no longer names (the scenario was edited, or a run
was filtered with --variant); every function here copes with that instead of raising, so a report
can always be drawn from what is there.
"""

from __future__ import annotations

from simlock.scenario.models import Policy, Scenario

from .results import Results


def variants(results: Results) -> list[str]:
    """Variants present in the results, in scenario order (baseline first)."""
    # unique() first: the daily frame has a row per day, region and channel of every variant.
    present = {
        str(v) for frame in (results.summary, results.daily) for v in frame["variant"].unique()
    }
    ordered = [v for v in results.scenario.variant_names if v in present]
    return ordered + sorted(present - set(ordered))


def variant_order(results: Results) -> dict[str, int]:
    """Each variant's position in `variants`, to sort frames by variant."""
    return {variant: i for i, variant in enumerate(variants(results))}


def policy_of(scenario: Scenario, variant: str) -> Policy | None:
    """The policy of a variant; None for a variant the scenario does not name."""
    return scenario.variant(variant) if variant in scenario.variant_names else None


def replications(results: Results) -> int:
    """Replications in the run (every replication fills the daily frame)."""
    if results.daily.empty:
        return 0
    return int(results.daily["replication"].nunique())


def detail_replications(results: Results) -> list[int]:
    """Replications whose device-level rows were kept (empty when none were)."""
    devices = results.devices
    if devices.empty or "replication" not in devices.columns:
        return []
    return sorted(int(r) for r in devices["replication"].unique())


def describe_replications(numbers: list[int]) -> str:
    """'detail replication 0' or 'detail replications 0, 1 pooled', for captions."""
    if not numbers:
        return "no detail replications"
    if len(numbers) == 1:
        return f"detail replication {numbers[0]}"
    return f"detail replications {', '.join(str(n) for n in numbers)} pooled"


def appeal_variants(results: Results) -> list[str]:
    """Variants whose policy has a support desk (appeals), in scenario order."""
    policies = {v: policy_of(results.scenario, v) for v in variants(results)}
    return [v for v, policy in policies.items() if policy is not None and policy.appeals]


__all__ = [
    "appeal_variants",
    "describe_replications",
    "detail_replications",
    "policy_of",
    "replications",
    "variant_order",
    "variants",
]

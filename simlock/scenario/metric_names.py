"""Every metric simlock reports, by name: what it means and its unit, and nothing else.

This is a table, not code that computes: the loader checks an expectation's metric against it and
the report labels its columns from it, and neither needs numpy for that. The functions that
compute the metrics live in `simlock.analysis.metrics`, which reads its names and units here.
"""

from __future__ import annotations

from dataclasses import dataclass

UNITS = ("devices", "appeals", "device-days", "days", "share", "date")
"""A metric's unit. A `date` is held as a day number from the scenario's start."""

COUNT_UNITS = ("devices", "appeals", "device-days")
"""Units whose values add up across regions (a share of a median means nothing)."""


@dataclass(frozen=True)
class Metric:
    """What a metric means and its unit (one of `UNITS`); `overall_only` metrics have no
    per-region or per-channel value."""

    description: str
    unit: str
    overall_only: bool = False


DEFINITIONS: dict[str, Metric] = {
    "activations": Metric("devices activated", "devices"),
    "banned_activations": Metric("devices activated in a banned territory", "devices"),
    "users_affected": Metric("devices locked at least once", "devices"),
    "complaints": Metric(
        "locked users who complained publicly (the observation model: each territory's "
        "complaint_share)",
        "devices",
    ),
    "share_banned_locked": Metric("share of banned-territory activations locked", "share"),
    "lock_days": Metric("device-days spent locked (censored at the end of the run)", "device-days"),
    "days_to_lock_median": Metric("median days from activation to lock", "days"),
    "days_to_lock_p90": Metric("90th percentile of days from activation to lock", "days"),
    "lock_duration_median": Metric("median days locked (censored at the end of the run)", "days"),
    "lock_duration_mean": Metric("mean days locked (censored at the end of the run)", "days"),
    "targeted_locks": Metric(
        "locks of the policy's targets (its target channels, grey imports by default) in banned "
        "territories",
        "devices",
    ),
    "collateral_locks": Metric(
        "locks of anyone else (travellers, official devices, detection errors)", "devices"
    ),
    "collateral_lock_days": Metric(
        "device-days collateral locks lasted (censored at the end of the run)", "device-days"
    ),
    "collateral_travellers": Metric("locks of travellers", "devices"),
    "collateral_outside_banned": Metric(
        "locks of devices activated outside banned territories (detection errors)", "devices"
    ),
    "collateral_travellers_outside_banned": Metric(
        "locks of travellers activated outside banned territories (counted both as travellers "
        "and as devices outside banned territories)",
        "devices",
    ),
    "share_locked_outside_banned": Metric(
        "share of locked devices activated outside banned territories", "share"
    ),
    "grey_market_locked": Metric(
        "locks of devices of the policy's target channels (grey-market imports by default), "
        "wherever activated",
        "devices",
    ),
    "grey_market_share_of_locked": Metric(
        "share of locked devices that are of the policy's target channels (grey-market imports "
        "by default)",
        "share",
    ),
    "warned": Metric("devices warned (then locked, resolved, or spared by the lift)", "devices"),
    "resolved_after_warning": Metric("warned users who resolved and were not locked", "devices"),
    "locks_cancelled_by_lift": Metric(
        "lock decisions cancelled by the lift before taking effect", "devices"
    ),
    "unlocked_by_lift": Metric("devices unlocked after the lift", "devices"),
    "unlocked_by_appeal": Metric("devices unlocked after an approved appeal", "devices"),
    "locked_at_end": Metric("devices still locked at the end of the run", "devices"),
    "appeals_filed": Metric("appeals filed", "appeals"),
    "appeals_served": Metric(
        "appeals whose service started before the lift and the end", "appeals"
    ),
    "appeals_approved": Metric("appeals approved", "appeals"),
    "appeal_wait_median": Metric("median days a served appeal waited for the desk", "days"),
    "appeal_wait_mean": Metric("mean days a served appeal waited for the desk", "days"),
    "registered": Metric(
        "devices registered within their grace (with a registry; never locked by it)", "devices"
    ),
    "unregistered": Metric(
        "devices a registry found unregistered at the end of their grace (locked unless a "
        "window, a warning or the lift spares them)",
        "devices",
    ),
    "share_unregistered": Metric(
        "share of the devices subject to a registry found unregistered", "share"
    ),
    "kept_before_registry": Metric(
        "devices in use before a registry that is not retroactive (kept)", "devices"
    ),
    "other_cohort": Metric(
        "devices detected in a banned territory whose cohort the policy does not reach (with "
        "cohorts or phases)",
        "devices",
    ),
    "kept_before_phase": Metric(
        "devices in use before their cohort's phase, which is not retroactive (kept; with a "
        "registry they are kept_before_registry)",
        "devices",
    ),
    "listed": Metric(
        "devices on a device list among those the policy considers (locked unless a window, a "
        "warning or the lift spares them, or the list checks only a first connection made "
        "before it)",
        "devices",
    ),
    "listed_by_mistake": Metric(
        "devices on a device list that are not of its batch (legitimate devices listed)",
        "devices",
    ),
    "missed_by_list": Metric(
        "devices of a device list's batch that the list missed (never locked by it)", "devices"
    ),
    "connected_before_list": Metric(
        "listed devices first connected before a list checked only at first connection (kept)",
        "devices",
    ),
    "peak_locked": Metric("most devices locked at once (end of day)", "devices"),
    "peak_locked_day": Metric("day of the peak", "date", overall_only=True),
    "peak_new_locks_day": Metric("day with the most new locks", "date", overall_only=True),
}
"""Every metric `simlock.analysis.metrics.replicate_metrics` reports, in report order."""

METRICS: dict[str, str] = {name: metric.description for name, metric in DEFINITIONS.items()}
"""Metric name -> what it means, in report order."""

OVERALL_ONLY = frozenset(name for name, metric in DEFINITIONS.items() if metric.overall_only)
"""Metrics that exist only for the whole run (a day of the peak has no per-region meaning)."""


def metric_unit(metric: str) -> str:
    """The unit of a metric: devices, appeals, device-days, days, share or date (`devices` for a
    name that is not a metric, such as a count a caller made up)."""
    return DEFINITIONS[metric].unit if metric in DEFINITIONS else "devices"

"""A scenario and its policies in plain words, for the report.

Each part of a policy (banned territories, detection, delays, windows, lift, warning, exemptions,
appeals) becomes one sentence a reader without the scenario file can follow, with units (days,
shares of devices). A variant is then described by the sentences that differ from the
baseline's, so the report says what a variant changes and nothing else.
"""

from __future__ import annotations

from simlock.analysis.contents import policy_of, variants
from simlock.analysis.results import Results
from simlock.scenario.models import BASELINE, Delay, Policy, Region, Scenario

from .document import Block, Bullets, Code, Heading, Paragraph, Span, Strong, Table


def in_days(value: float) -> str:
    """'1 day', '2.5 days'."""
    return f"{value:g} day" + ("" if value == 1 else "s")


def describe_delay(delay: Delay) -> str:
    """A delay distribution in words, with its unit."""
    kind = delay.distribution
    if kind == "fixed":
        return f"exactly {in_days(delay.days)}"
    if kind == "uniform":
        return f"uniform between {delay.low_days:g} and {in_days(delay.high_days)}"
    if kind == "exponential":
        return f"exponential with a mean of {in_days(delay.mean_days)}"
    if kind == "lognormal":
        return f"lognormal with a median of {in_days(delay.median_days)} (σ = {delay.sigma:g})"
    values = delay.values_days
    return (
        f"drawn from {len(values)} given values between {min(values):g} and {in_days(max(values))}"
    )


def _place(scenario: Scenario, code: str) -> str:
    """'Cuba (CU)' for a region of the scenario; the code alone for any other place."""
    names = {r.id: r.name for r in scenario.regions}
    return f"{names[code]} ({code})" if code in names else code


def describe_policy(policy: Policy, scenario: Scenario) -> dict[str, str]:
    """Each part of a policy in one plain sentence, keyed by the policy's field names."""
    signals = ", ".join(s.upper() if s != "gps" else "GPS" for s in policy.detection.signals)
    rules = {
        "any": "a device counts as in a banned territory when any of them reports one",
        "all": "a device counts as in a banned territory when every available signal reports "
        "the same one",
        "majority": "a device counts as in a banned territory when more than half of the "
        "available signals agree on one",
        "priority": "the first available signal, in that order, decides",
    }
    parts = {
        "banned": "Banned territories: "
        + ", ".join(_place(scenario, b) for b in policy.banned)
        + ".",
        "detection": (
            f"Detection: the server looks at {signals} only; a device counts as in a banned "
            "territory when it reports one."
            if len(policy.detection.signals) == 1
            else f"Detection: the server looks at {signals}; {rules[policy.detection.rule]}."
        ),
        "lock_delay": f"Lock decision after activation: {describe_delay(policy.lock_delay)}.",
    }
    if policy.windows:
        windows = [
            f"'{w.name}' from {w.start.isoformat()} to {w.end.isoformat()} (end excluded) "
            f"covering {w.coverage:.0%} of eligible devices"
            + (
                f", sweeping activations up to {in_days(w.lookback_days)} before it opens"
                if w.lookback_days
                else ""
            )
            for w in policy.windows
        ]
        parts["windows"] = "Enforcement windows: " + "; ".join(windows) + "."
    else:
        parts["windows"] = (
            f"Enforcement over the whole run, covering {policy.coverage:.0%} of eligible devices."
        )
    if policy.lift is None:
        parts["lift"] = "No lift: the block stays until the end of the run."
    else:
        then = (
            "locked devices unlock at their next check-in"
            if policy.lift.unlock
            else "locked devices stay locked"
        )
        parts["lift"] = (
            f"Lift on {policy.lift.date.isoformat()}: pending locks are cancelled and {then}."
        )
    if policy.warning is None:
        parts["warning"] = "No warning before a lock."
    else:
        parts["warning"] = (
            f"A warning {in_days(policy.warning.grace_days)} before the lock; "
            f"{policy.warning.resolve_share:.0%} of warned users resolve it and are not locked."
        )
    exempt = []
    if policy.exemptions.allowed_sim:
        exempt.append("devices whose SIM reports a country that is not banned")
    if policy.exemptions.channels:
        exempt.append(
            "devices of the "
            + " and ".join(c.replace("_", " ") for c in policy.exemptions.channels)
            + " channels (known to the simulation, not to a vendor: a bound)"
        )
    parts["exemptions"] = "Never locked: " + "; ".join(exempt) + "." if exempt else "No exemptions."
    appeals = policy.appeals
    if appeals is None:
        parts["appeals"] = "No appeals: locked users have no support desk to turn to."
    else:
        fixed = appeals.fixed_service_days
        service = (
            f"{in_days(fixed)} per case ({appeals.agents / fixed:g} cases/day, "
            if fixed is not None
            else f"{describe_delay(appeals.service_delay)} per case ("
        )
        parts["appeals"] = (
            f"Appeals: {appeals.share:.0%} of locked users appeal, "
            f"{describe_delay(appeals.delay)} after the lock, to a desk of {appeals.agents} "
            f"agent(s) taking {service}first come first served); "
            f"{appeals.approval_share:.0%} are approved and unlocked."
        )
    if policy.after_lock:
        parts["after_lock"] = (
            "After the lock: "
            + "; ".join(
                f"{entry.share:.0%} of locked users {_behaviour(entry.behaviour)}, "
                f"{describe_delay(entry.delay)} after the lock"
                for entry in policy.after_lock
            )
            + "."
        )
    return parts


def _behaviour(name: str) -> str:
    """What a behaviour after a lock does, as a verb phrase (its registered description, else
    its name)."""
    from simlock.model.behaviours import registered

    behaviour = registered().get(name)
    if behaviour is None or not behaviour.description:
        return f"end their lock themselves ({name})"
    return behaviour.description


def describe_changes(policy: Policy, baseline: Policy, scenario: Scenario) -> list[str]:
    """The sentences of the parts of `policy` that differ from the baseline."""
    words = describe_policy(policy, scenario)
    base = describe_policy(baseline, scenario)
    changed = [text for key, text in words.items() if text != base[key]]
    return changed or ["The same policy as the baseline."]


def describe_rates(region: Region) -> str:
    """A region's activation rates (devices/day) and the dates they start."""
    return "; ".join(
        f"{seg.rate_per_day:,g}/day from {seg.from_.isoformat()}" for seg in region.activations
    )


def describe_channels(region: Region) -> str:
    """A region's mix of sales channels as shares of its activations."""
    return ", ".join(
        f"{name.replace('_', ' ')} {share:.0%}" for name, share in region.channels.items()
    )


# ---------------------------------------------------------------------------------------------
# The section of the report


def scenario_section(results: Results) -> list[Block]:
    """The report's section 'The scenario in brief': the run's period, regions (rates and
    channels), check-ins, the baseline policy part by part, and what each variant changes."""
    scenario = results.scenario
    banned = set(scenario.policy.banned)
    regions = Table(
        columns=["region", "id", "activations (devices/day)", "channels", "banned (baseline)"],
        rows=[
            [
                r.name,
                Code(r.id),
                describe_rates(r),
                describe_channels(r),
                "yes" if r.id in banned else "no",
            ]
            for r in scenario.regions
        ],
        table_id="regions-table",
    )
    blocks: list[Block] = [
        Heading("The scenario in brief", 2, "scenario"),
        Paragraph(
            [
                f"From {scenario.start.isoformat()} to {scenario.end.isoformat()} (end excluded, "
                f"{scenario.days:g} days), {len(scenario.regions)} region(s); devices check in "
                "with the vendor's server every "
                f"{in_days(scenario.checkin.interval_days)} on average "
                f"({scenario.checkin.model}), and a command takes effect at the next check-in."
            ]
        ),
        regions,
        Heading("The policy (baseline)", 3, "policy"),
        Bullets([[text] for text in describe_policy(scenario.policy, scenario).values()]),
    ]
    others = [v for v in variants(results) if v != BASELINE]
    if others:
        items: list[list[Span]] = []
        for variant in others:
            policy = policy_of(scenario, variant)
            if policy is None:
                continue
            changes = describe_changes(policy, scenario.policy, scenario)
            items.append([Strong(variant), ": " + " ".join(changes)])
        blocks += [
            Heading("Variants (what differs from the baseline)", 3, "variants"),
            Bullets(items),
        ]
    return blocks


__all__ = [
    "describe_changes",
    "describe_channels",
    "describe_delay",
    "describe_policy",
    "describe_rates",
    "in_days",
    "scenario_section",
]

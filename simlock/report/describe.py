"""A scenario and its policies in plain words, for the report.

Each part of a policy (banned territories, targets, detection, delays, registry, device list,
cohorts and phases, windows and the devices activated before they open, lift, warning,
exemptions, appeals) becomes one sentence a reader without the scenario file can follow, with
units (days, shares of devices). A variant is then described by the sentences that differ from
the baseline's, so the report says what a variant changes and nothing else.
"""

from __future__ import annotations

from simlock.analysis.contents import policy_of, variants
from simlock.analysis.results import Results
from simlock.scenario.device_list import DeviceList
from simlock.scenario.models import BASELINE, Delay, Policy, Region, Registry, Scenario
from simlock.scenario.retroactive import window_reaches

from .cohort_words import (
    NO_COHORTS,
    describe_cohorts,
    describe_region_cohorts,
    window_cohorts,
)
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


def _channel_list(channels: list[str]) -> str:
    """'grey import', 'looted and grey import', 'a, b and c': channel names as words."""
    names = [c.replace("_", " ") for c in channels]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def target_label(policy: Policy) -> str:
    """What the policy targets, short enough for an axis label: 'grey import channel',
    'looted and grey import channels'."""
    channels = policy.targets.channels
    return _channel_list(channels) + (" channel" if len(channels) == 1 else " channels")


def shared_target_label(policies: list[Policy]) -> str:
    """`target_label` of policies that share their targets, or words saying that each has its
    own (a figure or sentence over several variants must not name one variant's targets)."""
    labels = {target_label(policy) for policy in policies}
    return labels.pop() if len(labels) == 1 else "channels each variant targets"


def describe_before_start(policy: Policy, scenario: Scenario) -> str:
    """When the policy's windows decide devices activated before they open: always those whose
    lock delay ends inside a window, and with a look-back those swept at its opening; with the
    estimated weight of the first where it is likely to matter (`retroactive.LIKELY_SHARE`)."""
    reaches = window_reaches(scenario, policy)
    delay = policy.lock_delay
    sweeps = any(w.lookback_days for w in policy.windows)
    longest = max((r.reach_days for r in reaches), default=0.0)
    if longest <= 0 and not sweeps:
        return (
            "Devices activated before a window opens: none is decided in it (no lock delay "
            "reaches across an opening, and no window looks back)."
        )
    text = "Devices activated before a window opens: "
    if longest > 0:
        how_far = (
            in_days(longest)
            if delay.distribution == "fixed"
            else f"{in_days(round(longest, 1))} (the delay's 99th percentile)"
        )
        text += (
            "a window decides every covered device whose lock delay ends inside it, however "
            f"long before the opening it was activated: with this delay, up to {how_far} "
            "before it opens"
        )
    if sweeps:
        text += ("; " if longest > 0 else "") + (
            "a window with a look-back also sweeps, at its opening, covered devices activated "
            "within the look-back whose delay had already ended"
        )
    likely = [r for r in reaches if r.likely]
    if likely:
        text += (
            " (by the banned regions' activation rates, an estimated "
            + "; ".join(
                f"{r.before_share:.0%} of the decisions of '{r.name}' are devices activated "
                + (
                    f"more than {in_days(r.lookback_days)} before it opens"
                    if r.lookback_days
                    else "before it opens"
                )
                for r in likely
            )
            + ")"
        )
    return text + "."


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
    places = ", ".join(_place(scenario, b) for b in policy.banned)
    parts = {
        "banned": (
            f"Territories where the block runs: {places} (the device list decides which "
            "devices there are locked)."
            if policy.device_list is not None
            else f"Banned territories: {places}."
        ),
        "detection": (
            f"Detection: the server looks at {signals} only; a device counts as in a banned "
            "territory when it reports one."
            if len(policy.detection.signals) == 1
            else f"Detection: the server looks at {signals}; {rules[policy.detection.rule]}."
        ),
        "targets": f"Targets: devices of the {target_label(policy)}"
        + (
            ", and every device the registry finds unregistered,"
            if policy.targets.unregistered
            else ""
        )
        + " activated in a banned territory; a lock of any other device counts as collateral.",
        "lock_delay": (
            "Lock decision after the end of an unregistered device's grace: "
            if policy.registry is not None
            else "Lock decision after activation: "
        )
        + f"{describe_delay(policy.lock_delay)}"
        + (
            " (and not before the device list takes effect)."
            if policy.device_list is not None
            else "."
        ),
    }
    if policy.registry is not None:
        parts["registry"] = describe_registry(policy.registry, scenario)
    if policy.device_list is not None:
        parts["device_list"] = describe_device_list(policy.device_list, scenario)
    cohorts = describe_cohorts(policy, scenario)
    if cohorts is not None:
        parts["cohorts"] = cohorts
    if policy.windows:
        windows = [
            f"'{w.name}' from {w.start.isoformat()} to {w.end.isoformat()} (end excluded) "
            f"covering {w.coverage:.0%} of eligible devices"
            + (
                f", sweeping activations up to {in_days(w.lookback_days)} before it opens"
                if w.lookback_days
                else ""
            )
            + window_cohorts(w.cohorts)
            for w in policy.windows
        ]
        parts["windows"] = "Enforcement windows: " + "; ".join(windows) + "."
    else:
        parts["windows"] = (
            f"Enforcement over the whole run, covering {policy.coverage:.0%} of eligible devices."
        )
    if policy.windows:  # without windows, enforcement starts with the run: nobody came before
        parts["before_start"] = describe_before_start(policy, scenario)
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
        exempt.append(
            "devices whose SIM reports a country that is not banned (a traveller whose home SIM "
            "reports a banned territory is not exempt)"
        )
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


def describe_registry(registry: Registry, scenario: Scenario) -> str:
    """A registry trigger in words: who must register, by when, who manages it, and who is
    kept or exempt for a time."""
    start = (registry.start or scenario.start).isoformat()
    text = (
        f"Registry from {start}: a device is locked unless it is registered within "
        f"{in_days(registry.grace_days)} of its first use"
    )
    if registry.retroactive:
        text += f" (devices already in use on {start}: within {in_days(registry.grace_days)} of it)"
    else:
        text += f"; devices already in use on {start} are kept (not retroactive)"
    text += (
        f". {registry.try_share:.0%} of users try to register; registration takes "
        f"{describe_delay(registry.registration_delay)} and succeeds for "
        f"{registry.success_share:.0%} of them; a registration completed after the grace does "
        "not undo the lock"
    )
    if registry.exempt_for is not None:
        text += (
            f". Devices of the {_channel_list(registry.exempt_for.channels)} "
            + ("channel" if len(registry.exempt_for.channels) == 1 else "channels")
            + f" are exempt for {in_days(registry.exempt_for.days)} from their first use, then "
            "must register like any other"
        )
    return text + "."


def _percent(share: float) -> str:
    """A share as a percentage with two significant digits: listing errors are often far below
    one percent (0.0005 is '0.05%', not '0.1%' or '0%')."""
    return f"{share * 100:.2g}%"


def describe_device_list(device_list: DeviceList, scenario: Scenario) -> str:
    """A device-list trigger in words: which devices the vendor lists, from when, how often the
    list is wrong either way, and when a serial is checked."""
    start = (device_list.start or scenario.start).isoformat()
    batch = _channel_list(device_list.batch) + (
        " channel" if len(device_list.batch) == 1 else " channels"
    )
    text = (
        f"Device list from {start}: only devices whose serial number is on the vendor's list "
        f"are locked; the list means to name the devices of the {batch} (the batch)"
    )
    errors = []
    if device_list.missed_share:
        errors.append(f"misses {_percent(device_list.missed_share)} of the batch (never locked)")
    if device_list.false_listing_share:
        errors.append(
            f"names {_percent(device_list.false_listing_share)} of the other devices by mistake "
            "(legitimate devices locked)"
        )
    text += ". The list " + (" and ".join(errors) if errors else "makes no mistake either way")
    if device_list.check == "first_connection":
        text += (
            f". A serial is checked only at a device's first connection: listed devices "
            f"first connected before {start} are kept"
        )
    else:
        text += (
            f". A serial is checked at every connection: a listed device already in use on "
            f"{start} is locked after it"
        )
    if device_list.proof_of_purchase:
        text += (
            ". An appeal is approved only with a proof of purchase: the holder of a batch "
            "device is refused"
        )
    return text + "."


_ABSENT = {
    "registry": "No registry: devices need not be registered.",
    "device_list": "No device list: every device the policy considers may be locked.",
    "cohorts": f"Cohorts: {NO_COHORTS}",
}
"""What a variant without a part that the baseline has says instead (parts only described when
present)."""


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
    changed = [text for key, text in words.items() if text != base.get(key)]
    changed += [_ABSENT[key] for key in base if key not in words]
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
    cohorts = bool(scenario.cohorts)  # a column of cohort shares only when there are cohorts
    regions = Table(
        columns=[
            "region",
            "id",
            "activations (devices/day)",
            "channels",
            *(["cohorts"] if cohorts else []),
            "banned (baseline)",
        ],
        rows=[
            [
                r.name,
                Code(r.id),
                describe_rates(r),
                describe_channels(r),
                *([describe_region_cohorts(r)] if cohorts else []),
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
    "describe_before_start",
    "describe_changes",
    "describe_channels",
    "describe_delay",
    "describe_device_list",
    "describe_policy",
    "describe_rates",
    "describe_registry",
    "in_days",
    "scenario_section",
    "shared_target_label",
    "target_label",
]

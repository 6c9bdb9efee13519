"""The answer first: the part of the report a reader sees before scrolling.

A few sentences say how many users the scenario's policy locked, where they activated their
devices, for how long they stayed locked, and what each variant changes against the baseline
(paired differences with their 95% intervals); one compact table gives every variant's key
numbers beside its difference from the baseline. The report puts the figure of devices locked
over time right after them. Each sentence is built by its own function from the run's summary and
paired comparison. Over plausible worlds (`simlock run --posterior`) the same sentences give the
answer as a plausible range, and each variant's change as a range of paired relative differences
with the number of worlds whose change had the same sign (`simlock.report.worlds`); the report
itself answers a run over worlds as questions (`simlock.report.questions`), built from the
pieces here.

Everything here stays short for any number of variants: the sentence on variants names at most
`LISTED_VARIANTS` of them (those that change the most) and the table has one row per variant.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import pandas as pd

from simlock.analysis.contents import policy_of, replications, variants
from simlock.analysis.formatting import DASH, format_summary_row, format_value, metric_unit
from simlock.analysis.results import Results
from simlock.scenario.models import BASELINE

from .document import Cell, Note, Paragraph, Span, Strong, Table
from .worlds import MONTE_CARLO_LABEL, plausible_text, worlds_count

KEY_METRICS = {
    "users_affected": "users locked",
    "collateral_locks": "collateral locks",
    "lock_days": "device-days locked",
    "lock_duration_median": "median lock",
}
"""The metrics of the compact table and of the sentence on variants, with their short labels."""

LISTED_VARIANTS = 6
"""At most this many variants are named in the sentence on variants; the table lists them all."""

Index = dict[tuple[str, str, str], pd.Series]


CENSORED = " (locks still in place at the end of the run count until then: a lower bound)"
"""Said beside a lock duration when some locks outlast the run, whose end cuts them short."""


def summary_index(results: Results, group: str = "all") -> Index:
    """Summary rows by (variant, key, metric), for one group."""
    rows = results.summary[results.summary["group"] == group]
    return {(str(r["variant"]), str(r["key"]), str(r["metric"])): r for _, r in rows.iterrows()}


def _difference_index(results: Results) -> dict[tuple[str, str], pd.Series]:
    """Paired differences from the baseline (overall) by (variant, metric); empty without a
    baseline or other variants."""
    if BASELINE not in variants(results):
        return {}
    compared = results.compare()
    compared = compared[compared["group"] == "all"]
    return {(str(r["variant"]), str(r["metric"])): r for _, r in compared.iterrows()}


def reference_variant(results: Results) -> str:
    """The variant the answer is about: the baseline, or the first variant a filtered run kept."""
    names = variants(results)
    return BASELINE if BASELINE in names or not names else names[0]


def _mean(index: Index, variant: str, metric: str, key: str = "all") -> float:
    row = index.get((variant, key, metric))
    return float(row["mean"]) if row is not None else math.nan


def _estimate(index: Index, results: Results, variant: str, metric: str) -> str:
    row = index.get((variant, "all", metric))
    return format_summary_row(row, metric_unit(metric), results.scenario.start)


def region_name(results: Results, region: str) -> str:
    """'Cuba (CU)' for a region whose name is 'Cuba (a grey market ...)'."""
    names = {r.id: r.name for r in results.scenario.regions}
    short = names.get(region, region).split(" (")[0].strip() or region
    return f"{short} ({region})"


def _heard(results: Results, variant: str) -> str:
    """' Of them, n complained publicly, most from A (m), then B (...).': what the public saw
    (the observation model), or nothing when the scenario gives no complaint propensity."""
    index = summary_index(results)
    heard = _mean(index, variant, "complaints")
    if not heard > 0:
        return ""
    regions = summary_index(results, "region")
    counts = {
        key: float(row["mean"])
        for (v, key, metric), row in regions.items()
        if v == variant and metric == "complaints" and float(row["mean"]) > 0
    }
    start = results.scenario.start
    top = sorted(counts.items(), key=lambda item: -item[1])[:3]
    parts = [
        f"{region_name(results, key)}: {format_value(count, 'devices', start)}"
        for key, count in top
    ]
    return (
        f" Of them, {_estimate(index, results, variant, 'complaints')} complained publicly (the "
        "observation model: what the public saw), most from " + ", then ".join(parts) + "."
    )


def _where(results: Results, variant: str, total: float, verb: str = "were activated in") -> str:
    """' Most were activated in A (n, p%), then B (...)': up to three regions, largest first
    (`verb` says how a device belongs to its region)."""
    regions = summary_index(results, "region")
    counts = {
        key: float(row["mean"])
        for (v, key, metric), row in regions.items()
        if v == variant and metric == "users_affected" and float(row["mean"]) > 0
    }
    if not counts or not total > 0:
        return ""
    top = sorted(counts.items(), key=lambda item: -item[1])[:3]
    start = results.scenario.start
    parts = [
        f"{region_name(results, key)}: {format_value(count, 'devices', start)} "
        f"({count / total:.0%})"
        for key, count in top
    ]
    lead = "All" if len(counts) == 1 else "Most"
    return f" {lead} {verb} " + ", then ".join(parts) + "."


def who_where_how_long(results: Results) -> Paragraph:
    """How many users the reference policy locked, where, and for how long."""
    variant = reference_variant(results)
    index = summary_index(results)
    start = results.scenario.start
    who: list[Span] = (
        ["Under the scenario's policy (", Strong(variant), "), "]
        if variant == BASELINE
        else ["Under variant ", Strong(variant), " (the run has no baseline), "]
    )
    users = _mean(index, variant, "users_affected")
    if not users > 0:
        return Paragraph([*who, "no device was locked."], css="headline")

    def est(metric: str) -> str:
        return _estimate(index, results, variant, metric)

    worlds = worlds_count(results)
    if worlds:
        row = index.get((variant, "all", "users_affected"))
        text = (
            f"between {_between(row, start)} users were locked at least once "
            f"(plausible range over {worlds} worlds; mean {est('users_affected')}, "
            f"{MONTE_CARLO_LABEL} in brackets)"
        )
    else:
        text = f"{est('users_affected')} users were locked at least once"
    policy = policy_of(results.scenario, variant)
    listing = policy is not None and policy.device_list is not None
    if _mean(index, variant, "banned_activations") > 0 and not listing:
        text += f" ({est('share_banned_locked')} of activations in banned territories)"
    text += f", {est('collateral_locks')} of them collateral locks (not the policy's target)."
    if listing:  # the share of every device seen says little when a list picks the devices
        text += (
            f" The device list named {est('listed')} of the devices the policy saw, "
            f"{est('listed_by_mistake')} of them by mistake, and missed "
            f"{est('missed_by_list')} of the batch."
        )
    # A region may stand for a batch (a looted stock) rather than a place where devices are used.
    text += _where(results, variant, users, "came from" if listing else "were activated in")
    text += _heard(results, variant)
    censored = _mean(index, variant, "locked_at_end") > 0
    text += (
        f" A lock lasted {est('lock_duration_median')} days at the median"
        f"{CENSORED if censored else ''}; at the peak, "
        f"around {format_value(_mean(index, variant, 'peak_locked_day'), 'date', start)}, "
        f"{est('peak_locked')} devices were locked at once."
    )
    if policy is not None and policy.lift is not None and policy.lift.unlock:
        text += (
            f" The lift on {policy.lift.date.isoformat()} unlocked {est('unlocked_by_lift')}; "
            f"{est('locked_at_end')} were still locked at the end of the run."
        )
    elif _mean(index, variant, "locked_at_end") > 0:
        text += f" {est('locked_at_end')} were still locked at the end of the run."
    return Paragraph([*who, text], css="headline")


def _between(row: pd.Series | None, start: dt.date) -> str:
    """'310 and 1,033': a count's plausible range for a sentence that says 'between'."""
    if row is None:
        return DASH
    low = format_value(float(row["plausible_low"]), "devices", start)
    high = format_value(float(row["plausible_high"]), "devices", start)
    return f"{low} and {high}"


def _biggest_change(
    results: Results, variant: str, differences: dict[tuple[str, str], pd.Series]
) -> tuple[float, list[Span]] | None:
    """A variant's largest change against the baseline among the key metrics, as (size relative
    to the baseline, words); None when it changes none of them (or only within its interval)."""
    index = summary_index(results)
    start = results.scenario.start
    best: tuple[float, list[Span]] | None = None
    for metric, label in KEY_METRICS.items():
        row = differences.get((variant, metric))
        if row is None or not math.isfinite(float(row["difference"])):
            continue
        difference = float(row["difference"])
        low, high = float(row["ci_low"]), float(row["ci_high"])
        unsure = math.isfinite(low) and math.isfinite(high) and low <= 0 <= high
        # Over worlds, an effect whose sign held in every world counts even when the worlds'
        # spread of sizes makes the interval of the mean cross zero.
        if "worlds_same_sign" in row.index and worlds_count(results) >= 2:
            unsure = unsure and float(row["worlds_same_sign"]) < 1
        if difference == 0 or unsure:
            continue
        base = _mean(index, BASELINE, metric)
        relative = difference / base if base else math.inf
        unit = metric_unit(metric)
        words = f"{label} {format_summary_row(row, unit, start, signed=True)}"
        if unit == "days":
            words += " days"
        if math.isfinite(relative):
            words += f" ({relative:+.0%})"
        if "worlds_same_sign" in row.index:
            words = f"{label} {_worlds_change(row, unit, results)}"
        if best is None or abs(relative) > best[0]:
            best = (abs(relative), [Strong(variant), ": " + words])
    return best


COUNTS = ("devices", "appeals", "device-days")
"""Units whose ranges the answers round to `FIGURES` significant figures."""
FIGURES = 2
"""A range over worlds spans thousands: 61,000-94,000 says it; 60,976-93,691 only looks precise."""


def rounded(value: float, unit: str, results: Results, signed: bool = False) -> str:
    """A count rounded to `FIGURES` significant figures (from 100 up), other units as the report
    writes them."""
    if unit in COUNTS and math.isfinite(value) and abs(value) >= 100:
        digits = FIGURES - 1 - math.floor(math.log10(abs(value)))
        value = round(value, digits)
    return format_value(value, unit, results.scenario.start, signed)


def _rounded_range(row: pd.Series, unit: str, results: Results) -> str:
    """'-670,000 to -320,000, mean -430,000 [-480,000 to -380,000]': a paired difference over
    worlds, its plausible range and its mean with the Monte Carlo interval, counts rounded as the
    other answers round them."""

    def show(column: str) -> str:
        return rounded(float(row[column]), unit, results, signed=True)

    low, high = show("plausible_low"), show("plausible_high")
    text = low if low == high else f"{low} to {high}"
    mean, ci_low, ci_high = show("difference"), show("ci_low"), show("ci_high")
    interval = "" if ci_low == ci_high == mean else f" [{ci_low} to {ci_high}]"
    return f"{text}, mean {mean}{interval}"


def _worlds_change(row: pd.Series, unit: str, results: Results) -> str:
    """A variant's change over plausible worlds: '20–35% fewer (...), in 48 of 50 worlds'.

    The relative range is the plausible range of the paired relative differences (within each
    world and replication); the count is of worlds whose mean difference has the overall sign.
    """
    worlds = worlds_count(results)
    same = round(float(row["worlds_same_sign"]) * worlds)
    held = f"in all {worlds} worlds" if same == worlds else f"in {same} of {worlds} worlds"
    low, high = float(row["relative_low"]), float(row["relative_high"])
    paired = f"paired difference {_rounded_range(row, unit, results)}"
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"{paired}; the sign held {held}"
    less, more = {"days": ("shorter", "longer")}.get(unit, ("fewer", "more"))
    if high <= 0 or low >= 0:
        small, large = sorted((abs(low), abs(high)))
        size = f"{small:.0%}" if f"{small:.0%}" == f"{large:.0%}" else f"{small:.0%}–{large:.0%}"
        return f"{size} {less if high <= 0 else more}, {held} ({paired})"
    return f"{low:+.0%} to {high:+.0%}; {held} the change had the mean's sign ({paired})"


@dataclass
class VariantChanges:
    """What the variants change against the baseline: how it was measured (a phrase), each
    changed variant's largest change (the most changed first, at most `LISTED_VARIANTS`), how
    many more changed, and the sentence naming the variants that change none of the key
    numbers (empty when all do)."""

    how: str
    changed: list[list[Span]]
    more: int
    unchanged: str


def variant_changes(results: Results) -> VariantChanges | None:
    """Each variant's largest change against the baseline; None when only one variant ran."""
    differences = _difference_index(results)
    others = [v for v in variants(results) if v != BASELINE]
    if not differences or not others:
        return None
    n = replications(results)
    changes = {v: _biggest_change(results, v, differences) for v in others}
    changed = sorted((c for c in changes.values() if c is not None), key=lambda c: -c[0])
    same = [v for v, c in changes.items() if c is None]
    how = f"paired over {n} replications" if n >= 2 else "one replication, no interval"
    worlds = worlds_count(results)
    if worlds:
        how = (
            f"paired within each of {worlds} plausible worlds; the range is the plausible "
            "range of the relative difference"
        )
    # Naming all but one would leave "and 1 more": then name that one too.
    listed = changed if len(changed) <= LISTED_VARIANTS + 1 else changed[:LISTED_VARIANTS]
    unchanged = ""
    if same:
        within = "within the replications' intervals" if n >= 2 else "at all"
        if worlds:
            within = (
                "consistently (neither with one sign in every world nor beyond the Monte Carlo "
                "interval)"
            )
        named = same if len(same) <= LISTED_VARIANTS + 1 else same[:LISTED_VARIANTS]
        more = f" and {len(same) - len(named)} more" if len(same) > len(named) else ""
        unchanged = (
            f"{len(same)} variant(s) change none of "
            f"{', '.join(KEY_METRICS.values())} {within}: {', '.join(named)}{more}."
        )
    words = [words for _, words in listed]
    return VariantChanges(how, words, len(changed) - len(listed), unchanged)


def what_variants_change(results: Results) -> Paragraph | None:
    """Each variant's largest change against the baseline in one sentence (`variant_changes`);
    None when only one variant ran."""
    changes = variant_changes(results)
    if changes is None:
        return None
    spans: list[Span] = [f"What each variant changes most against the baseline ({changes.how}): "]
    for i, words in enumerate(changes.changed):
        spans += [*(["; "] if i else []), *words]
    if changes.more:
        spans.append(f"; and {changes.more} more variants in the table below")
    if changes.changed:
        spans.append(".")
    if changes.unchanged:
        spans.append(f"{' ' if changes.changed else ''}{changes.unchanged}")
    return Paragraph(spans, css="headline")


def headline(results: Results) -> list[Paragraph]:
    """The answer in a few sentences, each from its own function."""
    parts = [who_where_how_long(results), what_variants_change(results)]
    return [part for part in parts if part is not None]


def _with_plausible(
    row: pd.Series | None, unit: str, results: Results, signed: bool = False
) -> Cell:
    """Over worlds, a cell of the compact table: the mean with its Monte Carlo interval, and
    the plausible range under it, each labelled."""
    start = results.scenario.start
    if row is None:
        return DASH
    return [
        format_summary_row(row, unit, start, signed),
        Note(f"plausible {plausible_text(row, unit, start, signed)}"),
    ]


def key_metrics_table(results: Results) -> Table:
    """One row per variant: each key metric (its mean) and, beside it, the paired difference
    from the baseline with its 95% interval (none when only the baseline ran, or without a
    baseline). The means' own intervals are in the full metrics table: here they would make every
    row three lines tall, and the table must fit on the first screen beside the headline."""
    names = variants(results)
    index = summary_index(results)
    differences = _difference_index(results)
    start = results.scenario.start
    compare = bool(differences)
    worlds = worlds_count(results) > 0
    columns, numeric, column_attrs = ["variant"], [False], [{}]
    for metric, label in KEY_METRICS.items():
        unit = metric_unit(metric)
        columns.append(f"{label} ({unit})")
        numeric.append(True)
        column_attrs.append({"metric": metric})
        if compare:
            shown = {"share": "percentage points", "date": "days"}.get(unit, unit)
            columns.append(f"vs baseline ({shown})")
            numeric.append(True)
            column_attrs.append({"metric": metric, "difference": "true"})
    rows: list[list[Cell]] = []
    for variant in names:
        cells: list[Cell] = [Strong(variant)]
        for metric in KEY_METRICS:
            unit = metric_unit(metric)
            if worlds:
                row = index.get((variant, "all", metric))
                cells.append(_with_plausible(row, unit, results))
            else:
                cells.append(format_value(_mean(index, variant, metric), unit, start))
            if compare:
                row = differences.get((variant, metric))
                if variant == BASELINE or row is None:
                    cells.append(DASH)
                elif worlds:
                    cells.append(_with_plausible(row, unit, results, signed=True))
                else:
                    cells.append(format_summary_row(row, unit, start, signed=True))
        rows.append(cells)
    return Table(
        columns=columns,
        rows=rows,
        table_id="key-metrics",
        numeric=numeric,
        row_attrs=[{"variant": v} for v in names],
        column_attrs=column_attrs,
    )


__all__ = [
    "KEY_METRICS",
    "LISTED_VARIANTS",
    "VariantChanges",
    "headline",
    "key_metrics_table",
    "reference_variant",
    "region_name",
    "summary_index",
    "variant_changes",
    "what_variants_change",
    "who_where_how_long",
]

"""The answer over plausible worlds, as the questions readers ask, each answered with a range.

A run over a calibration's posterior (`simlock run --posterior`, or a scenario's `worlds:`
section) does not know one answer; it knows how wide the plausible answers are. Students of the
2021 episode ask the same five things of it, so the report's answer is written as those questions:
how many phones were locked, where, for how long, how many people complained, and what each
what-if would have changed. Each answer leads with its plausible range (5% to 95% over worlds and
replications) and gives the mean with its Monte Carlo interval after it.

Nothing here is about 2021 in particular: every answer comes from metrics any run has, territory
names come from the scenario, and a question whose metrics a run lacks (no complaints without an
observation model, no "where" without regions, no what-if without variants) is left out. "Where"
also says in how many worlds the first territory had the most locks: a ranking the worlds agree
on is an answer; one they split on is not.
"""

from __future__ import annotations

import math

import pandas as pd

from simlock.analysis.formatting import metric_unit
from simlock.analysis.results import Results
from simlock.analysis.worlds import WORLD
from simlock.scenario.models import BASELINE

from .document import Block, Bullets, Paragraph, Span, Strong
from .headline import (
    Index,
    headline,
    reference_variant,
    region_name,
    rounded,
    summary_index,
    variant_changes,
)
from .worlds import MONTE_CARLO_LABEL, PLAUSIBLE_LABEL, worlds_count

HOW_MANY = "How many phones were locked?"
WHERE = "Where?"
HOW_LONG = "For how long?"
COMPLAINED = "How many complained?"
WHAT_IF = "What would each what-if have changed?"
QUESTIONS = (HOW_MANY, WHERE, HOW_LONG, COMPLAINED, WHAT_IF)
"""The questions, in the order the answer asks them."""

LISTED_REGIONS = 3
""""Where" and "How many complained" name at most this many territories, largest first."""

Answer = list[Span]


def answer_blocks(results: Results) -> list[Block]:
    """The report's answer: the questions over plausible worlds, the headline sentences for an
    ordinary run (which has one estimate per number, not a range)."""
    if not worlds_count(results):
        return list(headline(results))
    return questions(results)


def questions(results: Results) -> list[Block]:
    """A line saying how to read the ranges, then one bullet per question the run can answer."""
    variant = reference_variant(results)
    worlds = worlds_count(results)
    who = (
        "the scenario's policy (baseline)"
        if variant == BASELINE
        else f"variant {variant} (the run has no baseline)"
    )
    text = (
        f"The answers under {who} over {worlds} plausible worlds. Each range is the "
        f"{PLAUSIBLE_LABEL}; the mean follows with its {MONTE_CARLO_LABEL} in brackets."
    )
    scale = results.manifest.get("scale", 1.0)
    if scale != 1:
        text += f" Counts are for the scaled world (activation rates × {scale:g})."
    lead = Paragraph([text], css="headline")
    answers = {
        HOW_MANY: how_many(results, variant),
        WHERE: where(results, variant),
        HOW_LONG: how_long(results, variant),
        COMPLAINED: complained(results, variant),
    }
    items = [[Strong(q), " ", *a] for q, a in answers.items() if a is not None]
    nested = {}
    variants_changed = what_if(results)
    if variants_changed is not None:
        nested[len(items)] = variants_changed[1]
        items.append([Strong(WHAT_IF), " ", *variants_changed[0]])
    return [lead, Bullets(items, nested)]


def _row(index: Index, variant: str, metric: str, key: str = "all") -> pd.Series | None:
    return index.get((variant, key, metric))


def _mean(row: pd.Series | None) -> float:
    return float(row["mean"]) if row is not None else math.nan


def _bounds(row: pd.Series, metric: str, results: Results, low: str, high: str) -> tuple[str, str]:
    unit = metric_unit(metric)
    return rounded(float(row[low]), unit, results), rounded(float(row[high]), unit, results)


def _range(row: pd.Series | None, results: Results, metric: str) -> str:
    """'61,000–94,000': the plausible range, rounded; one value when both ends agree."""
    if row is None:
        return "–"
    low, high = _bounds(row, metric, results, "plausible_low", "plausible_high")
    if low == high:
        return low
    return f"{low} to {high}" if low.startswith("-") else f"{low}–{high}"


def _between(row: pd.Series | None, results: Results, metric: str) -> str:
    """'between 61,000 and 94,000' (or 'exactly 0' when every world agrees), for a sentence."""
    if row is None:
        return "unknown"
    low, high = _bounds(row, metric, results, "plausible_low", "plausible_high")
    return f"exactly {low}" if low == high else f"between {low} and {high}"


def _estimate(row: pd.Series | None, results: Results, metric: str) -> str:
    """'68,000 [61,000–76,000]': the mean over worlds with its Monte Carlo interval, rounded."""
    if row is None:
        return "–"
    mean = rounded(float(row["mean"]), metric_unit(metric), results)
    low, high = _bounds(row, metric, results, "ci_low", "ci_high")
    if int(row["n"]) < 2 or low == high == mean or "–" in (low, high):
        return mean
    return f"{mean} [{low} to {high}]" if low.startswith("-") else f"{mean} [{low}–{high}]"


def _between_and_mean(row: pd.Series | None, results: Results, metric: str) -> str:
    """'between 61,000 and 94,000 (mean 68,000 [61,000–76,000])'."""
    return f"{_between(row, results, metric)} (mean {_estimate(row, results, metric)})"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def how_many(results: Results, variant: str) -> Answer:
    """Devices locked at least once, the share of banned-territory activations that is, and the
    collateral locks among them."""
    index = summary_index(results)
    users = _row(index, variant, "users_affected")
    if not _mean(users) > 0:
        return ["None: no device was locked in any world."]
    text = _capital(_between_and_mean(users, results, "users_affected"))
    text += " devices were locked at least once"
    banned = _row(index, variant, "share_banned_locked")
    if _mean(_row(index, variant, "banned_activations")) > 0 and banned is not None:
        text += f", {_range(banned, results, 'share_banned_locked')} of the activations in "
        text += "banned territories"
    collateral = _row(index, variant, "collateral_locks")
    if collateral is not None:
        text += f"; {_range(collateral, results, 'collateral_locks')} of them were collateral "
        text += "locks (not the policy's target)"
    return [text + "."]


def region_ranges(results: Results, variant: str, metric: str) -> list[tuple[str, pd.Series]]:
    """The regions with a positive mean of `metric` under `variant`, largest mean first, with
    their summary rows."""
    rows = summary_index(results, "region")
    found = [
        (key, row)
        for (v, key, m), row in rows.items()
        if v == variant and m == metric and float(row["mean"]) > 0
    ]
    return sorted(found, key=lambda item: -float(item[1]["mean"]))


def leader_counts(results: Results, variant: str, metric: str) -> pd.Series:
    """How many worlds each region led `metric` in (its mean over the world's replications the
    largest), most first; empty when no region has any."""
    reps = results.replicates
    rows = reps[
        (reps["variant"] == variant) & (reps["group"] == "region") & (reps["metric"] == metric)
    ]
    if rows.empty or WORLD not in rows.columns:
        return pd.Series(dtype=int)
    means = rows.groupby([WORLD, "key"], observed=True)["value"].mean().unstack()
    means = means[means.max(axis=1) > 0]
    if means.empty:
        return pd.Series(dtype=int)
    return means.idxmax(axis=1).value_counts()


def _led(results: Results, counts: pd.Series, region: str, what: str) -> str:
    """'the most locks in all 20 worlds' or '... in 17 of 20 worlds (Cuba (CU) in 3)'."""
    worlds = worlds_count(results)
    led = int(counts.get(region, 0))
    if led == worlds:
        return f"the most {what} in all {worlds} worlds"
    others = ", ".join(
        f"{region_name(results, str(key))} in {int(n)}"
        for key, n in counts.items()
        if key != region
    )
    return f"the most {what} in {led} of {worlds} worlds ({others})"


def _regions_text(results: Results, variant: str, metric: str, what: str) -> str | None:
    """'Iran (IR): 48,000–78,000 (82% of them; the most locks in all 20 worlds), then Cuba
    (CU): ...': up to `LISTED_REGIONS` regions, largest mean first."""
    ranked = region_ranges(results, variant, metric)
    total = _mean(_row(summary_index(results), variant, metric))
    if not ranked or not total > 0:
        return None
    counts = leader_counts(results, variant, metric)
    parts = []
    for i, (key, row) in enumerate(ranked[:LISTED_REGIONS]):
        share = f"{_mean(row) / total:.0%} of them"
        if i == 0 and len(counts):
            share += f"; {_led(results, counts, key, what)}"
        parts.append(f"{region_name(results, key)}: {_range(row, results, metric)} ({share})")
    return ", then ".join(parts)


def where(results: Results, variant: str) -> Answer | None:
    """The territories of activation of the locked devices, largest first; None without
    regional rows."""
    text = _regions_text(results, variant, "users_affected", "locks")
    if text is None:
        return None
    return [f"Most were activated in {text}."]


def how_long(results: Results, variant: str) -> Answer | None:
    """The median lock's duration, the device-days lost, the peak, and what the lift ended."""
    index = summary_index(results)
    median = _row(index, variant, "lock_duration_median")
    if not math.isfinite(_mean(median)):
        return None
    censored = _mean(_row(index, variant, "locked_at_end")) > 0
    text = (
        f"A median lock lasted {_range(median, results, 'lock_duration_median')} days "
        f"(mean {_estimate(median, results, 'lock_duration_median')})"
    )
    if censored:
        text += "; a lower bound, since locks still in place at the end of the run count only "
        text += "until then"
    lost = _row(index, variant, "lock_days")
    if lost is not None:
        text += f"; {_range(lost, results, 'lock_days')} device-days were lost in all"
    peak, day = _row(index, variant, "peak_locked"), _row(index, variant, "peak_locked_day")
    if peak is not None and day is not None:
        low, high = _bounds(day, "peak_locked_day", results, "plausible_low", "plausible_high")
        when = f"on {low}" if low == high else f"on a day between {low} and {high}"
        text += f". At the peak, {when}, {_range(peak, results, 'peak_locked')} devices were "
        text += "locked at once"
    lifted = _row(index, variant, "unlocked_by_lift")
    if _mean(lifted) > 0:
        text += f"; the lift unlocked {_range(lifted, results, 'unlocked_by_lift')}"
    still = _row(index, variant, "locked_at_end")
    if still is not None:
        text += f", and {_range(still, results, 'locked_at_end')} were still locked at the end"
    return [text + "."]


def complained(results: Results, variant: str) -> Answer | None:
    """Users who complained publicly (the observation model), where they were, and whether the
    territory heard from most is the one locked most; None when the run has no complaints."""
    index = summary_index(results)
    heard = _row(index, variant, "complaints")
    if heard is None or not float(heard.get("plausible_high", _mean(heard))) > 0:
        return None
    text = (
        f"{_between_and_mean(heard, results, 'complaints')} users complained publicly (the "
        "observation model: what the public saw)"
    )
    text = _capital(text)
    regions = _regions_text(results, variant, "complaints", "complaints")
    if regions is not None:
        text += f", most from {regions}"
    locked, spoke = (
        region_ranges(results, variant, metric) for metric in ("users_affected", "complaints")
    )
    if locked and spoke and locked[0][0] != spoke[0][0]:
        text += (
            f". The loudest territory is not the most locked: "
            f"{region_name(results, locked[0][0])} had the most locks"
        )
    return [text + "."]


def what_if(results: Results) -> tuple[Answer, list[Answer]] | None:
    """How the variants were compared, and one line per variant: its largest change against
    the baseline, as a range over the worlds; None when only one variant ran."""
    changes = variant_changes(results)
    if changes is None:
        return None
    lines = [[*words, "."] for words in changes.changed]
    if changes.more:
        lines.append([f"{changes.more} more variants: in the table below."])
    if changes.unchanged:
        lines.append([changes.unchanged])
    return [f"Each variant's largest change ({changes.how}):"], lines


__all__ = [
    "COMPLAINED",
    "HOW_LONG",
    "HOW_MANY",
    "QUESTIONS",
    "WHAT_IF",
    "WHERE",
    "answer_blocks",
    "complained",
    "how_long",
    "how_many",
    "leader_counts",
    "questions",
    "region_ranges",
    "what_if",
    "where",
]

"""Alt text of the report's figures: what each figure shows, in words, for a reader who cannot
see it (a screen reader, a text-only mail client, a Markdown viewer that failed to load it).

Each text names the kind of chart, its axes and the one or two numbers a sighted reader would
take from it, read from the same frame the figure draws (`figures/NAME.csv`); it names at most
`NAMED` variants, so it stays a sentence or two with twenty variants.
"""

from __future__ import annotations

import pandas as pd

from simlock.analysis.contents import variants
from simlock.analysis.formatting import format_value
from simlock.analysis.results import Results

from . import cohort_figure

NAMED = 6
"""At most this many variants are named in an alt text."""


def _variant_list(results: Results) -> str:
    names = variants(results)
    shown = ", ".join(names[:NAMED])
    more = f" and {len(names) - NAMED} more" if len(names) > NAMED else ""
    return f"{len(names)} variant{'s' if len(names) != 1 else ''} ({shown}{more})"


def _count(value: float, results: Results) -> str:
    return format_value(value, "devices", results.scenario.start)


def _peaks(results: Results, band: pd.DataFrame, what: str) -> str:
    """'Highest: A, N devices on DATE; lowest peak: B, M.' from a daily band's means."""
    means = band.dropna(subset=["mean"])
    if means.empty or not (means["mean"] > 0).any():
        return " Every line stays at zero."
    peaks = means.loc[means.groupby("variant", sort=False)["mean"].idxmax()]
    high = peaks.loc[peaks["mean"].idxmax()]
    text = (
        f" Highest {what}: {high['variant']}, {_count(high['mean'], results)} devices on "
        f"{pd.Timestamp(high['date']).date().isoformat()}"
    )
    if len(peaks) > 1:
        low = peaks.loc[peaks["mean"].idxmin()]
        text += f"; lowest peak: {low['variant']}, {_count(low['mean'], results)}"
    return text + "."


def _period(results: Results) -> str:
    scenario = results.scenario
    return f"from {scenario.start.isoformat()} to {scenario.end.isoformat()}"


def locked_over_time(results: Results, data: pd.DataFrame) -> str:
    return (
        f"Line chart of devices locked at the end of each day {_period(results)}, one line per "
        f"variant for {_variant_list(results)}, enforcement windows shaded and the lift marked."
        + _peaks(results, data, "peak")
    )


def locks_per_day(results: Results, data: pd.DataFrame) -> str:
    new = data[data["measure"] == "newly_locked"]
    return (
        "Two line charts sharing a date axis: devices newly locked per day (top) and devices "
        f"unlocked per day (bottom) {_period(results)}, for {_variant_list(results)}."
        + _peaks(results, new, "day of new locks")
    )


def users_by_region(results: Results, data: pd.DataFrame) -> str:
    text = (
        "Horizontal bar chart of users affected (devices locked at least once) per region of "
        f"activation, one bar per variant for {_variant_list(results)}."
    )
    if data.empty or not (data["mean"] > 0).any():
        return text + " No region has a locked device."
    top = data.loc[data["mean"].idxmax()]
    return (
        text + f" Largest bar: {top['region_name'] or top['region']} under {top['variant']}, "
        f"{_count(top['mean'], results)} devices."
    )


def complaints_by_region(results: Results, data: pd.DataFrame) -> str:
    text = (
        "Horizontal bar chart per region of activation: users locked (light bars) and, inside "
        "them, users who complained publicly (hatched; the observation model), one pair per "
        f"variant for {_variant_list(results)}, on a symmetric log scale."
    )
    shown = data[(data["measure"] == "complaints") & (data["mean"] > 0)]
    if shown.empty:
        return text + " No region has a complaint."
    top = shown.loc[shown["mean"].idxmax()]
    return (
        text + f" Most complaints: {top['region_name'] or top['region']}, "
        f"{_count(top['mean'], results)}."
    )


def delay_cdf(results: Results, data: pd.DataFrame) -> str:
    text = (
        "Two step charts of cumulative shares of locked devices: days from activation to lock "
        f"(left) and days locked (right), one line per variant for {_variant_list(results)}."
    )
    medians = data[(data["measure"] == "lock_duration") & (data["share"] == 0.5)]
    if medians.empty:
        return text + " No device-level rows to draw."
    return (
        text
        + " Median days locked: "
        + "; ".join(
            f"{row['variant']} {row['days']:.1f}" for _, row in medians.head(NAMED).iterrows()
        )
        + ("; and more." if len(medians) > NAMED else ".")
    )


def tradeoff(results: Results, data: pd.DataFrame) -> str:
    wide = data.pivot(index="variant", columns="metric", values="mean")
    text = (
        "Scatter chart, one point per variant: targeted locks (horizontal) against collateral "
        f"locks (vertical), for {_variant_list(results)}."
    )
    points = [
        f"{variant} {_count(row['targeted_locks'], results)} targeted and "
        f"{_count(row['collateral_locks'], results)} collateral"
        for variant, row in wide.reindex(variants(results)).dropna().head(NAMED).iterrows()
    ]
    return text + (" " + "; ".join(points) + "." if points else "")


def support_desk(results: Results, data: pd.DataFrame) -> str:
    text = (
        "Two line charts sharing a date axis: appeals waiting for the support desk at the end of "
        "each day (top) and the mean days appeals filed that day waited (bottom), one line per "
        "variant with appeals."
    )
    if data.empty or not (data["queue_length"] > 0).any():
        return text + " No appeal waited."
    top = data.loc[data["queue_length"].idxmax()]
    return (
        text + f" Longest queue: {top['variant']}, {_count(top['queue_length'], results)} "
        f"appeals on {pd.Timestamp(top['date']).date().isoformat()}."
    )


ALT_TEXTS = {
    "locked_over_time": locked_over_time,
    "locks_per_day": locks_per_day,
    "users_by_region": users_by_region,
    "delay_cdf": delay_cdf,
    "tradeoff": tradeoff,
    "support_desk": support_desk,
    "complaints_by_region": complaints_by_region,
    "users_by_cohort": cohort_figure.alt,
}
"""Each figure's alt text, by its file stem."""


def alt_text(results: Results, name: str, data: pd.DataFrame) -> str:
    """The alt text of figure `name` drawn from `data`."""
    return ALT_TEXTS[name](results, data)


__all__ = ["ALT_TEXTS", "alt_text"]

"""The figure of what the public saw against what happened: users locked and users who
complained, per territory, for the first variant drawn (the baseline).

The record's facts about *where* (most complaints from Cuba, none from Crimea) are about who
spoke up. Drawing both counts side by side, on a scale that shows hundreds beside tens of
thousands, lets a reader see when the territory with the most complaints is not the one with the
most locks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from simlock.analysis.contents import variants as variants_of
from simlock.analysis.formatting import format_value
from simlock.analysis.results import Results

from .plotting import (
    NO_LOCKS,
    AxesArgument,
    canvas,
    figure_title,
    interval_words,
    legend_right,
    message,
    plain,
    region_label,
    set_titles,
    variant_styles,
)

TITLE = "What happened and what the public saw: users locked and users who complained"
MEASURES = {
    "users_affected": "locked (devices locked at least once)",
    "complaints": "complained publicly (observation model)",
}
COLUMNS = ["region", "region_name", "variant", "measure", "mean", "ci_low", "ci_high", "n"]


def complaints_by_region_data(results: Results) -> pd.DataFrame:
    """Per region and variant, users locked and users who complained, from the summary
    (region, region_name, variant, measure, mean, ci_low, ci_high, n)."""
    summary = results.summary
    rows = summary[(summary["group"] == "region") & summary["metric"].isin(list(MEASURES))]
    names = {r.id: r.name for r in results.scenario.regions}
    frame = pd.DataFrame(
        {
            "region": rows["key"].astype(str).to_numpy(),
            "variant": rows["variant"].astype(str).to_numpy(),
            "measure": rows["metric"].astype(str).to_numpy(),
            "mean": rows["mean"].to_numpy(dtype=float),
            "ci_low": rows["ci_low"].to_numpy(dtype=float),
            "ci_high": rows["ci_high"].to_numpy(dtype=float),
            "n": rows["n"].to_numpy(dtype=int),
        }
    )
    frame.insert(1, "region_name", frame["region"].map(names))
    order = {r.id: i for i, r in enumerate(results.scenario.regions)}
    frame["_r"] = frame["region"].map(order)
    frame["_m"] = frame["measure"].map(list(MEASURES).index)
    frame = frame.sort_values(["_r", "variant", "_m"]).drop(columns=["_r", "_m"])
    return frame.reset_index(drop=True)[COLUMNS]


def complaints_by_region(
    results: Results,
    data: pd.DataFrame | None = None,
    *,
    ax: AxesArgument = None,
    variants=None,
    figsize: tuple[float, float] | None = None,
    title: str | None = None,
) -> Figure:
    """Per territory and variant, a light bar of users locked with, inside it, a hatched bar of
    those who complained, on a symmetric-log scale (hundreds beside tens of thousands; a
    territory with no complaint shows no hatched bar)."""
    if variants is not None:
        results = results.select(list(variants))
        if data is not None:
            data = data[data["variant"].isin(list(variants))].reset_index(drop=True)
    frame = complaints_by_region_data(results) if data is None else data
    names = variants_of(results)
    styles = variant_styles(results)
    locked = frame[frame["measure"] == "users_affected"]
    totals = locked.groupby("region", sort=False)["mean"].sum()
    shown = [r for r in dict.fromkeys(frame["region"]) if totals.get(r, 0.0) > 0]
    labels = {r.id: region_label(r.name, r.id) for r in results.scenario.regions}
    bars = max(1, len(shown)) * max(1, len(names))
    drawn = canvas(min(14.0, max(4.4, 1.9 + 0.22 * bars)), ax, figsize)
    (axes,) = drawn.axes
    n = int(frame["n"].max()) if not frame.empty else 0
    width = 0.8 / max(1, len(names))
    for j, variant in enumerate(names):
        part = frame[frame["variant"] == variant]
        if not shown or part.empty:
            continue
        y = np.arange(len(shown)) - 0.4 + width * (j + 0.5)
        values = {
            measure: part[part["measure"] == measure]
            .set_index("region")["mean"]
            .reindex(shown)
            .fillna(0.0)
            .to_numpy()
            for measure in MEASURES
        }
        colour = styles[variant].colour
        axes.barh(
            y,
            values["users_affected"],
            height=width * 0.92,
            color=colour,
            alpha=0.35,
            edgecolor="#222222",
            linewidth=0.5,
            label=variant,
        )
        axes.barh(
            y,
            values["complaints"],
            height=width * 0.5,
            color=colour,
            hatch="////",
            edgecolor="#222222",
            linewidth=0.5,
        )
        for y_bar, lock, heard in zip(
            y, values["users_affected"], values["complaints"], strict=True
        ):
            start = results.scenario.start
            axes.annotate(
                f"{format_value(lock, 'devices', start)} locked · "
                f"{format_value(heard, 'devices', start)} complained",
                (max(lock, 0.0), y_bar),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize="xx-small" if len(names) > 3 else "x-small",
                color="#333333",
            )
    axes.set_xscale("symlog", linthresh=1.0)
    axes.set_yticks(np.arange(len(shown)), [labels.get(r, r) for r in shown])
    axes.set_ylim(max(1, len(shown)) - 0.5, -0.5)
    top = float(locked["mean"].max()) if not locked.empty else 0.0
    axes.set_xlim(0, max(10.0, top * 30))
    axes.set_xlabel("users (devices; symmetric log scale, linear below 1)")
    axes.set_ylabel("region of activation")
    axes.grid(False, axis="y")
    subtitle = (
        f"{plain(results.scenario.name)} · light bar: locked; hatched bar: complained publicly "
        f"(observation model) · {interval_words(n, 'means')}"
    )
    set_titles(drawn, figure_title(title, TITLE), subtitle)
    if not shown:
        message(axes, NO_LOCKS)
    else:
        legend_right(drawn, n)
    return drawn.figure

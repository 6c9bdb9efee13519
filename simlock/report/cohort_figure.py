"""The figure of a policy's cohorts: per cohort (brand, model, release), the devices it locked and
those it kept for being in use before their cohort's phase, per variant.

A phase-in by brand is judged by brand: which brands bore the locks, and how many phones of each
the phasing spared. Drawn only when the scenario has cohorts (the summary's `cohort` group).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from simlock.analysis.contents import variant_order
from simlock.analysis.contents import variants as variants_of
from simlock.analysis.results import Results

from .plotting import (
    NO_INTERVAL,
    AxesArgument,
    canvas,
    count_ticks,
    figure_title,
    interval_words,
    legend_below,
    message,
    plain,
    set_titles,
    variant_bars,
    variant_styles,
)

TITLE = "Devices locked and kept, by cohort"
MEASURES = {
    "users_affected": "locked at least once",
    "kept": "kept: in use before their phase",
}
KEPT = ("kept_before_registry", "kept_before_phase")
"""The metrics that count kept devices (with a registry, the registry keeps them)."""
COLUMNS = ["cohort", "variant", "measure", "mean", "ci_low", "ci_high", "n"]
NO_COHORTS = "The scenario has no cohorts"


def users_by_cohort_data(results: Results) -> pd.DataFrame:
    """Per cohort and variant, devices locked and devices kept before their phase, from the
    summary (cohort, variant, measure, mean, ci_low, ci_high, n); empty without cohorts."""
    summary = results.summary
    rows = summary[
        (summary["group"] == "cohort") & summary["metric"].isin(["users_affected", *KEPT])
    ]
    frame = pd.DataFrame(
        {
            "cohort": rows["key"].astype(str).to_numpy(),
            "variant": rows["variant"].astype(str).to_numpy(),
            "measure": rows["metric"].astype(str).replace(dict.fromkeys(KEPT, "kept")).to_numpy(),
            "mean": rows["mean"].to_numpy(dtype=float),
            "ci_low": rows["ci_low"].to_numpy(dtype=float),
            "ci_high": rows["ci_high"].to_numpy(dtype=float),
            "n": rows["n"].to_numpy(dtype=int),
        }
    )
    order = {name: i for i, name in enumerate([*results.scenario.cohorts, "none"])}
    frame["_c"] = frame["cohort"].map(order)
    frame["_v"] = frame["variant"].map(variant_order(results))
    frame["_m"] = frame["measure"].map(list(MEASURES).index)
    frame = frame.sort_values(["_c", "_v", "_m"]).drop(columns=["_c", "_v", "_m"])
    return frame.reset_index(drop=True)[COLUMNS]


def users_by_cohort(
    results: Results,
    data: pd.DataFrame | None = None,
    *,
    ax: AxesArgument = None,
    variants=None,
    figsize: tuple[float, float] | None = None,
    title: str | None = None,
) -> Figure:
    """Two panels of horizontal bars per cohort, one bar per variant with its interval: devices
    locked (left) and devices kept before their phase (right)."""
    if variants is not None:
        results = results.select(list(variants))
        if data is not None:
            data = data[data["variant"].isin(list(variants))]
    frame = users_by_cohort_data(results) if data is None else data
    cohorts = list(dict.fromkeys(frame["cohort"]))
    names = variants_of(results)
    styles = variant_styles(results)
    bars = max(1, len(cohorts)) * max(1, len(names))
    drawn = canvas(min(14.0, max(4.0, 1.9 + 0.17 * bars)), ax, figsize, cols=2)
    n = int(frame["n"].max()) if not frame.empty else 0
    width = 0.8 / max(1, len(names))
    for panel, (measure, label) in zip(drawn.axes, MEASURES.items(), strict=True):
        part_of_measure = frame[frame["measure"] == measure]
        for j, variant in enumerate(names):
            part = part_of_measure[part_of_measure["variant"] == variant].set_index("cohort")
            part = part.reindex(cohorts)
            if part["mean"].isna().all():
                continue
            style = styles[variant]
            y = np.arange(len(cohorts)) - 0.4 + width * (j + 0.5)
            variant_bars(panel, y, part, style, width * 0.92, variant)
        panel.set_yticks(np.arange(len(cohorts)), [c.replace("_", " ") for c in cohorts])
        panel.set_ylim(max(1, len(cohorts)) - 0.5, -0.5)
        count_ticks(panel.xaxis)
        panel.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))  # two panels abreast
        panel.set_xlim(0, max(1.0, panel.get_xlim()[1]))
        panel.set_xlabel(f"{label} (devices)")
        panel.grid(False, axis="y")
    drawn.axes[0].set_ylabel("cohort (brand, model or release)")
    set_titles(
        drawn,
        figure_title(title, TITLE),
        f"{plain(results.scenario.name)} · {interval_words(n, 'bars: 95% interval')}",
    )
    if frame.empty:
        message(drawn.axes[0], NO_COHORTS)
    else:
        handles = drawn.axes[0].get_legend_handles_labels()[0]
        legend_below(drawn, handles, title="variant" if n >= 2 else f"variant ({NO_INTERVAL})")
    return drawn.figure


def alt(results: Results, data: pd.DataFrame) -> str:
    """The figure's alt text: what it draws, and the cohort with the most locks."""
    text = (
        "Two horizontal bar charts per cohort: devices locked (left) and devices kept for being "
        "in use before their cohort's phase (right), one bar per variant."
    )
    locked = data[(data["measure"] == "users_affected") & (data["mean"] > 0)]
    if locked.empty:
        return text + " No cohort has a locked device."
    top = locked.loc[locked["mean"].idxmax()]
    return text + f" Most locks: {top['cohort']} under {top['variant']}, {top['mean']:,.0f}."

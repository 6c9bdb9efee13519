"""Policy events on the time axes of the figures: enforcement windows shaded, lifts drawn as
dashed lines, each named above the panel and in the legend, with the variants it belongs to when
not every variant has it; the phases of a policy with cohorts drawn as dotted lines, each named
by its cohorts inside the panel's top.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from simlock.analysis.contents import policy_of, variants
from simlock.analysis.results import Results

from .plotting import plain

WINDOW_GREYS = ("#e4e4e4", "#c8c8c8", "#d6d6d6", "#bababa")
LIFT_COLOUR = "#444444"
PHASE_COLOUR = "#777777"


def policy_events(results: Results) -> pd.DataFrame:
    """Enforcement windows, lifts and phases of the variants in the run, one row per distinct
    event,
    with the variants that have it (kind, name, start, end, coverage, coverage_max, variants,
    all_variants).

    Windows with the same name and dates are one event whatever their coverage (the lowest and
    highest are kept): a sweep of coverages over twenty variants shades one span and adds one
    legend entry, not twenty."""
    names = variants(results)
    rows: dict[tuple, list[str]] = {}
    coverages: dict[tuple, list[float]] = {}
    for variant in names:
        policy = policy_of(results.scenario, variant)
        if policy is None:
            continue
        for window in policy.windows:
            key = ("window", window.name, window.start, window.end)
            rows.setdefault(key, []).append(variant)
            coverages.setdefault(key, []).append(window.coverage)
        if policy.lift is not None:
            key = ("lift", "lift", policy.lift.date, policy.lift.date)
            rows.setdefault(key, []).append(variant)
        only = len(policy.phases) == 1
        for phase in policy.phases:
            name = (
                ", ".join(phase.cohorts)
                if phase.cohorts is not None
                else "every cohort"
                if only
                else "every other cohort"
            )
            key = ("phase", name, phase.from_, phase.from_)
            rows.setdefault(key, []).append(variant)
    columns = [
        "kind",
        "name",
        "start",
        "end",
        "coverage",
        "coverage_max",
        "variants",
        "all_variants",
    ]
    records = [
        (
            *key,
            min(coverages.get(key, [np.nan])),
            max(coverages.get(key, [np.nan])),
            ", ".join(members),
            len(members) == len(names),
        )
        for key, members in rows.items()
    ]
    return pd.DataFrame(records, columns=columns)


def _coverage(row: pd.Series) -> str:
    """'60% of eligible', or '10%–90% of eligible, by variant' for windows merged across
    variants."""
    if row["coverage"] == row["coverage_max"]:
        return f"{row['coverage']:.0%} of eligible"
    return f"{row['coverage']:.0%}–{row['coverage_max']:.0%} of eligible, by variant"


def _who(row: pd.Series, results: Results) -> str:
    """The variants an event belongs to, in the fewest words: '' when every variant has it."""
    if row["all_variants"]:
        return ""
    members = row["variants"].split(", ")
    others = [v for v in variants(results) if v not in members]
    if len(others) < len(members):
        return f" (all but {plain(', '.join(others), 40)})"
    return f" ({plain(', '.join(members), 40)} only)"


def mark_policy(ax: Axes, results: Results, labels: bool) -> list:
    """Shade the windows and draw the lifts; with `labels`, name them above the panel (windows
    on the first line, lifts on the second, so they never collide). Returns legend handles."""
    events = policy_events(results)
    handles: list = []
    top = blended_transform_factory(ax.transData, ax.transAxes)
    windows = events[events["kind"] == "window"].reset_index(drop=True)
    for i, row in windows.iterrows():
        grey = WINDOW_GREYS[i % len(WINDOW_GREYS)]
        start, end = np.datetime64(row["start"], "D"), np.datetime64(row["end"], "D")
        ax.axvspan(start, end, color=grey, alpha=0.6, linewidth=0, zorder=0)
        if not labels:
            continue
        ax.text(
            start + (end - start) / 2,
            1.005,
            plain(row["name"], 20),
            transform=top,
            ha="center",
            va="bottom",
            fontsize="small",
            color="#333333",
            clip_on=False,
        )
        handles.append(
            Patch(
                facecolor=grey,
                alpha=0.6,
                label=f"window '{plain(row['name'], 20)}': {row['start']:%d %b}–"
                f"{row['end']:%d %b}, {_coverage(row)}{_who(row, results)}",
            )
        )
    start, end = results.scenario.start, results.scenario.end
    for _, row in events[events["kind"] == "lift"].iterrows():
        day = np.datetime64(row["start"], "D")
        ax.axvline(day, color=LIFT_COLOUR, linestyle=(0, (2, 2)), linewidth=1.4, zorder=1)
        if not labels:
            continue
        # A late lift is labelled to the left of its line, so the label stays over the panel.
        late = (row["start"] - start).days > 0.7 * (end - start).days
        ax.annotate(
            f" lift {row['start']:%d %b}{_who(row, results)} ",
            (day, 1.0),
            xycoords=top,
            xytext=(0, 16),
            textcoords="offset points",
            ha="right" if late else "left",
            va="bottom",
            fontsize="small",
            fontweight="bold",
            color="#222222",
            annotation_clip=False,
        )
        handles.append(
            Line2D(
                [],
                [],
                color=LIFT_COLOUR,
                linestyle=(0, (2, 2)),
                label=f"lift {row['start']:%d %b %Y}{_who(row, results)}",
            )
        )
    handles += _mark_phases(ax, events[events["kind"] == "phase"], results, labels)
    return handles


def _mark_phases(ax: Axes, phases: pd.DataFrame, results: Results, labels: bool) -> list:
    """A dotted line at each phase's date; with `labels`, the cohorts of the phases on that date
    written down the line inside the panel's top (phases are often weeks apart: upright names do
    not collide), and one legend entry for them all."""
    if phases.empty:
        return []
    top = blended_transform_factory(ax.transData, ax.transAxes)
    for date, on_date in phases.groupby("start", sort=True):
        day = np.datetime64(date, "D")
        ax.axvline(day, color=PHASE_COLOUR, linestyle=":", linewidth=1.2, zorder=1)
        if labels:
            names = "; ".join(
                f"{plain(row['name'], 24)}{_who(row, results)}" for _, row in on_date.iterrows()
            )
            ax.text(
                day,
                0.97,
                f" {plain(names, 70)}",
                transform=top,
                rotation=90,
                ha="right",
                va="top",
                fontsize="x-small",
                color="#333333",
            )
    if not labels:
        return []
    return [Line2D([], [], color=PHASE_COLOUR, linestyle=":", label="phase: cohorts from then")]

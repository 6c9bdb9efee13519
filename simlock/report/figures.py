"""The report's figures: who is locked, when, where, for how long, and what each variant costs.

Each figure has two functions: `NAME_data(results)` returns the tidy frame the figure draws (the
report saves it as `figures/NAME.csv`), and `NAME(results, data=None, *, ax=None, variants=None,
figsize=None, title=None)` returns a `matplotlib.figure.Figure` built without pyplot, so nothing
touches global state and any backend (Agg in the report, inline in a notebook) can render it.

For papers: `ax=` draws on the caller's axes (one per panel: two-panel figures take a sequence of
two) with the title and legend on the axes; `figsize=` sizes a new figure; `variants=` draws only
those variants (through `Results.select`, so legends and the policy's labels name only what is
drawn); `title=` replaces the title ("" for none). Font sizes come from matplotlib's rcParams.

Intervals are 95% Student-t intervals across replications, like the metrics; with one replication
they are undefined and the figure says so instead of drawing a band. Figures drawn from
device-level rows (delays, durations, the support desk) use the detail replications only and name
them. How the figures look (a style per variant that survives greyscale printing and colour
blindness, axes, legends, bands) is in `simlock._plotting`; the policy's windows and lifts are
marked on every time axis by `simlock._policy_marks`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from simlock.analysis.contents import (
    appeal_variants,
    describe_replications,
    detail_replications,
    policy_of,
    variant_order,
)
from simlock.analysis.contents import variants as variants_of
from simlock.analysis.formatting import format_value
from simlock.analysis.results import Results
from simlock.model.policy import lift_day

from . import cohort_figure, complaints_figure
from .describe import shared_target_label
from .plotting import (
    NO_APPEALS,
    NO_DETAIL,
    NO_INTERVAL,
    NO_LOCKS,
    OKABE_ITO,
    PLAUSIBLE_GID,
    AxesArgument,
    all_zero,
    band_handles,
    band_legend_title,
    band_words,
    canvas,
    count_axis,
    count_ticks,
    daily_band,
    date_axis,
    figure_title,
    interval_words,
    label_points,
    legend_below,
    legend_right,
    markevery,
    message,
    plain,
    plot_bands,
    region_label,
    set_titles,
    thousands,
    variant_bars,
    variant_styles,
)
from .policy_marks import mark_policy
from .worlds import worlds_count

TITLES = {
    "locked_over_time": "Devices locked over time",
    "locks_per_day": "New locks and unlocks per day",
    "users_by_region": "Users affected by region and variant",
    "delay_cdf": "How soon devices were locked, and for how long",
    "tradeoff": "What each variant buys and costs: targeted against collateral locks",
    "support_desk": "The support desk: appeals waiting and waiting time",
    "complaints_by_region": complaints_figure.TITLE,
    "users_by_cohort": cohort_figure.TITLE,
}
"""Each figure's title, by its file stem."""


@dataclass(frozen=True)
class FigureSpec:
    """A report figure: its file stem in `figures/`, its title, and the functions behind it."""

    name: str
    title: str
    data: Callable[[Results], pd.DataFrame]
    plot: Callable[..., Figure]


Size = tuple[float, float] | None
Variants = Iterable[str] | None


def _selected(
    results: Results, data: pd.DataFrame | None, chosen: Variants
) -> tuple[Results, pd.DataFrame | None]:
    """The results restricted to the chosen variants (all when None), and a given frame's rows
    of those variants."""
    if chosen is None:
        return results, data
    names = list(chosen)
    selected = results.select(names)
    if data is not None and "variant" in data.columns:
        data = data[data["variant"].astype(str).isin(names)].reset_index(drop=True)
    return selected, data


# ---------------------------------------------------------------------------------------------
# 1. Devices locked over time


def locked_over_time_data(results: Results) -> pd.DataFrame:
    """Devices locked at the end of each day, per variant: mean and 95% interval across
    replications (date, day, variant, mean, ci_low, ci_high, n)."""
    return daily_band(results, "locked")


def locked_over_time(
    results: Results,
    data: pd.DataFrame | None = None,
    *,
    ax: AxesArgument = None,
    variants: Variants = None,
    figsize: Size = None,
    title: str | None = None,
) -> Figure:
    """Devices locked at once over the calendar, one line and band per variant, with the
    enforcement windows shaded and the lift marked."""
    results, data = _selected(results, data, variants)
    band = locked_over_time_data(results) if data is None else data
    drawn = canvas(5.8, ax, figsize)
    (panel,) = drawn.axes
    policy_handles = mark_policy(panel, results, labels=True)
    plot_bands(panel, band, results)
    date_axis(panel, results)
    count_axis(panel)
    panel.set_xlabel("date (counts at the end of each day)")
    panel.set_ylabel("devices locked (devices)")
    set_titles(
        drawn,
        figure_title(title, TITLES["locked_over_time"]),
        f"{plain(results.scenario.name)} · {band_words(results)}",
        marks=True,
    )
    if all_zero(band["mean"]):
        message(panel, NO_LOCKS)
    legend_below(
        drawn,
        [*panel.get_legend_handles_labels()[0], *band_handles(band), *policy_handles],
        band_legend_title(results),
    )
    return drawn.figure


# ---------------------------------------------------------------------------------------------
# 2. New locks and unlocks per day


def locks_per_day_data(results: Results) -> pd.DataFrame:
    """New locks and unlocks per day per variant, mean and 95% interval across replications
    (date, day, variant, measure in {newly_locked, unlocked}, mean, ci_low, ci_high, n)."""
    parts = []
    for measure in ("newly_locked", "unlocked"):
        band = daily_band(results, measure)
        band.insert(3, "measure", measure)
        parts.append(band)
    return pd.concat(parts, ignore_index=True)


LOG_SCALE_ABOVE = 200.0
"""Daily counts (devices/day) above which the per-day figure switches to a logarithmic axis."""


def per_day_log_scale(data: pd.DataFrame) -> bool:
    """Whether the per-day figure uses a logarithmic axis: when the busiest day passes
    `LOG_SCALE_ABOVE` devices, a linear axis would flatten a trickle of tens a day to nothing."""
    return float(np.nanmax(data["mean"].to_numpy(dtype=float), initial=0)) > LOG_SCALE_ABOVE


def locks_per_day(
    results: Results,
    data: pd.DataFrame | None = None,
    *,
    ax: AxesArgument = None,
    variants: Variants = None,
    figsize: Size = None,
    title: str | None = None,
) -> Figure:
    """The surge and the release: devices newly locked and unlocked each day, per variant.

    With busy days (see `per_day_log_scale`) the axis is logarithmic above one device a day and
    linear below, so that the trickle stays visible next to a surge of thousands.
    """
    results, data = _selected(results, data, variants)
    frame = locks_per_day_data(results) if data is None else data
    log = per_day_log_scale(frame)
    scale = ", log scale" if log else ""
    drawn = canvas(7.6, ax, figsize, rows=2, sharex=True)
    axes = drawn.axes
    panels = (
        ("newly_locked", f"new locks per day\n(devices/day{scale})", NO_LOCKS),
        ("unlocked", f"unlocks per day\n(devices/day{scale})", "No device was unlocked"),
    )
    for ax, (measure, ylabel, empty) in zip(axes, panels, strict=True):
        mark_policy(ax, results, labels=ax is axes[0])
        part = frame[frame["measure"] == measure]
        plot_bands(ax, part, results, label=ax is axes[0])
        date_axis(ax, results)
        if log:
            ax.set_yscale("symlog", linthresh=1.0, linscale=0.4)
            top = float(np.nanmax(part["ci_high"].fillna(part["mean"]), initial=0))
            ax.set_ylim(bottom=0, top=max(10.0, top * 1.6))
            thousands(ax.yaxis)
        else:
            count_axis(ax)
        ax.set_ylabel(ylabel)
        if all_zero(part["mean"]):
            message(ax, empty)
    axes[-1].set_xlabel("date")
    set_titles(
        drawn,
        figure_title(title, TITLES["locks_per_day"]),
        f"{plain(results.scenario.name)} · {band_words(results)} · "
        "shaded: enforcement windows, dashed: lift",
        marks=True,
    )
    legend_below(
        drawn,
        [*axes[0].get_legend_handles_labels()[0], *band_handles(frame)],
        band_legend_title(results),
    )
    return drawn.figure


# ---------------------------------------------------------------------------------------------
# 3. Users affected by region and variant


def users_by_region_data(results: Results) -> pd.DataFrame:
    """Users affected (devices locked at least once) per region and variant, from the summary
    (region, region_name, variant, mean, ci_low, ci_high, n)."""
    summary = results.summary
    rows = summary[(summary["group"] == "region") & (summary["metric"] == "users_affected")]
    names = {r.id: r.name for r in results.scenario.regions}
    frame = pd.DataFrame(
        {
            "region": rows["key"].astype(str).to_numpy(),
            "variant": rows["variant"].astype(str).to_numpy(),
            "mean": rows["mean"].to_numpy(dtype=float),
            "ci_low": rows["ci_low"].to_numpy(dtype=float),
            "ci_high": rows["ci_high"].to_numpy(dtype=float),
            "n": rows["n"].to_numpy(dtype=int),
        }
    )
    if "plausible_low" in rows.columns:
        frame["plausible_low"] = rows["plausible_low"].to_numpy(dtype=float)
        frame["plausible_high"] = rows["plausible_high"].to_numpy(dtype=float)
    frame.insert(1, "region_name", frame["region"].map(names))
    region_order = {r.id: i for i, r in enumerate(results.scenario.regions)}
    frame["_r"] = frame["region"].map(region_order)
    frame["_v"] = frame["variant"].map(variant_order(results))
    return frame.sort_values(["_r", "_v"]).drop(columns=["_r", "_v"]).reset_index(drop=True)


def users_by_region(
    results: Results,
    data: pd.DataFrame | None = None,
    *,
    ax: AxesArgument = None,
    variants: Variants = None,
    figsize: Size = None,
    title: str | None = None,
) -> Figure:
    """Grouped horizontal bars: users affected per region, one bar per variant, with intervals.

    Regions where no variant locked anyone are listed under the title instead of drawn empty.
    """
    results, data = _selected(results, data, variants)
    frame = users_by_region_data(results) if data is None else data
    totals = frame.groupby("region", sort=False)["mean"].sum()
    shown = [r for r in dict.fromkeys(frame["region"]) if totals[r] > 0]
    empty = [r for r in dict.fromkeys(frame["region"]) if totals[r] <= 0]
    names = variants_of(results)
    styles = variant_styles(results)
    labels = {r.id: region_label(r.name, r.id) for r in results.scenario.regions}
    bars = max(1, len(shown)) * max(1, len(names))
    drawn = canvas(min(14.0, max(4.4, 1.9 + 0.19 * bars)), ax, figsize)
    (ax,) = drawn.axes
    n = int(frame["n"].max()) if not frame.empty else 0
    width = 0.8 / max(1, len(names))
    for j, variant in enumerate(names):
        part = frame[frame["variant"] == variant].set_index("region").reindex(shown)
        if not shown or part["mean"].isna().all():
            continue
        style = styles[variant]
        y = np.arange(len(shown)) - 0.4 + width * (j + 0.5)
        means, high = variant_bars(ax, y, part, style, width * 0.92, variant)
        ends = np.maximum(high, means)
        if "plausible_low" in part.columns:
            plausible_low = part["plausible_low"].fillna(0).to_numpy()
            plausible_high = part["plausible_high"].fillna(0).to_numpy()
            whiskers = ax.errorbar(
                means,
                y,
                xerr=np.clip(np.vstack([means - plausible_low, plausible_high - means]), 0, None),
                fmt="none",
                ecolor="#777777",
                elinewidth=0.9,
                capsize=6,
                zorder=1.9,
            )
            # Dotted, and under the Monte Carlo whiskers where they overlap.
            whiskers.lines[2][0].set_linestyle(":")
            whiskers.lines[2][0].set_gid(PLAUSIBLE_GID)
            ends = np.maximum(ends, plausible_high)
        # Each value past the end of its intervals, so that small bars can be read too.
        for y_bar, end, value in zip(y, ends, means, strict=True):
            ax.annotate(
                format_value(value, "devices", results.scenario.start),  # whole devices
                (end, y_bar),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize="x-small",
                color="#333333",
            )
    ax.set_yticks(np.arange(len(shown)), [labels.get(r, r) for r in shown])
    ax.set_ylim(max(1, len(shown)) - 0.5, -0.5)
    count_ticks(ax.xaxis)
    ax.set_xlim(0, max(1.0, ax.get_xlim()[1]))
    ax.set_xlabel("users affected: devices locked at least once (devices)")
    ax.set_ylabel("region of activation")
    ax.grid(False, axis="y")
    subtitle = f"{plain(results.scenario.name)} · {interval_words(n, 'bars: 95% interval')}"
    if "plausible_low" in frame.columns:
        subtitle = (
            f"{plain(results.scenario.name)} · mean over plausible worlds; solid whiskers: "
            "Monte Carlo 95% interval, dotted grey: plausible range (5%–95%)"
        )
    if empty and shown:
        subtitle += (
            f"\nno user affected in: {plain(', '.join(labels.get(r, r) for r in empty), 110)}"
        )
    set_titles(drawn, figure_title(title, TITLES["users_by_region"]), subtitle)
    if not shown:
        message(ax, NO_LOCKS)
    if shown:
        legend_right(drawn, n)
    return drawn.figure


# ---------------------------------------------------------------------------------------------
# 4. Distributions of days to lock and lock duration

CDF_SHARES = np.linspace(0.0, 1.0, 401)
CDF_COLUMNS = ["variant", "measure", "share", "days", "locks", "replications"]


def delay_cdf_data(results: Results) -> pd.DataFrame:
    """Empirical CDFs of days from activation to lock and of lock duration (still-locked
    devices counted to the end of the run), per variant, pooled over the detail replications.

    At each share p of locks (0 to 1 in steps of 0.25%), the days by which that share is reached;
    a fixed grid keeps the CSV small at any scale and draws the same steps as the raw ECDF
    (variant, measure, share, days, locks, replications).
    """
    detail = detail_replications(results)
    if not detail:
        return pd.DataFrame(columns=CDF_COLUMNS)
    devices = results.devices
    horizon = results.scenario.days
    locked = devices[np.isfinite(devices["locked"].to_numpy(dtype=float))]
    parts = []
    for variant in variants_of(results):
        rows = locked[locked["variant"] == variant]
        lock = rows["locked"].to_numpy(dtype=float)
        unlock = rows["unlocked"].to_numpy(dtype=float)
        unlock = np.where(np.isfinite(unlock), np.minimum(unlock, horizon), horizon)
        measures = {
            "days_to_lock": lock - rows["activated"].to_numpy(dtype=float),
            "lock_duration": unlock - lock,
        }
        for measure, values in measures.items():
            if values.size == 0:
                continue
            parts.append(
                pd.DataFrame(
                    {
                        "variant": variant,
                        "measure": measure,
                        "share": CDF_SHARES,
                        "days": np.quantile(values, CDF_SHARES, method="inverted_cdf"),
                        "locks": values.size,
                        "replications": ", ".join(str(r) for r in detail),
                    }
                )
            )
    if not parts:
        return pd.DataFrame(columns=CDF_COLUMNS)
    return pd.concat(parts, ignore_index=True)[CDF_COLUMNS]


def delay_cdf(
    results: Results,
    data: pd.DataFrame | None = None,
    *,
    ax: AxesArgument = None,
    variants: Variants = None,
    figsize: Size = None,
    title: str | None = None,
) -> Figure:
    """How soon after activation devices were locked, and how long they stayed locked (CDFs).

    On the caller's axes the panels have no titles of their own (the title goes over the first
    one); their axis labels say what each shows."""
    results, data = _selected(results, data, variants)
    frame = delay_cdf_data(results) if data is None else data
    drawn = canvas(5.8, ax, figsize, cols=2)
    axes = drawn.axes
    styles = variant_styles(results)
    detail = detail_replications(results)
    panels = (
        ("days_to_lock", "Days from activation to lock", "days from activation to lock (days)"),
        ("lock_duration", "Lock duration", "days locked (days; still locked: to the end)"),
    )
    handles = []
    for ax, (measure, panel_title, xlabel) in zip(axes, panels, strict=True):
        part = frame[frame["measure"] == measure]
        for index, variant in enumerate(variants_of(results)):
            rows = part[part["variant"] == variant]
            if rows.empty:
                continue
            style = styles[variant]
            (line,) = ax.step(
                rows["days"].to_numpy(dtype=float),
                rows["share"].to_numpy(dtype=float),
                where="post",
                # A marker every 40 of the 401 shares, shifted per variant.
                **style.line_properties((8 * index % 40, 40)),
                label=f"{variant} ({int(rows['locks'].iloc[0]):,} locks)",
            )
            if ax is axes[0]:
                handles.append(line)
        if drawn.own:
            ax.set_title(panel_title, loc="left")
        ax.set_xlabel(xlabel)
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        if not detail:
            message(ax, NO_DETAIL)
        elif part.empty:
            message(ax, "No device was locked\nin the detail replications")
    axes[0].set_ylabel("share of locked devices (cumulative %)")
    set_titles(
        drawn,
        figure_title(title, TITLES["delay_cdf"]),
        f"{plain(results.scenario.name)} · empirical CDF, {describe_replications(detail)}",
    )
    legend_below(drawn, handles)
    return drawn.figure


# ---------------------------------------------------------------------------------------------
# 5. The trade-off: targeted against collateral locks


def tradeoff_data(results: Results) -> pd.DataFrame:
    """Targeted and collateral locks per variant, from the summary
    (variant, metric in {targeted_locks, collateral_locks}, mean, ci_low, ci_high, n)."""
    summary = results.summary
    rows = summary[
        (summary["group"] == "all") & summary["metric"].isin(["targeted_locks", "collateral_locks"])
    ]
    frame = rows[["variant", "metric", "mean", "ci_low", "ci_high", "n"]].copy()
    frame["variant"] = frame["variant"].astype(str)
    frame["metric"] = frame["metric"].astype(str)
    frame["_v"] = frame["variant"].map(variant_order(results))
    return frame.sort_values(["_v", "metric"]).drop(columns="_v").reset_index(drop=True)


def tradeoff(
    results: Results,
    data: pd.DataFrame | None = None,
    *,
    ax: AxesArgument = None,
    variants: Variants = None,
    figsize: Size = None,
    title: str | None = None,
) -> Figure:
    """What each variant buys (targeted locks: devices of its target channels in banned
    territories) and what it costs (collateral locks: travellers, official devices, detection
    errors)."""
    results, data = _selected(results, data, variants)
    frame = tradeoff_data(results) if data is None else data
    drawn = canvas(6.4, ax, figsize)
    (ax,) = drawn.axes
    styles = variant_styles(results)
    n = int(frame["n"].max()) if not frame.empty else 0
    wide = frame.pivot(index="variant", columns="metric", values=["mean", "ci_low", "ci_high"])
    points: list[tuple[str, float, float]] = []
    for variant in variants_of(results):
        if variant not in wide.index:
            continue
        row = wide.loc[variant]
        x, y = float(row[("mean", "targeted_locks")]), float(row[("mean", "collateral_locks")])
        style = styles[variant]
        xerr = yerr = None
        if n >= 2:
            xerr = [
                [max(0.0, x - row[("ci_low", "targeted_locks")])],
                [max(0.0, row[("ci_high", "targeted_locks")] - x)],
            ]
            yerr = [
                [max(0.0, y - row[("ci_low", "collateral_locks")])],
                [max(0.0, row[("ci_high", "collateral_locks")] - y)],
            ]
        if xerr is not None:
            ax.errorbar(
                [x],
                [y],
                xerr=xerr,
                yerr=yerr,
                fmt="none",
                ecolor=style.colour,
                elinewidth=1.4,
                capsize=4,
                zorder=2,
            )
        # Translucent markers of different shapes: variants with the same numbers stay visible.
        ax.plot(
            [x],
            [y],
            linestyle="none",
            marker=style.marker,
            markersize=11,
            markerfacecolor=to_rgba(style.colour, 0.3),
            markeredgecolor=style.colour,
            markeredgewidth=2.0,
            label=variant,
            zorder=3,
        )
        points.append((variant, x, y))
    policies = [policy_of(results.scenario, variant) for variant, _, _ in points]
    targets = shared_target_label(
        [p for p in policies if p is not None] or [results.scenario.policy]
    )
    # Under a device list the territories only say where the block runs: the batch is the aim.
    listing = any(p is not None and p.device_list is not None for p in policies)
    where = "" if listing else " in banned territories"
    ax.set_xlabel(f"targeted locks: {targets}{where} (devices)")
    ax.set_ylabel("collateral locks: everyone else (devices)")
    count_ticks(ax.xaxis)
    count_ticks(ax.yaxis)
    ax.margins(0.15)
    # A little room below zero, so that a variant with no collateral lock shows its marker whole.
    for get, set_ in ((ax.get_xlim, ax.set_xlim), (ax.get_ylim, ax.set_ylim)):
        high = max(get()[1], 1.0)
        set_(-0.025 * high, high)
    label_points(ax, points, drawn)
    set_titles(
        drawn,
        figure_title(title, TITLES["tradeoff"]),
        f"{plain(results.scenario.name)} · {_tradeoff_bars(results, n)} · "
        "right: more targeted locks, up: more collateral locks",
    )
    if all_zero(frame["mean"]):
        message(ax, NO_LOCKS)
    legend_right(drawn, n)
    return drawn.figure


# ---------------------------------------------------------------------------------------------
# 6. The support desk

DESK_COLUMNS = [
    "date",
    "day",
    "variant",
    "queue_length",
    "appeals_filed",
    "wait_mean_days",
    "wait_median_days",
    "replications",
]


def support_desk_data(results: Results) -> pd.DataFrame:
    """Per variant with appeals and per date, from the detail replications: appeals waiting for
    the desk at the end of the day and appeals filed that day (means over the detail
    replications), and the mean and median days that day's appeals waited before service
    started (pooled). An appeal waits from filing until its service starts or the lift withdraws
    it; withdrawn appeals have no wait (date, day, variant, queue_length, appeals_filed,
    wait_mean_days, wait_median_days, replications)."""
    detail = detail_replications(results)
    with_desk = appeal_variants(results)
    if not detail or not with_desk:
        return pd.DataFrame(columns=DESK_COLUMNS)
    devices = results.devices
    days = int(results.scenario.days)
    # An event at time t belongs to day floor(t), as in the daily frame: the end of day d is d+1.
    ends = np.arange(1, days + 1, dtype=float)
    parts = []
    for variant in with_desk:
        policy = results.scenario.variant(variant)
        unlocks = policy.lift is not None and policy.lift.unlock
        withdrawn_at = lift_day(policy, results.scenario) if unlocks else np.inf
        rows = devices[devices["variant"] == variant]
        filed = rows["appealed"].to_numpy(dtype=float)
        started = rows["appeal_started"].to_numpy(dtype=float)
        replication = rows["replication"].to_numpy()
        has = np.isfinite(filed)
        queue = np.zeros(days)
        for r in detail:
            mine = has & (replication == r)
            leaves = np.where(np.isfinite(started[mine]), started[mine], withdrawn_at)
            arrived = np.searchsorted(np.sort(filed[mine]), ends, side="left")
            left = np.searchsorted(np.sort(leaves), ends, side="left")
            queue += arrived - left
        waits = pd.DataFrame(
            {"day": np.floor(filed[has]).astype(int), "wait": started[has] - filed[has]}
        ).groupby("day")["wait"]
        parts.append(
            pd.DataFrame(
                {
                    "date": np.datetime64(results.scenario.start, "D") + np.arange(days),
                    "day": np.arange(days),
                    "variant": variant,
                    "queue_length": queue / len(detail),
                    "appeals_filed": waits.size().reindex(range(days), fill_value=0).to_numpy()
                    / len(detail),
                    "wait_mean_days": waits.mean().reindex(range(days)).to_numpy(),
                    "wait_median_days": waits.median().reindex(range(days)).to_numpy(),
                    "replications": ", ".join(str(r) for r in detail),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)[DESK_COLUMNS]


def _tradeoff_bars(results: Results, n: int) -> str:
    """What the trade-off's bars are: over plausible worlds, the Monte Carlo interval of the
    mean over the worlds' means, not an interval over replications."""
    worlds = worlds_count(results)
    if worlds:
        return f"mean over {worlds} plausible worlds, bars: Monte Carlo 95% interval of the mean"
    return interval_words(n, "bars: 95% intervals")


def support_desk(
    results: Results,
    data: pd.DataFrame | None = None,
    *,
    ax: AxesArgument = None,
    variants: Variants = None,
    figsize: Size = None,
    title: str | None = None,
) -> Figure:
    """The support desk over time: appeals waiting, and how long appeals filed each day waited."""
    results, data = _selected(results, data, variants)
    frame = support_desk_data(results) if data is None else data
    drawn = canvas(7.4, ax, figsize, rows=2, sharex=True)
    axes = drawn.axes
    styles = variant_styles(results)
    detail = detail_replications(results)
    with_desk = appeal_variants(results)
    for ax in axes:
        mark_policy(ax, results, labels=ax is axes[0])
        date_axis(ax, results)
    for index, variant in enumerate(with_desk):
        rows = frame[frame["variant"] == variant]
        if rows.empty:
            continue
        style = styles[variant]
        common = style.line_properties(markevery(len(rows), index))
        axes[0].plot(
            rows["date"], rows["queue_length"].to_numpy(dtype=float), label=variant, **common
        )
        axes[1].plot(rows["date"], rows["wait_mean_days"].to_numpy(dtype=float), **common)
    count_axis(axes[0])
    axes[1].set_ylim(bottom=0)
    axes[0].set_ylabel("appeals waiting\n(appeals, end of day)")
    axes[1].set_ylabel("mean wait before service\n(days; served appeals,\nby filing date)")
    axes[1].set_xlabel("date")
    if not with_desk:
        message(axes[0], NO_APPEALS)
    elif not detail:
        message(axes[0], NO_DETAIL)
    elif frame.empty or not (frame["appeals_filed"] > 0).any():
        message(axes[0], "No appeal was filed in the detail replications")
    else:
        legend_below(drawn, axes[0].get_legend_handles_labels()[0], title="variant")
    set_titles(
        drawn,
        figure_title(title, TITLES["support_desk"]),
        f"{plain(results.scenario.name)} · {describe_replications(detail)} · appeals not "
        "served by the lift are withdrawn then",
        marks=True,
    )
    return drawn.figure


FIGURES: tuple[FigureSpec, ...] = tuple(
    FigureSpec(name, TITLES[name], data, plot)
    for name, data, plot in (
        ("locked_over_time", locked_over_time_data, locked_over_time),
        ("locks_per_day", locks_per_day_data, locks_per_day),
        ("users_by_region", users_by_region_data, users_by_region),
        ("delay_cdf", delay_cdf_data, delay_cdf),
        ("tradeoff", tradeoff_data, tradeoff),
        ("support_desk", support_desk_data, support_desk),
        (
            "complaints_by_region",
            complaints_figure.complaints_by_region_data,
            complaints_figure.complaints_by_region,
        ),
    )
)
"""Every report figure of every run in report order; `name` is the file stem in `figures/`."""

COHORT_FIGURE = FigureSpec(
    "users_by_cohort",
    TITLES["users_by_cohort"],
    cohort_figure.users_by_cohort_data,
    cohort_figure.users_by_cohort,
)
"""The figure by cohort, drawn after the others for a scenario with cohorts only."""


def figures_for(results: Results) -> list[FigureSpec]:
    """The figures the report draws for these results, in report order: the support desk only
    when a variant has appeals, the cohorts only when the scenario has cohorts."""
    drawn = [s for s in FIGURES if s.name != "support_desk" or appeal_variants(results)]
    return drawn + ([COHORT_FIGURE] if results.scenario.cohorts else [])


__all__ = [
    "COHORT_FIGURE",
    "FIGURES",
    "NO_APPEALS",
    "NO_INTERVAL",
    "OKABE_ITO",
    "FigureSpec",
    "appeal_variants",
    "delay_cdf",
    "delay_cdf_data",
    "figures_for",
    "locked_over_time",
    "locked_over_time_data",
    "locks_per_day",
    "locks_per_day_data",
    "per_day_log_scale",
    "plain",
    "support_desk",
    "support_desk_data",
    "tradeoff",
    "tradeoff_data",
    "users_by_region",
    "users_by_region_data",
    "variant_styles",
]

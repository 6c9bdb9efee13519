"""The report's figures: who is locked, when, where, for how long, and what each variant costs.

Each figure has two functions: `NAME_data(results)` returns the tidy frame the figure draws (the
report saves it as `figures/NAME.csv`), and `NAME(results, data=None)` returns a
`matplotlib.figure.Figure` built without pyplot, so nothing touches global state and any backend
(Agg in the report, inline in a notebook) can render it.

Intervals are 95% Student-t intervals across replications, like the metrics; with one replication
they are undefined and the figure says so instead of drawing a band. Figures drawn from
device-level rows (delays, durations, the support desk) use the detail replications only and name
them. Colours are Okabe–Ito, and each variant also has its own line style, marker and hatch, so
the figures survive greyscale printing and colour blindness.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter
from matplotlib.transforms import blended_transform_factory
from scipy import stats

from .results import Results

# Okabe & Ito (2008), colour-blind safe; their yellow is left out (too pale for lines on white).
OKABE_ITO = ("#000000", "#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
LINE_STYLES = ("-", "--", "-.", ":", (0, (6, 2, 1, 2, 1, 2)), (0, (10, 3)), (0, (1, 1)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
HATCHES = ("", "//", "..", "xx", "\\\\", "--", "++")
WINDOW_GREYS = ("#e4e4e4", "#c8c8c8", "#d6d6d6", "#bababa")
LIFT_COLOUR = "#444444"

WIDTH_INCHES = 10.0
TITLE_SIZE = 14
TEXT_SIZE = 11
SMALL_SIZE = 10
NO_INTERVAL = "1 replication: 95% interval undefined"
NO_LOCKS = "No device was locked in this run"
NO_DETAIL = "No device-level tables in this run\n(rerun with --detail 1 or more)"
NO_APPEALS = "No appeals: no variant in this run has a support desk"
TITLES = {
    "locked_over_time": "Devices locked over time",
    "locks_per_day": "New locks and unlocks per day",
    "users_by_region": "Users affected by region and variant",
    "delay_cdf": "How soon devices were locked, and for how long",
    "tradeoff": "What each variant buys and costs: targeted against collateral locks",
    "support_desk": "The support desk: appeals waiting and waiting time",
}
"""Each figure's title, by its file stem."""


@dataclass(frozen=True)
class VariantStyle:
    """How one variant looks in every figure (same variant, same look)."""

    colour: str
    line: str | tuple
    marker: str
    hatch: str


@dataclass(frozen=True)
class FigureSpec:
    """A report figure: its file stem in `figures/`, its title, and the functions behind it."""

    name: str
    title: str
    data: Callable[[Results], pd.DataFrame]
    plot: Callable[..., Figure]


# ---------------------------------------------------------------------------------------------
# What the figures share: variants and their looks, replications, intervals, layout


def variants(results: Results) -> list[str]:
    """Variants present in the results, in scenario order (baseline first)."""
    present = set(results.summary["variant"].astype(str)) | set(
        results.daily["variant"].astype(str)
    )
    ordered = [v for v in results.scenario.variant_names if v in present]
    return ordered + sorted(present - set(ordered))


def variant_styles(results: Results) -> dict[str, VariantStyle]:
    """A distinct colour, line style, marker and hatch per variant, the baseline in black.

    Past seven variants the colours repeat, but never with the same line style and marker.
    """
    out = {}
    k = len(OKABE_ITO)
    for i, name in enumerate(variants(results)):
        shift = i // k
        out[name] = VariantStyle(
            colour=OKABE_ITO[i % k],
            line=LINE_STYLES[(i + shift) % len(LINE_STYLES)],
            marker=MARKERS[(i + 2 * shift) % len(MARKERS)],
            hatch=HATCHES[(i + 3 * shift) % len(HATCHES)],
        )
    return out


def replications(results: Results) -> int:
    """Replications in the run (every replication fills the daily frame)."""
    if results.daily.empty:
        return 0
    return int(results.daily["replication"].nunique())


def detail_replications(results: Results) -> list[int]:
    """Replications whose device-level rows were kept (empty when none were)."""
    devices = results.devices
    if devices.empty or "replication" not in devices.columns:
        return []
    return sorted(int(r) for r in devices["replication"].unique())


def describe_replications(numbers: list[int]) -> str:
    """'detail replication 0' or 'detail replications 0, 1 pooled', for captions."""
    if not numbers:
        return "no detail replications"
    if len(numbers) == 1:
        return f"detail replication {numbers[0]}"
    return f"detail replications {', '.join(str(n) for n in numbers)} pooled"


def appeal_variants(results: Results) -> list[str]:
    """Variants whose policy has a support desk (appeals), in scenario order."""
    return [v for v in variants(results) if _policy(results, v) and _policy(results, v).appeals]


def _policy(results: Results, variant: str):
    try:
        return results.scenario.variant(variant)
    except KeyError:
        return None


def plain(text: str, limit: int = 48) -> str:
    """Scenario text made safe for matplotlib (no mathtext from '$') and short enough."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("$", r"\$")


def region_label(name: str, region_id: str) -> str:
    """'Spain (ES)' for a region named 'Spain (an EU market ...)': the name before any
    parenthesis, and the id."""
    short = name.split(" (")[0].strip() or name
    return f"{plain(short, 26)} ({region_id})"


def t_band(wide: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% t-interval across the columns (replications) of each row.

    The interval of `simlock.metrics.t_interval`, vectorised; low and high are NaN with fewer
    than two replications.
    """
    values = wide.to_numpy(dtype=float)
    n = values.shape[1]
    mean = values.mean(axis=1) if n else np.full(len(wide), np.nan)
    if n >= 2:
        half = stats.t.ppf(0.975, n - 1) * values.std(axis=1, ddof=1) / np.sqrt(n)
    else:
        half = np.full(len(wide), np.nan)
    return pd.DataFrame(
        {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "n": n}, index=wide.index
    )


BAND_COLUMNS = ["date", "day", "variant", "mean", "ci_low", "ci_high", "n"]


def _daily_band(results: Results, column: str) -> pd.DataFrame:
    """Per variant and date: mean and interval across replications of a daily count summed
    over regions and channels (a replication without rows on a day counts zero)."""
    daily = results.daily
    if daily.empty:
        return pd.DataFrame(columns=BAND_COLUMNS)
    totals = daily.groupby(["variant", "date", "day", "replication"], observed=True)[column].sum()
    wide = totals.unstack("replication", fill_value=0)
    band = t_band(wide).reset_index()
    band["variant"] = band["variant"].astype(str)
    order = {v: i for i, v in enumerate(variants(results))}
    band["_order"] = band["variant"].map(order)
    band = band.sort_values(["_order", "date"]).reset_index(drop=True)
    return band[BAND_COLUMNS]


def _new_figure(
    height: float, rows: int = 1, cols: int = 1, sharex: bool = False
) -> tuple[Figure, list[Axes]]:
    """A figure whose panels sit under a bold title line and a lighter subtitle line.

    The panels live in a subfigure whose own title is the subtitle: constrained layout then
    keeps room for both lines, which a free text on the figure would not get.
    """
    figure = Figure(figsize=(WIDTH_INCHES, height), layout="constrained")
    body = figure.subfigures(1, 1)
    axes = body.subplots(rows, cols, sharex=sharex, squeeze=False).ravel()
    for ax in axes:
        ax.tick_params(labelsize=SMALL_SIZE)
        ax.grid(True, color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    return figure, list(axes)


def _set_titles(figure: Figure, title: str, subtitle: str) -> None:
    figure.suptitle(title, x=0.01, ha="left", fontsize=TITLE_SIZE, fontweight="bold")
    figure.subfigs[0].suptitle(subtitle, x=0.01, ha="left", fontsize=SMALL_SIZE, color="#333333")


def _interval_words(n: int, what: str = "95% band") -> str:
    return f"mean of {n} replications, {what}" if n >= 2 else NO_INTERVAL


def _message(ax: Axes, text: str) -> None:
    """An explanation in the middle of a panel that has nothing (or nothing useful) to show."""
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=TEXT_SIZE,
        color="#222222",
        bbox={"boxstyle": "round,pad=0.6", "facecolor": "#f7f7f7", "edgecolor": "#999999"},
        zorder=10,
    )


def _all_zero(values: pd.Series) -> bool:
    array = values.to_numpy(dtype=float)
    return not (array.size and np.nanmax(np.abs(array), initial=0) > 0)


def _date_axis(ax: Axes, results: Results) -> None:
    locator = mdates.AutoDateLocator(minticks=5, maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlim(
        np.datetime64(results.scenario.start, "D"), np.datetime64(results.scenario.end, "D")
    )


def _thousands(axis) -> None:
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))


def _count_ticks(axis) -> None:
    """Whole numbers with thousands separators: counts of devices are never fractional ticks."""
    _thousands(axis)
    axis.set_major_locator(MaxNLocator(nbins=6, integer=True))


def _count_axis(ax: Axes) -> None:
    """A y axis of counts from zero, at least 0 to 1 so that an all-zero panel has sane ticks."""
    _count_ticks(ax.yaxis)
    ax.set_ylim(0, max(1.0, ax.get_ylim()[1]))


def _markevery(points: int, index: int = 0) -> tuple[int, int]:
    """About a dozen markers per line, shifted per variant so that lines lying on top of each
    other still show every variant's markers."""
    step = max(1, points // 12)
    return (index * max(1, step // 4)) % step, step


def _legend_below(figure: Figure, handles: list, title: str | None = None) -> None:
    """One legend under the panels, so the plotting area keeps the full width; as many columns
    (up to three) as the longest entry leaves room for (its width estimated in points)."""
    if not handles:
        return
    longest = max(len(h.get_label()) for h in handles)
    column_points = longest * 0.6 * SMALL_SIZE + 45
    columns = int(figure.get_figwidth() * 72 // column_points)
    figure.legend(
        handles=handles,
        loc="outside lower center",
        ncol=max(1, min(3, len(handles), columns)),
        fontsize=SMALL_SIZE,
        title=title,
        title_fontsize=SMALL_SIZE,
        frameon=False,
    )


def _band_legend_title(results: Results) -> str | None:
    """With one replication the legend says, once, that there is no band to draw."""
    return None if replications(results) >= 2 else f"variant ({NO_INTERVAL}: no band)"


def _plot_bands(ax: Axes, band: pd.DataFrame, results: Results, label: bool = True) -> None:
    """One line per variant (its mean), with the 95% band when there are replications for it."""
    styles = variant_styles(results)
    for index, variant in enumerate(variants(results)):
        part = band[band["variant"] == variant]
        if part.empty:
            continue
        style = styles[variant]
        n = int(part["n"].max())
        dates = part["date"].to_numpy()
        ax.plot(
            dates,
            part["mean"].to_numpy(dtype=float),
            color=style.colour,
            linestyle=style.line,
            marker=style.marker,
            markevery=_markevery(len(part), index),
            markersize=5,
            linewidth=1.8,
            label=variant if label else None,
        )
        if n >= 2:
            ax.fill_between(
                dates,
                part["ci_low"].clip(lower=0).to_numpy(dtype=float),
                part["ci_high"].to_numpy(dtype=float),
                color=style.colour,
                alpha=0.18,
                linewidth=0,
            )


# ---------------------------------------------------------------------------------------------
# Policy events (windows and lifts), marked on every time axis


def policy_events(results: Results) -> pd.DataFrame:
    """Enforcement windows and lifts of the variants in the run, one row per distinct event,
    with the variants that have it (kind, name, start, end, coverage, variants, all_variants)."""
    names = variants(results)
    rows: dict[tuple, list[str]] = {}
    for variant in names:
        policy = _policy(results, variant)
        if policy is None:
            continue
        for window in policy.windows:
            key = ("window", window.name, window.start, window.end, window.coverage)
            rows.setdefault(key, []).append(variant)
        if policy.lift is not None:
            key = ("lift", "lift", policy.lift.date, policy.lift.date, np.nan)
            rows.setdefault(key, []).append(variant)
    columns = ["kind", "name", "start", "end", "coverage", "variants", "all_variants"]
    records = [
        (*key, ", ".join(members), len(members) == len(names)) for key, members in rows.items()
    ]
    return pd.DataFrame(records, columns=columns)


def _who(row: pd.Series, results: Results) -> str:
    """The variants an event belongs to, in the fewest words: '' when every variant has it."""
    if row["all_variants"]:
        return ""
    members = row["variants"].split(", ")
    others = [v for v in variants(results) if v not in members]
    if len(others) < len(members):
        return f" (all but {plain(', '.join(others), 40)})"
    return f" ({plain(', '.join(members), 40)} only)"


def _mark_policy(ax: Axes, results: Results, labels: bool) -> list:
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
            fontsize=SMALL_SIZE - 1,
            color="#333333",
            clip_on=False,
        )
        handles.append(
            Patch(
                facecolor=grey,
                alpha=0.6,
                label=f"window '{plain(row['name'], 20)}': {row['start']:%d %b}–"
                f"{row['end']:%d %b}, {row['coverage']:.0%} of eligible{_who(row, results)}",
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
            fontsize=SMALL_SIZE - 1,
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
    return handles


# ---------------------------------------------------------------------------------------------
# 1. Devices locked over time


def locked_over_time_data(results: Results) -> pd.DataFrame:
    """Devices locked at the end of each day, per variant: mean and 95% interval across
    replications (date, day, variant, mean, ci_low, ci_high, n)."""
    return _daily_band(results, "locked")


def locked_over_time(results: Results, data: pd.DataFrame | None = None) -> Figure:
    """Devices locked at once over the calendar, one line and band per variant, with the
    enforcement windows shaded and the lift marked."""
    band = locked_over_time_data(results) if data is None else data
    figure, (ax,) = _new_figure(5.8)
    policy_handles = _mark_policy(ax, results, labels=True)
    _plot_bands(ax, band, results)
    _date_axis(ax, results)
    _count_axis(ax)
    ax.set_xlabel("date (counts at the end of each day)", fontsize=TEXT_SIZE)
    ax.set_ylabel("devices locked (devices)", fontsize=TEXT_SIZE)
    _set_titles(
        figure,
        TITLES["locked_over_time"],
        f"{plain(results.scenario.name)} · {_interval_words(replications(results))}",
    )
    if _all_zero(band["mean"]):
        _message(ax, NO_LOCKS)
    _legend_below(
        figure, [*ax.get_legend_handles_labels()[0], *policy_handles], _band_legend_title(results)
    )
    return figure


# ---------------------------------------------------------------------------------------------
# 2. New locks and unlocks per day


def locks_per_day_data(results: Results) -> pd.DataFrame:
    """New locks and unlocks per day per variant, mean and 95% interval across replications
    (date, day, variant, measure in {newly_locked, unlocked}, mean, ci_low, ci_high, n)."""
    parts = []
    for measure in ("newly_locked", "unlocked"):
        band = _daily_band(results, measure)
        band.insert(3, "measure", measure)
        parts.append(band)
    return pd.concat(parts, ignore_index=True)


LOG_SCALE_ABOVE = 200.0
"""Daily counts (devices/day) above which the per-day figure switches to a logarithmic axis."""


def per_day_log_scale(data: pd.DataFrame) -> bool:
    """Whether the per-day figure uses a logarithmic axis: when the busiest day passes
    `LOG_SCALE_ABOVE` devices, a linear axis would flatten a trickle of tens a day to nothing."""
    return float(np.nanmax(data["mean"].to_numpy(dtype=float), initial=0)) > LOG_SCALE_ABOVE


def locks_per_day(results: Results, data: pd.DataFrame | None = None) -> Figure:
    """The surge and the release: devices newly locked and unlocked each day, per variant.

    With busy days (see `per_day_log_scale`) the axis is logarithmic above one device a day and
    linear below, so that the trickle stays visible next to a surge of thousands.
    """
    frame = locks_per_day_data(results) if data is None else data
    log = per_day_log_scale(frame)
    scale = ", log scale" if log else ""
    figure, axes = _new_figure(7.6, rows=2, sharex=True)
    panels = (
        ("newly_locked", f"new locks per day\n(devices/day{scale})", NO_LOCKS),
        ("unlocked", f"unlocks per day\n(devices/day{scale})", "No device was unlocked"),
    )
    for ax, (measure, ylabel, empty) in zip(axes, panels, strict=True):
        _mark_policy(ax, results, labels=ax is axes[0])
        part = frame[frame["measure"] == measure]
        _plot_bands(ax, part, results, label=ax is axes[0])
        _date_axis(ax, results)
        if log:
            ax.set_yscale("symlog", linthresh=1.0, linscale=0.4)
            top = float(np.nanmax(part["ci_high"].fillna(part["mean"]), initial=0))
            ax.set_ylim(bottom=0, top=max(10.0, top * 1.6))
            _thousands(ax.yaxis)
        else:
            _count_axis(ax)
        ax.set_ylabel(ylabel, fontsize=TEXT_SIZE)
        if _all_zero(part["mean"]):
            _message(ax, empty)
    axes[-1].set_xlabel("date", fontsize=TEXT_SIZE)
    _set_titles(
        figure,
        TITLES["locks_per_day"],
        f"{plain(results.scenario.name)} · {_interval_words(replications(results))} · "
        "shaded: enforcement windows, dashed: lift",
    )
    _legend_below(figure, axes[0].get_legend_handles_labels()[0], _band_legend_title(results))
    return figure


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
    frame.insert(1, "region_name", frame["region"].map(names))
    region_order = {r.id: i for i, r in enumerate(results.scenario.regions)}
    variant_order = {v: i for i, v in enumerate(variants(results))}
    frame["_r"] = frame["region"].map(region_order)
    frame["_v"] = frame["variant"].map(variant_order)
    return frame.sort_values(["_r", "_v"]).drop(columns=["_r", "_v"]).reset_index(drop=True)


def users_by_region(results: Results, data: pd.DataFrame | None = None) -> Figure:
    """Grouped horizontal bars: users affected per region, one bar per variant, with intervals.

    Regions where no variant locked anyone are listed under the title instead of drawn empty.
    """
    frame = users_by_region_data(results) if data is None else data
    totals = frame.groupby("region", sort=False)["mean"].sum()
    shown = [r for r in dict.fromkeys(frame["region"]) if totals[r] > 0]
    empty = [r for r in dict.fromkeys(frame["region"]) if totals[r] <= 0]
    names = variants(results)
    styles = variant_styles(results)
    labels = {r.id: region_label(r.name, r.id) for r in results.scenario.regions}
    bars = max(1, len(shown)) * max(1, len(names))
    figure, (ax,) = _new_figure(min(14.0, max(4.4, 1.9 + 0.19 * bars)))
    n = int(frame["n"].max()) if not frame.empty else 0
    width = 0.8 / max(1, len(names))
    for j, variant in enumerate(names):
        part = frame[frame["variant"] == variant].set_index("region").reindex(shown)
        if not shown or part["mean"].isna().all():
            continue
        style = styles[variant]
        y = np.arange(len(shown)) - 0.4 + width * (j + 0.5)
        means = part["mean"].fillna(0).to_numpy()
        has_ci = part["n"].fillna(0).to_numpy() >= 2
        low = np.where(has_ci, part["ci_low"].fillna(0).to_numpy(), means)
        high = np.where(has_ci, part["ci_high"].fillna(0).to_numpy(), means)
        black = style.colour == "#000000"
        ax.barh(
            y,
            means,
            height=width * 0.92,
            color=style.colour,
            alpha=0.75 if black else 0.85,
            hatch=style.hatch,
            edgecolor="white" if black else "#222222",
            linewidth=0.5,
            label=variant,
        )
        if has_ci.any():
            ax.errorbar(
                means,
                y,
                xerr=np.clip(np.vstack([means - low, high - means]), 0, None),
                fmt="none",
                ecolor="#222222",
                elinewidth=1.1,
                capsize=3,
            )
        # Each value past the end of its interval, so that small bars can be read too.
        for y_bar, end, value in zip(y, np.maximum(high, means), means, strict=True):
            ax.annotate(
                f"{value:,.0f}" if value >= 100 or float(value).is_integer() else f"{value:.3g}",
                (end, y_bar),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=SMALL_SIZE - 2,
                color="#333333",
            )
    ax.set_yticks(np.arange(len(shown)), [labels.get(r, r) for r in shown], fontsize=SMALL_SIZE)
    ax.set_ylim(max(1, len(shown)) - 0.5, -0.5)
    _count_ticks(ax.xaxis)
    ax.set_xlim(0, max(1.0, ax.get_xlim()[1]))
    ax.set_xlabel("users affected: devices locked at least once (devices)", fontsize=TEXT_SIZE)
    ax.set_ylabel("region of activation", fontsize=TEXT_SIZE)
    ax.grid(False, axis="y")
    subtitle = f"{plain(results.scenario.name)} · {_interval_words(n, 'bars: 95% interval')}"
    if empty and shown:
        subtitle += (
            f"\nno user affected in: {plain(', '.join(labels.get(r, r) for r in empty), 110)}"
        )
    _set_titles(figure, TITLES["users_by_region"], subtitle)
    if not shown:
        _message(ax, NO_LOCKS)
    if shown:
        ax.legend(
            title="variant" if n >= 2 else f"variant\n({NO_INTERVAL})",
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            fontsize=SMALL_SIZE,
            title_fontsize=SMALL_SIZE,
            frameon=False,
        )
    return figure


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
    for variant in variants(results):
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


def delay_cdf(results: Results, data: pd.DataFrame | None = None) -> Figure:
    """How soon after activation devices were locked, and how long they stayed locked (CDFs)."""
    frame = delay_cdf_data(results) if data is None else data
    figure, axes = _new_figure(5.8, cols=2)
    styles = variant_styles(results)
    detail = detail_replications(results)
    panels = (
        ("days_to_lock", "Days from activation to lock", "days from activation to lock (days)"),
        ("lock_duration", "Lock duration", "days locked (days; still locked: to the end)"),
    )
    handles = []
    for ax, (measure, title, xlabel) in zip(axes, panels, strict=True):
        part = frame[frame["measure"] == measure]
        for index, variant in enumerate(variants(results)):
            rows = part[part["variant"] == variant]
            if rows.empty:
                continue
            style = styles[variant]
            (line,) = ax.step(
                rows["days"].to_numpy(dtype=float),
                rows["share"].to_numpy(dtype=float),
                where="post",
                color=style.colour,
                linestyle=style.line,
                linewidth=1.8,
                marker=style.marker,
                markevery=(8 * index % 40, 40),
                markersize=5,
                label=f"{variant} ({int(rows['locks'].iloc[0]):,} locks)",
            )
            if ax is axes[0]:
                handles.append(line)
        ax.set_title(title, fontsize=TEXT_SIZE, loc="left")
        ax.set_xlabel(xlabel, fontsize=TEXT_SIZE)
        ax.set_ylim(0, 1.02)
        ax.set_xlim(left=0)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        if not detail:
            _message(ax, NO_DETAIL)
        elif part.empty:
            _message(ax, "No device was locked\nin the detail replications")
    axes[0].set_ylabel("share of locked devices (cumulative %)", fontsize=TEXT_SIZE)
    _set_titles(
        figure,
        TITLES["delay_cdf"],
        f"{plain(results.scenario.name)} · empirical CDF, {describe_replications(detail)}",
    )
    _legend_below(figure, handles)
    return figure


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
    order = {v: i for i, v in enumerate(variants(results))}
    frame["_v"] = frame["variant"].map(order)
    return frame.sort_values(["_v", "metric"]).drop(columns="_v").reset_index(drop=True)


def tradeoff(results: Results, data: pd.DataFrame | None = None) -> Figure:
    """What each variant buys (targeted locks: grey imports in banned territories) and what it
    costs (collateral locks: travellers, official devices, detection errors)."""
    frame = tradeoff_data(results) if data is None else data
    figure, (ax,) = _new_figure(6.4)
    styles = variant_styles(results)
    n = int(frame["n"].max()) if not frame.empty else 0
    wide = frame.pivot(index="variant", columns="metric", values=["mean", "ci_low", "ci_high"])
    points: list[tuple[str, float, float]] = []
    for variant in variants(results):
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
    ax.set_xlabel(
        "targeted locks: grey imports in banned territories (devices)", fontsize=TEXT_SIZE
    )
    ax.set_ylabel("collateral locks: everyone else (devices)", fontsize=TEXT_SIZE)
    _count_ticks(ax.xaxis)
    _count_ticks(ax.yaxis)
    ax.margins(0.15)
    # A little room below zero, so that a variant with no collateral lock shows its marker whole.
    for get, set_ in ((ax.get_xlim, ax.set_xlim), (ax.get_ylim, ax.set_ylim)):
        high = max(get()[1], 1.0)
        set_(-0.025 * high, high)
    _label_points(ax, points, figure)
    _set_titles(
        figure,
        TITLES["tradeoff"],
        f"{plain(results.scenario.name)} · {_interval_words(n, 'bars: 95% intervals')} · "
        "right: more targeted locks, up: more collateral locks",
    )
    if _all_zero(frame["mean"]):
        _message(ax, NO_LOCKS)
    ax.legend(
        title="variant" if n >= 2 else f"variant\n({NO_INTERVAL})",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=SMALL_SIZE,
        title_fontsize=SMALL_SIZE,
        frameon=False,
    )
    return figure


def _label_points(ax: Axes, points: list[tuple[str, float, float]], figure: Figure) -> None:
    """Name each point beside it, trying places around it until the label overlaps no other
    label or marker (sizes estimated in points from the figure size: labels are placed before
    the figure is drawn)."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    width_pt, height_pt = figure.get_figwidth() * 72 * 0.72, figure.get_figheight() * 72 * 0.7
    where = [
        ((x - x0) / ((x1 - x0) or 1.0) * width_pt, (y - y0) / ((y1 - y0) or 1.0) * height_pt)
        for _, x, y in points
    ]
    taken = [(px - 6, py - 6, px + 6, py + 6) for px, py in where]
    tall = SMALL_SIZE * 1.3
    for (name, x, y), (px, py) in zip(points, where, strict=True):
        label = plain(name, 30)
        wide = SMALL_SIZE * 0.6 * len(label)
        tries = [
            (dx, dy)
            for k in range(6)
            for dy in (7 + k * tall, -7 - (k + 1) * tall)
            for dx in (9, -9 - wide)
        ]
        dx, dy = tries[0]
        for dx, dy in tries:
            box = (px + dx, py + dy, px + dx + wide, py + dy + tall)
            if not any(
                box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                for b in taken
                if b != (px - 6, py - 6, px + 6, py + 6)
            ):
                break
        taken.append((px + dx, py + dy, px + dx + wide, py + dy + tall))
        far = abs(dy) > tall
        ax.annotate(
            label,
            (x, y),
            xytext=(dx, dy),
            textcoords="offset points",
            va="bottom",
            fontsize=SMALL_SIZE,
            color="#222222",
            arrowprops={"arrowstyle": "-", "color": "#888888", "linewidth": 0.6} if far else None,
        )


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
        lift = results.scenario.variant(variant).lift
        withdrawn_at = (
            float((lift.date - results.scenario.start).days)
            if lift is not None and lift.unlock
            else np.inf
        )
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


def support_desk(results: Results, data: pd.DataFrame | None = None) -> Figure:
    """The support desk over time: appeals waiting, and how long appeals filed each day waited."""
    frame = support_desk_data(results) if data is None else data
    figure, axes = _new_figure(7.4, rows=2, sharex=True)
    styles = variant_styles(results)
    detail = detail_replications(results)
    with_desk = appeal_variants(results)
    for ax in axes:
        _mark_policy(ax, results, labels=ax is axes[0])
        _date_axis(ax, results)
    for index, variant in enumerate(with_desk):
        rows = frame[frame["variant"] == variant]
        if rows.empty:
            continue
        style = styles[variant]
        common = {
            "color": style.colour,
            "linestyle": style.line,
            "marker": style.marker,
            "markevery": _markevery(len(rows), index),
            "markersize": 5,
            "linewidth": 1.8,
        }
        axes[0].plot(
            rows["date"], rows["queue_length"].to_numpy(dtype=float), label=variant, **common
        )
        axes[1].plot(rows["date"], rows["wait_mean_days"].to_numpy(dtype=float), **common)
    _count_axis(axes[0])
    axes[1].set_ylim(bottom=0)
    axes[0].set_ylabel("appeals waiting\n(appeals, end of day)", fontsize=TEXT_SIZE)
    axes[1].set_ylabel(
        "mean wait before service\n(days; served appeals,\nby filing date)", fontsize=TEXT_SIZE
    )
    axes[1].set_xlabel("date", fontsize=TEXT_SIZE)
    if not with_desk:
        _message(axes[0], NO_APPEALS)
    elif not detail:
        _message(axes[0], NO_DETAIL)
    elif frame.empty or not (frame["appeals_filed"] > 0).any():
        _message(axes[0], "No appeal was filed in the detail replications")
    else:
        _legend_below(figure, axes[0].get_legend_handles_labels()[0], title="variant")
    _set_titles(
        figure,
        TITLES["support_desk"],
        f"{plain(results.scenario.name)} · {describe_replications(detail)} · appeals not "
        "served by the lift are withdrawn then",
    )
    return figure


FIGURES: tuple[FigureSpec, ...] = tuple(
    FigureSpec(name, TITLES[name], data, plot)
    for name, data, plot in (
        ("locked_over_time", locked_over_time_data, locked_over_time),
        ("locks_per_day", locks_per_day_data, locks_per_day),
        ("users_by_region", users_by_region_data, users_by_region),
        ("delay_cdf", delay_cdf_data, delay_cdf),
        ("tradeoff", tradeoff_data, tradeoff),
        ("support_desk", support_desk_data, support_desk),
    )
)
"""Every report figure in report order; `name` is the file stem in `figures/`."""

__all__ = [
    "FIGURES",
    "FigureSpec",
    "delay_cdf",
    "delay_cdf_data",
    "locked_over_time",
    "locked_over_time_data",
    "locks_per_day",
    "locks_per_day_data",
    "per_day_log_scale",
    "support_desk",
    "support_desk_data",
    "tradeoff",
    "tradeoff_data",
    "users_by_region",
    "users_by_region_data",
]

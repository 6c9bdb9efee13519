"""How the report's figures look and are laid out: one style per variant, the figure with its
title lines, count and date axes, legends, bands of 95% intervals, and labels placed beside
points.

Colours are Okabe–Ito, and each variant also has its own line style, marker and hatch, so the
figures survive greyscale printing and colour blindness. Figures are built without pyplot
(`matplotlib.figure.Figure`), so nothing here touches global state.

No font size is fixed here: text uses matplotlib's rcParams (`font.size`, `axes.labelsize`,
`legend.fontsize`, ...) or sizes relative to `font.size` ("small"), so a paper's style sheet
sets every figure's fonts; the report sets its own in `REPORT_STYLE`. A figure draws either on
a new figure of its own (`figsize=`; titles and legends on the figure) or on the caller's axes
(`ax=`; title and legend on the axes), see `canvas`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from simlock.analysis.contents import replications, variant_order, variants
from simlock.analysis.daily import daily_totals
from simlock.analysis.metrics import half_width
from simlock.analysis.results import Results
from simlock.analysis.worlds import PLAUSIBLE, WORLD, has_worlds

# ---------------------------------------------------------------------------------------------
# Looks: every variant the same in every figure

# Okabe & Ito (2008), colour-blind safe; their yellow is left out (too pale for lines on white).
OKABE_ITO = ("#000000", "#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
LINE_STYLES = ("-", "--", "-.", ":", (0, (6, 2, 1, 2, 1, 2)), (0, (10, 3)), (0, (1, 1)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
HATCHES = ("", "//", "..", "xx", "\\\\", "--", "++")

WIDTH_INCHES = 10.0
REPORT_STYLE = {
    "font.size": 12,
    "xtick.labelsize": "small",
    "ytick.labelsize": "small",
    "legend.fontsize": "small",
    "legend.title_fontsize": "small",
    "figure.titlesize": "large",
}
"""The rcParams the report draws its figures with (a figure function called directly uses the
caller's)."""
NO_INTERVAL = "1 replication: 95% interval undefined"
NO_LOCKS = "No device was locked in this run"
NO_DETAIL = "No device-level tables in this run\n(rerun with --detail 1 or more)"
NO_APPEALS = "No appeals: no variant in this run has a support desk"


@dataclass(frozen=True)
class VariantStyle:
    """How one variant looks in every figure (same variant, same look)."""

    colour: str
    line: str | tuple
    marker: str
    hatch: str

    def line_properties(self, every: tuple[int, int]) -> dict[str, Any]:
        """Keyword arguments of `Axes.plot` and `Axes.step` for this variant's line: colour,
        dash pattern, a marker every `every` (start, step) points, and one width everywhere."""
        return {
            "color": self.colour,
            "linestyle": self.line,
            "marker": self.marker,
            "markevery": every,
            "markersize": 5,
            "linewidth": 1.8,
        }


def variant_styles(results: Results) -> dict[str, VariantStyle]:
    """A distinct colour, line style, marker and hatch per variant, the baseline in black.

    Styles follow the variant's place in the scenario, not among the variants present, so a
    variant looks the same in a figure of a subset (`variants=`, `Results.select`, a run with
    --variant) as in the full report. Past seven variants the colours repeat, but never with the
    same line style and marker.
    """
    out = {}
    k = len(OKABE_ITO)
    present = variants(results)
    named = results.scenario.variant_names
    order = [*named, *(v for v in present if v not in named)]
    for i, name in enumerate(order):
        if name not in present:
            continue
        shift = i // k
        out[name] = VariantStyle(
            colour=OKABE_ITO[i % k],
            line=LINE_STYLES[(i + shift) % len(LINE_STYLES)],
            marker=MARKERS[(i + 2 * shift) % len(MARKERS)],
            hatch=HATCHES[(i + 3 * shift) % len(HATCHES)],
        )
    return out


def markevery(points: int, index: int = 0) -> tuple[int, int]:
    """About a dozen markers per line, shifted per variant so that lines lying on top of each
    other still show every variant's markers."""
    step = max(1, points // 12)
    return (index * max(1, step // 4)) % step, step


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


# ---------------------------------------------------------------------------------------------
# Layout: the figure, its titles, and what an empty panel says


def font_points(size: str | float) -> float:
    """A font size, named ("small") or in points, in points under the current rcParams."""
    return FontProperties(size=size).get_size_in_points()


def style_axes(ax: Axes) -> None:
    """A light grid behind the data and no top or right spine."""
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def new_figure(
    size: tuple[float, float], rows: int = 1, cols: int = 1, sharex: bool = False
) -> tuple[Figure, list[Axes]]:
    """A figure whose panels sit under a bold title line and a lighter subtitle line.

    The panels live in a subfigure whose own title is the subtitle: constrained layout then
    keeps room for both lines, which a free text on the figure would not get.
    """
    figure = Figure(figsize=size, layout="constrained")
    body = figure.subfigures(1, 1)
    axes = body.subplots(rows, cols, sharex=sharex, squeeze=False).ravel()
    for ax in axes:
        style_axes(ax)
    return figure, list(axes)


LEGEND_ROWS = 4
"""Rows of a legend under the panels that a figure's default height already leaves room for."""

AxesArgument = Axes | Sequence[Axes] | None
"""What `ax=` of a figure function takes: None (a new figure), one Axes, or one Axes per panel."""


@dataclass(frozen=True)
class Canvas:
    """Where a figure draws: its root figure, its panels, whether the figure is simlock's own
    (`own`: titles and legends go on the figure) or the caller's (they go on the axes), and
    whether its size is simlock's to choose (`flexible`: no figsize= was given)."""

    figure: Figure
    axes: list[Axes]
    own: bool
    flexible: bool = False


def canvas(
    height: float,
    ax: AxesArgument = None,
    figsize: tuple[float, float] | None = None,
    rows: int = 1,
    cols: int = 1,
    sharex: bool = False,
) -> Canvas:
    """A new figure (`figsize`, by default `WIDTH_INCHES` wide and `height` tall), or the
    caller's axes: one Axes per panel (`rows` × `cols` of them, in reading order)."""
    if ax is None:
        figure, axes = new_figure(figsize or (WIDTH_INCHES, height), rows, cols, sharex)
        return Canvas(figure, axes, own=True, flexible=figsize is None)
    if figsize is not None:
        raise ValueError("figsize= sizes a new figure; with ax= the figure is the caller's")
    panels = rows * cols
    given = [ax] if isinstance(ax, Axes) else list(ax)
    if len(given) != panels or not all(isinstance(a, Axes) for a in given):
        raise ValueError(
            f"this figure has {panels} panel(s): ax= takes "
            + ("one Axes" if panels == 1 else f"a sequence of {panels} Axes, one per panel")
            + f", not {type(ax).__name__}"
            + (f" of {len(given)}" if not isinstance(ax, Axes) else "")
        )
    for one in given:
        style_axes(one)
    return Canvas(given[0].get_figure(root=True), given, own=False)


def figure_title(title: str | None, default: str) -> str:
    """`title=` of a figure function: None for the figure's own title, "" for none."""
    return default if title is None else title


def set_titles(canvas: Canvas, title: str, subtitle: str, marks: bool = False) -> None:
    """On simlock's own figure, the bold title line and the subtitle line (scenario,
    replications) under it; on the caller's axes, the title alone over the first panel, raised
    above the policy's labels when the panel has them (`marks`). An empty title is left out."""
    if canvas.own:
        if title:
            canvas.figure.suptitle(title, x=0.01, ha="left", fontweight="bold")
        sub = canvas.figure.subfigs[0]
        sub.suptitle(subtitle, x=0.01, ha="left", fontsize="small", color="#333333")
    elif title:
        # The policy's labels take about two lines of small text above the panel.
        pad = 6 + (3 * font_points("small") if marks else 0)
        first = canvas.axes[0]
        first.set_title(wrap_to_axes(first, title), loc="left", fontweight="bold", pad=pad)


def wrap_to_axes(ax: Axes, text: str) -> str:
    """A title broken into lines no wider than its axes (estimated from the title's font size),
    so that a figure drawn into a small panel of the caller's keeps its title on the page."""
    width_points = ax.get_position().width * ax.get_figure(root=True).get_figwidth() * 72
    per_char = AVERAGE_CHAR_WIDTH * font_points(matplotlib.rcParams["axes.titlesize"])
    return textwrap.fill(text, width=max(MIN_TITLE_CHARS, int(width_points / per_char)))


AVERAGE_CHAR_WIDTH = 0.6
"""An average bold character's width, in ems (DejaVu Sans, matplotlib's default font)."""

MIN_TITLE_CHARS = 16
"""Never wrap a title narrower than this, however small its panel."""


def interval_words(n: int, what: str = "95% band") -> str:
    """What the bands or bars of a figure show, for its subtitle."""
    return f"mean of {n} replications, {what}" if n >= 2 else NO_INTERVAL


def band_words(results: Results) -> str:
    """What a figure's bands show, for its subtitle: over plausible worlds, both bands."""
    if not has_worlds(results.replicates):
        return interval_words(replications(results))
    worlds = int(results.replicates[WORLD].nunique())
    return f"mean over {worlds} plausible worlds; light band: plausible range, dark: Monte Carlo"


def message(ax: Axes, text: str) -> None:
    """An explanation in the middle of a panel that has nothing (or nothing useful) to show."""
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        color="#222222",
        bbox={"boxstyle": "round,pad=0.6", "facecolor": "#f7f7f7", "edgecolor": "#999999"},
        zorder=10,
    )


def all_zero(values: pd.Series) -> bool:
    """Whether a panel would draw nothing but zeros (or nothing at all)."""
    array = values.to_numpy(dtype=float)
    return not (array.size and np.nanmax(np.abs(array), initial=0) > 0)


# ---------------------------------------------------------------------------------------------
# Axes


def date_axis(ax: Axes, results: Results) -> None:
    """Calendar dates over the whole run, labelled as briefly as the ticks allow."""
    locator = mdates.AutoDateLocator(minticks=5, maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlim(
        np.datetime64(results.scenario.start, "D"), np.datetime64(results.scenario.end, "D")
    )


def thousands(axis) -> None:
    """Tick labels with thousands separators and no decimals."""
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))


def compact_count_ticks(axis, bins: int = 4) -> None:
    """At most `bins` ticks of whole numbers, written short (950, 12k, 2.5M): counts on the
    narrow panels of a grid, where full numbers overlap."""

    def short(value: float, _pos: int) -> str:
        for size, suffix in ((1e6, "M"), (1e3, "k")):
            if abs(value) >= size:
                return f"{value / size:.3g}{suffix}"
        return f"{value:.0f}"

    axis.set_major_locator(MaxNLocator(nbins=bins, integer=True))
    axis.set_major_formatter(FuncFormatter(short))


def count_ticks(axis) -> None:
    """Whole numbers with thousands separators: counts of devices are never fractional ticks."""
    thousands(axis)
    axis.set_major_locator(MaxNLocator(nbins=6, integer=True))


def count_axis(ax: Axes) -> None:
    """A y axis of counts from zero, at least 0 to 1 so that an all-zero panel has sane ticks."""
    count_ticks(ax.yaxis)
    ax.set_ylim(0, max(1.0, ax.get_ylim()[1]))


# ---------------------------------------------------------------------------------------------
# Bands: the mean and 95% interval across replications


def t_band(wide: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% t-interval across the columns (replications) of each row.

    The interval of `simlock.metrics.t_interval` (`half_width`) for every row at once; low and
    high are NaN with fewer than two replications.
    """
    values = wide.to_numpy(dtype=float)
    n = values.shape[1]
    mean = values.mean(axis=1) if n else np.full(len(wide), np.nan)
    std = values.std(axis=1, ddof=1) if n >= 2 else np.full(len(wide), np.nan)
    half = half_width(std, n)
    return pd.DataFrame(
        {"mean": mean, "ci_low": mean - half, "ci_high": mean + half, "n": n}, index=wide.index
    )


BAND_COLUMNS = ["date", "day", "variant", "mean", "ci_low", "ci_high", "n"]


def daily_band(results: Results, column: str) -> pd.DataFrame:
    """Per variant and date: mean and interval across replications of a daily count summed
    over regions and channels (a replication without rows on a day counts zero)."""
    daily = results.daily
    if daily.empty:
        return pd.DataFrame(columns=BAND_COLUMNS)
    totals = daily_totals(daily, column, by=("variant", "replication"))
    wide = totals.stack("variant", future_stack=True).fillna(0.0)
    band = t_band(wide) if not has_worlds(results.replicates) else worlds_band(wide, results)
    band = band.reset_index()
    dates = daily[["day", "date"]].drop_duplicates("day").set_index("day")["date"]
    band["date"] = band["day"].map(dates)
    band["variant"] = band["variant"].astype(str)
    band["_order"] = band["variant"].map(variant_order(results))
    band = band.sort_values(["_order", "date"]).reset_index(drop=True)
    extra = [c for c in WORLD_BAND_COLUMNS if c in band.columns]
    return band[BAND_COLUMNS + extra]


WORLD_BAND_COLUMNS = ["worlds", "plausible_low", "plausible_high"]
"""The columns a band over plausible worlds adds (after `BAND_COLUMNS`)."""


def worlds_band(wide: pd.DataFrame, results: Results) -> pd.DataFrame:
    """Over plausible worlds: the mean and Monte Carlo 95% interval over the worlds' means (the
    replications, columns of `wide`, averaged within each world), and the plausible range: 5%
    and 95% over every world and replication, as in the run's summary."""
    pairs = results.replicates[["replication", WORLD]].drop_duplicates("replication")
    world_of = pairs.set_index("replication")[WORLD]
    world_means = wide.T.groupby(world_of.reindex(wide.columns).to_numpy()).mean().T
    band = t_band(world_means)
    values = wide.to_numpy(dtype=float)
    band["worlds"] = world_means.shape[1]
    band["plausible_low"] = np.quantile(values, PLAUSIBLE[0], axis=1)
    band["plausible_high"] = np.quantile(values, PLAUSIBLE[1], axis=1)
    return band


def plot_bands(ax: Axes, band: pd.DataFrame, results: Results, label: bool = True) -> None:
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
            **style.line_properties(markevery(len(part), index)),
            label=variant if label else None,
        )
        worlds = "plausible_low" in part.columns
        if worlds:
            ax.fill_between(
                dates,
                part["plausible_low"].clip(lower=0).to_numpy(dtype=float),
                part["plausible_high"].to_numpy(dtype=float),
                color=style.colour,
                alpha=0.12,
                linewidth=0.6,
                linestyle=":",
                edgecolor=style.colour,
                gid=PLAUSIBLE_GID,
            )
        if n >= 2:
            ax.fill_between(
                dates,
                part["ci_low"].clip(lower=0).to_numpy(dtype=float),
                part["ci_high"].to_numpy(dtype=float),
                color=style.colour,
                alpha=0.35 if worlds else 0.18,
                linewidth=0,
                gid=MONTE_CARLO_GID if worlds else None,
            )


PLAUSIBLE_BAND = (
    f"plausible range ({PLAUSIBLE[0]:.0%}–{PLAUSIBLE[1]:.0%} over worlds × replications)"
)
MONTE_CARLO_BAND = "Monte Carlo 95% interval of the mean"
PLAUSIBLE_GID = "plausible-range"
MONTE_CARLO_GID = "monte-carlo-interval"
"""The ids of the two bands a figure over plausible worlds draws per variant (SVG ids, and how
tests tell the bands apart)."""


def band_handles(data: pd.DataFrame) -> list:
    """Over plausible worlds, two legend entries saying which band is which (grey, for every
    variant's colour); none for an ordinary run."""
    if "plausible_low" not in data.columns:
        return []
    return [
        Patch(
            facecolor="#000000",
            alpha=0.12,
            edgecolor="#000000",
            linestyle=":",
            label=PLAUSIBLE_BAND,
        ),
        Patch(
            facecolor="#000000",
            alpha=0.35,
            linewidth=0,
            label=MONTE_CARLO_BAND,
        ),
    ]


# ---------------------------------------------------------------------------------------------
# Legends and labels


def legend_below(canvas: Canvas, handles: list, title: str | None = None) -> None:
    """On simlock's own figure, one legend under the panels, so the plotting area keeps the full
    width, in as many columns (up to three) as the longest entry leaves room for (its width
    estimated in points); on the caller's axes, a legend inside the first panel."""
    if not handles:
        return
    if not canvas.own:
        canvas.axes[0].legend(handles=handles, title=title, loc="best")
        return
    figure = canvas.figure
    size = font_points(matplotlib.rcParams["legend.fontsize"])
    ncol = _legend_columns([len(h.get_label()) for h in handles], size, figure.get_figwidth())
    figure.legend(
        handles=handles, loc="outside lower center", ncol=ncol, title=title, frameon=False
    )
    # A long legend (many variants) gets its own room, so the panels keep their height.
    rows = -(-len(handles) // ncol) + (1 if title else 0)
    if canvas.flexible and rows > LEGEND_ROWS:
        extra = (rows - LEGEND_ROWS) * size * 1.45 / 72
        figure.set_figheight(figure.get_figheight() + extra)


def _legend_columns(lengths: list[int], size: float, width_inches: float) -> int:
    """The most columns (up to four) whose estimated widths fit the figure's width: a legend
    fills its columns top to bottom, and each column is as wide as its longest entry (about
    0.6 em a character, plus the handle), so a few long entries cost one wide column only."""
    for ncol in range(min(4, len(lengths)), 1, -1):
        # Matplotlib's layout: the first (len % ncol) columns take one entry more.
        rows, longer = divmod(len(lengths), ncol)
        sizes = [rows + 1] * longer + [rows] * (ncol - longer)
        ends = np.cumsum(sizes)
        columns = [lengths[end - size : end] for size, end in zip(sizes, ends, strict=True)]
        if sum(max(c) * 0.6 * size + 45 for c in columns) <= width_inches * 72:
            return ncol
    return 1


def legend_right(canvas: Canvas, n: int) -> None:
    """The legend of variants right of the first panel (inside it on the caller's axes), saying
    when `n`, the replications, is too few for the intervals."""
    title = "variant" if n >= 2 else f"variant\n({NO_INTERVAL})"
    ax = canvas.axes[0]
    if not canvas.own:
        ax.legend(title=title, loc="best")
        return
    ax.legend(title=title, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def band_legend_title(results: Results) -> str | None:
    """With one replication the legend says, once, that there is no band to draw."""
    return None if replications(results) >= 2 else f"variant ({NO_INTERVAL}: no band)"


def variant_bars(
    ax: Axes, y: np.ndarray, part: pd.DataFrame, style: VariantStyle, height: float, label: str
) -> tuple[np.ndarray, np.ndarray]:
    """One variant's horizontal bars at `y` (its rows of a summary: mean, ci_low, ci_high, n;
    a missing row counts 0) in its style, with the 95% interval as whiskers where two or more
    replications give one. Returns (means, interval highs), a mean standing for its interval
    where there is none (where the labels beside the bars may start)."""
    means = part["mean"].fillna(0).to_numpy()
    has_ci = part["n"].fillna(0).to_numpy() >= 2
    low = np.where(has_ci, part["ci_low"].fillna(0).to_numpy(), means)
    high = np.where(has_ci, part["ci_high"].fillna(0).to_numpy(), means)
    black = style.colour == "#000000"
    ax.barh(
        y,
        means,
        height=height,
        color=style.colour,
        alpha=0.75 if black else 0.85,
        hatch=style.hatch,
        edgecolor="white" if black else "#222222",
        linewidth=0.5,
        label=label,
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
    return means, high


def label_points(ax: Axes, points: list[tuple[str, float, float]], canvas: Canvas) -> None:
    """Name each point beside it, trying places around it until the label overlaps no other
    label or marker (sizes estimated in points from the figure size: labels are placed before
    the figure is drawn)."""
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    figure, box = canvas.figure, ax.get_position()
    # On simlock's own figure the panel takes about 72% × 70% of it (legend at the right).
    share_x, share_y = (0.72, 0.7) if canvas.own else (box.width, box.height)
    width_pt = figure.get_figwidth() * 72 * share_x
    height_pt = figure.get_figheight() * 72 * share_y
    where = [
        ((x - x0) / ((x1 - x0) or 1.0) * width_pt, (y - y0) / ((y1 - y0) or 1.0) * height_pt)
        for _, x, y in points
    ]
    taken = [(px - 6, py - 6, px + 6, py + 6) for px, py in where]
    small = font_points("small")
    tall = small * 1.3
    for (name, x, y), (px, py) in zip(points, where, strict=True):
        label = plain(name, 30)
        wide = small * 0.6 * len(label)
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
            fontsize="small",
            color="#222222",
            arrowprops={"arrowstyle": "-", "color": "#888888", "linewidth": 0.6} if far else None,
        )

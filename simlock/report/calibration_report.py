"""The report of a calibration: `report.html`, `report.md`, `figures/`, in the run report's style.

It answers three questions. What did the observations teach about each input (its prior against
its posterior, with 90% intervals and how much narrower the posterior is)? Which inputs trade
off against each other (the pairs plot of the posterior)? Does the calibrated ensemble reproduce
each target, and with what spread (the posterior predictive: every particle's simulated value,
weighted, against the target's range)? Then how the populations went (tolerance, acceptance
rate, effective sample size) and the settings that reproduce it.

The report takes plain frames (it sits below the execution layer that made them).
"""

from __future__ import annotations

import datetime as dt
import io
import math
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from simlock.analysis.formatting import format_value
from simlock.analysis.weighted import weighted_quantile
from simlock.scenario.metric_names import COUNT_UNITS
from simlock.scenario.models import Scenario

from .document import (
    Block,
    Code,
    FigureBlock,
    Heading,
    Paragraph,
    Span,
    Strong,
    Table,
    render_html,
    render_markdown,
)
from .plotting import OKABE_ITO, REPORT_STYLE, canvas, compact_count_ticks, plain, set_titles

PNG_DPI = 110
PRIOR_COLOUR, POSTERIOR_COLOUR, RANGE_COLOUR = "#999999", OKABE_ITO[2], OKABE_ITO[3]
STOPPED = {
    "tolerance": "the tolerance reached 0: every accepted particle reproduces every target",
    "acceptance": "a population's acceptance rate fell below the minimum",
    "populations": "the population limit was reached",
    "sample": "a population could not be filled within its budget of simulations",
}


def write_calibration_report(
    folder: Path,
    *,
    scenario: Scenario,
    posterior: pd.DataFrame,
    prior_draws: pd.DataFrame,
    populations: pd.DataFrame,
    predictive: pd.DataFrame,
    targets: pd.DataFrame,
    manifest: dict[str, Any],
) -> Path:
    """Write report.html, report.md and figures/ (PNG, SVG and the CSV behind each) into
    `folder`; return report.html."""
    figure_dir = Path(folder) / "figures"
    figure_dir.mkdir(parents=True, exist_ok=True)
    inputs = [u.path for u in scenario.uncertain]
    start = scenario.start
    with matplotlib.rc_context(REPORT_STYLE):
        made = [
            (
                "prior_posterior",
                "What the observations taught about each input",
                "Prior (grey) against posterior (blue) of each uncertain input: the share of the "
                "probability in each bin (logarithmic bins for a log-uniform prior), or on each "
                "date or choice. Dotted lines: the posterior's 90% interval.",
                *_prior_posterior(posterior, prior_draws, inputs, scenario),
            ),
            (
                "posterior_pairs",
                "Which inputs trade off against each other",
                "Each accepted particle of the last population, sized by its weight, for every "
                "pair of inputs (dates as days from the scenario start, choices by their position "
                "in the list); on the diagonal, each input's posterior.",
                *_pairs(posterior, inputs, scenario),
            ),
            (
                "posterior_predictive",
                "Does the calibrated ensemble reproduce each target?",
                "Each target's simulated value over the posterior (weighted histogram of the "
                "particles' values; counts at full scale) against the target's range (green band "
                "between dashed bounds, or one dashed line for a one-sided bound).",
                *_predictive(predictive, targets, start, scenario),
            ),
            (
                "tolerance_schedule",
                "How the populations went",
                "Tolerance (the distance a particle must come within) and acceptance rate per "
                "population.",
                *_schedule(populations, scenario),
            ),
        ]
        alts = _alt_texts(scenario, posterior, prior_draws, populations, predictive, targets)
        blocks_figs = []
        for name, title, caption, figure, data in made:
            data.to_csv(figure_dir / f"{name}.csv", index=False)
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png", dpi=PNG_DPI)
            (figure_dir / f"{name}.png").write_bytes(buffer.getvalue())
            figure.savefig(figure_dir / f"{name}.svg", format="svg", metadata={"Date": None})
            png = buffer.getvalue()
            blocks_figs.append(FigureBlock(name, title, caption, png, alts[name]))
    blocks = _document(
        scenario, posterior, prior_draws, populations, predictive, targets, manifest, blocks_figs
    )
    title = f"simlock calibration: {scenario.name}"
    (Path(folder) / "report.md").write_text(render_markdown(blocks, title), encoding="utf-8")
    path = Path(folder) / "report.html"
    path.write_text(render_html(blocks, title), encoding="utf-8")
    return path


def _alt_texts(
    scenario: Scenario,
    posterior: pd.DataFrame,
    prior_draws: pd.DataFrame,
    populations: pd.DataFrame,
    predictive: pd.DataFrame,
    targets: pd.DataFrame,
) -> dict[str, str]:
    """What each figure shows, in words, for a reader who cannot see it."""
    summary = input_summary(posterior, prior_draws, scenario)
    inputs = "; ".join(
        f"{row['input']}: posterior 90% interval "
        f"{_shown(row['posterior_low'], row['input'], scenario)} to "
        f"{_shown(row['posterior_high'], row['input'], scenario)}, prior "
        f"{_shown(row['prior_low'], row['input'], scenario)} to "
        f"{_shown(row['prior_high'], row['input'], scenario)}"
        for _, row in summary.iterrows()
    )
    inside = "; ".join(
        f"{target['name']}: {_share_inside(predictive, target):.0%} of the posterior inside"
        for _, target in targets.iterrows()
    )
    schedule = ", ".join(f"{e:.3g}" for e in populations["epsilon"])
    rates = ", ".join(f"{r:.0%}" for r in populations["acceptance_rate"])
    return {
        "prior_posterior": f"Prior and posterior of each uncertain input. {inputs}.",
        "posterior_pairs": f"Scatter plots of the {len(posterior)} particles of the last "
        f"population for each pair of the {len(summary)} inputs, sized by weight.",
        "posterior_predictive": f"Each target's simulated values over the posterior against its "
        f"range. {inside}.",
        "tolerance_schedule": f"Tolerance by population: {schedule}; acceptance rate: {rates}.",
    }


def _share_inside(predictive: pd.DataFrame, target: pd.Series) -> float:
    """The share of the posterior's weight whose simulated value lies in the target's range."""
    part = predictive[predictive["key"] == target["key"]]
    values = part["value"].to_numpy(dtype=float)
    weights = part["weight"].to_numpy(dtype=float)
    low, high = float(target["low"]), float(target["high"])
    inside = (
        (np.isnan(low) | (values >= low)) & (np.isnan(high) | (values <= high))
    ) & np.isfinite(values)
    return float(weights[inside].sum() / weights.sum()) if weights.sum() > 0 else math.nan


# -- numbers ----------------------------------------------------------------------------------


def _numeric(values: pd.Series, scenario: Scenario, path: str) -> np.ndarray:
    """An input's values as numbers: dates as days from the start, choices by position."""
    item = next(u for u in scenario.uncertain if u.path == path)
    if item.prior == "choice":
        labels = [_label(v) for v in item.values]
        return np.array([labels.index(_label(v)) for v in values], dtype=float)
    if len(values) and isinstance(values.iloc[0], dt.date):
        return np.array([(v - scenario.start).days for v in values], dtype=float)
    return values.to_numpy(dtype=float)


def _label(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _categorical(scenario: Scenario, path: str) -> list[str] | None:
    """The categories of a choice or a date input (None for a number)."""
    item = next(u for u in scenario.uncertain if u.path == path)
    if item.prior == "choice":
        return [_label(v) for v in item.values]
    if item.prior == "uniform" and isinstance(item.low, dt.date):
        days = (item.high - item.low).days  # type: ignore[operator]
        return [(item.low + dt.timedelta(days=d)).isoformat() for d in range(days + 1)]
    return None


def input_summary(
    posterior: pd.DataFrame, prior_draws: pd.DataFrame, scenario: Scenario
) -> pd.DataFrame:
    """Per input: prior and posterior median and 90% interval (as numbers: dates as days from
    the start, choices by position), and the posterior interval's width over the prior's."""
    rows = []
    weights = posterior["weight"].to_numpy(dtype=float)
    for path in (u.path for u in scenario.uncertain):
        post = _numeric(posterior[path], scenario, path)
        prior = _numeric(prior_draws[path], scenario, path)
        p5, p50, p95 = np.quantile(prior, [0.05, 0.5, 0.95])
        q5, q50, q95 = weighted_quantile(post, weights, np.array([0.05, 0.5, 0.95]))
        rows.append(
            {
                "input": path,
                "prior_median": p50,
                "prior_low": p5,
                "prior_high": p95,
                "posterior_median": q50,
                "posterior_low": q5,
                "posterior_high": q95,
                "width_ratio": (q95 - q5) / (p95 - p5) if p95 > p5 else math.nan,
            }
        )
    return pd.DataFrame(rows)


def _shown(value: float, path: str, scenario: Scenario) -> str:
    """A summary number as the input's own kind of value (a choice, a date, a number)."""
    if not np.isfinite(value):
        return "undefined"
    item = _item(scenario, path)
    if item.prior == "choice":
        return _label(item.values[round(value)])
    if _categorical(scenario, path) is not None:
        return (scenario.start + dt.timedelta(days=round(value))).isoformat()
    return f"{value:,.4g}"


def _item(scenario: Scenario, path: str) -> Any:
    return next(u for u in scenario.uncertain if u.path == path)


# -- figures ----------------------------------------------------------------------------------


def _grid(count: int) -> tuple[int, int]:
    cols = min(3, count)
    return math.ceil(count / cols), cols


def _prior_posterior(
    posterior: pd.DataFrame, prior_draws: pd.DataFrame, inputs: list[str], scenario: Scenario
) -> tuple[Figure, pd.DataFrame]:
    rows, cols = _grid(len(inputs))
    drawn = canvas(1.2 + 2.6 * rows, rows=rows, cols=cols)
    figure, axes = drawn.figure, drawn.axes
    weights = posterior["weight"].to_numpy(dtype=float)
    data = []
    for ax, path in zip(axes, inputs, strict=False):
        categories = _categorical(scenario, path)
        if categories is not None:
            prior_labels = prior_draws[path].map(_label)
            post_labels = posterior[path].map(_label)
            prior_share = prior_labels.value_counts(normalize=True).reindex(
                categories, fill_value=0
            )
            post_share = (
                pd.Series(weights, index=post_labels.to_numpy())
                .groupby(level=0)
                .sum()
                .reindex(categories, fill_value=0)
            )
            x = np.arange(len(categories))
            ax.bar(x - 0.2, prior_share, 0.4, color=PRIOR_COLOUR, label="prior")
            ax.bar(x + 0.2, post_share, 0.4, color=POSTERIOR_COLOUR, label="posterior")
            tilt = len(categories) > 3 or max(len(c) for c in categories) > 6
            ax.set_xticks(
                x, categories, rotation=25 if tilt else 0, ha="right" if tilt else "center"
            )
            ax.set_ylabel("probability")
            data += [
                {"input": path, "value": c, "prior": p, "posterior": q}
                for c, p, q in zip(categories, prior_share, post_share, strict=True)
            ]
        else:
            prior = prior_draws[path].to_numpy(dtype=float)
            post = posterior[path].to_numpy(dtype=float)
            log = _item(scenario, path).prior == "loguniform"
            low, high = float(np.min(prior)), float(np.max(prior))
            edges = np.geomspace(low, high, 31) if log and low > 0 else np.linspace(low, high, 31)
            # Shares per bin on the same bins (geometric for a log-uniform prior, which then
            # looks flat as it is), so prior and posterior compare bar for bar.
            ax.hist(
                prior,
                bins=edges,
                weights=np.full(prior.size, 1 / prior.size),
                color=PRIOR_COLOUR,
                alpha=0.6,
                label="prior",
            )
            ax.hist(
                post,
                bins=edges,
                weights=weights / weights.sum(),
                color=POSTERIOR_COLOUR,
                alpha=0.7,
                label="posterior",
            )
            for q in weighted_quantile(post, weights, np.array([0.05, 0.95])):
                ax.axvline(q, color=POSTERIOR_COLOUR, linestyle=":", linewidth=1.5)
            if log:
                ax.set_xscale("log")
                ax.xaxis.set_minor_formatter(NullFormatter())
            ax.set_ylabel("share of probability per bin")
            counts, _ = np.histogram(post, bins=edges, weights=weights)
            data += [
                {"input": path, "value": float(a), "prior": math.nan, "posterior": float(c)}
                for a, c in zip(edges[:-1], counts, strict=True)
            ]
        ax.set_xlabel(plain(path, 44), fontsize="small")
    for ax in axes[len(inputs) :]:
        ax.set_visible(False)
    axes[0].legend(fontsize="small")
    set_titles(
        drawn,
        "Prior against posterior for each uncertain input",
        f"{plain(scenario.name)}: {len(posterior)} particles of the last population, weighted",
    )
    return figure, pd.DataFrame(data)


def _pairs(
    posterior: pd.DataFrame, inputs: list[str], scenario: Scenario
) -> tuple[Figure, pd.DataFrame]:
    n = len(inputs)
    size = min(2.2 * n + 1.2, 13.0)
    figure = Figure(figsize=(max(size, 7.0), max(size, 6.0)), layout="constrained")
    axes = figure.subplots(n, n, squeeze=False)
    weights = posterior["weight"].to_numpy(dtype=float)
    values = {p: _numeric(posterior[p], scenario, p) for p in inputs}
    marker = 8 + 300 * weights / max(weights.max(), 1e-12) / max(1, math.sqrt(len(weights)) / 4)
    for i, yi in enumerate(inputs):
        for j, xj in enumerate(inputs):
            ax = axes[i][j]
            ax.tick_params(labelsize=8)
            if j > i:
                ax.set_visible(False)
                continue
            if i == j:
                ax.hist(values[xj], bins=20, weights=weights, color=POSTERIOR_COLOUR)
                ax.set_yticks([])
                ax.set_ylabel("posterior weight" if j == 0 else "", fontsize=8)
            else:
                ax.scatter(
                    values[xj],
                    values[yi],
                    s=marker,
                    color=POSTERIOR_COLOUR,
                    alpha=0.45,
                    edgecolors="none",
                )
            if i == n - 1:
                ax.set_xlabel(plain(xj, 30), fontsize=8)
            if j == 0 and i > 0:
                ax.set_ylabel(plain(yi, 30), fontsize=8)
    figure.suptitle(
        "Posterior, pair by pair\n(each point a particle, sized by its weight)",
        fontsize=12,
        fontweight="bold",
    )
    data = pd.DataFrame({"weight": weights, **values})
    return figure, data


def _predictive(
    predictive: pd.DataFrame, targets: pd.DataFrame, start: dt.date, scenario: Scenario
) -> tuple[Figure, pd.DataFrame]:
    count = len(targets)
    rows, cols = _grid(count)
    drawn = canvas(1.2 + 2.5 * rows, rows=rows, cols=cols)
    figure, axes = drawn.figure, drawn.axes
    for ax, (_, target) in zip(axes, targets.iterrows(), strict=False):
        part = predictive[predictive["key"] == target["key"]]
        values = part["value"].to_numpy(dtype=float)
        weights = part["weight"].to_numpy(dtype=float)
        finite = np.isfinite(values)
        low, high = float(target["low"]), float(target["high"])
        unit = target["unit"]
        if finite.any():
            ax.hist(
                values[finite],
                bins=_bins(values[finite], unit),
                weights=weights[finite] / weights[finite].sum(),
                color=POSTERIOR_COLOUR,
                zorder=3,
            )
        if np.isfinite(low) and np.isfinite(high):
            ax.axvspan(low, high, color=RANGE_COLOUR, alpha=0.25, label="target range", zorder=1)
        for bound in (low, high):
            if np.isfinite(bound):
                ax.axvline(bound, color=RANGE_COLOUR, linewidth=1.5, linestyle="--", zorder=4)
        ax.set_xlabel(
            f"{plain(target['metric'], 30)} ({'day from start' if unit == 'date' else unit})",
            fontsize="small",
        )
        if unit in COUNT_UNITS:
            compact_count_ticks(ax.xaxis)
        ax.set_ylabel("share of posterior weight")
        ax.set_title(plain(target["name"], 46), fontsize="small")
    for ax in axes[count:]:
        ax.set_visible(False)
    set_titles(
        drawn,
        "Posterior predictive: each target over the calibrated ensemble",
        f"{plain(scenario.name)}: simulated values of the last population's particles, weighted",
    )
    return figure, predictive


def _bins(values: np.ndarray, unit: str) -> np.ndarray:
    """Twenty bins over the values; a value every particle shares gets one visible bar around it
    (half a step either side for whole units, 1% otherwise). Whole values spread over fewer than
    twenty steps get a bin each, a step wide: twenty bins over a day or two were too thin to see
    beside a target range of weeks."""
    low, high = float(values.min()), float(values.max())
    whole = unit in ("date", "days", "rank", "devices", "appeals", "device-days") and bool(
        np.all(values == np.round(values))
    )
    if whole and high - low < 20:
        return np.arange(low - 0.5, high + 1.5)
    if high == low:
        pad = max(abs(low) * 0.01, 0.001)
        return np.array([low - pad, high + pad])
    return np.linspace(low, high, 21)


def _schedule(populations: pd.DataFrame, scenario: Scenario) -> tuple[Figure, pd.DataFrame]:
    drawn = canvas(3.6, rows=1, cols=2)
    figure, axes = drawn.figure, drawn.axes
    x = populations["population"].to_numpy()
    axes[0].plot(x, populations["epsilon"], marker="o", color=OKABE_ITO[0])
    axes[0].set_xlabel("population")
    axes[0].set_ylabel("tolerance (scaled distance)")
    axes[1].plot(x, populations["acceptance_rate"], marker="s", color=OKABE_ITO[1])
    axes[1].set_xlabel("population")
    axes[1].set_ylabel("acceptance rate (accepted / simulated)")
    axes[1].set_ylim(0, 1.05)
    for ax in axes:
        ax.set_xticks(x)
    set_titles(drawn, "Tolerance schedule and acceptance rate", plain(scenario.name))
    return figure, populations


# -- document ---------------------------------------------------------------------------------


def _document(
    scenario: Scenario,
    posterior: pd.DataFrame,
    prior_draws: pd.DataFrame,
    populations: pd.DataFrame,
    predictive: pd.DataFrame,
    targets: pd.DataFrame,
    manifest: dict[str, Any],
    figures: list[FigureBlock],
) -> list[Block]:
    by_name = {f.name: f for f in figures}
    last = populations.iloc[-1] if len(populations) else None
    lead: list[Span] = [
        f"{len(scenario.uncertain)} uncertain input(s) calibrated to {len(targets)} target(s) "
        f"by ABC-SMC: {len(populations)} population(s) of {manifest.get('particles')} particles, "
        f"{int(populations['simulations'].sum()):,} simulations at scale "
        f"{manifest.get('scale')} ({manifest.get('replications')} replication(s) per particle)."
    ]
    if last is not None:
        lead.append(
            f" Final tolerance {last['epsilon']:.3g}; stopped because "
            f"{STOPPED.get(str(manifest.get('stopped')), manifest.get('stopped'))}."
        )
    blocks: list[Block] = [
        Paragraph(lead, css="lead"),
        Heading("Inputs: prior and posterior", 2, "inputs"),
        _inputs_table(input_summary(posterior, prior_draws, scenario), scenario),
        by_name["prior_posterior"],
        by_name["posterior_pairs"],
        Heading("Targets: posterior predictive", 2, "targets"),
        _targets_table(predictive, targets, scenario),
        by_name["posterior_predictive"],
        Heading("Populations", 2, "populations"),
        _populations_table(populations),
        by_name["tolerance_schedule"],
        Heading("How to read this", 2, "method"),
        Paragraph(
            [
                "Each particle is a set of input values. A particle is accepted when the distance "
                "of its simulated targets to their ranges is within the population's tolerance: "
                "0 inside a range; outside, the gap to the nearest bound over the target's scale "
                "(its standard error or tolerance, half the width of a two-sided range, the size "
                "of a one-sided bound), combined as a Euclidean norm. The weights correct for "
                "proposing particles near the last population rather than from the prior. "
                "Counts are simulated at the calibration's scale and divided by it before they "
                "are compared."
            ]
        ),
        Heading("Settings", 2, "settings"),
        _settings_table(manifest),
    ]
    return blocks


def _inputs_table(summary: pd.DataFrame, scenario: Scenario) -> Table:
    rows = []
    for _, row in summary.iterrows():
        path = row["input"]
        item = _item(scenario, path)
        rows.append(
            [
                Code(path),
                _prior_words(item),
                f"{_shown(row['prior_low'], path, scenario)} – "
                f"{_shown(row['prior_high'], path, scenario)}",
                _shown(row["posterior_median"], path, scenario),
                f"{_shown(row['posterior_low'], path, scenario)} – "
                f"{_shown(row['posterior_high'], path, scenario)}",
                "" if not np.isfinite(row["width_ratio"]) else f"{row['width_ratio']:.0%}",
            ]
        )
    return Table(
        [
            "input",
            "prior",
            "prior 90% interval",
            "posterior median",
            "posterior 90% interval",
            "posterior width / prior width",
        ],
        rows,
        table_id="calibration-inputs",
        numeric=[False, False, True, True, True, True],
    )


def _prior_words(item: Any) -> str:
    if item.prior == "choice":
        weights = item.weights or [1] * len(item.values)
        return "choice of " + ", ".join(
            f"{_label(v)} ({w:g})" for v, w in zip(item.values, weights, strict=True)
        )
    if item.prior == "normal":
        return f"normal, mean {item.mean:g}, sd {item.sd:g} (truncated to the field's bounds)"
    return f"{item.prior} from {_label(item.low)} to {_label(item.high)}"


def _targets_table(predictive: pd.DataFrame, targets: pd.DataFrame, scenario: Scenario) -> Table:
    rows = []
    for _, target in targets.iterrows():
        part = predictive[predictive["key"] == target["key"]]
        values = part["value"].to_numpy(dtype=float)
        weights = part["weight"].to_numpy(dtype=float)
        q5, q50, q95 = weighted_quantile(values, weights, np.array([0.05, 0.5, 0.95]))
        low, high = float(target["low"]), float(target["high"])
        share = _share_inside(predictive, target)
        unit = str(target["unit"])

        def show(value: float, unit: str = unit) -> str:
            if not np.isfinite(value):
                return "—"
            return format_value(value, unit, scenario.start, precise=True)

        rows.append(
            [
                str(target["name"]),
                Code(str(target["metric"])),
                f"[{show(low)}, {show(high)}]",
                show(q50),
                f"{show(q5)} – {show(q95)}",
                Strong(f"{share:.0%}") if share < 0.9 else f"{share:.0%}",
            ]
        )
    return Table(
        [
            "target",
            "check",
            "range",
            "posterior predictive median",
            "90% interval",
            "share of the posterior inside the range",
        ],
        rows,
        table_id="calibration-targets",
        numeric=[False, False, True, True, True, True],
    )


def _populations_table(populations: pd.DataFrame) -> Table:
    rows = [
        [
            str(int(r["population"])),
            f"{r['epsilon']:.4g}",
            f"{int(r['particles']):,}",
            f"{int(r['simulations']):,}",
            f"{r['acceptance_rate']:.1%}",
            f"{r['ess']:.1f}",
        ]
        for _, r in populations.iterrows()
    ]
    return Table(
        [
            "population",
            "tolerance",
            "particles",
            "simulations",
            "acceptance rate",
            "effective sample size",
        ],
        rows,
        table_id="calibration-populations",
        numeric=[True] * 6,
    )


def _settings_table(manifest: dict[str, Any]) -> Table:
    keys = [
        "simlock_version",
        "calibration_hash",
        "seed",
        "particles",
        "populations",
        "replications",
        "scale",
        "min_acceptance",
        "quantile",
        "executor",
        "workers",
        "simulations",
        "wall_seconds",
        "stopped",
    ]
    rows = [[Code(k), str(manifest.get(k, ""))] for k in keys if k in manifest]
    return Table(["setting", "value"], rows, table_id="calibration-settings")


__all__ = ["input_summary", "write_calibration_report"]

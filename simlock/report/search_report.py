"""The report of a policy search: the frontier, the Pareto policies' levers, and how far the
scenario's own variants are from the frontier.

It reads the search's frames (one row per trial, one per variant of the scenario) and the
scenario; `simlock.execution.search` writes them, and `write_search_report` renders them as
`search.html` and `search.md` with the figure in `figures/frontier.png`.
"""

from __future__ import annotations

import io
import itertools
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pandas as pd

from simlock.scenario.metric_names import metric_unit
from simlock.scenario.models import Scenario
from simlock.scenario.sweep_names import MetricName

from .document import (
    Block,
    Bullets,
    Code,
    FigureBlock,
    Heading,
    Paragraph,
    Strong,
    Table,
    render_html,
    render_markdown,
)
from .plotting import MARKERS, OKABE_ITO, REPORT_STYLE, WIDTH_INCHES, canvas, set_titles

PNG_DPI = 110
FIGURE = "frontier"


def objective_label(metric: str, direction: str) -> str:
    """An axis label: the metric in words, then its unit and which way is better."""
    name = MetricName.parse(metric)
    arrow = "higher is better" if direction == "maximize" else "lower is better"
    return f"{str(name).replace('_', ' ')}\n({metric_unit(name.metric)}; {arrow})"


_VARIANT_COLOURS = tuple(OKABE_ITO[i] for i in (1, 3, 4, 5, 6, 0))
"""The scenario's variants avoid the Pareto trials' blue; with 7 markers and 6 colours, the
first 42 variants each get their own (colour, marker)."""


def plot_frontier(scenario: Scenario, trials: pd.DataFrame, variants: pd.DataFrame) -> Any:
    """Each pair of objectives against each other: every trial (grey), the Pareto trials
    (blue; joined when there are two objectives, where the frontier is a line), and the
    scenario's own policy and variants (open markers)."""
    objectives = scenario.search.objectives
    pairs = list(itertools.combinations(range(len(objectives)), 2)) or [(0, 0)]
    cols = min(len(pairs), 3)
    rows = -(-len(pairs) // cols)
    height = 4.0 * rows + 2.4
    drawn = canvas(height, figsize=(WIDTH_INCHES, height), rows=rows, cols=cols)
    pareto = trials[trials["pareto"]]
    other = trials[~trials["pareto"]]
    for ax, (i, j) in zip(drawn.axes, pairs, strict=False):
        x, y = objectives[i].metric, objectives[j].metric
        ax.scatter(other[x], other[y], s=14, color="#bbbbbb", label="trial, not on the frontier")
        front = pareto.sort_values([x, y])
        if len(objectives) == 2:
            ax.plot(front[x], front[y], color=OKABE_ITO[2], linewidth=1, alpha=0.6)
        ax.scatter(front[x], front[y], s=28, color=OKABE_ITO[2], label="Pareto trial", zorder=3)
        for k, (_, row) in enumerate(variants.iterrows()):
            ax.scatter(
                row[x],
                row[y],
                s=70,
                marker=MARKERS[k % len(MARKERS)],
                facecolor="none",
                edgecolor=_VARIANT_COLOURS[k % len(_VARIANT_COLOURS)],
                linewidth=1.6,
                label=f"scenario: {row['variant']}",
                zorder=4,
            )
        ax.set_xlabel(objective_label(x, objectives[i].direction))
        ax.set_ylabel(objective_label(y, objectives[j].direction))
    for ax in drawn.axes[len(pairs) :]:
        ax.set_visible(False)
    handles, labels = drawn.axes[0].get_legend_handles_labels()
    drawn.figure.legend(handles, labels, loc="outside lower center", ncols=4, fontsize="small")
    search = scenario.search
    set_titles(
        drawn,
        f"{scenario.name}: the policies no other policy beats on every objective",
        f"{len(trials)} trials, mean of {_replications(scenario)} replications each, scale "
        f"{search.scale:g}; the scenario's variants alike",
    )
    return drawn.figure


def _replications(scenario: Scenario) -> int:
    return scenario.search.replications or scenario.replications


def write_search_report(
    scenario: Scenario, trials: pd.DataFrame, variants: pd.DataFrame, folder: Path
) -> Path:
    """Write search.html, search.md and figures/frontier.png into `folder`; return the HTML."""
    figure_dir = Path(folder) / "figures"
    figure_dir.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with matplotlib.rc_context(REPORT_STYLE):
        figure = plot_frontier(scenario, trials, variants)
        figure.savefig(buffer, format="png", dpi=PNG_DPI)
        # No date in the SVG: the same search gives the same file.
        figure.savefig(figure_dir / f"{FIGURE}.svg", format="svg", metadata={"Date": None})
    png = buffer.getvalue()
    drawn = [o.metric for o in scenario.search.objectives]
    points = pd.concat(
        [
            trials[["trial", *drawn, "pareto"]].assign(variant=""),
            variants[["variant", *drawn]].assign(trial=-1, pareto=False),
        ],
        ignore_index=True,
    )
    points.to_csv(figure_dir / f"{FIGURE}.csv", index=False)
    (figure_dir / f"{FIGURE}.png").write_bytes(png)
    blocks = build_document(scenario, trials, variants, png)
    title = f"simlock search: {scenario.name}"
    (Path(folder) / "search.md").write_text(render_markdown(blocks, title), encoding="utf-8")
    path = Path(folder) / "search.html"
    path.write_text(render_html(blocks, title), encoding="utf-8")
    return path


def distance_to_frontier(
    scenario: Scenario, trials: pd.DataFrame, point: pd.Series
) -> tuple[float, int | None]:
    """How far a policy is from the frontier: the smallest shortfall, as a share of each
    objective's range over the trials, that some Pareto trial makes up on every objective at
    once (0 when a Pareto trial is at least as good everywhere; the largest objective's shortfall
    to the closest Pareto trial otherwise), and that trial."""
    pareto = trials[trials["pareto"]]
    if pareto.empty:
        return float("nan"), None
    best, which = float("inf"), None
    for _, row in pareto.iterrows():
        gaps = []
        for objective in scenario.search.objectives:
            column = trials[objective.metric]
            span = float(column.max() - column.min()) or 1.0
            sign = 1.0 if objective.direction == "maximize" else -1.0
            gaps.append(max(0.0, sign * (row[objective.metric] - point[objective.metric]) / span))
        worst = max(gaps)
        if worst < best:
            best, which = worst, int(row["trial"])
    return best, which


def build_document(
    scenario: Scenario, trials: pd.DataFrame, variants: pd.DataFrame, png: bytes
) -> list[Block]:
    search = scenario.search
    objectives = search.objectives
    pareto = trials[trials["pareto"]]
    words = ", ".join(
        f"{o.metric.replace('_', ' ')} {'up' if o.direction == 'maximize' else 'down'}"
        for o in objectives
    )
    blocks: list[Block] = [
        Paragraph(
            [
                f"{len(trials)} policies searched for {words}; ",
                Strong(f"{len(pareto)} are on the frontier"),
                " (no other feasible policy is at least as good on every objective and better on "
                f"one). Each is the mean of {_replications(scenario)} replications at scale "
                f"{search.scale:g}, on the same devices for every policy.",
            ],
            css="lead",
        ),
        Heading("Frontier", 2, "frontier"),
        FigureBlock(
            FIGURE,
            "The frontier",
            "Every trial (grey), the Pareto trials (blue) and the scenario's own policy and "
            "variants run at the same scale and replications (open markers)."
            + (
                " With three or more objectives a panel shows two of them: a Pareto trial that "
                "looks beaten there is better on an objective the panel does not show."
                if len(objectives) > 2
                else ""
            ),
            png,
            f"Scatter of {len(trials)} trials, {len(pareto)} on the frontier, with "
            f"{len(variants)} scenario variants for comparison.",
        ),
    ]
    blocks += _variants_section(scenario, trials, variants)
    blocks += _pareto_section(scenario, pareto)
    if search.constraints:
        infeasible = int((~trials["feasible"]).sum())
        blocks += [
            Heading("Constraints", 2, "constraints"),
            Bullets(
                [[Code(c.metric), f" between {c.min} and {c.max}"] for c in search.constraints]
            ),
            Paragraph([f"{infeasible} of {len(trials)} trials broke a constraint."]),
        ]
    blocks += [
        Heading("Using a Pareto policy", 2, "use"),
        Paragraph(
            [
                "Each Pareto policy is written as a variant in ",
                Code("pareto-variants.yaml"),
                ": paste it under the scenario's ",
                Code("variants:"),
                " and run it with ",
                Code("simlock run"),
                " to see its full report.",
            ]
        ),
    ]
    return blocks


def _variants_section(
    scenario: Scenario, trials: pd.DataFrame, variants: pd.DataFrame
) -> list[Block]:
    columns = ["variant", *(o.metric for o in scenario.search.objectives), "gap to frontier"]
    rows = []
    for _, row in variants.iterrows():
        gap, trial = distance_to_frontier(scenario, trials, row)
        gap_text = (
            "on or beyond the frontier"
            if gap == 0
            else f"{gap:.0%} of a range short (trial {trial} does better on every objective)"
        )
        rows.append(
            [
                Strong(str(row["variant"])),
                *(_number(row[o.metric]) for o in scenario.search.objectives),
                gap_text,
            ]
        )
    return [
        Heading("The scenario's own policies", 2, "variants"),
        Paragraph(
            [
                "The gap is the largest shortfall, as a share of the objective's range over the "
                "trials, to the closest Pareto policy: how much the variant would gain on its "
                "worst objective by moving to the frontier."
            ]
        ),
        Table(columns, rows, table_id="variants", numeric=[False, *[True] * (len(columns) - 1)]),
    ]


def _pareto_section(scenario: Scenario, pareto: pd.DataFrame) -> list[Block]:
    levers = [lever.path for lever in scenario.search.levers]
    metrics = [o.metric for o in scenario.search.objectives]
    columns = ["variant", *levers, *metrics]
    ordered = pareto.sort_values(metrics[0]) if not pareto.empty else pareto
    rows = [
        [
            Code(f"search-trial-{int(row['trial'])}"),
            *(_lever(row[path]) for path in levers),
            *(_number(row[m]) for m in metrics),
        ]
        for _, row in ordered.iterrows()
    ]
    return [
        Heading("Pareto policies", 2, "pareto"),
        Paragraph(["The levers of each policy on the frontier, and its objectives."]),
        Table(
            columns,
            rows,
            table_id="pareto",
            numeric=[False, *[False] * len(levers), *[True] * len(metrics)],
        ),
    ]


def _number(value: Any) -> str:
    value = float(value)
    if not np.isfinite(value):
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def _lever(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "none"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)

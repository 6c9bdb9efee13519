"""The report of a run: `report.html` (one self-contained file), `report.md`, and the figures.

`write_report` renders every figure of `simlock.figures` to `figures/NAME.png` and `.svg` with the
table behind it as `figures/NAME.csv`, then writes the same document twice: as HTML (figures
embedded as base64 PNG, inline CSS, no script, nothing fetched from the network, so it can be
forwarded as one file) and as Markdown (figures referenced as `figures/NAME.png`) for git.

The document is built once as a list of blocks (headings, paragraphs, tables, figures) and each
renderer escapes every piece of text, so a scenario's names and descriptions can never inject
markup. Numbers are formatted in one place (`simlock._format`: `format_value`,
`format_estimate`, re-exported here) so that the report, the expectations and the tests agree on
what a number looks like.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import matplotlib
import pandas as pd

from . import figures as figs
from ._describe import (
    describe_changes,
    describe_channels,
    describe_policy,
    describe_rates,
    in_days,
)
from ._document import (
    Block,
    Bullets,
    Cell,
    Code,
    FigureBlock,
    Heading,
    Note,
    Paragraph,
    Span,
    Strong,
    Table,
    render_html,
    render_markdown,
)
from ._format import (
    DASH,
    format_bounds,
    format_estimate,
    format_summary_row,
    format_value,
    metric_unit,
)
from .metrics import METRICS
from .results import Results
from .scenario import BASELINE, Policy, Scenario

PNG_DPI = 110

REGION_METRICS = (
    "users_affected",
    "targeted_locks",
    "collateral_locks",
    "lock_days",
    "share_banned_locked",
)
CHANNEL_METRICS = ("users_affected", "collateral_locks", "lock_days", "days_to_lock_median")


# ---------------------------------------------------------------------------------------------
# Writing the report


def write_report(results: Results, folder: Path, expectations: pd.DataFrame | None) -> Path:
    """Write report.html, report.md, figures/*.png|svg|csv into `folder`; return report.html."""
    folder = Path(folder)
    figure_dir = folder / "figures"
    figure_dir.mkdir(parents=True, exist_ok=True)
    rendered = render_figures(results, figure_dir)
    blocks = build_document(results, expectations, rendered)
    title = f"simlock report: {results.scenario.name}"
    (folder / "report.md").write_text(render_markdown(blocks, title), encoding="utf-8")
    path = folder / "report.html"
    path.write_text(render_html(blocks, title), encoding="utf-8")
    return path


def render_figures(results: Results, figure_dir: Path) -> list[FigureBlock]:
    """Draw every figure that applies (the support desk only when a variant has appeals), save
    PNG, SVG and CSV, and return them as blocks with their captions."""
    out = []
    with_desk = figs.appeal_variants(results)
    for spec in figs.FIGURES:
        if spec.name == "support_desk" and not with_desk:
            continue
        data = spec.data(results)
        figure = spec.plot(results, data)
        data.to_csv(figure_dir / f"{spec.name}.csv", index=False)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=PNG_DPI)
        png = buffer.getvalue()
        (figure_dir / f"{spec.name}.png").write_bytes(png)
        # No date in the SVG: the same run gives the same file.
        figure.savefig(figure_dir / f"{spec.name}.svg", format="svg", metadata={"Date": None})
        out.append(FigureBlock(spec.name, spec.title, _caption(results, spec.name, data), png))
    return out


def _caption(results: Results, name: str, data: pd.DataFrame) -> str:
    n = figs.replications(results)
    over = (
        f"mean over {n} replications with its 95% band"
        if n >= 2
        else "one replication, so no interval"
    )
    detail = figs.describe_replications(figs.detail_replications(results))
    log_scale = name == "locks_per_day" and figs.per_day_log_scale(data)
    captions = {
        "locked_over_time": f"Devices locked at the end of each day, per variant ({over}). "
        "Shaded: enforcement windows; dashed line: the lift.",
        "locks_per_day": f"Devices newly locked and unlocked each day, per variant ({over})"
        + (
            "; logarithmic scale above one device a day, so the early trickle and the surge "
            "both show."
            if log_scale
            else "."
        ),
        "users_by_region": "Devices locked at least once, by the region where they were "
        f"activated, per variant ({'bars: 95% intervals' if n >= 2 else 'no interval'}).",
        "delay_cdf": "Share of locked devices locked within a given number of days of "
        "activation, and locked for at most a given number of days (devices still locked at the "
        f"end count until the end); device-level rows of {detail}.",
        "tradeoff": "Targeted locks (grey imports in banned territories) against collateral "
        "locks (travellers, official devices, detection errors) per variant "
        f"({'bars: 95% intervals' if n >= 2 else 'no interval'}): right is what a variant "
        "buys, up is what it costs.",
        "support_desk": "Appeals waiting for the support desk at the end of each day, and the "
        "mean days appeals filed that day waited before service (served appeals only; the lift "
        f"withdraws the rest); {detail}.",
    }
    return captions[name]


# ---------------------------------------------------------------------------------------------
# The content


def build_document(
    results: Results, expectations: pd.DataFrame | None, rendered: list[FigureBlock]
) -> list[Block]:
    """The report's content in reading order, for both renderers."""
    scenario = results.scenario
    blocks: list[Block] = []
    blocks += _opening(results)
    blocks += _summary(results, expectations)
    blocks += _scenario_section(results)
    blocks += _metrics_section(results)
    blocks += _differences_section(results)
    if expectations is not None:
        blocks += _expectations_section(scenario, expectations)
    blocks += _figures_section(results, rendered)
    blocks += _manifest_section(results)
    return blocks


def _opening(results: Results) -> list[Block]:
    scenario = results.scenario
    manifest = results.manifest
    blocks: list[Block] = []
    if scenario.description:
        blocks.append(Paragraph([scenario.description], css="lead"))
    scale = manifest.get("scale", 1.0)
    facts = (
        f"Simulated {scenario.start.isoformat()} to {scenario.end.isoformat()} "
        f"({scenario.days:g} days), {figs.replications(results)} replication(s), seed "
        f"{scenario.seed}"
    )
    if scale != 1:
        facts += f", activation rates scaled by {scale:g} (counts are for the scaled world)"
    blocks.append(Paragraph([facts + f"; simlock {manifest.get('simlock_version', '?')}."]))
    return blocks


def _overall(results: Results) -> dict[tuple[str, str], pd.Series]:
    rows = results.summary[results.summary["group"] == "all"]
    return {(str(r["variant"]), str(r["metric"])): r for _, r in rows.iterrows()}


def _summary(results: Results, expectations: pd.DataFrame | None) -> list[Block]:
    blocks: list[Block] = [Heading("Summary", 2, "summary")]
    n = figs.replications(results)
    if n >= 2:
        blocks.append(
            Paragraph(
                [
                    f"Numbers are means over {n} replications, with 95% Student-t intervals "
                    "across replications in brackets."
                ]
            )
        )
    else:
        blocks.append(
            Paragraph(
                [
                    "This run has one replication: 95% intervals are undefined and not shown; "
                    "rerun with --replications 10 or more for intervals."
                ],
                css="note",
            )
        )
    overall = _overall(results)
    for variant in figs.variants(results):
        blocks.append(Paragraph(_variant_words(results, variant, overall)))
    if expectations is not None and len(expectations):
        passed = int(expectations["passed"].astype(bool).sum())
        failed = [str(x) for x in expectations.loc[~expectations["passed"].astype(bool), "name"]]
        text = f"Expectations: {passed} of {len(expectations)} pass"
        text += f"; failing: {'; '.join(failed)}." if failed else "."
        blocks.append(Paragraph([text], css="fail" if failed else "pass"))
    return blocks


def _variant_words(
    results: Results, variant: str, overall: dict[tuple[str, str], pd.Series]
) -> list[Span]:
    """'Under variant X, N users [CI] were locked at least once ...' in plain sentences."""
    start = results.scenario.start

    def est(metric: str) -> str:
        return format_summary_row(overall.get((variant, metric)), metric_unit(metric), start)

    def mean(metric: str) -> float:
        row = overall.get((variant, metric))
        return float(row["mean"]) if row is not None else float("nan")

    who = " (the scenario's policy)" if variant == BASELINE else ""
    spans: list[Span] = ["Under variant ", Strong(variant), who]
    if not mean("users_affected") > 0:
        return [*spans, ", no device was locked."]
    text = f", {est('users_affected')} users were locked at least once"
    if mean("banned_activations") > 0:
        text += f" ({est('share_banned_locked')} of activations in banned territories)"
    text += (
        f": {est('targeted_locks')} targeted locks (grey imports in banned territories) against "
        f"{est('collateral_locks')} collateral locks ({est('collateral_travellers')} of them "
        f"travellers, {est('collateral_outside_banned')} of devices activated outside banned "
        "territories). "
        f"Locked devices lost {est('lock_days')} device-days; at the peak, "
        f"{est('peak_locked')} devices were locked at once (around {est('peak_locked_day')}). "
        f"Half of the locks came within {est('days_to_lock_median')} days of activation, 90% "
        f"within {est('days_to_lock_p90')} days; the median lock lasted "
        f"{est('lock_duration_median')} days."
    )
    policy = _policy(results.scenario, variant)
    if policy is not None and policy.lift is not None and policy.lift.unlock:
        text += f" The lift unlocked {est('unlocked_by_lift')} devices"
        text += f"; {est('locked_at_end')} were still locked at the end of the run."
    elif mean("locked_at_end") > 0:
        text += f" {est('locked_at_end')} devices were still locked at the end of the run."
    if policy is not None and policy.warning is not None:
        text += (
            f" {est('warned')} users were warned first; {est('resolved_after_warning')} "
            "resolved it and were not locked."
        )
    if policy is not None and policy.appeals is not None:
        text += (
            f" {est('appeals_filed')} appeals were filed, {est('appeals_served')} served and "
            f"{est('appeals_approved')} approved; the median wait for the desk was "
            f"{est('appeal_wait_median')} days."
        )
    return [*spans, text]


def _policy(scenario: Scenario, variant: str) -> Policy | None:
    try:
        return scenario.variant(variant)
    except KeyError:
        return None


# ---------------------------------------------------------------------------------------------
# The scenario in brief


def _scenario_section(results: Results) -> list[Block]:
    scenario = results.scenario
    banned = set(scenario.policy.banned)
    regions = Table(
        columns=["region", "id", "activations (devices/day)", "channels", "banned (baseline)"],
        rows=[
            [
                r.name,
                Code(r.id),
                describe_rates(r),
                describe_channels(r),
                "yes" if r.id in banned else "no",
            ]
            for r in scenario.regions
        ],
        table_id="regions-table",
    )
    blocks: list[Block] = [
        Heading("The scenario in brief", 2, "scenario"),
        Paragraph(
            [
                f"From {scenario.start.isoformat()} to {scenario.end.isoformat()} (end excluded, "
                f"{scenario.days:g} days), {len(scenario.regions)} region(s); devices check in "
                "with the vendor's server every "
                f"{in_days(scenario.checkin.interval_days)} on average "
                f"({scenario.checkin.model}), and a command takes effect at the next check-in."
            ]
        ),
        regions,
        Heading("The policy (baseline)", 3, "policy"),
        Bullets([[text] for text in describe_policy(scenario.policy, scenario).values()]),
    ]
    others = [v for v in figs.variants(results) if v != BASELINE]
    if others:
        items: list[list[Span]] = []
        for variant in others:
            policy = _policy(scenario, variant)
            if policy is None:
                continue
            changes = describe_changes(policy, scenario.policy, scenario)
            items.append([Strong(variant), ": " + " ".join(changes)])
        blocks += [
            Heading("Variants (what differs from the baseline)", 3, "variants"),
            Bullets(items),
        ]
    return blocks


# ---------------------------------------------------------------------------------------------
# Tables of metrics


def metrics_table(results: Results, group: str, metrics: list[str] | None = None) -> Table:
    """Mean and interval per variant (columns) of each metric (rows) in one group: overall
    (`all`, every metric) or by region or channel (the given metrics for each key)."""
    summary = results.summary[results.summary["group"] == group]
    names = figs.variants(results)
    start = results.scenario.start
    index = {(str(r["variant"]), str(r["key"]), str(r["metric"])): r for _, r in summary.iterrows()}
    present = set(summary["metric"].astype(str))
    wanted = [m for m in (metrics or list(METRICS)) if m in present]
    keys = list(dict.fromkeys(summary["key"].astype(str)))
    if group == "region":
        order = [r.id for r in results.scenario.regions]
        keys = [k for k in order if k in keys] + [k for k in keys if k not in order]
    region_names = {r.id: r.name for r in results.scenario.regions}
    rows, attrs, starts = [], [], []
    for key in keys:
        for i, metric in enumerate(wanted):
            unit = metric_unit(metric)
            cells: list[Cell] = []
            if group == "all":
                cells.append([Code(metric), Note(METRICS[metric])])
            else:
                # The region or channel once per block of rows; the overall table explains ids.
                label = region_names.get(key, key) + f" ({key})" if group == "region" else key
                cells += ["" if i else label.replace("_", " "), Code(metric)]
            cells.append(unit)
            cells += [format_summary_row(index.get((v, key, metric)), unit, start) for v in names]
            rows.append(cells)
            attrs.append({"metric": metric, "key": key})
            starts.append(i == 0 and group != "all")
    lead = ([group] if group != "all" else []) + ["metric", "unit"]
    return Table(
        columns=lead + names,
        rows=rows,
        table_id="metrics-all" if group == "all" else f"metrics-by-{group}",
        numeric=[False] * len(lead) + [True] * len(names),
        row_attrs=attrs,
        column_attrs=[{}] * len(lead) + [{"variant": v} for v in names],
        group_starts=starts,
    )


def _metrics_section(results: Results) -> list[Block]:
    n = figs.replications(results)
    how = (
        f"Mean and 95% interval across {n} replications (Student t), per variant."
        if n >= 2
        else "One replication: the value of that replication; 95% intervals are undefined."
    )
    blocks: list[Block] = [
        Heading("Metrics", 2, "metrics"),
        Paragraph(
            [
                how + f" {DASH} marks a value that is undefined (for example a median delay "
                "when nothing was locked). Collateral locks are every lock that is not a grey "
                "import in a banned territory."
            ]
        ),
        metrics_table(results, "all"),
        Heading("By region", 3, "by-region"),
        metrics_table(results, "region", list(REGION_METRICS)),
        Heading("By channel", 3, "by-channel"),
        metrics_table(results, "channel", list(CHANNEL_METRICS)),
    ]
    return blocks


def differences_table(results: Results) -> Table | None:
    """Each variant minus the baseline (overall), paired by replication, with 95% intervals;
    None when only the baseline ran."""
    compared = results.compare()
    if compared.empty:
        return None
    compared = compared[compared["group"] == "all"]
    names = [v for v in figs.variants(results) if v != BASELINE]
    index = {(str(r["variant"]), str(r["metric"])): r for _, r in compared.iterrows()}
    present = set(compared["metric"].astype(str))
    start = results.scenario.start
    rows, attrs = [], []
    for metric in (m for m in METRICS if m in present):
        unit = metric_unit(metric)
        shown_unit = {"share": "percentage points", "date": "days"}.get(unit, unit)
        cells: list[Cell] = [[Code(metric), Note(METRICS[metric])], shown_unit]
        cells += [
            format_summary_row(index.get((v, metric)), unit, start, signed=True) for v in names
        ]
        rows.append(cells)
        attrs.append({"metric": metric, "key": "all"})
    return Table(
        columns=["metric", "unit", *names],
        rows=rows,
        table_id="differences-table",
        numeric=[False, False] + [True] * len(names),
        row_attrs=attrs,
        column_attrs=[{}, {}] + [{"variant": v} for v in names],
    )


def _differences_section(results: Results) -> list[Block]:
    table = differences_table(results)
    if table is None:
        return []
    n = figs.replications(results)
    how = (
        f"paired over {n} replications (the variants of a replication share their devices), "
        "with 95% intervals of the paired differences"
        if n >= 2
        else "one replication, so no interval"
    )
    return [
        Heading("Differences from the baseline", 2, "differences"),
        Paragraph(
            [
                f"Each variant minus the baseline, {how}. An interval that excludes 0 is a "
                "difference the replications cannot explain away."
            ]
        ),
        table,
    ]


# ---------------------------------------------------------------------------------------------
# Expectations


def _bounds(row: pd.Series, unit: str, start: dt.date) -> str:
    return format_bounds(
        float(row["min"]),
        float(row["max"]),
        bool(row.get("strict", False)),
        lambda value: format_value(value, unit, start),
    )


def expectations_table(scenario: Scenario, expectations: pd.DataFrame) -> Table:
    """One row per expectation: its name, source, variant, simulated value with its interval
    (dates as dates), the allowed range and the verdict."""
    rows, attrs = [], []
    for _, row in expectations.iterrows():
        unit = str(row["unit"])
        shown_unit = "" if unit in ("devices", "date", "share") else f" {unit}"
        n = int(row["n"])
        if n == 0:
            value = "not evaluated (variant not run)"
        else:
            value = format_estimate(
                float(row["value"]),
                float(row["ci_low"]),
                float(row["ci_high"]),
                n,
                unit,
                scenario.start,
            ) + (shown_unit if shown_unit != " rank" else "")
        verdict = "pass" if bool(row["passed"]) else "FAIL"
        if verdict == "pass" and n > 1 and not bool(row.get("interval_within", True)):
            verdict = "pass (the interval crosses a bound)"
        rows.append(
            [
                str(row["name"]),
                str(row["source"]),
                str(row["variant"]),
                Code(str(row["metric"])),
                value,
                _bounds(row, unit, scenario.start) + (shown_unit if shown_unit != " rank" else ""),
                Strong(verdict),
            ]
        )
        attrs.append({"metric": str(row["metric"]), "passed": str(bool(row["passed"])).lower()})
    return Table(
        columns=["expectation", "source", "variant", "check", "simulated", "expected", "result"],
        rows=rows,
        table_id="expectations-table",
        numeric=[False, False, False, False, True, True, False],
        row_attrs=attrs,
    )


def _expectations_section(scenario: Scenario, expectations: pd.DataFrame) -> list[Block]:
    blocks: list[Block] = [Heading("Expectations", 2, "expectations")]
    if expectations.empty:
        return [*blocks, Paragraph(["The scenario declares no expectations."])]
    passed = int(expectations["passed"].astype(bool).sum())
    blocks.append(
        Paragraph(
            [
                f"{passed} of {len(expectations)} expectations pass. Each is checked on the mean "
                "across replications; the interval shows how sure that is."
            ]
        )
    )
    blocks.append(expectations_table(scenario, expectations))
    return blocks


# ---------------------------------------------------------------------------------------------
# Figures and manifest


def _figures_section(results: Results, rendered: list[FigureBlock]) -> list[Block]:
    blocks: list[Block] = [Heading("Figures", 2, "figures")]
    for figure in rendered:
        blocks.append(figure)
    if not figs.appeal_variants(results):
        blocks.append(
            Paragraph(
                [
                    "The support desk: no appeals. No variant of this scenario lets locked users "
                    "appeal, so there is no queue to show."
                ],
                css="note",
            )
        )
    if not figs.detail_replications(results):
        blocks.append(
            Paragraph(
                [
                    "This run kept no device-level tables (--detail 0): the distributions of "
                    "delays and durations, and the support desk, cannot be drawn."
                ],
                css="note",
            )
        )
    return blocks


def _manifest_section(results: Results) -> list[Block]:
    manifest = results.manifest
    rows: list[list[Span]] = []
    labels = [
        ("simlock_version", "simlock version"),
        ("format_version", "run format version"),
        ("scenario", "scenario"),
        ("scenario_hash", "scenario hash"),
        ("seed", "seed"),
        ("replications", "replications"),
        ("variants", "variants"),
        ("scale", "scale of activation rates"),
        ("detail_replications", "detail replications (device-level tables)"),
        ("executor", "executor"),
        ("workers", "workers"),
        ("devices_simulated", "devices simulated (all replications)"),
    ]
    for key, label in labels:
        if key not in manifest:
            continue
        value = manifest[key]
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        elif isinstance(value, int) and not isinstance(value, bool) and key != "seed":
            value = f"{value:,}"
        rows.append([label, Code(str(value)) if key == "scenario_hash" else str(value)])
    if isinstance(manifest.get("rerun"), list):
        rerun = " ".join(str(part) for part in manifest["rerun"])
        rows.append(["command that reruns it (in the run folder)", Code(rerun)])
    for phase, seconds in (manifest.get("wall_seconds") or {}).items():
        rows.append([f"wall time: {phase.replace('_', ' ')}", f"{float(seconds):,.2f} s"])
    environment = manifest.get("environment")
    versions = dict(environment) if isinstance(environment, dict) else {}
    versions["matplotlib"] = matplotlib.__version__
    rows.append(["environment", ", ".join(f"{k} {v}" for k, v in versions.items())])
    return [
        Heading("Manifest", 2, "manifest"),
        Table(columns=["item", "value"], rows=rows, table_id="manifest-table"),
    ]


__all__ = [
    "build_document",
    "format_estimate",
    "format_value",
    "metric_unit",
    "render_html",
    "render_markdown",
    "write_report",
]

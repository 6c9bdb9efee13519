"""The report's tables of numbers: the metrics per variant (overall, by region, by channel), each
variant's difference from the baseline, the expectations with their verdicts, and the manifest.

Every number goes through `simlock._format`, so a cell reads exactly like the same number in the
report's sentences and in an expectation's verdict. Rows and cells carry data-* attributes in HTML
(metric, key, variant) so that tests and scripts can find a number without parsing the text.
"""

from __future__ import annotations

import datetime as dt

import matplotlib
import pandas as pd

from simlock.analysis.contents import variants
from simlock.analysis.formatting import (
    format_bounds,
    format_estimate,
    format_summary_row,
    format_value,
    metric_unit,
)
from simlock.analysis.metrics import METRICS
from simlock.analysis.results import Results
from simlock.scenario.models import BASELINE, Scenario

from .document import Cell, Code, Note, Span, Strong, Table
from .worlds import format_range, plausible_text, worlds_count


def metrics_table(results: Results, group: str, metrics: list[str] | None = None) -> Table:
    """Mean and interval per variant (columns) of each metric (rows) in one group: overall
    (`all`, every metric) or by region or channel (the given metrics for each key)."""
    summary = results.summary[results.summary["group"] == group]
    names = variants(results)
    start = results.scenario.start
    index = {(str(r["variant"]), str(r["key"]), str(r["metric"])): r for _, r in summary.iterrows()}
    present = set(summary["metric"].astype(str))
    wanted = [m for m in (metrics or list(METRICS)) if m in present]
    keys = list(dict.fromkeys(summary["key"].astype(str)))
    if group == "region":
        order = [r.id for r in results.scenario.regions]
        keys = [k for k in order if k in keys] + [k for k in keys if k not in order]
    region_names = {r.id: r.name for r in results.scenario.regions}
    worlds = worlds_count(results) > 0
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
            for v in names:
                row = index.get((v, key, metric))
                text = format_summary_row(row, unit, start)
                cells.append(
                    [text, Note(f"plausible {plausible_text(row, unit, start)}")]
                    if worlds and row is not None
                    else text
                )
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


def differences_table(results: Results) -> Table | None:
    """Each variant minus the baseline (overall), paired by replication, with 95% intervals;
    None when only the baseline ran."""
    compared = results.compare()
    if compared.empty:
        return None
    compared = compared[compared["group"] == "all"]
    names = [v for v in variants(results) if v != BASELINE]
    index = {(str(r["variant"]), str(r["metric"])): r for _, r in compared.iterrows()}
    present = set(compared["metric"].astype(str))
    start = results.scenario.start
    worlds = worlds_count(results) > 0
    rows, attrs = [], []
    for metric in (m for m in METRICS if m in present):
        unit = metric_unit(metric)
        shown_unit = {"share": "percentage points", "date": "days"}.get(unit, unit)
        cells: list[Cell] = [[Code(metric), Note(METRICS[metric])], shown_unit]
        for v in names:
            row = index.get((v, metric))
            text = format_summary_row(row, unit, start, signed=True)
            if worlds and row is not None:
                plausible = plausible_text(row, unit, start, signed=True)
                cells.append([text, Note(f"plausible {plausible}")])
            else:
                cells.append(text)
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


def _bounds(row: pd.Series, unit: str, start: dt.date) -> str:
    return format_bounds(
        float(row["min"]),
        float(row["max"]),
        bool(row.get("strict", False)),
        lambda value: format_value(value, unit, start),
    )


def expectations_table(scenario: Scenario, expectations: pd.DataFrame) -> Table:
    """One row per expectation: its name, source, variant, simulated value with its interval
    (dates as dates), the allowed range and the verdict; over plausible worlds (the frame has
    `plausible_low`), the plausible range beside the simulated value."""
    worlds = "plausible_low" in expectations.columns
    rows, attrs = [], []
    for _, row in expectations.iterrows():
        unit = str(row["unit"])
        # Units that need no word after the number (a rank is a plain number too).
        suffix = "" if unit in ("devices", "date", "share", "rank") else f" {unit}"
        n = int(row["n"])
        if n == 0:
            value = "not evaluated (variant not run)"
        else:
            value = (
                format_estimate(
                    float(row["value"]),
                    float(row["ci_low"]),
                    float(row["ci_high"]),
                    n,
                    unit,
                    scenario.start,
                )
                + suffix
            )
        verdict = str(row["verdict"])
        cells: list[Cell] = [
            str(row["name"]),
            str(row["source"]),
            str(row["variant"]),
            Code(str(row["metric"])),
            value,
        ]
        if worlds:
            low, high = float(row["plausible_low"]), float(row["plausible_high"])
            shown = format_range(low, high, unit, scenario.start) if n else "–"
            cells.append(shown + (suffix if shown != "–" else ""))
        cells += [_bounds(row, unit, scenario.start) + suffix, Strong(verdict)]
        rows.append(cells)
        attrs.append({"metric": str(row["metric"]), "passed": str(bool(row["passed"])).lower()})
    columns = ["expectation", "source", "variant", "check", "simulated", "expected", "result"]
    numeric = [False, False, False, False, True, True, False]
    if worlds:
        columns[4:5] = ["simulated (mean, Monte Carlo 95%)", "plausible range (5–95%)"]
        numeric[4:5] = [True, True]
    return Table(
        columns=columns,
        rows=rows,
        table_id="expectations-table",
        numeric=numeric,
        row_attrs=attrs,
    )


def manifest_table(manifest: dict) -> Table:
    """How the run was made: versions, scenario hash, seed, replications, scale, executor, wall
    times (seconds) and the command that reruns it."""
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
        ("devices_drawn", "of which drawn one by one (the others counted)"),
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
    return Table(columns=["item", "value"], rows=rows, table_id="manifest-table")


__all__ = ["differences_table", "expectations_table", "manifest_table", "metrics_table"]

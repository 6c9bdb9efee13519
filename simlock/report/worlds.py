"""The run report over plausible worlds (`simlock run --posterior DIR`): the plausible range
beside the Monte Carlo interval, in words and tables, and the section saying which worlds ran.

A run over worlds answers with two intervals that mean different things, and the report keeps
them apart everywhere: the **plausible range** (5% to 95% over every world and replication: what
the answer may be, given what is unknown and the dice) and the **Monte Carlo interval** (95%
around the mean of the worlds' means: how precisely the simulations estimate it). The helpers
here format the first; the second is what every other part of the report already shows in
brackets. A run without worlds never reaches this module's output: each caller asks
`worlds_count` first and keeps its old text when it is 0.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from simlock.analysis.formatting import format_value
from simlock.analysis.results import Results
from simlock.analysis.worlds import PLAUSIBLE, has_worlds

from .document import Block, Code, Heading, Paragraph, Span, Table

PLAUSIBLE_LABEL = f"plausible range ({PLAUSIBLE[0]:.0%}–{PLAUSIBLE[1]:.0%} over worlds)"
"""How the report names the plausible range wherever it shows one."""
MONTE_CARLO_LABEL = "Monte Carlo 95% interval of the mean"
"""How the report names the interval in brackets when a run has worlds."""


def worlds_count(results: Results) -> int:
    """The number of plausible worlds the run simulated; 0 for an ordinary run."""
    if not has_worlds(results.replicates):
        return 0
    recorded = (results.manifest.get("worlds") or {}).get("count")
    if isinstance(recorded, int) and recorded > 0:
        return recorded
    return int(results.replicates["world"].nunique())


def format_range(low: float, high: float, unit: str, start: dt.date, signed: bool = False) -> str:
    """'30,100–42,800' (or '-1.2 to +0.4 days' for differences and negative bounds); a dash
    when the range is undefined."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "–"
    lo = format_value(low, unit, start, signed)
    hi = format_value(high, unit, start, signed)
    if lo == hi:
        return lo
    joiner = " to " if signed or low < 0 else "–"
    return f"{lo}{joiner}{hi}"


def plausible_text(row: pd.Series | None, unit: str, start: dt.date, signed: bool = False) -> str:
    """A summary or comparison row's plausible range, formatted; a dash without one."""
    if row is None or "plausible_low" not in row.index:
        return "–"
    return format_range(
        float(row["plausible_low"]), float(row["plausible_high"]), unit, start, signed
    )


def worlds_section(results: Results) -> list[Block]:
    """How many worlds ran, from which posterior, and the range of each calibrated input across
    the worlds drawn; nothing for an ordinary run."""
    count = worlds_count(results)
    if not count:
        return []
    info: dict[str, Any] = results.manifest.get("worlds") or {}
    per_world = info.get("replications_per_world")
    folder = info.get("posterior")
    source: list[Span] = (
        ["the calibration in ", Code(str(folder))] if folder else ["a calibration given in Python"]
    )
    text = ""
    if per_world:
        text += f", {per_world} replication(s) in each, on common random numbers across variants"
    text += (
        f". Each number is given with its {PLAUSIBLE_LABEL}: what the answer may be, given the "
        "inputs that are unknown and the dice together; and, in brackets, its "
        f"{MONTE_CARLO_LABEL} over the worlds' means: how precisely these simulations estimate "
        "it. More worlds narrow the second; only better observations narrow the first."
    )
    lead = (
        f"This run simulated every variant in {count} plausible worlds drawn (by weight, with "
        "the run's seed) from the posterior of "
    )
    blocks: list[Block] = [
        Heading("Plausible worlds", 2, "worlds"),
        Paragraph([lead, *source, text]),
    ]
    if info.get("calibration_hash"):
        blocks.append(Paragraph(["Calibration hash: ", Code(str(info["calibration_hash"]))]))
    table = inputs_table(info.get("draws") or [])
    if table is not None:
        blocks.append(table)
    return blocks


def inputs_table(draws: list[dict[str, Any]]) -> Table | None:
    """Per calibrated input (its field path): the smallest, 5%, median, 95% and largest value
    across the worlds drawn (for a choice, how often each value was drawn); None without
    draws."""
    frame = pd.DataFrame(draws)
    inputs = [c for c in frame.columns if c not in ("world", "particle")]
    if frame.empty or not inputs:
        return None
    rows = []
    for path in inputs:
        rows.append([Code(path), *_spread(frame[path])])
    return Table(
        columns=["input (field path)", "smallest", "5%", "median", "95%", "largest"],
        rows=rows,
        table_id="worlds-inputs",
        numeric=[False, True, True, True, True, True],
        row_attrs=[{"input": p} for p in inputs],
    )


def _spread(values: pd.Series) -> list[str]:
    """Five cells: quantiles of numbers or dates; for other values, each value with its count in
    the first cell."""
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.notna().all() and not values.map(lambda v: isinstance(v, bool)).any():
        qs = np.quantile(numbers.to_numpy(dtype=float), [0, PLAUSIBLE[0], 0.5, PLAUSIBLE[1], 1])
        return [_number(q) for q in qs]
    dates = pd.to_datetime(values, errors="coerce", format="ISO8601")
    if dates.notna().all():
        ordinals = dates.map(lambda d: d.toordinal()).to_numpy(dtype=float)
        qs = np.quantile(ordinals, [0, PLAUSIBLE[0], 0.5, PLAUSIBLE[1], 1], method="nearest")
        return [dt.date.fromordinal(int(q)).isoformat() for q in qs]
    counts = values.astype(str).value_counts()
    return ["; ".join(f"{k} ({v} worlds)" for k, v in counts.items()), "", "", "", ""]


def _number(value: float) -> str:
    """An input's value as briefly as it reads: thousands separators for large values, three
    significant digits for small ones."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


__all__ = [
    "MONTE_CARLO_LABEL",
    "PLAUSIBLE_LABEL",
    "format_range",
    "inputs_table",
    "plausible_text",
    "worlds_count",
    "worlds_section",
]

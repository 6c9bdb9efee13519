"""Parameter sweeps: make the points, run them, collect one tidy frame; Sobol sensitivity.

A scenario's `sweep:` section names parameters by their field path and a design:

- `grid`: every combination of the parameters' `values` (a parameter given as `low`/`high`
  contributes `samples` evenly spaced values);
- `lhs`: `samples` points of a Latin hypercube (scipy's, seeded by the scenario's seed);
- `sobol`: Saltelli's scheme over a Sobol sequence (SALib), `samples` base samples (a power of
  two), giving `samples * (parameters + 2)` points and first- and total-order Sobol indices.

Latin hypercube designs get first-order indices too, by RBD-FAST (SALib's `rbd_fast`, which
works on any given sample; at least 8 points, and its intervals are wide below a few hundred).
Indices are computed for every overall metric, or for the section's `metrics` (overall names such
as `users_affected`, or a region's or channel's: `region.CU.users_affected`,
`channel.traveller.collateral_locks`). The section's `variants` choose which variants every point
runs (the baseline always runs) and `scale` multiplies every activation rate, as in `simlock run`;
`run_sweep`'s arguments of the same names override them.

In `lhs` and `sobol` a parameter with `values` is a discrete choice among them (each equally
likely); one with `low`/`high` is uniform in between, rounded when the field is an integer.

**Field paths** are the scenario file's own field names joined by dots, with three ways into a
list: `[i]` a 0-based index (lists are in the scenario's order; windows are sorted by start), an
item's `id` or `name` written as a field (`regions.CU`, `policy.windows.surge`), and `[*]` every
item. Examples: `policy.coverage`, `policy.windows[1].coverage`, `policy.windows.surge.coverage`,
`regions.CU.activations[0].rate_per_day`, `regions.UA-43.signals.vpn_share`,
`regions.CU.activations[*].rate_per_day`, `variants.warn.warning.resolve_share`. A path must reach
an existing field: an optional part that is null (say `policy.warning`) must be given in the
scenario before its fields can be swept. Every point is validated like a scenario file; a variant
that overrides a swept policy field keeps its own value.

Make/run/collect, as Mesa's batch runner: `make_design` builds the points; each (point,
replication) is one task that simulates every variant on the same devices (common random numbers,
as in `simlock.run`, and the same seeds for every point, so points differ by their parameters
alone); each finished task is written at once to `parts/`, and the parts are consolidated into
`sweep.parquet`: one row per point, variant and replication, with the parameters and, wide, every
overall metric; `sweep_groups.parquet` holds the same by region and by channel (columns `group`,
`key`). An interrupted sweep continues with `resume=True`, rerunning nothing that finished.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simlock.analysis.metrics import METRICS, OVERALL_ONLY
from simlock.analysis.results import save_scenario
from simlock.errors import OutputError, Problem, ScenarioError, SimlockError
from simlock.model import behaviours
from simlock.model.behaviours import Behaviour
from simlock.scenario import fieldpaths
from simlock.scenario.loader import load_file, load_scenario, with_values
from simlock.scenario.models import BASELINE, Policy, Scenario, Sweep
from simlock.scenario.sweep_names import MetricName
from simlock.scenario.yamlio import LineMap

from .executors import Executor, make_executor
from .extras import require
from .manifest import common, write_manifest
from .options import checked_replications, checked_workers
from .outputs import resumed_manifest, write_atomic
from .runner import Task, run_task

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SWEEP_FILE = "sweep.parquet"
SCENARIO_FILE = "scenario.yaml"
GROUPS_FILE = "sweep_groups.parquet"
PARTS_DIR = "parts"
MANIFEST_FILE = "sweep.json"
POINTS_FILE = "points.csv"
SENSITIVITY_FILE = "sensitivity.csv"
SENSITIVITY_FIGURE = "sensitivity.png"
KEY_COLUMNS = ("point", "variant", "replication")
GROUP_COLUMNS = ("group", "key")
"""Where a row of `sweep_groups.parquet` belongs: `group` region or channel, `key` its id."""
KEY_METRICS = ("users_affected", "collateral_locks", "lock_days", "peak_locked")
"""Metrics shown in the sensitivity figure when the sweep names none (all overall metrics are in
`sensitivity.csv`)."""
METHODS = {"sobol": "Sobol", "lhs": "RBD-FAST"}
"""The sensitivity method of each design that has one (a grid has none)."""
MIN_RBD_POINTS = 8
"""RBD-FAST needs this many points: its bootstrap halves the sample, which must exceed twice the
harmonics summed (`_harmonics`)."""

_PART = re.compile(r"^point-(\d+)-rep-(\d+)\.parquet$")
_OKABE_ITO = ("#0072B2", "#E69F00")


@dataclass(frozen=True)
class Design:
    """The points of a sweep: `points` holds one row per point (index `point`) and one column per
    parameter path, with the values applied; `unit` is the sample in the unit cube (Sobol)."""

    design: str
    points: pd.DataFrame
    scenarios: tuple[Scenario, ...]
    unit: np.ndarray | None = None

    @property
    def parameters(self) -> list[str]:
        return list(self.points.columns)


@dataclass(frozen=True)
class PointTask:
    """One replication of one sweep point under every variant: the unit of work of a sweep."""

    scenario: Scenario
    point: int
    replication: int
    variants: tuple[str, ...]
    labels: tuple[tuple[str, Any], ...]
    policies: Mapping[str, Policy] | None = None
    """The point's resolved policies, shared by its replications (resolved once per point)."""
    scale: float = 1.0
    """Multiplies every activation rate (the sweep's `scale`)."""
    behaviours: Mapping[str, Behaviour] | None = None
    """The behaviours after a lock those policies name, from the registry of the process that
    made the task (so a worker runs behaviours registered there)."""


@dataclass(frozen=True)
class SweepProgress:
    """Where a sweep stands; `resumed` tasks were found finished on disk and not rerun."""

    tasks_done: int
    tasks_total: int
    points_done: int
    points_total: int
    resumed: int


def run_sweep(
    scenario: Scenario | str | Path,
    out_dir: str | Path,
    *,
    resume: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    replications: int | None = None,
    scale: float | None = None,
    variants: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
    executor: Executor | None = None,
) -> pd.DataFrame:
    """Run a scenario's sweep into `out_dir` and return the tidy frame (also `sweep.parquet`;
    region and channel metrics are in `sweep_groups.parquet`, see `load_sweep`).

    `replications`, `scale`, `variants` (the baseline always runs) and `metrics` (whose
    sensitivity is measured) override the sweep section's; `workers`/`scheduler` choose the
    executor as `simlock.executors.make_executor` does (or pass `executor`). `progress` is called
    once before the first task and after each one. For Sobol and Latin hypercube designs
    `sensitivity.csv` and `sensitivity.png` are written too. Raises `ScenarioError` for a bad
    sweep (an unknown variant or metric among them) and `OutputError` for a folder that holds
    something else.
    """
    loaded, file, lines = _load(scenario)
    return run_loaded_sweep(
        loaded,
        out_dir,
        file=file,
        lines=lines,
        resume=resume,
        workers=workers,
        scheduler=scheduler,
        replications=replications,
        scale=scale,
        variants=variants,
        metrics=metrics,
        progress=progress,
        executor=executor,
    )


def run_loaded_sweep(
    scenario: Scenario,
    out_dir: str | Path,
    *,
    file: str | None = None,
    lines: LineMap | None = None,
    resume: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    replications: int | None = None,
    scale: float | None = None,
    variants: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    progress: Callable[[SweepProgress], None] | None = None,
    executor: Executor | None = None,
) -> pd.DataFrame:
    """`run_sweep` of a scenario already loaded from `file`, whose `lines` (field path -> line)
    place the sweep's own problems: the command loads its file once for every use."""
    started = time.perf_counter()
    scenario = with_sweep_options(scenario, scale=scale, variants=variants, metrics=metrics)
    sweep = _sweep_of(scenario, file)
    if replications is not None:
        checked_replications(replications)
    checked_workers(workers)
    count = replications or sweep.replications or scenario.replications
    design = make_design(scenario, file=file, lines=lines)
    names = sweep_variants(scenario)
    out = Path(out_dir)
    # What the sweep measures is not what it simulates: other metrics resume the same sweep.
    simulated = sweep.model_copy(update={"metrics": None})
    manifest = _manifest(scenario.model_copy(update={"sweep": simulated}), design, count)
    manifest.update(variants=list(names), scale=sweep.scale)
    runner = executor or make_executor(workers, scheduler)
    with runner:  # connect to a cluster before anything is written
        done = _prepare_folder(out, manifest, resume)
        write_atomic(out / POINTS_FILE, design.points.to_csv)
        write_atomic(out / SCENARIO_FILE, lambda path: save_scenario(scenario, path))
        tasks = make_tasks(design, count, names, scale=sweep.scale)
        todo = [t for t in tasks if (t.point, t.replication) not in done]
        tracker = _Tracker(len(design.points), count, done, len(tasks), progress)
        for rows in runner.map(run_point, todo):
            point, replication = int(rows["point"].iat[0]), int(rows["replication"].iat[0])
            write_atomic(out / PARTS_DIR / _part_name(point, replication), rows.to_parquet)
            tracker.finished(point)
    frame, groups = _split(_collect_parts(out, design, count, names))
    write_atomic(out / SWEEP_FILE, lambda path: frame.to_parquet(path, index=False))
    write_atomic(out / GROUPS_FILE, lambda path: groups.to_parquet(path, index=False))
    # A Latin hypercube runs without SALib; only its indices need it.
    if design.design in METHODS and (design.design == "sobol" or _has_salib()):
        indices = sensitivity_indices(
            frame, design, groups=groups, metrics=sweep.metrics, seed=scenario.seed
        )
        write_atomic(out / SENSITIVITY_FILE, lambda path: indices.to_csv(path, index=False))
        figure = plot_sensitivity(
            indices, metrics=sweep.metrics, samples=sweep.samples, replications=count
        )
        write_atomic(out / SENSITIVITY_FIGURE, lambda path: figure.savefig(path, dpi=120))
    manifest.update(
        executor=runner.name,
        workers=runner.workers,
        tasks_run=len(todo),
        tasks_resumed=len(tasks) - len(todo),
        wall_seconds=time.perf_counter() - started,
        complete=True,
    )
    write_manifest(out / MANIFEST_FILE, manifest)
    return frame


def make_design(
    scenario: Scenario, *, file: str | None = None, lines: dict[Any, int] | None = None
) -> Design:
    """The sweep's points, each applied to the scenario and validated (before anything runs)."""
    sweep = _sweep_of(scenario, file)
    base = scenario.model_dump(by_alias=True, exclude={"sweep"})
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, parameter in enumerate(sweep.parameters):
        if parameter.path in seen:
            problems.append(
                Problem(
                    f"{parameter.path!r} is swept twice; give each path once",
                    path=f"sweep.parameters[{i}].path",
                    file=file,
                    line=(lines or {}).get(("sweep", "parameters", i, "path")),
                )
            )
        seen.add(parameter.path)
        try:
            fieldpaths.assign(base, fieldpaths.tokens(parameter.path), None, dry_run=True)
        except fieldpaths.PathError as exc:
            problems.append(fieldpaths.path_problem(exc, i, parameter.path, file, lines or {}))
    if problems:
        raise ScenarioError(problems)
    raw_points, unit = _raw_points(sweep, scenario.seed, file)
    scenarios: list[Scenario] = []
    applied_rows: list[dict[str, Any]] = []
    for point, values in enumerate(raw_points):
        wanted = {p.path: v for p, v in zip(sweep.parameters, values, strict=True)}
        try:
            point_scenario, applied = with_values(base, wanted, keep_uncertain=True)
            scenarios.append(point_scenario)
        except ScenarioError as exc:
            where = ", ".join(f"{k}={_label(v)}" for k, v in wanted.items())
            raise ScenarioError(
                [
                    replace(p, message=f"sweep point {point} ({where}): {p.message}", file=file)
                    for p in exc.problems
                ]
            ) from None
        applied_rows.append({k: _label(v) for k, v in applied.items()})
    points = pd.DataFrame(applied_rows, columns=[p.path for p in sweep.parameters])
    points = points.apply(_tidy_column)
    points.index = pd.RangeIndex(len(points), name="point")
    return Design(sweep.design, points, tuple(scenarios), unit)


def with_sweep_options(
    scenario: Scenario,
    *,
    scale: float | None = None,
    variants: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
) -> Scenario:
    """The scenario with its sweep section's scale, variants and metrics replaced by those given
    (from Python or the command line), validated like the file: an unknown variant is a
    `ScenarioError` at `sweep.variants[i]`."""
    updates = {
        name: list(value) if name != "scale" else value
        for name, value in (("scale", scale), ("variants", variants), ("metrics", metrics))
        if value is not None
    }
    if not updates or scenario.sweep is None:
        return scenario
    doc = scenario.model_dump(by_alias=True)
    doc["sweep"] = {**doc["sweep"], **updates}
    return load_scenario(doc)


def sweep_variants(scenario: Scenario) -> tuple[str, ...]:
    """The variants every point of the sweep runs: the baseline, then the section's `variants`
    in scenario order (all of the scenario's when it names none)."""
    wanted = scenario.sweep.variants if scenario.sweep is not None else None
    if wanted is None:
        return tuple(scenario.variant_names)
    return tuple(v for v in scenario.variant_names if v == BASELINE or v in wanted)


def make_tasks(
    design: Design, replications: int, variants: tuple[str, ...], *, scale: float = 1.0
) -> list[PointTask]:
    """One task per (point, replication), points first: early points finish first."""
    records = design.points.to_dict(orient="records")
    tasks = []
    for point, scenario in enumerate(design.scenarios):
        policies = scenario.policies(list(variants))
        chosen = behaviours.resolve({name: policies[name] for name in variants})
        labels = tuple(records[point].items())
        tasks.extend(
            PointTask(scenario, point, replication, variants, labels, policies, scale, chosen)
            for replication in range(replications)
        )
    return tasks


def run_point(task: PointTask) -> pd.DataFrame:
    """Simulate one (point, replication) and return its metrics, one row per variant and group
    (`group` all, region or channel; `key` the region's id or channel's name, `all` overall).

    Top-level and pure, so any executor can run it; it ships back only summary-level rows.
    """
    result = run_task(
        Task(
            task.scenario,
            task.replication,
            task.variants,
            scale=task.scale,
            policies=task.policies,
            behaviours=task.behaviours,
        )
    )
    replicates = result.replicates
    index = ["variant", *GROUP_COLUMNS]
    wide = replicates.set_index([*index, "metric"])["value"].unstack("metric")
    metric_order = [m for m in METRICS if m in wide.columns]
    # Variants in the task's order; within one, overall first, then regions, then channels, as
    # `replicate_metrics` lists them.
    order = {variant: i for i, variant in enumerate(task.variants)}
    present = replicates[index].drop_duplicates()
    present = present.sort_values("variant", key=lambda c: c.map(order), kind="stable")
    wide = wide.reindex(index=pd.MultiIndex.from_frame(present), columns=metric_order).astype(
        "float64"
    )
    places = wide.index.to_frame(index=False)
    rows = pd.DataFrame(
        {
            "point": np.full(len(wide), task.point, dtype=np.int64),
            "variant": pd.array(places["variant"], dtype="str"),
            "replication": np.full(len(wide), task.replication, dtype=np.int64),
            "group": pd.array(places["group"], dtype="str"),
            "key": pd.array(places["key"], dtype="str"),
        }
    )
    for path, value in task.labels:
        rows[path] = value
    for metric in metric_order:
        rows[metric] = wide[metric].to_numpy()
    return rows


def collect(
    out_dir: str | Path, design: Design, replications: int, variants: Sequence[str]
) -> pd.DataFrame:
    """Consolidate the finished parts of a sweep into one frame of overall metrics sorted by
    point, variant order and replication (`sweep.parquet`)."""
    return _split(_collect_parts(out_dir, design, replications, variants))[0]


def _collect_parts(
    out_dir: str | Path, design: Design, replications: int, variants: Sequence[str]
) -> pd.DataFrame:
    """Every row of the finished parts, sorted by point, variant order, replication, then as
    each part lists its groups."""
    folder = Path(out_dir) / PARTS_DIR
    paths = [
        folder / _part_name(p, r) for p in range(len(design.points)) for r in range(replications)
    ]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        raise OutputError(f"{folder}: {len(missing)} part(s) missing, e.g. {missing[0]}")
    frame = pd.concat([_read_part(p) for p in paths], ignore_index=True)
    order = {name: i for i, name in enumerate(variants)}
    frame = frame.sort_values(
        list(KEY_COLUMNS),
        key=lambda col: col.map(order) if col.name == "variant" else col,
        kind="stable",
    )
    return frame.reset_index(drop=True)


def _read_part(path: Path) -> pd.DataFrame:
    """A part file; one written before parts kept regions and channels holds overall rows."""
    part = pd.read_parquet(path)
    if "group" not in part.columns:
        part.insert(3, "group", pd.array(["all"] * len(part), dtype="str"))
        part.insert(4, "key", pd.array(["all"] * len(part), dtype="str"))
    return part


def _split(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(overall rows without `group` and `key`, region and channel rows without the metrics
    that exist overall only)."""
    overall = rows["group"] == "all"
    frame = rows[overall].drop(columns=list(GROUP_COLUMNS)).reset_index(drop=True)
    groups = rows[~overall].drop(columns=[m for m in OVERALL_ONLY if m in rows.columns])
    return frame, groups.reset_index(drop=True)


def sensitivity_indices(
    frame: pd.DataFrame,
    design: Design,
    *,
    groups: pd.DataFrame | None = None,
    metrics: Sequence[str] | None = None,
    seed: int = 0,
    resamples: int = 200,
) -> pd.DataFrame:
    """Sensitivity indices with 95% intervals per variant and metric, by the design's method:
    first- and total-order Sobol indices for `sobol`, first-order RBD-FAST indices for `lhs`.

    `metrics` names the metrics (`MetricName`: region and channel metrics need `groups`, the
    rows of `sweep_groups.parquet`); by default every overall metric in `frame`. Each point's
    metric is averaged over replications first. Metrics that do not vary, or are undefined at
    some point (a median of no locks), have no indices and are left out. Returns a long frame:
    variant, metric, parameter, method, order (first/total), index, ci_low, ci_high.
    """
    if design.design not in METHODS:
        raise SimlockError(
            "sensitivity indices need a sweep with design: sobol or lhs (a grid has none)"
        )
    names = (
        [MetricName.parse(m) for m in metrics]
        if metrics is not None
        else [MetricName.parse(m) for m in METRICS if m in frame.columns]
    )
    analyse = (
        _rbd_fast_analysis(design, seed, resamples)
        if design.design == "lhs"
        else _sobol_analysis(design, seed, resamples)
    )
    rows: list[tuple[Any, ...]] = []
    variants = list(dict.fromkeys(frame["variant"]))
    for name in names:
        means = _point_means(frame, groups, name)
        if means is None:
            continue
        for variant in variants:
            if variant not in means.index.get_level_values("variant"):
                continue
            y = means.loc[variant].reindex(range(len(design.points))).to_numpy(dtype=float)
            if not np.isfinite(y).all() or np.ptp(y) == 0:
                continue
            for parameter, order, value, half in analyse(y):
                rows.append(
                    (
                        variant,
                        str(name),
                        parameter,
                        METHODS[design.design],
                        order,
                        value,
                        value - half,
                        value + half,
                    )
                )
    return pd.DataFrame(
        rows,
        columns=[
            "variant",
            "metric",
            "parameter",
            "method",
            "order",
            "index",
            "ci_low",
            "ci_high",
        ],
    )


def sobol_indices(
    frame: pd.DataFrame, design: Design, *, seed: int = 0, resamples: int = 200
) -> pd.DataFrame:
    """First- and total-order Sobol indices of every overall metric (`sensitivity_indices` of a
    Sobol design)."""
    if design.design != "sobol":
        raise SimlockError("Sobol indices need a sweep with design: sobol")
    return sensitivity_indices(frame, design, seed=seed, resamples=resamples)


NOISY_INTERVAL = 0.5
"""A sensitivity index whose 95% interval is wider than this says little about the parameter."""

OUT_OF_RANGE = 0.05
"""How far outside [0, 1] an index estimate may fall before the sample is called too small (an
estimator's noise puts an index of a parameter that does nothing slightly below 0)."""


def noisy_indices_warning(indices: pd.DataFrame, samples: int) -> str | None:
    """What to tell a reader of indices that a small sample left unreliable: estimates outside
    [0, 1] (a share of variance cannot be) or 95% intervals wider than `NOISY_INTERVAL`. None
    when every index is usable. `samples` is the design's `samples` (base samples for Sobol)."""
    if indices.empty:
        return None
    value = indices["index"].to_numpy(dtype=float)
    width = (indices["ci_high"] - indices["ci_low"]).to_numpy(dtype=float)
    outside = (value < -OUT_OF_RANGE) | (value > 1 + OUT_OF_RANGE)
    wide = width > NOISY_INTERVAL
    if not (outside.any() or wide.any()):
        return None
    said = []
    if outside.any():
        said.append(f"{int(outside.sum())} outside [0, 1]")
    if wide.any():
        said.append(f"{int(wide.sum())} with a 95% interval wider than {NOISY_INTERVAL:g}")
    suggestion = 1 << max(int(samples - 1).bit_length() + 2, 6)
    return (
        f"of {len(indices)} sensitivity indices, {' and '.join(said)}: {samples} samples are too "
        f"few for them to mean much; raise sweep.samples (say to {suggestion})"
    )


_Analysis = Callable[[np.ndarray], list[tuple[str, str, float, float]]]
"""Per-point means of a metric -> (parameter, order, index, half width of its 95% interval)."""


def _sobol_analysis(design: Design, seed: int, resamples: int) -> _Analysis:
    def analyse(y: np.ndarray) -> list[tuple[str, str, float, float]]:
        result = _salib("analyze", "sobol").analyze(
            _problem(design.parameters),
            y,
            calc_second_order=False,
            num_resamples=resamples,
            seed=seed,
        )
        return [
            (parameter, order, float(result[key][j]), float(result[f"{key}_conf"][j]))
            for j, parameter in enumerate(design.parameters)
            for order, key in (("first", "S1"), ("total", "ST"))
        ]

    return analyse


def _rbd_fast_analysis(design: Design, seed: int, resamples: int) -> _Analysis:
    """RBD-FAST on the Latin hypercube's own points (its unit-cube sample: the index depends on
    the order of a parameter's values only, and a discrete choice keeps the order of its draws)."""
    points = len(design.points)
    if design.unit is None or points < MIN_RBD_POINTS:
        return lambda y: []

    def analyse(y: np.ndarray) -> list[tuple[str, str, float, float]]:
        # A bootstrap resample of a metric that is mostly constant can have no variance: its
        # interval is then undefined (NaN), not an error.
        with np.errstate(invalid="ignore", divide="ignore"):
            result = _salib("analyze", "rbd_fast").analyze(
                _problem(design.parameters),
                design.unit,
                y,
                M=_harmonics(points),
                num_resamples=resamples,
                seed=seed,
            )
        return [
            (parameter, "first", float(result["S1"][j]), float(result["S1_conf"][j]))
            for j, parameter in enumerate(design.parameters)
        ]

    return analyse


def _harmonics(points: int) -> int:
    """RBD-FAST's interference parameter M (SALib's default 10, fewer for small samples): the
    bootstrap resamples half the points, and the bias correction needs 2M below that."""
    return max(1, min(10, (points // 2 - 1) // 2))


def _point_means(
    frame: pd.DataFrame, groups: pd.DataFrame | None, name: MetricName
) -> pd.Series | None:
    """The metric's mean over replications per (variant, point), or None where it is absent."""
    if name.group == "all":
        rows = frame
    else:
        if groups is None or groups.empty:
            return None
        rows = groups[(groups["group"] == name.group) & (groups["key"] == name.key)]
    if name.metric not in rows.columns or rows.empty:
        return None
    return rows.groupby(["variant", "point"], sort=False)[name.metric].mean()


def plot_sensitivity(
    indices: pd.DataFrame,
    *,
    variant: str | None = None,
    metrics: Sequence[str] | None = None,
    samples: int | None = None,
    replications: int | None = None,
) -> Figure:
    """Bars of first- (and, for Sobol, total-) order indices with their 95% intervals, one panel
    per metric (`metrics`, or `KEY_METRICS`)."""
    from matplotlib.figure import Figure

    variant = variant or (str(indices["variant"].iat[0]) if len(indices) else "baseline")
    part = indices[indices["variant"] == variant]
    method = str(part["method"].iat[0]) if "method" in part.columns and len(part) else "Sobol"
    orders = [
        (order, label)
        for order, label in (("first", "first order"), ("total", "total order"))
        if order in set(part["order"])
    ] or [("first", "first order")]
    available = list(dict.fromkeys(part["metric"]))
    shown = [m for m in (metrics or KEY_METRICS) if m in available] or available[:4]
    parameters = list(dict.fromkeys(part["parameter"]))
    panels = max(1, len(shown))
    columns = min(2, panels)
    rows = math.ceil(panels / columns)
    height = 1.0 + rows * (0.9 + 0.45 * max(1, len(parameters)))
    figure = Figure(figsize=(6.2 * columns, height), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    y = np.arange(len(parameters))
    for ax, metric in zip(axes, shown, strict=False):
        data = part[part["metric"] == metric]
        height = 0.76 / len(orders)
        for k, (order, label) in enumerate(orders):
            values = data[data["order"] == order].set_index("parameter").reindex(parameters)
            err = np.vstack(
                [values["index"] - values["ci_low"], values["ci_high"] - values["index"]]
            )
            ax.barh(
                y + (k - (len(orders) - 1) / 2) * height,
                values["index"],
                height=height,
                xerr=err,
                color=_OKABE_ITO[k],
                ecolor="#333333",
                capsize=3,
                label=f"{label} (95% interval)",
            )
        ax.set_yticks(y, parameters)
        ax.invert_yaxis()
        ax.axvline(0, color="#999999", linewidth=0.8)
        ax.set_xlabel(f"{method} index (share of the metric's variance)")
        title = f"{metric.replace('_', ' ')}: {MetricName.parse(metric).describe()}"
        ax.set_title(textwrap.fill(title, 60), fontsize=9)
    for ax in axes[len(shown) :]:
        ax.set_visible(False)
    detail = []
    if samples:
        detail.append(f"{samples} {'base samples' if method == 'Sobol' else 'points'}")
    if replications:
        detail.append(f"{replications} replication(s) per point")
    suffix = f" ({', '.join(detail)})" if detail else ""
    figure.suptitle(f"What drives each metric: {method} indices, variant {variant}{suffix}")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=len(orders), fontsize=9)
    return figure


def load_sweep(out_dir: str | Path, group: str = "all") -> pd.DataFrame:
    """The consolidated frame of a finished sweep folder: overall metrics (`group="all"`), or
    the rows of every region (`"region"`), channel (`"channel"`) or cohort (`"cohort"`), with
    their `key`."""
    if group not in ("all", "region", "channel", "cohort"):
        raise ValueError(f"group must be all, region, channel or cohort, not {group!r}")
    path = Path(out_dir) / (SWEEP_FILE if group == "all" else GROUPS_FILE)
    if not path.exists():
        raise OutputError(f"{path}: no consolidated sweep here (finish it with --resume)")
    frame = pd.read_parquet(path)
    if group == "all":
        return frame
    return frame[frame["group"] == group].reset_index(drop=True)


# -- design ----------------------------------------------------------------------------------


def _raw_points(
    sweep: Sweep, seed: int, file: str | None
) -> tuple[list[list[Any]], np.ndarray | None]:
    """Parameter values per point (before application) and, for lhs and sobol, the unit-cube
    sample they were mapped from."""
    parameters = sweep.parameters
    if sweep.design == "grid":
        axes = [
            list(p.values) if p.values is not None else _linspace(p.low, p.high, sweep.samples)
            for p in parameters
        ]
        grid = np.array(np.meshgrid(*[np.arange(len(a)) for a in axes], indexing="ij"))
        index = grid.reshape(len(axes), -1).T
        return [[axes[j][i] for j, i in enumerate(row)] for row in index], None
    if sweep.design == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(parameters), rng=seed).random(sweep.samples)
    else:
        sobol = _salib("sample")
        if sweep.samples & (sweep.samples - 1):
            raise ScenarioError(
                [
                    Problem(
                        f"a Sobol design needs a power of two base samples, got {sweep.samples}",
                        path="sweep.samples",
                        file=file,
                        allowed="8, 16, 32, 64, 128, ...",
                    )
                ]
            )
        problem = _problem([p.path for p in parameters])
        unit = sobol.sample(problem, sweep.samples, calc_second_order=False, seed=seed)
    points = [
        [
            _from_unit(p.values, p.low, p.high, float(u))
            for p, u in zip(parameters, row, strict=True)
        ]
        for row in unit
    ]
    return points, unit


def _salib(part: str, method: str = "sobol") -> Any:
    """SALib's module of a method for sampling or analysis, or a message saying how to install
    it."""
    return require(f"SALib.{part}.{method}", "sensitivity", "Sobol designs and sensitivity indices")


def _has_salib() -> bool:
    import importlib.util

    return importlib.util.find_spec("SALib") is not None


def _problem(names: Sequence[str]) -> dict[str, Any]:
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def _linspace(low: float | None, high: float | None, count: int) -> list[float]:
    return [float(v) for v in np.linspace(float(low or 0.0), float(high or 0.0), count)]


def _from_unit(values: list[Any] | None, low: float | None, high: float | None, u: float) -> Any:
    """A point of the unit interval as a parameter value: a discrete choice, or low..high."""
    if values is not None:
        return values[min(int(u * len(values)), len(values) - 1)]
    return float(low) + u * (float(high) - float(low))  # type: ignore[arg-type]


def _label(value: Any) -> Any:
    """A value as it goes into a frame column: numbers and text as they are, the rest as text."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    return json.dumps(value, default=str, sort_keys=True)


def _tidy_column(column: pd.Series) -> pd.Series:
    """Numbers become float64 (so every part file has one schema), anything else text."""
    if column.map(lambda v: isinstance(v, bool)).all():
        return column.astype(bool)
    if column.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool)).all():
        return column.astype("float64")
    return column.map(str).astype("str")


# -- folder, parts and progress ----------------------------------------------------------------


def _load(source: Scenario | str | Path) -> tuple[Scenario, str | None, LineMap]:
    if isinstance(source, Scenario):
        return source, None, {}
    path = Path(source)
    scenario, lines = load_file(path)
    return scenario, str(path), lines


def _sweep_of(scenario: Scenario, file: str | None) -> Sweep:
    if scenario.sweep is None:
        raise ScenarioError(
            [
                Problem(
                    "this scenario declares no sweep",
                    path="sweep",
                    file=file,
                    allowed="a sweep: section with design (grid, lhs, sobol), samples, parameters",
                )
            ]
        )
    return scenario.sweep


def _manifest(scenario: Scenario, design: Design, replications: int) -> dict[str, Any]:
    """The sweep's manifest: what every manifest records (`manifest.common`), the design, and
    `sweep_hash`, the identity a resumed sweep must match (the scenario's content and seed, not
    its replication count: resuming with more replications keeps the finished ones)."""
    from simlock.analysis.results import scenario_document

    doc = scenario_document(scenario)
    doc.pop("replications", None)
    doc.get("sweep", {}).pop("replications", None)
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    return {
        **common(scenario, replications),
        "sweep_hash": hashlib.sha256(text.encode()).hexdigest()[:16],
        "design": design.design,
        "parameters": design.parameters,
        "points": len(design.points),
        "variants": list(scenario.variant_names),
        "rerun": ["simlock", "sweep", SCENARIO_FILE, "--replications", str(replications)],
        "complete": False,
    }


def _prepare_folder(out: Path, manifest: dict[str, Any], resume: bool) -> set[tuple[int, int]]:
    """Create or check the sweep folder; return the (point, replication) tasks already done.

    The replication count is not part of the identity of a sweep: resuming with more
    replications keeps the ones that finished."""
    resumed_manifest(
        out,
        manifest,
        file=MANIFEST_FILE,
        hash_key="sweep_hash",
        what="sweep",
        other="a different scenario or design",
        resume=resume,
    )
    parts = out / PARTS_DIR
    try:
        parts.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot write here ({exc.strerror})") from None
    for folder in (out, parts):  # left by a sweep killed outright (SIGKILL, power cut)
        for stale in folder.glob(".*.partial*"):
            stale.unlink()
    write_manifest(out / MANIFEST_FILE, manifest)
    return {
        (point, replication)
        for point, replication in finished_tasks(out)
        if point < manifest["points"] and replication < manifest["replications"]
    }


def finished_tasks(out_dir: str | Path) -> set[tuple[int, int]]:
    """The (point, replication) tasks whose part is in a sweep folder. A part is written under a
    temporary name and renamed when complete, so every part found is a finished task."""
    parts = Path(out_dir) / PARTS_DIR
    if not parts.is_dir():
        return set()
    found = (_PART.match(part.name) for part in parts.iterdir())
    return {(int(match[1]), int(match[2])) for match in found if match}


def _part_name(point: int, replication: int) -> str:
    return f"point-{point:06d}-rep-{replication:05d}.parquet"


class _Tracker:
    """Counts finished tasks and whole points, and reports them to the progress callback."""

    def __init__(
        self,
        points: int,
        replications: int,
        done: set[tuple[int, int]],
        total: int,
        callback: Callable[[SweepProgress], None] | None,
    ) -> None:
        self.replications = replications
        self.points = points
        self.per_point = np.zeros(points, dtype=np.int64)
        for point, _ in done:
            self.per_point[point] += 1
        self.done = len(done)
        self.resumed = len(done)
        self.total = total
        self.callback = callback
        self._report()

    def finished(self, point: int) -> None:
        self.per_point[point] += 1
        self.done += 1
        self._report()

    def _report(self) -> None:
        if self.callback is not None:
            self.callback(
                SweepProgress(
                    tasks_done=self.done,
                    tasks_total=self.total,
                    points_done=int((self.per_point >= self.replications).sum()),
                    points_total=self.points,
                    resumed=self.resumed,
                )
            )


__all__ = [
    "Design",
    "MetricName",
    "PointTask",
    "SweepProgress",
    "collect",
    "finished_tasks",
    "load_sweep",
    "make_design",
    "make_tasks",
    "plot_sensitivity",
    "run_point",
    "run_sweep",
    "sensitivity_indices",
    "sobol_indices",
    "sweep_variants",
    "with_sweep_options",
]

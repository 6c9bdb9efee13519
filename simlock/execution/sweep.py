"""Parameter sweeps: make the points, run them, collect one tidy frame; Sobol sensitivity.

A scenario's `sweep:` section names parameters by their field path and a design:

- `grid`: every combination of the parameters' `values` (a parameter given as `low`/`high`
  contributes `samples` evenly spaced values);
- `lhs`: `samples` points of a Latin hypercube (scipy's, seeded by the scenario's seed);
- `sobol`: Saltelli's scheme over a Sobol sequence (SALib), `samples` base samples (a power of
  two), giving `samples * (parameters + 2)` points and first- and total-order indices.

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
overall metric. An interrupted sweep continues with `resume=True`, rerunning nothing that finished.
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

from simlock.analysis.metrics import METRICS
from simlock.analysis.results import save_scenario
from simlock.errors import OutputError, Problem, ScenarioError, SimlockError
from simlock.scenario import fieldpaths
from simlock.scenario.loader import load_file, with_values
from simlock.scenario.models import Policy, Scenario, Sweep
from simlock.scenario.yamlio import LineMap

from .executors import Executor, make_executor
from .manifest import common, write_manifest
from .outputs import write_atomic
from .runner import Task, run_task

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SWEEP_FILE = "sweep.parquet"
SCENARIO_FILE = "scenario.yaml"
PARTS_DIR = "parts"
MANIFEST_FILE = "sweep.json"
POINTS_FILE = "points.csv"
SENSITIVITY_FILE = "sensitivity.csv"
SENSITIVITY_FIGURE = "sensitivity.png"
KEY_COLUMNS = ("point", "variant", "replication")
KEY_METRICS = ("users_affected", "collateral_locks", "lock_days", "peak_locked")
"""Metrics shown in the sensitivity figure (all metrics are in `sensitivity.csv`)."""

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
    progress: Callable[[SweepProgress], None] | None = None,
    executor: Executor | None = None,
) -> pd.DataFrame:
    """Run a scenario's sweep into `out_dir` and return the tidy frame (also `sweep.parquet`).

    `replications` overrides the sweep's and the scenario's; `workers`/`scheduler` choose the
    executor as `simlock.executors.make_executor` does (or pass `executor`). `progress` is called
    once before the first task and after each one. For Sobol designs `sensitivity.csv` and
    `sensitivity.png` are written too. Raises `ScenarioError` for a bad sweep and `OutputError`
    for a folder that holds something else.
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
    progress: Callable[[SweepProgress], None] | None = None,
    executor: Executor | None = None,
) -> pd.DataFrame:
    """`run_sweep` of a scenario already loaded from `file`, whose `lines` (field path -> line)
    place the sweep's own problems: the command loads its file once for every use."""
    started = time.perf_counter()
    sweep = _sweep_of(scenario, file)
    if replications is not None and replications < 1:
        raise SimlockError(f"replications must be at least 1, got {replications}")
    count = replications or sweep.replications or scenario.replications
    design = make_design(scenario, file=file, lines=lines)
    out = Path(out_dir)
    manifest = _manifest(scenario, design, count)
    runner = executor or make_executor(workers, scheduler)
    with runner:  # connect to a cluster before anything is written
        done = _prepare_folder(out, manifest, resume)
        write_atomic(out / POINTS_FILE, design.points.to_csv)
        write_atomic(out / SCENARIO_FILE, lambda path: save_scenario(scenario, path))
        tasks = make_tasks(design, count, tuple(scenario.variant_names))
        todo = [t for t in tasks if (t.point, t.replication) not in done]
        tracker = _Tracker(len(design.points), count, done, len(tasks), progress)
        for rows in runner.map(run_point, todo):
            point, replication = int(rows["point"].iat[0]), int(rows["replication"].iat[0])
            write_atomic(out / PARTS_DIR / _part_name(point, replication), rows.to_parquet)
            tracker.finished(point)
    frame = collect(out, design, count, tuple(scenario.variant_names))
    write_atomic(out / SWEEP_FILE, lambda path: frame.to_parquet(path, index=False))
    if design.design == "sobol":
        indices = sobol_indices(frame, design, seed=scenario.seed)
        write_atomic(out / SENSITIVITY_FILE, lambda path: indices.to_csv(path, index=False))
        figure = plot_sensitivity(indices, samples=sweep.samples, replications=count)
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
    problems = []
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


def make_tasks(design: Design, replications: int, variants: tuple[str, ...]) -> list[PointTask]:
    """One task per (point, replication), points first: early points finish first."""
    records = design.points.to_dict(orient="records")
    tasks = []
    for point, scenario in enumerate(design.scenarios):
        policies = scenario.policies()
        labels = tuple(records[point].items())
        tasks.extend(
            PointTask(scenario, point, replication, variants, labels, policies)
            for replication in range(replications)
        )
    return tasks


def run_point(task: PointTask) -> pd.DataFrame:
    """Simulate one (point, replication) and return its overall metrics, one row per variant.

    Top-level and pure, so any executor can run it; it ships back only summary-level rows.
    """
    result = run_task(Task(task.scenario, task.replication, task.variants, policies=task.policies))
    overall = result.replicates[result.replicates["group"] == "all"]
    wide = overall.pivot(index="variant", columns="metric", values="value")
    metric_order = [m for m in METRICS if m in wide.columns]
    wide = wide.reindex(index=list(task.variants), columns=metric_order).astype("float64")
    rows = pd.DataFrame(
        {
            "point": np.full(len(wide), task.point, dtype=np.int64),
            "variant": pd.array(task.variants, dtype="str"),
            "replication": np.full(len(wide), task.replication, dtype=np.int64),
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
    """Consolidate the finished parts of a sweep into one frame sorted by point, variant order
    and replication."""
    folder = Path(out_dir) / PARTS_DIR
    paths = [
        folder / _part_name(p, r) for p in range(len(design.points)) for r in range(replications)
    ]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        raise OutputError(f"{folder}: {len(missing)} part(s) missing, e.g. {missing[0]}")
    frame = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    order = {name: i for i, name in enumerate(variants)}
    frame = frame.sort_values(
        list(KEY_COLUMNS),
        key=lambda col: col.map(order) if col.name == "variant" else col,
        kind="stable",
    )
    return frame.reset_index(drop=True)


def sobol_indices(
    frame: pd.DataFrame, design: Design, *, seed: int = 0, resamples: int = 200
) -> pd.DataFrame:
    """First- and total-order Sobol indices with 95% bootstrap intervals, per variant and metric.

    Each point's metric is averaged over replications first. Metrics that do not vary, or are
    undefined at some point (a median of no locks), have no indices and are left out.
    Returns a long frame: variant, metric, parameter, order (first/total), index, ci_low, ci_high.
    """
    sobol = _salib("analyze")
    if design.design != "sobol":
        raise SimlockError("Sobol indices need a sweep with design: sobol")
    problem = _problem(design.parameters)
    metric_columns = [m for m in METRICS if m in frame.columns]
    means = frame.groupby(["variant", "point"], sort=False)[metric_columns].mean()
    rows: list[tuple[Any, ...]] = []
    for variant in frame["variant"].unique():
        per_point = means.loc[variant].reindex(range(len(design.points)))
        for metric in metric_columns:
            y = per_point[metric].to_numpy(dtype=float)
            if not np.isfinite(y).all() or np.ptp(y) == 0:
                continue
            result = sobol.analyze(
                problem, y, calc_second_order=False, num_resamples=resamples, seed=seed
            )
            for j, parameter in enumerate(design.parameters):
                for order, key in (("first", "S1"), ("total", "ST")):
                    value, half = float(result[key][j]), float(result[f"{key}_conf"][j])
                    rows.append(
                        (variant, metric, parameter, order, value, value - half, value + half)
                    )
    return pd.DataFrame(
        rows,
        columns=["variant", "metric", "parameter", "order", "index", "ci_low", "ci_high"],
    )


def plot_sensitivity(
    indices: pd.DataFrame,
    *,
    variant: str | None = None,
    metrics: Sequence[str] | None = None,
    samples: int | None = None,
    replications: int | None = None,
) -> Figure:
    """Bars of first- and total-order indices with their 95% intervals, one panel per metric."""
    from matplotlib.figure import Figure

    variant = variant or (str(indices["variant"].iat[0]) if len(indices) else "baseline")
    part = indices[indices["variant"] == variant]
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
        for k, (order, label) in enumerate((("first", "first order"), ("total", "total order"))):
            values = data[data["order"] == order].set_index("parameter").reindex(parameters)
            err = np.vstack(
                [values["index"] - values["ci_low"], values["ci_high"] - values["index"]]
            )
            ax.barh(
                y + (k - 0.5) * 0.38,
                values["index"],
                height=0.38,
                xerr=err,
                color=_OKABE_ITO[k],
                ecolor="#333333",
                capsize=3,
                label=f"{label} (95% interval)",
            )
        ax.set_yticks(y, parameters)
        ax.invert_yaxis()
        ax.axvline(0, color="#999999", linewidth=0.8)
        ax.set_xlabel("Sobol index (share of the metric's variance)")
        title = f"{metric.replace('_', ' ')}: {METRICS.get(metric, '')}"
        ax.set_title(textwrap.fill(title, 60), fontsize=9)
    for ax in axes[len(shown) :]:
        ax.set_visible(False)
    detail = []
    if samples:
        detail.append(f"{samples} base samples")
    if replications:
        detail.append(f"{replications} replication(s) per point")
    suffix = f" ({', '.join(detail)})" if detail else ""
    figure.suptitle(f"What drives each metric: Sobol indices, variant {variant}{suffix}")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=9)
    return figure


def load_sweep(out_dir: str | Path) -> pd.DataFrame:
    """The consolidated frame of a finished sweep folder."""
    path = Path(out_dir) / SWEEP_FILE
    if not path.exists():
        raise OutputError(f"{path}: no consolidated sweep here (finish it with --resume)")
    return pd.read_parquet(path)


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


def _salib(part: str) -> Any:
    """SALib's Sobol module for sampling or analysis, or a message saying how to install it."""
    import importlib

    try:
        return importlib.import_module(f"SALib.{part}.sobol")
    except ImportError:
        raise SimlockError(
            "Sobol designs need SALib; install it with: pip install 'simlock[sensitivity]'"
        ) from None


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
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder; choose another output folder")
    previous = out / MANIFEST_FILE
    if out.is_dir() and any(out.iterdir()):
        if not resume:
            raise OutputError(
                f"{out}: folder is not empty; resume the sweep in it with --resume "
                "(resume=True) or choose another output folder"
            )
        if not previous.exists():
            raise OutputError(f"{out}: holds no sweep ({MANIFEST_FILE} is missing); cannot resume")
        old = json.loads(previous.read_text())
        if old.get("sweep_hash") != manifest["sweep_hash"]:
            raise OutputError(
                f"{out}: holds a sweep of a different scenario or design "
                f"({old.get('scenario')!r}, hash {old.get('sweep_hash')}); choose another folder"
            )
    parts = out / PARTS_DIR
    try:
        parts.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot write here ({exc.strerror})") from None
    for folder in (out, parts):  # left by a sweep killed outright (SIGKILL, power cut)
        for stale in folder.glob(".*.partial*"):
            stale.unlink()
    write_manifest(previous, manifest)
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
    "sobol_indices",
]

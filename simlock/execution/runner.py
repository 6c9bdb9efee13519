"""Replications and variants: split a run into tasks, run them on an executor, collect frames.

A task is one replication with every requested variant: the replication's devices are drawn once
and each variant's policy is applied to the same devices (common random numbers). A task depends
only on (scenario, seed, replication, variants, scale), never on which worker runs it or in what
order, so results are identical for any number of workers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from simlock.analysis import metrics, tables
from simlock.errors import OptionError
from simlock.model import behaviours, population
from simlock.model.behaviours import Behaviour
from simlock.model.engine import VariantResult, simulate_variant
from simlock.scenario.models import Policy, Scenario

from . import folder as _folder  # noqa: F401  (installs the writer Results.save calls)
from .executors import Executor, make_executor
from .manifest import common
from .options import checked_run_options, checked_variants, with_overrides
from .pages import ordinary_pages

if TYPE_CHECKING:
    from simlock.analysis.results import Results


@dataclass(frozen=True)
class Task:
    """One replication of a scenario under a list of variants.

    `policies` holds every variant's resolved policy (`Scenario.policies()`), resolved once per
    run by `run`; a task without them resolves them itself. `behaviours` holds the behaviours
    after a lock those policies name, taken from the registry of the process that made the task,
    so a worker process runs the ones registered there (`simlock.model.behaviours`); a task
    without them looks them up in its own process.
    """

    scenario: Scenario
    replication: int
    variants: tuple[str, ...]
    scale: float = 1.0
    detail: bool = False
    policies: Mapping[str, Policy] | None = None
    behaviours: Mapping[str, Behaviour] | None = None


@dataclass
class TaskResult:
    """The frames one task produced, and how long each phase took (seconds)."""

    replication: int
    daily: pd.DataFrame
    replicates: pd.DataFrame
    devices: pd.DataFrame | None
    events: pd.DataFrame | None
    devices_simulated: int
    """Every activation of the replication, drawn or counted (`Population.activations`)."""
    devices_drawn: int = 0
    """The devices drawn one by one; the others, of regions no policy can touch, were counted."""
    timings: dict[str, float] = field(default_factory=dict)


def run_task(task: Task) -> TaskResult:
    """Simulate one task. Top-level and pure so any executor (processes, Dask) can run it."""
    with ordinary_pages():
        return _run_task(task)


def _run_task(task: Task) -> TaskResult:
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    scenario = task.scenario
    policies = task.policies if task.policies is not None else scenario.policies()
    chosen = task.behaviours
    if chosen is None:
        chosen = behaviours.resolve({name: policies[name] for name in task.variants})
    # A replication without device tables draws only the devices some window could decide.
    devices = population.generate(
        scenario, task.replication, task.scale, policies.values(), thin=not task.detail
    )
    timings["population"] = time.perf_counter() - clock
    daily_parts, metric_parts = [], []
    detailed: list[VariantResult] = []
    for name in task.variants:
        clock = time.perf_counter()
        result = simulate_variant(scenario, devices, policies[name], name, task.replication, chosen)
        timings["simulate"] = timings.get("simulate", 0.0) + time.perf_counter() - clock
        clock = time.perf_counter()
        daily = tables.daily_frame(scenario, devices, result)
        daily_parts.append(daily)
        metric_parts.append(metrics.replicate_metrics(devices, result, scenario.days, daily))
        if task.detail:
            detailed.append(result)
        timings["tables"] = timings.get("tables", 0.0) + time.perf_counter() - clock
    clock = time.perf_counter()
    done = TaskResult(
        replication=task.replication,
        daily=pd.concat(daily_parts, ignore_index=True),
        replicates=pd.concat(metric_parts, ignore_index=True),
        # Every variant's rows at once, straight into the joined columns.
        devices=tables.devices_frames(scenario, devices, detailed) if detailed else None,
        events=tables.events_frames(scenario, detailed) if detailed else None,
        devices_simulated=devices.activations,
        devices_drawn=len(devices),
        timings=timings,
    )
    timings["tables"] = timings.get("tables", 0.0) + time.perf_counter() - clock
    return done


def run_tasks(
    runner: Executor,
    tasks: Sequence[Task],
    on_task_done: Callable[[TaskResult], None] | None = None,
) -> tuple[list[TaskResult], float]:
    """Run `tasks` on `runner` (entered here), calling `on_task_done` as each finishes; return
    the results in replication order, whatever order they finished in, and the seconds taken."""
    started = time.perf_counter()
    results: list[TaskResult] = []
    with runner:
        for done in runner.map(run_task, tasks):
            results.append(done)
            if on_task_done is not None:
                on_task_done(done)
    results.sort(key=lambda r: r.replication)
    return results, time.perf_counter() - started


def make_tasks(
    scenario: Scenario,
    replications: Iterable[int],
    variants: tuple[str, ...],
    scale: float,
    detail: int,
    policies: Mapping[str, Policy] | None = None,
) -> list[Task]:
    """One task per replication; the first `detail` replications keep device-level tables.
    Each carries the behaviours after a lock its variants use, from this process's registry
    (an unknown name is a `ScenarioError` here, before anything runs)."""
    resolved = policies if policies is not None else scenario.policies(list(variants))
    chosen = behaviours.resolve({name: resolved[name] for name in variants})
    return [
        Task(scenario, r, variants, scale, detail=r < detail, policies=policies, behaviours=chosen)
        for r in replications
    ]


def run(
    scenario: Scenario,
    *,
    replications: int | None = None,
    seed: int | None = None,
    variants: Iterable[str] | None = None,
    scale: float = 1.0,
    workers: int | None = 1,
    detail_replications: int = 1,
    executor: Executor | None = None,
    on_task_done: Callable[[TaskResult], None] | None = None,
    posterior: str | Path | None = None,
    worlds: int = 20,
) -> Results:
    """Simulate every requested variant in every replication and collect the frames.

    `replications` and `seed` override the scenario's; `variants` defaults to all (the baseline
    always runs, since comparisons are made against it); `scale` multiplies every activation rate;
    the first `detail_replications` keep device-level tables (`devices`, `events`).

    Raises `OptionError` for an unknown variant or an option out of range (the messages of
    `simlock run`), `TooBigError` before allocating anything when the run would need more memory
    than this machine has (with the `scale` that would fit), the error of a bad variant (in a
    scenario built by hand: `load_scenario` has checked a file's) before any task starts, and
    `ConsistencyError` when the results break an invariant (a simlock bug).

    With `posterior` (a calibration folder, `simlock calibrate`), every variant runs over
    `worlds` draws from its posterior, `replications` in each (`simlock.execution.worlds`).
    """
    if posterior is not None:
        from .worlds import run_worlds

        return run_worlds(
            scenario,
            posterior,
            worlds=worlds,
            replications=replications,
            seed=seed,
            variants=variants,
            scale=scale,
            workers=workers,
            detail_replications=detail_replications,
            executor=executor,
            on_task_done=on_task_done,
        )
    from simlock.analysis.consistency import check_consistency
    from simlock.analysis.provenance import rerun_command
    from simlock.analysis.results import Results, scenario_hash

    from . import memory

    if not isinstance(scenario, Scenario):
        raise OptionError(
            f"scenario: expected a Scenario, got {type(scenario).__name__} "
            "(simlock.load_scenario(path) reads a scenario file)"
        )
    checked_run_options(scale, workers, detail_replications)
    scenario = with_overrides(scenario, replications=replications, seed=seed)
    names = checked_variants(scenario, variants)
    # Every variant's policy, resolved and validated once, here: a hand-built scenario with a bad
    # variant fails before any worker starts, and no task resolves them again.
    policies = scenario.policies()
    tasks = make_tasks(
        scenario, range(scenario.replications), names, scale, detail_replications, policies
    )
    runner = executor or make_executor(workers)
    if runner.name != "dask":  # a cluster's memory is its workers', not this machine's
        memory.check_fits(scenario, scale, runner.workers, detail_replications, len(names))
    results, simulated = run_tasks(runner, tasks, on_task_done)

    clock = time.perf_counter()
    replicates = pd.concat([r.replicates for r in results], ignore_index=True)
    summary = metrics.summarize(replicates)
    daily = pd.concat([r.daily for r in results], ignore_index=True)
    devices = _concat_or_empty([r.devices for r in results])
    events = _concat_or_empty([r.events for r in results])
    phases: dict[str, float] = {}
    for r in results:
        for phase, seconds in r.timings.items():
            phases[phase] = phases.get(phase, 0.0) + seconds
    phases["collect"] = time.perf_counter() - clock
    manifest = {
        **common(scenario, scenario.replications),
        "scenario_hash": scenario_hash(scenario),
        "variants": list(names),
        "scale": scale,
        "detail_replications": min(detail_replications, scenario.replications),
        "executor": runner.name,
        "workers": getattr(runner, "workers", 1),
        "executor_fallback": getattr(runner, "fallback", None),
        "devices_simulated": int(sum(r.devices_simulated for r in results)),
        "devices_drawn": int(sum(r.devices_drawn for r in results)),
        "rerun": rerun_command(scale, detail_replications, _requested(variants)),
        "wall_seconds": {"simulate_all_tasks": simulated, **phases},
    }
    results = Results(
        scenario=scenario,
        summary=summary,
        replicates=replicates,
        daily=daily,
        devices=devices,
        events=events,
        manifest=manifest,
    )
    check_consistency(results)
    return results


def _requested(variants: Iterable[str] | None) -> list[str] | None:
    """The variants asked for, as the command's `--variant` options (None: all of them)."""
    if variants is None:
        return None
    return [variants] if isinstance(variants, str) else list(dict.fromkeys(variants))


def _concat_or_empty(parts: list[pd.DataFrame | None]) -> pd.DataFrame:
    kept = [p for p in parts if p is not None]
    return pd.concat(kept, ignore_index=True) if kept else pd.DataFrame()

"""Runs over plausible worlds: every variant over draws from a calibration's posterior.

`run_worlds` draws `worlds` particles from the posterior of a calibration folder (by weight, with
the run's seed), applies each one's inputs to the scenario (`with_values`), and simulates every
variant in `replications` replications of each world. World w's replications are numbered
w*R ... w*R + R - 1: every (world, replication) has its own random streams, and all variants of
one share their devices (common random numbers), so differences between variants are paired
within each world. The frames carry a `world` column, and the summary holds both the Monte Carlo
interval and the plausible range (`simlock.analysis.worlds`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simlock.analysis.results import Results, scenario_hash
from simlock.analysis.worlds import WORLD, summarize_worlds
from simlock.errors import OptionError, ScenarioError
from simlock.scenario.loader import with_values
from simlock.scenario.models import Scenario

from . import memory
from .calibrate import Calibration, load_calibration
from .executors import Executor, make_executor
from .manifest import common
from .options import checked_run_options, checked_variants, with_overrides
from .runner import Task, TaskResult, _concat_or_empty, _requested, run_tasks


def run_worlds(
    scenario: Scenario,
    posterior: str | Path | Calibration,
    *,
    worlds: int = 20,
    replications: int | None = None,
    seed: int | None = None,
    variants: Iterable[str] | None = None,
    scale: float = 1.0,
    workers: int | None = 1,
    detail_replications: int = 1,
    executor: Executor | None = None,
    on_task_done: Callable[[TaskResult], None] | None = None,
) -> Results:
    """Simulate every variant over `worlds` draws from the posterior in `posterior` (a
    calibration folder), `replications` (default: the scenario's) in each world.

    Raises `OutputError` for a folder that holds no finished calibration, `ScenarioError` when a
    calibrated input does not fit this scenario, and what `simlock.run` raises.
    """
    from simlock.analysis.consistency import check_consistency
    from simlock.analysis.provenance import rerun_command

    if isinstance(worlds, bool) or not isinstance(worlds, int) or worlds < 1:
        raise OptionError(f"worlds: {worlds!r} is not a whole number of at least 1")
    checked_run_options(scale, workers, detail_replications)
    calibration = posterior if isinstance(posterior, Calibration) else load_calibration(posterior)
    scenario = with_overrides(scenario, replications=replications, seed=seed)
    count = scenario.replications
    names = checked_variants(scenario, variants)
    draws = calibration.draw(worlds, scenario.seed)
    world_scenarios = [
        world_scenario(scenario, draws.iloc[w], calibration.inputs) for w in range(worlds)
    ]
    tasks = []
    for w, world in enumerate(world_scenarios):
        policies = world.policies(list(names))
        tasks += [
            Task(
                world,
                w * count + r,
                names,
                scale,
                detail=w * count + r < detail_replications,
                policies=policies,
            )
            for r in range(count)
        ]
    runner = executor or make_executor(workers)
    if runner.name != "dask":
        for world in world_scenarios:
            memory.check_fits(world, scale, runner.workers, detail_replications, len(names))
    results, simulated = run_tasks(runner, tasks, on_task_done)
    replicates = _with_world(pd.concat([r.replicates for r in results], ignore_index=True), count)
    daily = _with_world(pd.concat([r.daily for r in results], ignore_index=True), count)
    devices = _concat_or_empty([r.devices for r in results])
    events = _concat_or_empty([r.events for r in results])
    manifest: dict[str, Any] = {
        **common(scenario, worlds * count),
        "scenario_hash": scenario_hash(scenario),
        "variants": list(names),
        "scale": scale,
        "detail_replications": min(detail_replications, worlds * count),
        "executor": runner.name,
        "workers": getattr(runner, "workers", 1),
        "executor_fallback": getattr(runner, "fallback", None),
        "devices_simulated": int(sum(r.devices_simulated for r in results)),
        "devices_drawn": int(sum(r.devices_drawn for r in results)),
        "rerun": [
            *rerun_command(scale, detail_replications, _requested(variants)),
            *("--posterior", str(posterior), "--worlds", str(worlds)),
        ],
        "wall_seconds": {"simulate_all_tasks": simulated},
        "worlds": {
            "count": worlds,
            "replications_per_world": count,
            "posterior": str(posterior) if not isinstance(posterior, Calibration) else None,
            "calibration_hash": calibration.manifest.get("calibration_hash"),
            "draws": draw_records(draws),
        },
    }
    out = Results(
        scenario=scenario,
        summary=summarize_worlds(replicates),
        replicates=replicates,
        daily=daily,
        devices=devices,
        events=events,
        manifest=manifest,
    )
    check_consistency(out)
    return out


def world_scenario(scenario: Scenario, draw: pd.Series, inputs: list[str]) -> Scenario:
    """The scenario with one posterior draw's inputs applied (a `ScenarioError` names the world
    and particle when they do not fit it)."""
    values = {path: _plain(draw[path]) for path in inputs}
    try:
        world, _ = with_values(scenario, values)
    except ScenarioError as exc:
        raise ScenarioError(
            [
                type(p)(
                    f"world {int(draw['world'])} (particle {int(draw['particle'])} of the "
                    f"posterior): {p.message}",
                    path=p.path,
                    file=p.file,
                    line=p.line,
                    allowed=p.allowed,
                )
                for p in exc.problems
            ]
        ) from None
    return world


def _plain(value: Any) -> Any:
    """A posterior cell as the value to set: numpy scalars as Python numbers."""
    return value.item() if isinstance(value, np.generic) else value


def _with_world(frame: pd.DataFrame, per_world: int) -> pd.DataFrame:
    frame.insert(1, WORLD, (frame["replication"].to_numpy() // per_world).astype(np.int32))
    return frame


def draw_records(draws: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {k: (v.isoformat() if hasattr(v, "isoformat") else _plain(v)) for k, v in row.items()}
        for row in draws.to_dict(orient="records")
    ]


__all__ = ["draw_records", "run_worlds", "world_scenario"]

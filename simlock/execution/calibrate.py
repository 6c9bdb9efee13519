"""Calibration: which values of the uncertain inputs reproduce what was observed (ABC-SMC).

A scenario's `uncertain:` inputs are the unknowns, its `expectations` the targets: each
expectation is a range its value must fall in ([min, max], or observed ± tolerance, or observed
± 1.96 standard errors). Approximate Bayesian computation with sequential Monte Carlo (pyabc's
`ABCSMC`) draws inputs from their priors, simulates the scenario with them through simlock's own
runner (`run_task`, `replications` per particle, at `scale`), and keeps the draws whose simulated
targets come close enough; population after population the tolerance shrinks, and the kept
particles, with their importance weights, approximate the posterior.

**The distance.** For each target, 0 when the simulated value (the mean over the particle's
replications) is inside its range; outside, the gap to the nearest bound divided by the target's
scale (`simlock.analysis.expectations.target_scale`: the standard error or tolerance of an
observed value, half a two-sided range's width, or the size of a one-sided bound). The distance
of a particle is the Euclidean norm of these gaps; a target whose value is undefined (a median
of no locks) counts as `UNDEFINED_GAP` scales away. With a tolerance of 0 every target is inside
its range: ABC with a uniform kernel is then exact for the observation model "the truth lies in
each range" (Wilkinson 2013), which is what a range states.

**The tolerance schedule.** The first tolerance is the median distance of `particles` draws
from the prior; each next one is the median distance of the last population (pyabc's
`QuantileEpsilon`, alpha 0.5), or, when that median is no lower than the last tolerance (half
the particles on a step of a discrete target, such as a rank one place off), the median of the
distances below it (`abc_epsilon`). The calibration stops after `populations` populations, when the
tolerance reaches 0, or when a population's acceptance rate falls below `min_acceptance`.

**Counts and scale.** At `scale` s every activation rate is multiplied by s, so counts of
devices (and appeals, device-days) are divided by s before they are compared with their targets;
shares, days, dates and ranks are compared as they are.

**Determinism.** The same scenario, seed and settings give the same posterior for any number of
workers or any executor (`simlock.execution.abc_sampler`), and a resumed calibration gives the
same posterior as one that was never interrupted (pyabc stores each finished population in its
database, `abc.db`, and the interrupted population is sampled again from its first candidate).

Writes into the output folder: `posterior.parquet` (the last population: one row per particle,
its weight, distance and input values), `particles.parquet` (every population),
`populations.csv` and `.parquet` (tolerance, particles, simulations, acceptance rate and
effective sample size per population), `predictive.parquet` (each particle's simulated target
values), `calibration.json` (the manifest), `scenario.yaml`, `abc.db` and the report
(`report.html`, `report.md`, `figures/`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from simlock.analysis.expectations import (
    COUNT_UNITS,
    ExpectationInputs,
    check_unit,
    per_replication,
    target_bounds,
    target_scale,
)
from simlock.analysis.results import Results, scenario_document
from simlock.errors import OutputError, Problem, ScenarioError, SimlockError
from simlock.scenario.loader import load_file, with_values
from simlock.scenario.models import Scenario

from .executors import Executor, make_executor
from .extras import require
from .outputs import resumed_manifest
from .priors import Prior, priors_of, values_of
from .runner import Task, run_task

CALIBRATION_FILE = "calibration.json"
DB_FILE = "abc.db"
POSTERIOR_FILE = "posterior.parquet"
PARTICLES_FILE = "particles.parquet"
POPULATIONS_FILE = "populations"
PREDICTIVE_FILE = "predictive.parquet"
SCENARIO_FILE = "scenario.yaml"
UNDEFINED_GAP = 1000.0
"""The gap, in scales, of a target whose simulated value is undefined."""
PRIOR_DRAWS = 4000
"""Draws from each prior for the report's prior-against-posterior panels."""
QUANTILE = 0.5
"""Each tolerance is this quantile of the last population's distances."""


@dataclass(frozen=True)
class Target:
    """An expectation as a calibration target: its range, its scale, and whether its value is a
    count (divided by the scale of the run before comparing)."""

    key: str
    name: str
    index: int
    variant: str
    metric: str
    unit: str
    low: float
    high: float
    scale: float
    count: bool

    def gap(self, value: float) -> float:
        """How many scales `value` lies outside the range (0 inside)."""
        if not np.isfinite(value):
            return UNDEFINED_GAP
        below = self.low - value if np.isfinite(self.low) else 0.0
        above = value - self.high if np.isfinite(self.high) else 0.0
        return max(below, above, 0.0) / self.scale


def targets_of(scenario: Scenario) -> list[Target]:
    """The scenario's expectations as targets, in file order."""
    out = []
    for i, exp in enumerate(scenario.expectations):
        low, high = target_bounds(scenario, exp)
        unit = check_unit(exp.metric)
        out.append(
            Target(
                key=f"t{i:02d}",
                name=exp.name,
                index=i,
                variant=exp.variant,
                metric=exp.metric,
                unit=unit,
                low=low,
                high=high,
                scale=target_scale(scenario, exp),
                count=unit in COUNT_UNITS,
            )
        )
    return out


def simulate_targets(
    doc: dict[str, Any],
    values: dict[str, Any],
    targets: list[Target],
    *,
    replications: int,
    scale: float,
    seed: int,
) -> dict[str, float]:
    """Each target's value (mean over `replications`, counts divided by `scale`) in the scenario
    `doc` with the inputs set to `values` and the given seed."""
    try:
        scenario, _ = with_values(doc, {**values, "seed": seed})
    except ScenarioError as exc:
        shown = ", ".join(f"{k}={v}" for k, v in values.items())
        raise SimlockError(
            f"the inputs {shown} give an invalid scenario (inputs that constrain each other need "
            f"priors that respect it):\n{exc}"
        ) from None
    variants = tuple(dict.fromkeys(t.variant for t in targets))
    policies = scenario.policies(list(variants))
    done = [
        run_task(Task(scenario, r, variants, scale, policies=policies)) for r in range(replications)
    ]
    frame = Results(
        scenario=scenario,
        summary=pd.DataFrame(),
        replicates=pd.concat([d.replicates for d in done], ignore_index=True),
        daily=pd.concat([d.daily for d in done], ignore_index=True),
        devices=pd.DataFrame(),
        events=pd.DataFrame(),
    )
    out = {}
    inputs = ExpectationInputs(frame)
    for target in targets:
        per = per_replication(frame, scenario.expectations[target.index], inputs)
        finite = per[np.isfinite(per)]
        value = float(finite.mean()) if finite.size else math.nan
        out[target.key] = value / scale if target.count else value
    return out


class ParticleModel:
    """The model pyabc calls: a particle's internal coordinates -> its targets' values.
    Picklable (plain data), so it travels to any worker."""

    def __init__(
        self,
        doc: dict[str, Any],
        priors: list[Prior],
        targets: list[Target],
        replications: int,
        scale: float,
    ) -> None:
        self.doc, self.priors, self.targets = doc, priors, targets
        self.replications, self.scale = replications, scale
        self.__name__ = "simlock"

    def __call__(self, parameters: dict[str, float]) -> dict[str, float]:
        from .abc_sampler import SIMULATION_SEED

        return simulate_targets(
            self.doc,
            values_of(self.priors, parameters),
            self.targets,
            replications=self.replications,
            scale=self.scale,
            seed=SIMULATION_SEED.get(),
        )


class TargetDistance:
    """Euclidean norm of the targets' scaled gaps (the observed dict is not used: the targets
    carry their ranges)."""

    def __init__(self, targets: list[Target]) -> None:
        self.targets = targets

    def __call__(self, simulated: dict[str, float], observed: dict[str, float]) -> float:
        return math.sqrt(sum(t.gap(float(simulated[t.key])) ** 2 for t in self.targets))


@dataclass(frozen=True)
class CalibrationProgress:
    """Where a calibration stands: population `population` (-1: the prior sample that sets the
    first tolerance) has `accepted` of `particles` after `evaluated` simulations."""

    population: int
    accepted: int
    evaluated: int
    particles: int
    populations: int


@dataclass
class Calibration:
    """A calibration's results (also in its folder; `load_calibration` reads them back)."""

    scenario: Scenario
    posterior: pd.DataFrame
    particles: pd.DataFrame
    populations: pd.DataFrame
    predictive: pd.DataFrame
    manifest: dict[str, Any]

    @property
    def inputs(self) -> list[str]:
        return [u.path for u in self.scenario.uncertain]

    def draw(self, count: int, seed: int) -> pd.DataFrame:
        """`count` worlds drawn from the posterior (with replacement, by weight)."""
        rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
        weights = self.posterior["weight"].to_numpy(dtype=float)
        rows = rng.choice(len(self.posterior), size=count, replace=True, p=weights / weights.sum())
        picked = self.posterior.iloc[rows][["particle", *self.inputs]].reset_index(drop=True)
        picked.insert(0, "world", np.arange(count))
        return picked


def calibrate(
    source: Scenario | str | Path,
    out_dir: str | Path,
    *,
    particles: int = 200,
    populations: int = 8,
    replications: int = 1,
    scale: float = 1.0,
    seed: int | None = None,
    min_acceptance: float = 0.01,
    resume: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Executor | None = None,
    progress: Callable[[CalibrationProgress], None] | None = None,
    report: bool = True,
) -> Calibration:
    """Calibrate a scenario's uncertain inputs to its expectations into `out_dir`.

    `particles` per population, at most `populations` populations, `replications` simulations per
    particle at `scale`; `seed` defaults to the scenario's. `resume=True` continues an interrupted
    calibration in its folder. Raises `ScenarioError` when the scenario has no uncertain inputs
    or no expectations, `OutputError` for a folder that holds something else, `SimlockError` for
    bad settings or a draw that gives an invalid scenario.
    """
    started = time.perf_counter()
    scenario, file = _load(source)
    _check_settings(scenario, file, particles, populations, replications, scale, min_acceptance)
    _require_pyabc()
    import pyabc

    from .abc_epsilon import ProgressingQuantileEpsilon
    from .abc_sampler import ExecutorSampler

    seed = scenario.seed if seed is None else seed
    priors, targets = priors_of(scenario), targets_of(scenario)
    settings = {
        "particles": particles,
        "replications": replications,
        "scale": scale,
        "seed": seed,
        "min_acceptance": min_acceptance,
        "quantile": QUANTILE,
    }
    out = Path(out_dir)
    manifest = _manifest(scenario, settings, populations, priors, targets)
    previous = _prepare_folder(out, manifest, resume)
    doc = scenario.model_dump(by_alias=True)
    runner = executor or make_executor(workers, scheduler)
    with _quiet_pyabc(), runner:
        sampler = ExecutorSampler(
            runner,
            seed,
            on_batch=None
            if progress is None
            else lambda t, a, e: progress(CalibrationProgress(t, a, e, particles, populations)),
        )
        abc = pyabc.ABCSMC(
            models=pyabc.FunctionModel(
                ParticleModel(doc, priors, targets, replications, scale), name="simlock"
            ),
            parameter_priors=pyabc.Distribution(**{p.key: p.pyabc_rv() for p in priors}),
            distance_function=TargetDistance(targets),
            population_size=particles,
            transitions=_transitions(priors),
            eps=ProgressingQuantileEpsilon(alpha=QUANTILE),
            sampler=sampler,
        )
        db = f"sqlite:///{(out / DB_FILE).resolve()}"
        done = 0
        if previous is not None and (out / DB_FILE).exists():
            history = abc.load(db, 1)
            done = history.max_t + 1
        else:
            (out / DB_FILE).unlink(missing_ok=True)
            history = abc.new(db, {})
        stopped = previous.get("stopped") if previous else None
        if done < populations and stopped in (None, "populations"):
            history = abc.run(
                minimum_epsilon=0.0,
                max_nr_populations=populations - done,
                min_acceptance_rate=min_acceptance,
            )
    result = _collect(scenario, history, priors, targets, manifest)
    result.manifest.update(
        stopped=_stop_reason(result.populations, populations, min_acceptance),
        executor=runner.name,
        workers=runner.workers,
        simulations=int(result.populations["simulations"].sum()),
        wall_seconds=time.perf_counter() - started,
        complete=True,
    )
    _write_outputs(out, result, priors, targets, seed, report)
    return result


def load_calibration(folder: str | Path) -> Calibration:
    """A finished calibration folder, read back (for runs over its posterior)."""
    folder = Path(folder)
    manifest_path = folder / CALIBRATION_FILE
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise OutputError(f"{folder}: not a calibration ({CALIBRATION_FILE} is missing)") from None
    except (OSError, ValueError) as exc:
        raise OutputError(f"{manifest_path}: unreadable ({exc})") from None
    if not manifest.get("complete"):
        raise OutputError(
            f"{folder}: the calibration did not finish; continue it with simlock calibrate --resume"
        )
    from simlock.scenario.loader import load_scenario

    scenario = load_scenario(folder / SCENARIO_FILE)
    frames = {}
    for name, path in (
        ("posterior", POSTERIOR_FILE),
        ("particles", PARTICLES_FILE),
        ("populations", f"{POPULATIONS_FILE}.parquet"),
        ("predictive", PREDICTIVE_FILE),
    ):
        try:
            frames[name] = pd.read_parquet(folder / path)
        except (OSError, ValueError) as exc:
            raise OutputError(f"{folder / path}: unreadable ({exc})") from None
    missing = [p for p in (u.path for u in scenario.uncertain) if p not in frames["posterior"]]
    if missing:
        raise OutputError(f"{folder / POSTERIOR_FILE}: lacks the input(s) {', '.join(missing)}")
    return Calibration(scenario=scenario, manifest=manifest, **frames)


# -- settings and folder ----------------------------------------------------------------------


def _load(source: Scenario | str | Path) -> tuple[Scenario, str | None]:
    if isinstance(source, Scenario):
        return source, None
    scenario, _ = load_file(Path(source))
    return scenario, str(source)


def _check_settings(
    scenario: Scenario,
    file: str | None,
    particles: int,
    populations: int,
    replications: int,
    scale: float,
    min_acceptance: float,
) -> None:
    problems = []
    if not scenario.uncertain:
        problems.append(
            Problem(
                "this scenario declares no uncertain inputs: there is nothing to calibrate",
                path="uncertain",
                file=file,
                allowed="an uncertain: list of inputs, each with a path and a prior",
            )
        )
    if not scenario.expectations:
        problems.append(
            Problem(
                "this scenario declares no expectations: there is nothing to calibrate to",
                path="expectations",
                file=file,
                allowed="expectations with min/max, or an observed value",
            )
        )
    if problems:
        raise ScenarioError(problems)
    for name, value, low in (
        ("particles", particles, 2),
        ("populations", populations, 1),
        ("replications", replications, 1),
    ):
        if value < low:
            raise SimlockError(f"{name} must be at least {low}, got {value}")
    if not scale > 0:
        raise SimlockError(f"scale must be positive, got {scale}")
    if not 0 <= min_acceptance < 1:
        raise SimlockError(f"min_acceptance must be from 0 to below 1, got {min_acceptance}")


def _require_pyabc() -> None:
    require("pyabc", "calibrate", "calibration")


def _manifest(
    scenario: Scenario,
    settings: dict[str, Any],
    populations: int,
    priors: list[Prior],
    targets: list[Target],
) -> dict[str, Any]:
    from simlock._version import __version__

    identity = {"scenario": scenario_document(scenario), **settings}
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return {
        "simlock_version": __version__,
        "scenario": scenario.name,
        "calibration_hash": hashlib.sha256(text.encode()).hexdigest()[:16],
        **settings,
        "populations": populations,
        "inputs": [{"key": p.key, "path": p.path, "prior": p.kind} for p in priors],
        "targets": [
            {"key": t.key, "name": t.name, "metric": t.metric, "variant": t.variant}
            | {"low": _finite(t.low), "high": _finite(t.high), "scale": t.scale}
            for t in targets
        ],
        "complete": False,
    }


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _prepare_folder(out: Path, manifest: dict[str, Any], resume: bool) -> dict[str, Any] | None:
    """Create or check the folder; the previous manifest when resuming one (None otherwise)."""
    previous = resumed_manifest(
        out,
        manifest,
        file=CALIBRATION_FILE,
        hash_key="calibration_hash",
        what="calibration",
        other="another scenario or with other settings",
        resume=resume,
    )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out}: cannot write here ({exc.strerror})") from None
    (out / CALIBRATION_FILE).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return previous


@contextlib.contextmanager
def _quiet_pyabc() -> Iterator[None]:
    """pyabc logs every population at INFO; simlock reports progress itself."""
    logger = logging.getLogger("ABC")
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


def _transitions(priors: list[Prior]) -> Any:
    """A multivariate normal kernel over the continuous inputs (pyabc's default, with its
    bandwidth rule), and a jump kernel for each choice."""
    import pyabc

    continuous = tuple(p.key for p in priors if not p.discrete)
    mapping: dict[Any, Any] = {}
    if continuous:
        mapping[continuous] = pyabc.MultivariateNormalTransition()
    for p in priors:
        if p.discrete:
            mapping[p.key] = pyabc.DiscreteJumpTransition(
                domain=np.arange(len(p.values), dtype=float), p_stay=0.7
            )
    if len(mapping) == 1 and continuous:
        return mapping[continuous]
    return pyabc.AggregatedTransition(mapping=mapping)


# -- results ----------------------------------------------------------------------------------


def _collect(
    scenario: Scenario,
    history: Any,
    priors: list[Prior],
    targets: list[Target],
    manifest: dict[str, Any],
) -> Calibration:
    from pyabc.weighted_statistics import effective_sample_size

    summary = history.get_all_populations()
    summary = summary[summary["t"] >= 0].sort_values("t")
    rows, predictive, pops = [], [], []
    last = int(summary["t"].max()) if len(summary) else -1
    for _, info in summary.iterrows():
        t = int(info["t"])
        population = history.get_population(t=t)
        weights = np.array([p.weight for p in population.particles], dtype=float)
        weights = weights / weights.sum()
        for i, (particle, weight) in enumerate(zip(population.particles, weights, strict=True)):
            row = {"population": t, "particle": i, "weight": weight, "distance": particle.distance}
            row.update(values_of(priors, dict(particle.parameter)))
            rows.append(row)
            if t == last:
                predictive.extend(
                    {
                        "particle": i,
                        "weight": weight,
                        "target": target.name,
                        "key": target.key,
                        "value": float(particle.sum_stat[target.key]),
                    }
                    for target in targets
                )
        pops.append(
            {
                "population": t,
                "epsilon": float(info["epsilon"]),
                "particles": int(info["particles"]),
                "simulations": int(info["samples"]),
                "acceptance_rate": int(info["particles"]) / max(int(info["samples"]), 1),
                "ess": float(effective_sample_size(weights)),
            }
        )
    particles = _tidy(pd.DataFrame(rows), [p.path for p in priors])
    posterior = particles[particles["population"] == last].drop(columns="population")
    return Calibration(
        scenario=scenario,
        posterior=posterior.reset_index(drop=True),
        particles=particles,
        populations=pd.DataFrame(pops),
        predictive=pd.DataFrame(predictive),
        manifest=dict(manifest),
    )


def _tidy(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Input columns Parquet can hold: numbers as floats, dates as dates, text as text, and a
    choice among values of mixed kinds as their JSON text."""
    for column in columns:
        if column not in frame:
            continue
        values = frame[column]
        if values.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool)).all():
            frame[column] = values.astype("float64")
        elif values.map(lambda v: isinstance(v, str)).all():
            frame[column] = values.astype("str")
        elif not values.map(lambda v: hasattr(v, "isoformat")).all():
            frame[column] = values.map(lambda v: json.dumps(v, default=str))
    return frame


def _stop_reason(populations: pd.DataFrame, limit: int, min_acceptance: float) -> str:
    """Why the calibration stopped: `tolerance` (it reached 0: every target inside its range),
    `acceptance` (a population accepted too few candidates), `populations` (the limit), or
    `sample` (a population could not be filled within its budget of simulations)."""
    if populations.empty:
        return "sample"
    last = populations.iloc[-1]
    if last["epsilon"] <= 0:
        return "tolerance"
    if last["acceptance_rate"] < min_acceptance:
        return "acceptance"
    if len(populations) >= limit:
        return "populations"
    return "sample"


def _write_outputs(
    out: Path,
    result: Calibration,
    priors: list[Prior],
    targets: list[Target],
    seed: int,
    report: bool,
) -> None:
    result.posterior.to_parquet(out / POSTERIOR_FILE, index=False)
    result.particles.to_parquet(out / PARTICLES_FILE, index=False)
    result.populations.to_parquet(out / f"{POPULATIONS_FILE}.parquet", index=False)
    result.populations.to_csv(out / f"{POPULATIONS_FILE}.csv", index=False)
    result.predictive.to_parquet(out / PREDICTIVE_FILE, index=False)
    with open(out / SCENARIO_FILE, "w", encoding="utf-8") as handle:
        yaml.safe_dump(
            scenario_document(result.scenario), handle, sort_keys=False, allow_unicode=True
        )
    if report:
        from simlock.report.calibration_report import write_calibration_report

        rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
        prior_draws = pd.DataFrame({p.path: p.sample_values(PRIOR_DRAWS, rng) for p in priors})
        write_calibration_report(
            out,
            scenario=result.scenario,
            posterior=result.posterior,
            prior_draws=_tidy(prior_draws, list(prior_draws.columns)),
            populations=result.populations,
            predictive=result.predictive,
            targets=pd.DataFrame(
                [
                    {
                        "key": t.key,
                        "name": t.name,
                        "metric": t.metric,
                        "unit": t.unit,
                        "low": t.low,
                        "high": t.high,
                    }
                    for t in targets
                ]
            ),
            manifest=result.manifest,
        )
    (out / CALIBRATION_FILE).write_text(json.dumps(result.manifest, indent=2, default=str) + "\n")


__all__ = [
    "Calibration",
    "CalibrationProgress",
    "ParticleModel",
    "Target",
    "TargetDistance",
    "calibrate",
    "load_calibration",
    "simulate_targets",
    "targets_of",
]

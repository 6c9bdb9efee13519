"""Policy search: the policies that do best on several objectives at once (a Pareto set).

A scenario's `search:` section names policy levers (field paths, as a sweep's parameters, with
choices or a range), objectives (metrics to maximise or minimise) and optional constraints (a
metric's bounds). `run_search` explores the levers with Optuna's NSGA-II through its ask/tell
interface: each generation of `population` trials is asked at once, every (trial, replication)
runs as one task on simlock's executors (local processes or a Dask cluster), and the trials are
told in trial order. A trial's objective is the mean of its metric over its replications, which
use the scenario's seeds (the same devices for every trial: common random numbers, so trials
differ by their levers alone).

Determinism: a generation is a fixed batch (not the number of workers), and each generation's
sampler is seeded from the search's seed and the generation's number, so the same seed gives the
same trials with any number of workers, and a resumed search the trials it would have run. The
study lives in `DIR/study.log` (Optuna's journal storage); `resume=True` evaluates the trials an
interruption left running, then continues.

Outputs in DIR: `trials.parquet` (one row per trial: levers as applied, objectives, constraint
values, feasibility, Pareto flag), `pareto.parquet` (the Pareto trials), `variants.parquet` (the
scenario's own variants at the same scale and replications, for comparison) and
`pareto-variants.yaml` (each Pareto policy as a variant to paste into the scenario), and the
report `search.html` / `search.md` with `figures/frontier.png`.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from simlock.errors import OutputError, Problem, ScenarioError, SimlockError
from simlock.report.search_report import write_search_report
from simlock.scenario import fieldpaths
from simlock.scenario.loader import load_file, load_scenario
from simlock.scenario.models import BASELINE, Scenario
from simlock.scenario.sweep_names import MetricName

from .executors import Executor, make_executor
from .extras import require
from .manifest import write_manifest
from .outputs import write_atomic
from .sweep import PointTask, run_point

STUDY_FILE = "study.log"
TRIALS_FILE = "trials.parquet"
PARETO_FILE = "pareto.parquet"
VARIANTS_FILE = "variants.parquet"
PARETO_YAML = "pareto-variants.yaml"
MANIFEST_FILE = "search.json"
STUDY_NAME = "simlock-search"
_CONSTRAINTS = "constraints"
_APPLIED = "applied"


@dataclass(frozen=True)
class SearchProgress:
    """Where a search stands: trials finished (this session and before) out of the total."""

    trials_done: int
    trials_total: int


@dataclass(frozen=True)
class World:
    """A world a trial is evaluated in: a scenario document without variants, expectations,
    sweep or search (`_policy_free_document`), to which each trial's levers are applied. A
    search over one world uses the scenario's own; over several, a trial's objective is the mean
    of its per-world means (each world with its own replications)."""

    name: str
    document: dict[str, Any]


def run_search(
    scenario: Scenario | str | Path,
    out_dir: str | Path,
    *,
    resume: bool = False,
    trials: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    executor: Executor | None = None,
    progress: Callable[[SearchProgress], None] | None = None,
) -> pd.DataFrame:
    """Run a scenario's search into `out_dir`; return one row per trial (`trials.parquet`).

    `trials` overrides the section's. Raises `ScenarioError` for a scenario without a search
    section, `OutputError` for a folder that holds something else (or a finished search without
    `resume`)."""
    if isinstance(scenario, Scenario):
        loaded = load_scenario(scenario)
    else:
        loaded, _ = load_file(Path(scenario))
    search = loaded.search
    if search is None:
        raise ScenarioError(
            [Problem("the scenario has no search: section", path="search", allowed="a search:")]
        )
    if trials is not None and trials < 1:
        raise SimlockError(f"trials must be at least 1, got {trials}")
    require("optuna", "search", "policy search")
    total = trials or search.trials
    out = Path(out_dir)
    started = time.perf_counter()
    replications = search.replications or loaded.replications
    seed = loaded.seed if search.seed is None else search.seed
    worlds = [World("scenario", _policy_free_document(loaded))]
    runner = executor or make_executor(workers, scheduler)
    with runner:
        study = _open_study(out, resume, [o.direction for o in search.objectives])
        evaluate = _Evaluator(loaded, worlds, replications, runner)
        pending = [t for t in study.trials if t.state.name == "RUNNING"]
        if pending:
            _tell(study, pending, evaluate(pending), loaded)
        done = _finished(study)
        report = progress or (lambda _: None)
        report(SearchProgress(done, total))
        while done < total:
            generation = done // search.population
            study.sampler = _sampler(loaded, seed, generation)
            batch = [study.ask() for _ in range(min(search.population, total - done))]
            for trial in batch:
                _suggest(trial, loaded)
            _tell(study, batch, evaluate(batch), loaded)
            done = _finished(study)
            report(SearchProgress(done, total))
        frame = trials_frame(study, loaded)
        write_atomic(out / TRIALS_FILE, lambda path: frame.to_parquet(path, index=False))
        pareto = frame[frame["pareto"]].reset_index(drop=True)
        write_atomic(out / PARETO_FILE, lambda path: pareto.to_parquet(path, index=False))
        text = pareto_variants_yaml(loaded, pareto)
        write_atomic(out / PARETO_YAML, lambda path: path.write_text(text, encoding="utf-8"))
        if (out / VARIANTS_FILE).exists():
            variants = pd.read_parquet(out / VARIANTS_FILE)
        else:
            variants = run_variants(loaded, replications, runner)
            write_atomic(out / VARIANTS_FILE, lambda path: variants.to_parquet(path, index=False))
    write_search_report(loaded, frame, variants, out)
    write_manifest(
        out / MANIFEST_FILE,
        {
            "scenario": loaded.name,
            "trials": total,
            "population": search.population,
            "replications": replications,
            "scale": search.scale,
            "seed": seed,
            "worlds": len(worlds),
            "policies_simulated": len(evaluate.done),
            "executor": runner.name,
            "workers": runner.workers,
            "wall_seconds": time.perf_counter() - started,
        },
    )
    return frame


def _policy_free_document(scenario: Scenario) -> dict[str, Any]:
    """The scenario's plain data with only what a trial needs: its variants, expectations, sweep
    and search sections left out (a trial runs its own policy, as the baseline)."""
    return scenario.model_dump(
        by_alias=True, exclude={"variants", "expectations", "sweep", "search"}
    )


def _open_study(out: Path, resume: bool, directions: list[str]) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    log = out / STUDY_FILE
    if out.exists() and any(out.iterdir()) and not resume:
        raise OutputError(
            f"{out} already holds files; choose an empty folder or pass --resume to continue "
            "the search in it"
        )
    if resume and not log.exists():
        raise OutputError(f"{out} holds no search to resume (no {STUDY_FILE})")
    out.mkdir(parents=True, exist_ok=True)
    storage = JournalStorage(JournalFileBackend(str(log)))
    if resume:
        return optuna.load_study(study_name=STUDY_NAME, storage=storage)
    return optuna.create_study(study_name=STUDY_NAME, storage=storage, directions=directions)


def _sampler(scenario: Scenario, seed: int, generation: int) -> Any:
    """NSGA-II for one generation, seeded by (seed, generation): a resumed search draws what an
    uninterrupted one would have."""
    from optuna.samplers import NSGAIISampler, TPESampler

    search = scenario.search
    generation_seed = int(np.random.SeedSequence([seed, generation]).generate_state(1)[0])
    constraints = _constraint_values if search.constraints else None
    if search.sampler == "tpe":
        return TPESampler(
            seed=generation_seed,
            n_startup_trials=search.population,
            constraints_func=constraints,
        )
    return NSGAIISampler(
        population_size=search.population, seed=generation_seed, constraints_func=constraints
    )


def _constraint_values(trial: Any) -> list[float]:
    """A trial's constraint values, set before it is told (<= 0 is feasible)."""
    return list(trial.user_attrs[_CONSTRAINTS])


def choice_label(value: Any) -> Any:
    """A lever's choice as Optuna stores it: a plain scalar as itself, a list or mapping as JSON."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return json.dumps(value, sort_keys=True)


def _suggest(trial: Any, scenario: Scenario) -> None:
    for lever in scenario.search.levers:
        if lever.values is not None:
            trial.suggest_categorical(lever.path, [choice_label(v) for v in lever.values])
        else:
            trial.suggest_float(lever.path, lever.low, lever.high)


def trial_document(base: dict[str, Any], scenario: Scenario, params: dict[str, Any]) -> Any:
    """The scenario document with a trial's levers applied, and the values as applied (an
    integer field gets the nearest integer)."""
    doc = copy.deepcopy(base)
    applied: dict[str, Any] = {}
    for lever in scenario.search.levers:
        value = params[lever.path]
        if lever.values is not None:
            value = lever.values[[choice_label(v) for v in lever.values].index(value)]
        applied[lever.path] = fieldpaths.assign(doc, fieldpaths.tokens(lever.path), value)
    return doc, applied


Evaluation = tuple[dict[str, Any], list[pd.DataFrame] | None]
"""A trial's levers as applied, and its rows in each world (None: the levers make no valid
scenario, and the trial fails)."""


class _Evaluator:
    """Runs trials: every (trial, world, replication) is one task on the executor.

    A policy already evaluated in this session is not simulated again: the same policy on the
    same seeds gives the same rows (NSGA-II proposes repeats, and several choices of levers can
    make one policy)."""

    def __init__(
        self, scenario: Scenario, worlds: list[World], replications: int, runner: Executor
    ) -> None:
        self.scenario = scenario
        self.worlds = worlds
        self.replications = replications
        self.runner = runner
        self.done: dict[tuple[int, str], pd.DataFrame] = {}

    def __call__(self, trials: Sequence[Any]) -> list[Evaluation]:
        search = self.scenario.search
        tasks: list[PointTask] = []
        points: dict[tuple[int, str], int] = {}  # policies to simulate in this batch
        prepared: list[tuple[dict[str, Any], list[tuple[int, str]] | str]] = []
        for trial in trials:
            keys: list[tuple[int, str]] | str = []
            applied: dict[str, Any] = {}
            for w, world in enumerate(self.worlds):
                doc, applied = trial_document(world.document, self.scenario, trial.params)
                try:
                    trial_scenario = load_scenario(doc)
                except ScenarioError as exc:  # a combination of levers the format forbids
                    keys = "; ".join(p.message for p in exc.problems)
                    break
                key = (w, trial_scenario.policy.model_dump_json())
                keys.append(key)
                if key in self.done or key in points:
                    continue
                points[key] = len(points)
                policies = trial_scenario.policies([BASELINE])
                tasks.extend(
                    PointTask(
                        trial_scenario, points[key], r, (BASELINE,), (), policies, search.scale
                    )
                    for r in range(self.replications)
                )
            prepared.append((applied, keys))
        if tasks:
            rows = pd.concat(list(self.runner.map(run_point, tasks)))
            for key, point in points.items():
                self.done[key] = rows[rows["point"] == point]
        return [
            (applied, [self.done[k] for k in keys])
            if isinstance(keys, list)
            else ({**applied, "invalid": keys}, None)
            for applied, keys in prepared
        ]


def metric_mean(rows: pd.DataFrame, name: str) -> float:
    """A metric's mean over a trial's replications (an overall, region or channel metric; a
    region or channel a trial's rows lack contributes 0: it had no activations)."""
    wanted = MetricName.parse(name)
    part = rows[(rows["group"] == wanted.group) & (rows["key"] == wanted.key)]
    replications = rows["replication"].nunique()
    if part.empty:
        return 0.0
    return float(part[wanted.metric].sum() / replications)


def over_worlds(rows: list[pd.DataFrame], name: str) -> float:
    """A metric's mean over the worlds of its mean over each world's replications."""
    return float(np.mean([metric_mean(part, name) for part in rows]))


def _tell(
    study: Any,
    trials: Sequence[Any],
    results: list[Evaluation],
    scenario: Scenario,
) -> None:
    """Tell every trial in trial order (the order the sampler then reads them in)."""
    from optuna.trial import TrialState

    search = scenario.search
    for trial, (applied, rows) in sorted(
        zip(trials, results, strict=True), key=lambda pair: pair[0].number
    ):
        # Kept in the storage, so a resumed search reads what each trial applied.
        study._storage.set_trial_user_attr(
            trial._trial_id, _APPLIED, json.dumps(applied, default=str)
        )
        if rows is None:
            study.tell(trial.number, state=TrialState.FAIL)
            continue
        constraints = [_violation(c, over_worlds(rows, c.metric)) for c in search.constraints]
        study._storage.set_trial_user_attr(trial._trial_id, _CONSTRAINTS, constraints)
        values = [over_worlds(rows, o.metric) for o in search.objectives]
        study.tell(trial.number, values)


def _violation(constraint: Any, value: float) -> float:
    """How far a value is outside a constraint's bounds (<= 0 inside: Optuna's convention)."""
    over = value - constraint.max if constraint.max is not None else -np.inf
    under = constraint.min - value if constraint.min is not None else -np.inf
    return float(max(over, under))


def _finished(study: Any) -> int:
    return sum(t.state.name in ("COMPLETE", "FAIL") for t in study.trials)


def trials_frame(study: Any, scenario: Scenario) -> pd.DataFrame:
    """One row per finished trial: trial, generation, each lever (as applied), each objective,
    each constraint's value, feasible, pareto (non-dominated among the feasible trials)."""
    search = scenario.search
    rows: list[dict[str, Any]] = []
    for trial in study.trials:
        if trial.state.name not in ("COMPLETE", "FAIL"):
            continue
        applied = json.loads(trial.user_attrs.get(_APPLIED, "{}"))
        row: dict[str, Any] = {
            "trial": trial.number,
            "generation": trial.number // search.population,
        }
        for lever in search.levers:
            row[lever.path] = _label(applied.get(lever.path))
        values = trial.values or [np.nan] * len(search.objectives)
        for objective, value in zip(search.objectives, values, strict=True):
            row[objective.metric] = float(value)
        violations = trial.user_attrs.get(_CONSTRAINTS, [np.nan] * len(search.constraints))
        for constraint, violation in zip(search.constraints, violations, strict=True):
            row[f"constraint:{constraint.metric}"] = float(violation)
        row["feasible"] = trial.state.name == "COMPLETE" and all(v <= 0 for v in violations)
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["pareto"] = pareto_mask(frame, scenario) & frame["feasible"].to_numpy()
    return frame.sort_values("trial").reset_index(drop=True)


def _label(value: Any) -> Any:
    """A lever's applied value for a table cell: lists and mappings as compact text."""
    if isinstance(value, list | dict):
        return json.dumps(value)
    return value


def pareto_mask(frame: pd.DataFrame, scenario: Scenario) -> np.ndarray:
    """Trials no feasible trial dominates (at least as good on every objective, better on one);
    a trial that is not feasible is never on the frontier."""
    signs = np.array(
        [1.0 if o.direction == "minimize" else -1.0 for o in scenario.search.objectives]
    )
    names = [o.metric for o in scenario.search.objectives]
    costs = frame[names].to_numpy(dtype=float) * signs
    feasible = frame["feasible"].to_numpy(dtype=bool) & np.isfinite(costs).all(axis=1)
    mask = np.zeros(len(frame), dtype=bool)
    for i in np.flatnonzero(feasible):
        others = costs[feasible]
        dominated = np.any(np.all(others <= costs[i], axis=1) & np.any(others < costs[i], axis=1))
        mask[i] = not dominated
    return mask


def pareto_variants(scenario: Scenario, pareto: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Each Pareto trial as a variant override (`search-trial-N`): the policy fields its levers
    reach, written whole (a variant replaces what it names, so the override is exact)."""
    base = _policy_free_document(scenario)
    variants: dict[str, dict[str, Any]] = {}
    policy_keys = list(
        dict.fromkeys(fieldpaths.tokens(lv.path)[1] for lv in scenario.search.levers)
    )
    for _, row in pareto.iterrows():
        params = {
            lever.path: choice_label(_unlabel(row[lever.path], lever))
            for lever in scenario.search.levers
        }
        doc, _ = trial_document(base, scenario, params)
        policy = load_scenario(doc).policy.model_dump(mode="json", by_alias=True)
        variants[f"search-trial-{int(row['trial'])}"] = {key: policy[key] for key in policy_keys}
    return variants


def _unlabel(value: Any, lever: Any) -> Any:
    """A table cell back to the lever's value (a JSON text of a list or mapping)."""
    if lever.values is None:
        return float(value)
    if value is None or (isinstance(value, float) and np.isnan(value)):
        value = None  # a null choice (no warning) reads back from Parquet as a missing value
    for choice in lever.values:
        if _label(choice) == value or choice == value:
            return choice
    raise SimlockError(f"{lever.path}: {value!r} is none of the lever's values")


def pareto_variants_yaml(scenario: Scenario, pareto: pd.DataFrame) -> str:
    """The Pareto policies as a `variants:` block to paste into the scenario."""
    if pareto.empty:
        return "# no feasible trial: no Pareto policy to write\nvariants: {}\n"
    header = (
        f"# The Pareto policies of the search of {scenario.name}: paste these under the\n"
        "# scenario's variants: and run them with `simlock run`.\n"
    )
    body = yaml.safe_dump(
        {"variants": pareto_variants(scenario, pareto)}, sort_keys=False, allow_unicode=True
    )
    return header + body


def run_variants(scenario: Scenario, replications: int, runner: Executor) -> pd.DataFrame:
    """The scenario's own policy and variants at the search's scale and replications (the same
    seeds as the trials): where the policies someone thought of sit against the frontier. One row
    per variant with each objective's mean."""
    search = scenario.search
    names = tuple(scenario.variant_names)
    plain = load_scenario(
        scenario.model_dump(by_alias=True, exclude={"search", "sweep", "expectations"})
    )
    policies = plain.policies(list(names))
    tasks = [
        PointTask(plain, -1, r, names, (), policies, search.scale) for r in range(replications)
    ]
    rows = pd.concat(list(runner.map(run_point, tasks)))
    out = []
    for name in names:
        part = rows[rows["variant"] == name]
        out.append(
            {"variant": name, **{o.metric: metric_mean(part, o.metric) for o in search.objectives}}
        )
    return pd.DataFrame(out)

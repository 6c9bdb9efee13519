"""Robust policy search: every trial over the same plausible worlds, judged by a statistic.

With a posterior from `simlock calibrate`, a search draws N worlds once (`Calibration.draw`
with the search's seed, as `simlock run --posterior` draws them), and evaluates every trial in
each. A trial's objective is a statistic of its per-world values (each world's value is the mean
over that world's replications):

- `mean`: the mean across worlds;
- `qNN`: the cautious NN% quantile. For an objective to minimise it is the NN% quantile of the
  per-world values, for one to maximise the (100-NN)% quantile: either way the value the policy
  does at least as well as in NN% of worlds. "Collateral locks in the worst 10% of worlds" is
  `q90` (the 90% quantile of collateral locks; of targeted locks, the 10% quantile). `q50` is the
  median. Quantiles interpolate linearly between worlds (numpy's default).

A constraint is read as cautiously: its `max` against the upper quantile, its `min` against the
lower one. The robustness of a Pareto policy is the number of worlds in which no other Pareto
policy beats it on every objective: one that stays non-dominated in most worlds holds up whatever
the world; one that does so in few only looks good on the statistic.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from simlock.errors import OptionError, OutputError
from simlock.scenario.models import Scenario
from simlock.scenario.search_section import DEFAULT_WORLDS, STATISTIC_PATTERN

from .calibrate import load_calibration
from .worlds import draw_records, world_scenario

WORLD = "world"
PARTICLE = "particle"


@dataclass(frozen=True)
class Statistic:
    """How an objective is summarised across worlds: `mean`, or the cautious `quantile` (0-1)."""

    name: str
    quantile: float | None

    @classmethod
    def parse(cls, text: str) -> Statistic:
        """`mean` or `qNN` (1 <= NN <= 99); anything else is an `OptionError` saying so."""
        import re

        if not re.match(STATISTIC_PATTERN, text or ""):
            raise OptionError(
                f"statistic: {text!r} is not allowed; use mean, or qNN for the cautious NN% "
                "quantile across worlds (q90: as good as the policy does in 90% of worlds)"
            )
        return cls(text, None if text == "mean" else int(text[1:]) / 100)

    def of(self, values: np.ndarray | list[float], minimize: bool) -> float:
        """The statistic of per-world values of an objective pushed down (`minimize`) or up."""
        values = np.asarray(values, dtype=float)
        if self.quantile is None:
            return float(np.mean(values))
        q = self.quantile if minimize else 1.0 - self.quantile
        return float(np.quantile(values, q))


@dataclass(frozen=True)
class SearchWorlds:
    """The worlds of a search: each as a scenario with a posterior draw's inputs applied, the
    draws themselves (world, particle, inputs) and what identifies them for `--resume`."""

    scenarios: list[Scenario]
    draws: pd.DataFrame
    identity: dict[str, Any]


def resolve_posterior(scenario: Scenario, file: Path | None, posterior: str | Path | None) -> Any:
    """The posterior folder to use: the argument, else the section's (relative to the scenario
    file's folder when the scenario came from a file); None without either."""
    if posterior is not None:
        return Path(posterior)
    named = scenario.search.posterior
    if named is None:
        return None
    path = Path(named)
    if not path.is_absolute() and file is not None:
        path = Path(file).parent / path
    return path


def draw_search_worlds(
    scenario: Scenario, posterior: Path, count: int | None, seed: int, statistic: Statistic
) -> SearchWorlds:
    """`count` worlds from the posterior in `posterior`, drawn as `simlock run --posterior`
    draws them (by weight, with `seed`), applied to `scenario`.

    Raises `OutputError` for a folder that is not a finished calibration (naming it)."""
    if not posterior.is_dir():
        raise OutputError(
            f"--posterior {posterior}: no such folder; give a folder written by simlock calibrate"
        )
    try:
        calibration = load_calibration(posterior)
    except OutputError as exc:
        raise OutputError(f"--posterior {posterior}: {exc}") from None
    n = count or scenario.search.worlds or DEFAULT_WORLDS
    if isinstance(n, bool) or n < 1:
        raise OptionError(f"worlds: {n!r} is not a whole number of at least 1")
    draws = calibration.draw(n, seed)
    scenarios = [world_scenario(scenario, draws.iloc[w], calibration.inputs) for w in range(n)]
    records = draw_records(draws)
    identity = {
        "worlds": n,
        "statistic": statistic.name,
        "calibration_hash": calibration.manifest.get("calibration_hash"),
        "draws_hash": hashlib.sha256(
            json.dumps(records, sort_keys=True, default=str).encode()
        ).hexdigest(),
    }
    return SearchWorlds(scenarios, draws, identity)


def robust_worlds(
    pareto: pd.DataFrame, per_world: pd.DataFrame, objectives: list[Any]
) -> pd.Series:
    """For each Pareto trial, the number of worlds in which no other Pareto trial is at least as
    good on every objective and better on one (judged on that world's values). Indexed by trial."""
    trials = pareto["trial"].to_numpy()
    names = [o.metric for o in objectives]
    signs = np.array([1.0 if o.direction == "minimize" else -1.0 for o in objectives])
    counts = pd.Series(0, index=trials, dtype="int64", name="robust_worlds")
    rows = per_world[per_world["trial"].isin(trials)]
    for _, world in rows.groupby(WORLD):
        world = world.set_index("trial").reindex(trials)
        costs = world[names].to_numpy(dtype=float) * signs
        for i, trial in enumerate(trials):
            if not np.isfinite(costs[i]).all():
                continue
            others = np.delete(costs, i, axis=0)
            beaten = np.any(np.all(others <= costs[i], axis=1) & np.any(others < costs[i], axis=1))
            counts[trial] += int(not beaten)
    return counts


def check_identity(stored: dict[str, Any] | None, wanted: dict[str, Any] | None) -> None:
    """A resumed search must evaluate over the worlds and statistic it started with (its trials
    were judged on them); otherwise an `OutputError` says what changed."""
    if (stored or None) == (wanted or None):
        return
    raise OutputError(
        "the search in this folder was started over other worlds or with another statistic "
        f"(started: {_words(stored)}; now: {_words(wanted)}); resume it with the same "
        "--posterior, --worlds and --statistic, or search into a new folder"
    )


def _words(identity: dict[str, Any] | None) -> str:
    if not identity:
        return "the scenario alone, no posterior"
    return f"{identity['worlds']} worlds, statistic {identity['statistic']}"

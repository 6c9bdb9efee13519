"""Results over plausible worlds: a run whose replications are spread over draws from a posterior.

A run over a calibration's posterior (`simlock run FILE --posterior DIR`) simulates `worlds` draws
of the uncertain inputs, each with its own replications; its frames carry a `world` column, and
replication numbers are unique across worlds (world w's replications are w*R ... w*R + R - 1),
so every variant of a (world, replication) shares its devices (common random numbers).

Two kinds of uncertainty are then kept apart in the summary:

- the **plausible range** (`plausible_low`, `plausible_high`): the 5% and 95% quantiles of the
  metric over every world and replication: what the answer may be, given what is unknown
  (parameter uncertainty) and the dice (stochastic uncertainty) together;
- the **Monte Carlo interval** (`ci_low`, `ci_high`): the 95% t-interval of the mean over
  the worlds' means: how precisely these simulations estimate the posterior mean. More worlds
  narrow it; nothing narrows the plausible range but better observations.

Differences between variants are paired within each (world, replication) and summarised the
same way, with `worlds_same_sign`: the share of worlds whose mean difference has the sign of the
overall mean difference (1.0: the effect holds in every plausible world), and the relative
difference (variant minus baseline over baseline, per world and replication) as its median and
plausible range (`relative_median`, `relative_low`, `relative_high`: "warn-first would have
locked 20-35% fewer").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simlock.scenario.models import BASELINE

from .metrics import SUMMARY_KEYS, half_width

PLAUSIBLE = (0.05, 0.95)
"""The plausible range is this central interval over worlds and replications (90%)."""

WORLD = "world"
SUMMARY_COLUMNS = [
    *SUMMARY_KEYS,
    "mean",
    "ci_low",
    "ci_high",
    "n",
    "worlds",
    "plausible_low",
    "plausible_high",
]
DIFFERENCE_COLUMNS = [
    *SUMMARY_KEYS,
    "difference",
    "ci_low",
    "ci_high",
    "n",
    "worlds",
    "plausible_low",
    "plausible_high",
    "worlds_same_sign",
    "relative_low",
    "relative_median",
    "relative_high",
]


def has_worlds(frame: pd.DataFrame) -> bool:
    """Whether a frame comes from a run over plausible worlds."""
    return WORLD in frame.columns


def summarize_worlds(replicates: pd.DataFrame) -> pd.DataFrame:
    """Per variant, group, key and metric: the mean over worlds and replications, its Monte
    Carlo interval (over world means) and the plausible range (over every value)."""
    if replicates.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    return _summarize(replicates, "value", "mean")[SUMMARY_COLUMNS]


def compare_worlds(replicates: pd.DataFrame, baseline: str = BASELINE) -> pd.DataFrame:
    """Each variant minus the baseline, paired within each world and replication."""
    keys = ["group", "key", "metric", "replication"]
    base = replicates[replicates["variant"] == baseline].set_index(keys)["value"]
    others = replicates[replicates["variant"] != baseline]
    if others.empty:
        return pd.DataFrame(columns=DIFFERENCE_COLUMNS)
    indexed = others.set_index(keys)
    base_values = base.reindex(indexed.index).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        paired = others.assign(
            difference=indexed["value"].to_numpy() - base_values,
            relative=(indexed["value"].to_numpy() - base_values)
            / np.where(base_values != 0, base_values, np.nan),
        )
    summary = _summarize(paired, "difference", "difference")
    world_means = (
        paired.groupby([*SUMMARY_KEYS, WORLD], observed=True, sort=False)["difference"]
        .mean()
        .rename("world_mean")
        .reset_index()
    )
    merged = world_means.merge(summary[[*SUMMARY_KEYS, "difference"]], on=SUMMARY_KEYS)
    same = np.sign(merged["world_mean"]) == np.sign(merged["difference"])
    share = (
        merged.assign(same=same.astype(float))
        .groupby(SUMMARY_KEYS, observed=True, sort=False)["same"]
        .mean()
        .rename("worlds_same_sign")
        .reset_index()
    )
    finite = paired[np.isfinite(paired["relative"].to_numpy(dtype=float))]
    relative = (
        finite.groupby(SUMMARY_KEYS, observed=True, sort=False)["relative"]
        .quantile([PLAUSIBLE[0], 0.5, PLAUSIBLE[1]])
        .unstack()
    )
    relative.columns = ["relative_low", "relative_median", "relative_high"]
    out = summary.merge(share, on=SUMMARY_KEYS, how="left")
    out = out.merge(relative.reset_index(), on=SUMMARY_KEYS, how="left")
    return out[DIFFERENCE_COLUMNS]


def _summarize(frame: pd.DataFrame, column: str, name: str) -> pd.DataFrame:
    """Mean of the world means with its t-interval, count of values and of worlds, and the
    plausible range over every value (undefined values, a median of no locks, left out)."""
    valid = frame[np.isfinite(frame[column].to_numpy(dtype=float))]
    grouped = valid.groupby(SUMMARY_KEYS, observed=True, sort=False)[column]
    spread = grouped.quantile(list(PLAUSIBLE)).unstack()
    spread.columns = ["plausible_low", "plausible_high"]
    world_means = valid.groupby([*SUMMARY_KEYS, WORLD], observed=True, sort=False)[column].mean()
    moments = world_means.groupby(level=SUMMARY_KEYS, observed=True, sort=False).agg(
        ["mean", "std", "count"]
    )
    half = half_width(moments["std"].to_numpy(), moments["count"].to_numpy())
    out = pd.DataFrame(
        {
            name: moments["mean"],
            "ci_low": moments["mean"] - half,
            "ci_high": moments["mean"] + half,
            "worlds": moments["count"],
        }
    )
    out["n"] = grouped.count().reindex(out.index)
    return out.join(spread).reset_index()


__all__ = [
    "PLAUSIBLE",
    "WORLD",
    "compare_worlds",
    "has_worlds",
    "summarize_worlds",
]

"""Weighted quantiles: the summaries of a weighted sample (a posterior's particles)."""

from __future__ import annotations

import numpy as np


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float | np.ndarray) -> np.ndarray:
    """Quantile(s) `q` of `values` where each value carries its weight: the smallest value whose
    cumulative weight reaches q (the inverse of the weighted empirical distribution). NaN values
    and their weights are left out; NaN when nothing is left."""
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    keep = np.isfinite(values) & (weights > 0)
    if not keep.any():
        return np.full(np.shape(q), np.nan)
    order = np.argsort(values[keep], kind="stable")
    sorted_values = values[keep][order]
    cumulative = np.cumsum(weights[keep][order])
    cumulative /= cumulative[-1]
    index = np.searchsorted(cumulative, np.asarray(q) - 1e-12, side="left")
    return sorted_values[np.minimum(index, sorted_values.size - 1)]


__all__ = ["weighted_quantile"]

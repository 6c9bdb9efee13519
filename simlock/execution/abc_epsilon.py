"""The tolerance schedule of a calibration: pyabc's quantile epsilon, made to progress past ties.

pyabc's `QuantileEpsilon` sets each population's tolerance to a quantile (the median) of the last
population's distances. simlock's distances come in steps wherever a target is discrete: a rank
one place off its bound is a distance of exactly 1, whatever else the world gets right. When half
the particles sit on such a step the median is the step itself, the next population accepts the
same particles again, and the schedule stalls at that tolerance for every remaining population,
keeping worlds that break a fact (measured: eight populations of 1,000 particles at tolerance 1,
with 97% acceptance, on the 2021 scenario with eight inputs). Here, a quantile that does not go
below the last tolerance is taken instead among the distances strictly below it, so every
population asks for better fits than the one before, as long as some particle gives one.

pyabc is imported by this module: import it only where a calibration runs (`calibrate`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyabc
from pyabc.weighted_statistics import weighted_quantile


class ProgressingQuantileEpsilon(pyabc.QuantileEpsilon):
    """`pyabc.QuantileEpsilon` whose tolerance goes down from one population to the next while
    some particle of the last population lies strictly below the last tolerance."""

    def _update(self, t: int, weighted_distances: pd.DataFrame) -> None:
        super()._update(t, weighted_distances)
        previous = self._look_up.get(t - 1)
        if previous is None or self._look_up[t] < previous:
            return
        below = weighted_distances[weighted_distances["distance"] < previous]
        if below.empty:
            return
        weights = below["w"].to_numpy(dtype=float) if self.weighted else np.ones(len(below))
        quantile = weighted_quantile(
            points=below["distance"].to_numpy(dtype=float),
            weights=weights / weights.sum(),
            alpha=self.alpha,
        )
        self._look_up[t] = quantile * self.quantile_multiplier

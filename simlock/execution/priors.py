"""Priors of uncertain inputs as distributions over numbers: what pyabc samples and perturbs.

ABC-SMC perturbs particles with a kernel in a space of real numbers, so each input is sampled in
an internal coordinate where its prior is simple, and mapped to the field's value when applied:

- `uniform` (numbers): the value itself, uniform on [low, high].
- `uniform` (dates): u uniform on [0, days + 1); the value is `low + floor(u)` days, so each day
  from low to high (both included) has the same probability.
- `loguniform`: log(value), uniform on [log(low), log(high)]: a kernel in log space moves a rate
  of 5,000 and one of 20,000 by the same factor.
- `normal`: the value itself, normal and truncated to the field's bounds.
- `choice`: the index of the value, a discrete distribution with the weights (perturbed by a
  jump kernel: stay with probability 0.7, else move to another value).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from simlock.scenario.models import Scenario
from simlock.scenario.uncertain import (
    ChoiceInput,
    LogUniformInput,
    NormalInput,
    UniformInput,
    field_bounds,
)


@dataclass(frozen=True)
class Prior:
    """One uncertain input: its path, its prior in the internal coordinate, and the mapping
    from that coordinate to the field's value."""

    key: str
    """The parameter's name for pyabc (`p00`, `p01`, ...; paths are not valid names there)."""
    path: str
    kind: str
    """uniform, date, loguniform, normal or choice."""
    scipy_name: str
    args: tuple[float, ...]
    kwargs: tuple[tuple[str, Any], ...] = ()
    low_date: dt.date | None = None
    values: tuple[Any, ...] = ()

    @property
    def discrete(self) -> bool:
        return self.kind == "choice"

    def distribution(self) -> Any:
        """The frozen scipy distribution of the internal coordinate."""
        return getattr(stats, self.scipy_name)(*self.args, **dict(self.kwargs))

    def pyabc_rv(self) -> Any:
        from pyabc import RV

        return RV(self.scipy_name, *self.args, **dict(self.kwargs))

    def to_value(self, u: float) -> Any:
        """The field's value at internal coordinate `u`."""
        if self.kind == "loguniform":
            return math.exp(u)
        if self.kind == "date":
            days = int(self.args[1]) - 1
            return self.low_date + dt.timedelta(days=min(max(math.floor(u), 0), days))  # type: ignore[operator]
        if self.kind == "choice":
            return self.values[min(max(round(u), 0), len(self.values) - 1)]
        return float(u)

    def sample_values(self, count: int, rng: np.random.Generator) -> list[Any]:
        """`count` values drawn from the prior with `rng` (for the report's prior panels)."""
        draws = self.distribution().rvs(size=count, random_state=rng)
        return [self.to_value(float(u)) for u in np.atleast_1d(draws)]


def priors_of(scenario: Scenario) -> list[Prior]:
    """The scenario's uncertain inputs as priors, in file order."""
    out = []
    for i, item in enumerate(scenario.uncertain):
        key = f"p{i:02d}"
        if isinstance(item, ChoiceInput):
            weights = np.asarray(item.weights or [1.0] * len(item.values), dtype=float)
            indices = np.arange(len(item.values))
            out.append(
                Prior(
                    key,
                    item.path,
                    "choice",
                    "rv_discrete",
                    (),
                    (("values", (indices, weights / weights.sum())),),
                    values=tuple(item.values),
                )
            )
        elif isinstance(item, UniformInput) and isinstance(item.low, dt.date):
            days = (item.high - item.low).days + 1  # type: ignore[operator]
            out.append(
                Prior(key, item.path, "date", "uniform", (0.0, float(days)), low_date=item.low)
            )
        elif isinstance(item, UniformInput):
            low, high = float(item.low), float(item.high)  # type: ignore[arg-type]
            out.append(Prior(key, item.path, "uniform", "uniform", (low, high - low)))
        elif isinstance(item, LogUniformInput):
            low, high = math.log(item.low), math.log(item.high)
            out.append(Prior(key, item.path, "loguniform", "uniform", (low, high - low)))
        elif isinstance(item, NormalInput):
            lowest, highest = field_bounds(scenario, item.path)
            a = -np.inf if lowest is None else (lowest - item.mean) / item.sd
            b = np.inf if highest is None else (highest - item.mean) / item.sd
            out.append(Prior(key, item.path, "normal", "truncnorm", (a, b, item.mean, item.sd)))
    return out


def values_of(priors: list[Prior], parameters: dict[str, float]) -> dict[str, Any]:
    """Field path -> value, for a particle's internal coordinates."""
    return {p.path: p.to_value(float(parameters[p.key])) for p in priors}


__all__ = ["Prior", "priors_of", "values_of"]

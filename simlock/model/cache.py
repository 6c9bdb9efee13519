"""What a replication computes once and every variant reuses: the per-replication cache.

Every variant of a replication runs on the same devices, and much of what a variant needs over
all of them (the territory a detection rule infers, the personal draws of the devices it
considers, activations per day) depends on its policy only through a few of the policy's fields.
Computing it once per replication instead of once per variant is most of a realistic run's time.

Each value has a named method here whose parameters are everything the value depends on besides
the population's columns (which are read-only once generated): the method makes the value's key
from them, so a key cannot leave an input out. Values are shared by the variants that ask for
them, so their arrays are read-only too.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from simlock.scenario.models import Delay, Detection

from .detection import infer_territory
from .policy import delay_quantile

if TYPE_CHECKING:
    from .population import Population

_T = TypeVar("_T")


@dataclass(frozen=True)
class Belief:
    """What an inference depends on: the signals in the rule's order, the rule and the banned
    territory codes (as a sorted set). Variants with the same belief detect alike."""

    signals: tuple[str, ...]
    rule: str
    banned: tuple[int, ...]

    @classmethod
    def of(cls, detection: Detection, banned_codes: np.ndarray) -> Belief:
        return cls(
            tuple(detection.signals), detection.rule, tuple(sorted({int(c) for c in banned_codes}))
        )


@dataclass(frozen=True)
class Inference:
    """One rule's belief over every device: `detected` (territory code, or NO_SIGNAL) and `hit`
    (detected in a banned territory), as `detection.infer_territory` returns them, and `hits`,
    the ascending indices of the devices hit."""

    belief: Belief
    detected: np.ndarray
    hit: np.ndarray
    hits: np.ndarray


class ReplicationCache:
    """The values one replication's variants share, each computed on first use.

    Reached as `population.cache`; one per population, so it lives and dies with the
    replication's devices.
    """

    def __init__(self, population: Population) -> None:
        self._population = population
        self._values: dict[tuple[Hashable, ...], Any] = {}

    def __len__(self) -> int:
        """How many values are cached."""
        return len(self._values)

    def _get(self, key: tuple[Hashable, ...], compute: Callable[[], _T]) -> _T:
        if key not in self._values:
            self._values[key] = compute()
        return self._values[key]

    def inference(self, detection: Detection, banned_codes: np.ndarray) -> Inference:
        """`detection.infer_territory` under `detection` for the banned territories."""
        belief = Belief.of(detection, banned_codes)

        def compute() -> Inference:
            detected, hit = infer_territory(self._population, detection, banned_codes)
            return Inference(belief, *_read_only(detected, hit, np.flatnonzero(hit)))

        return self._get(("inference", belief), compute)

    def hit_columns(self, inference: Inference) -> tuple[np.ndarray, np.ndarray]:
        """(device key, activation time) of the devices the inference hits."""
        population = self._population
        return self._get(
            ("hit columns", inference.belief),
            lambda: _read_only(
                population.key[inference.hits], population.activated[inference.hits]
            ),
        )

    def coverage_draws(self, inference: Inference) -> np.ndarray:
        """The coverage draw of each device the inference hits (`Population.u_coverage`): fixed
        per device across variants (common random numbers); a window covers the devices below
        its coverage."""
        population = self._population
        return self._get(
            ("coverage draws", inference.belief),
            lambda: _read_only(population.u_coverage[inference.hits])[0],
        )

    def lock_delays(self, inference: Inference, lock_delay: Delay, reach: float) -> np.ndarray:
        """The lock delay (days) of each device the inference hits whose coverage draw is below
        `reach` (the most any of a policy's windows covers), NaN for the others: no window can
        decide them, so their delay is never needed, and at realistic coverage that is half of
        the devices' quantile computations saved. Fixed per device across variants (the
        quantile of `Population.u_delay`)."""

        def compute() -> np.ndarray:
            reachable = np.flatnonzero(self.coverage_draws(inference) < reach)
            delay = np.full(inference.hits.size, np.nan)
            if reachable.size:
                u_delay = self._population.u_delay[inference.hits[reachable]]
                delay[reachable] = delay_quantile(lock_delay, u_delay)
            return _read_only(delay)[0]

        return self._get(
            ("lock delays", inference.belief, lock_delay.model_dump_json(), reach), compute
        )

    def daily_activations(self, days: int, count: Callable[[], np.ndarray]) -> np.ndarray:
        """Activations per day and region x channel group over `days` days, as `count` gives
        them (the analysis owns the counting; the value depends on nothing but `days`)."""
        return self._get(("daily activations", days), lambda: _read_only(count())[0])

    def activated_in_banned(self, banned: tuple[int, ...]) -> np.ndarray:
        """Per device: activated in one of the `banned` territory codes (a sorted tuple)."""
        population = self._population

        def compute() -> np.ndarray:
            territories = population.codebook.region_territories
            return _read_only(np.isin(territories, banned)[population.region])[0]

        return self._get(("activated in banned", banned), compute)

    def concerned_devices(self, belief: Belief, detected: np.ndarray) -> np.ndarray:
        """Ascending indices of the devices activated in, or detected in, a territory `belief`
        bans; `detected` is the inference under `belief` (`Inference.detected`)."""

        def compute() -> np.ndarray:
            lookup = np.zeros(len(self._population.codebook.territories) + 1, dtype=bool)
            lookup[list(belief.banned)] = True  # NO_SIGNAL (-1) indexes the trailing False
            in_banned = self.activated_in_banned(belief.banned)
            return _read_only(np.flatnonzero(in_banned | lookup[detected]))[0]

        return self._get(("concerned devices", belief), compute)


def _read_only(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """The arrays, made read-only: they are shared by every variant that reuses them."""
    for array in arrays:
        array.flags.writeable = False
    return arrays

"""A pyabc sampler on simlock's executors whose populations depend on the seed alone.

pyabc's own parallel samplers reseed each worker from the operating system and keep whichever
particles finish first, so the same seed gives a different posterior on every run. This one
numbers the candidates of a population 0, 1, 2, ... and gives candidate k of population t its own
random state, derived from (seed, t, k) by `numpy.random.SeedSequence`: pyabc's draws (the
proposal, from numpy's global state, which pyabc uses) and the simulation's seed both come from
it. Candidates are evaluated in batches on any executor (this process, local processes, a Dask
cluster), and the population is the first `n` accepted candidates *in candidate order*: which
worker ran a candidate, and when it finished, cannot change the result, and neither can the
number of workers. A batch evaluates a few candidates past the last one needed; their results are
discarded, and are not counted as evaluations.

The global random state of the process that evaluates a candidate is saved and restored around
it, so a calibration in this process leaves numpy's and Python's random state as it found them.
Threads share that state, so a process evaluates one batch of candidates at a time: a Dask worker
with several threads runs candidates one after the other (start Dask workers with
`--nthreads 1` and one process per core to use every core).
"""

from __future__ import annotations

import contextvars
import hashlib
import math
import random
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from pyabc.sampler import Sampler

from .executors import Executor

SIMULATION_SEED: contextvars.ContextVar[int] = contextvars.ContextVar("simulation_seed")
"""The seed of the candidate being evaluated, for the model's simulations (set around each)."""

_LOADED: dict[str, Callable[[], Any]] = {}
"""The last population's simulate function, unpickled once per worker process."""

MIN_BATCH = 8

_GLOBAL_STATE = threading.Lock()
"""Held while candidates run: pyabc draws from numpy's global state, which threads share."""


def candidate_seeds(seed: int, t: int, k: int) -> tuple[int, int]:
    """(pyabc's numpy seed, the simulation's seed) of candidate `k` of population `t` (t = -1 is
    the prior sample that sets the first tolerance)."""
    state = np.random.SeedSequence([seed, t + 1, k]).generate_state(3, dtype=np.uint64)
    return int(state[0] % 2**32), int(state[1] % 2**63)


def evaluate_candidates(job: tuple[bytes, int, int, list[int]]) -> list[tuple[int, Any]]:
    """Evaluate candidates `ks` of population `t` with the pickled simulate function; return
    (k, particle) pairs. Top-level so any executor can run it."""
    import cloudpickle

    blob, seed, t, ks = job
    digest = hashlib.sha256(blob).hexdigest()
    with _GLOBAL_STATE:
        simulate_one = _LOADED.get(digest)
        if simulate_one is None:
            _LOADED.clear()
            simulate_one = _LOADED[digest] = cloudpickle.loads(blob)
        return _evaluate(simulate_one, seed, t, ks)


def _evaluate(
    simulate_one: Callable[[], Any], seed: int, t: int, ks: list[int]
) -> list[tuple[int, Any]]:
    saved_numpy, saved_python = np.random.get_state(), random.getstate()
    out = []
    try:
        for k in ks:
            numpy_seed, simulation_seed = candidate_seeds(seed, t, k)
            np.random.seed(numpy_seed)
            random.seed(numpy_seed)
            token = SIMULATION_SEED.set(simulation_seed)
            try:
                out.append((k, simulate_one()))
            finally:
                SIMULATION_SEED.reset(token)
    finally:
        np.random.set_state(saved_numpy)
        random.setstate(saved_python)
    return out


class ExecutorSampler(Sampler):
    """Samples populations on a simlock executor, deterministically for a given seed."""

    def __init__(
        self,
        executor: Executor,
        seed: int,
        on_batch: Callable[[int, int, int], None] | None = None,
    ) -> None:
        super().__init__()
        self.executor = executor
        self.seed = seed
        self.on_batch = on_batch
        """Called after each batch with (population, accepted, evaluated)."""

    def sample_until_n_accepted(
        self,
        n: int,
        simulate_one: Callable[[], Any],
        t: int,
        *,
        max_eval: float = np.inf,
        all_accepted: bool = False,
        ana_vars: Any = None,
    ) -> Any:
        import cloudpickle

        blob = cloudpickle.dumps(simulate_one)
        sample = self._create_empty_sample()
        accepted = evaluated = next_k = 0
        rate = 1.0 if all_accepted else 0.5
        while accepted < n and evaluated < max_eval:
            wanted = math.ceil((n - accepted) / max(rate, 0.02) * 1.1)
            size = int(min(max(wanted, MIN_BATCH, 2 * self.executor.workers), 20 * n))
            if np.isfinite(max_eval):
                size = int(min(size, max_eval - evaluated))
            ks = list(range(next_k, next_k + size))
            next_k += size
            chunk = max(1, math.ceil(size / (4 * self.executor.workers)))
            jobs = [(blob, self.seed, t, ks[i : i + chunk]) for i in range(0, size, chunk)]
            results: dict[int, Any] = {}
            for pairs in self.executor.map(evaluate_candidates, jobs):
                results.update(pairs)
            for k in ks:
                if accepted >= n or evaluated >= max_eval:
                    break
                particle = results[k]
                sample.append(particle)
                evaluated += 1
                if particle.accepted:
                    accepted += 1
            rate = max(accepted / evaluated, 1.0 / (evaluated + 1))
            if self.on_batch is not None:
                self.on_batch(t, accepted, evaluated)
        self.nr_evaluations_ = evaluated
        if accepted < n:
            sample.ok = False
        return sample


__all__ = ["SIMULATION_SEED", "ExecutorSampler", "candidate_seeds", "evaluate_candidates"]

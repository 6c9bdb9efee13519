"""Executors: where tasks run. One interface, a sequential and a local-process implementation.

An executor maps a top-level task function over tasks and yields results as they finish; the
runner sorts them, so the order in which workers finish never changes a result.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any


class Executor:
    """Runs tasks and yields their results as they finish (in any order)."""

    name = "base"

    def map(self, fn: Callable[[Any], Any], tasks: list[Any]) -> Iterator[Any]:
        raise NotImplementedError

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class SequentialExecutor(Executor):
    """Runs tasks one after the other in this process (the fallback that always works)."""

    name = "sequential"

    def map(self, fn: Callable[[Any], Any], tasks: list[Any]) -> Iterator[Any]:
        for task in tasks:
            yield fn(task)


class ProcessExecutor(Executor):
    """Runs tasks on local worker processes."""

    name = "processes"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> ProcessExecutor:
        self._pool = ProcessPoolExecutor(max_workers=self.workers)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def map(self, fn: Callable[[Any], Any], tasks: list[Any]) -> Iterator[Any]:
        if self._pool is None:
            with self:
                yield from self.map(fn, tasks)
            return
        futures = [self._pool.submit(fn, task) for task in tasks]
        for future in as_completed(futures):
            yield future.result()


def make_executor(workers: int | None) -> Executor:
    """Sequential for one worker, local processes otherwise (None: as many as there are cores)."""
    count = workers if workers is not None else (os.cpu_count() or 1)
    return SequentialExecutor() if count <= 1 else ProcessExecutor(count)

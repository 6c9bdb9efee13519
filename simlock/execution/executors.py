"""Executors: where tasks run. One interface; sequential, local processes, or a Dask cluster.

An executor maps a top-level task function over tasks and yields each result as soon as its task
finishes, in whatever order they finish. Results carry their own keys (replication, point), and
the callers sort them, so neither the executor nor the order of completion can change a result:
a task depends only on its inputs, and the same task gives the same bytes anywhere.

`make_executor(workers, scheduler)` picks one: a Dask scheduler address (argument, or the
`SIMLOCK_SCHEDULER` environment variable) wins; otherwise one worker runs in this process and more
use local processes. Local processes start with `forkserver` (or `spawn` where there is no fork),
never a bare `fork`: forking a process that has threads (a Jupyter kernel, a Dask client) can
deadlock. Where worker processes cannot start at all (no semaphores in a sandbox, a task function
defined in a notebook, workers that die on start) the executor says so in a
`SequentialFallbackWarning` and runs the tasks here instead of hanging or failing.

**Scripts need `if __name__ == "__main__":`.** A worker process starts by re-running the main
script's top level (that is how it finds functions defined there). A script that calls
`simlock.run(..., workers=2)` at its top level would start simlock again in every worker, which
Python refuses with a long traceback from each. So a script with no such guard runs its tasks in
this process with a warning saying to add it, and a worker that reaches simlock while re-running
a script stops at once with one line saying the same.
"""

from __future__ import annotations

import abc
import ast
import functools
import multiprocessing
import os
import re
import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TypeVar

from simlock.errors import SimlockError

from .extras import require

T = TypeVar("T")
R = TypeVar("R")

ABANDON_GRACE_SECONDS = 60.0
"""How long an abandoned run waits for the tasks its workers are running before stopping them."""

SCHEDULER_ENV = "SIMLOCK_SCHEDULER"
"""Environment variable holding a Dask scheduler address, used when none is passed."""

GUARD_ADVICE = (
    'put the code that calls simlock under `if __name__ == "__main__":` (worker processes '
    "re-run a script's top level before their first task)"
)
"""What a script must do to use worker processes, said wherever the lack of it shows."""

_ADDRESS = re.compile(r"^(tcp|tls|ucx|inproc)://[^\s/]+$")
_PRELOAD = ["simlock.execution.runner", "simlock.execution.sweep"]
"""Imported once in the fork server, so each worker starts with simlock already loaded."""


class ExecutorError(SimlockError):
    """Tasks cannot be run as asked: Dask missing, a scheduler out of reach, a worker killed."""


class SequentialFallbackWarning(RuntimeWarning):
    """Worker processes could not be used; the tasks ran one by one in this process instead."""


class Executor(abc.ABC):
    """Runs tasks and yields their results as they finish (in any order).

    Use it as a context manager so workers and connections are released; `map` also works
    outside one, starting and stopping what it needs itself.
    """

    name = "base"

    @property
    def workers(self) -> int:
        """How many tasks run at once."""
        return 1

    @abc.abstractmethod
    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
        """Apply `fn` to every task; yield each result when its task finishes."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class SequentialExecutor(Executor):
    """Runs tasks one after the other in this process (the fallback that always works)."""

    name = "sequential"

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
        for task in tasks:
            yield fn(task)


class ProcessExecutor(Executor):
    """Runs tasks on local worker processes, one task per process at a time.

    The pool starts on first use with no more processes than there are tasks, and is reused
    until the executor is closed.
    """

    name = "processes"

    def __init__(self, workers: int | None = None) -> None:
        self._workers = max(1, workers or os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None
        self._entered = False
        self.fallback: str | None = None
        """Why the tasks ran in this process instead, if they did (for the manifest)."""

    @property
    def workers(self) -> int:
        return self._workers

    def __enter__(self) -> ProcessExecutor:
        self._entered = True
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        self._entered = False
        self._close_pool(abandon=exc_type is not None)

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
        tasks = list(tasks)
        if not tasks:
            return
        if _re_running_main_script():
            _stop_this_worker()
        reason = _why_not_in_workers(fn)
        pool = None if reason else self._open_pool(len(tasks))
        if pool is None:
            self.fallback = reason or "worker processes could not start here"
            _warn_fallback(self.fallback)
            yield from SequentialExecutor().map(fn, tasks)
            return
        try:
            yield from self._run_on(pool, fn, tasks)
        except BaseException:
            if not self._entered:
                self._close_pool(abandon=True)
            raise
        if not self._entered:
            self._close_pool()

    def _run_on(
        self, pool: ProcessPoolExecutor, fn: Callable[[T], R], tasks: list[T]
    ) -> Iterator[R]:
        pending: dict[Future[R], int] = {pool.submit(fn, task): i for i, task in enumerate(tasks)}
        yielded: set[int] = set()
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    index = pending.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        if yielded:
                            raise ExecutorError(
                                "a worker process died while running a task (out of memory? try "
                                "fewer --workers or a smaller --scale)"
                            ) from None
                        self._close_pool()
                        self.fallback = "the worker processes died as they started; "
                        self.fallback += f"in a script, {GUARD_ADVICE}"
                        _warn_fallback(self.fallback)
                        left = [t for i, t in enumerate(tasks) if i not in yielded]
                        yield from SequentialExecutor().map(fn, left)
                        return
                    yielded.add(index)
                    yield result
        finally:
            for future in pending:
                future.cancel()

    def _open_pool(self, task_count: int) -> ProcessPoolExecutor | None:
        if self._pool is not None:
            return self._pool
        try:
            context = _process_context()
            self._pool = ProcessPoolExecutor(
                max_workers=min(self._workers, task_count),
                mp_context=context,
                initializer=_ignore_interrupts,
            )
        except (OSError, ImportError, NotImplementedError, ValueError):
            return None
        return self._pool

    def _close_pool(self, abandon: bool = False) -> None:
        """Stop the workers after the tasks in hand; when the run is abandoned (Ctrl-C, an
        error), the queued tasks are cancelled first.

        Running tasks are let finish rather than killed: a worker stopped while sending its
        result leaves the pool's manager thread waiting forever for the rest of the message, and
        Python waits for that thread at exit. Only a worker still busy after
        `ABANDON_GRACE_SECONDS` is terminated.
        """
        pool, self._pool = self._pool, None
        if pool is None:
            return
        if not abandon:
            pool.shutdown(wait=True, cancel_futures=True)
            return
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + ABANDON_GRACE_SECONDS
        for process in processes:
            process.join(timeout=max(0.0, deadline - time.monotonic()))
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(timeout=10)


class DaskExecutor(Executor):
    """Runs tasks on a Dask distributed cluster through its scheduler (`tcp://HOST:PORT`).

    Needs `pip install 'simlock[dask]'`, and simlock installed on every worker. Each task is a
    separate Dask task, marked impure so that equal tasks are still all run.
    """

    name = "dask"

    def __init__(self, address: str, connect_timeout_s: float = 10.0) -> None:
        if not _ADDRESS.match(address):
            raise ExecutorError(
                f"scheduler address {address!r} is not of the form tcp://HOST:PORT "
                "(allowed schemes: tcp, tls, ucx, inproc)"
            )
        self.address = address
        self.connect_timeout_s = connect_timeout_s
        self._client: Any = None
        self._threads = 1

    @property
    def workers(self) -> int:
        """Threads on the cluster when last connected (1 before connecting)."""
        return self._threads

    def __enter__(self) -> DaskExecutor:
        self._connect()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def map(self, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
        if self._client is None:
            with self:
                yield from self.map(fn, tasks)
            return
        from distributed import as_completed

        futures = self._client.map(fn, list(tasks), pure=False)
        try:
            for future in as_completed(futures, loop=self._client.loop):
                result = future.result()
                future.release()
                yield result
        finally:
            self._client.cancel(futures)

    def _connect(self) -> None:
        if self._client is not None:
            return
        client_class = require("distributed", "dask", f"a Dask scheduler ({self.address})").Client
        try:
            self._client = client_class(
                self.address, timeout=self.connect_timeout_s, set_as_default=False
            )
            self._threads = max(1, sum(self._client.nthreads().values()))
        except (OSError, TimeoutError) as exc:
            raise ExecutorError(
                f"cannot reach the Dask scheduler at {self.address} within "
                f"{self.connect_timeout_s:g} s ({exc}); is it running? (check --scheduler or "
                f"{SCHEDULER_ENV})"
            ) from None


def make_executor(workers: int | None, scheduler: str | None = None) -> Executor:
    """The executor for a run or sweep.

    `scheduler`: a Dask scheduler address; when None, the `SIMLOCK_SCHEDULER` environment
    variable is used if set (pass "" to ignore it). Without a scheduler: sequential for one
    worker, local processes otherwise (`workers=None`: one per core).
    """
    if scheduler is None:
        scheduler = os.environ.get(SCHEDULER_ENV, "").strip() or None
    if scheduler:
        return DaskExecutor(scheduler)
    count = workers if workers is not None else (os.cpu_count() or 1)
    return SequentialExecutor() if count <= 1 else ProcessExecutor(count)


def _ignore_interrupts() -> None:
    """Worker start-up: Ctrl-C reaches the whole process group, but only the main process should
    act on it (it stops the workers itself). A worker dying of it mid-task left the pool's
    manager thread failing on a cancelled future, and the program hung at exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _process_context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def _why_not_in_workers(fn: Callable[..., Any]) -> str | None:
    """Why a fresh worker process could not load `fn` by name, or None if it can."""
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", "")
    name = f"{module}.{qualname}"
    if "<lambda>" in qualname or "<locals>" in qualname:
        return f"the task function {name} is not defined at the top level of a module"
    if module == "__main__" and not _main_is_a_file():
        return (
            f"the task function {name} is defined in __main__ (a notebook or script), which "
            "worker processes cannot import; move it to a module"
        )
    main_path = getattr(sys.modules.get("__main__"), "__file__", None)
    if main_path and os.path.isfile(main_path) and not _has_main_guard(main_path):
        return (
            f'{main_path} has no `if __name__ == "__main__":` guard, and worker processes re-run '
            "a script's top level before their first task; put the code that calls simlock "
            "under such a guard to use workers"
        )
    if main_path and not os.path.isfile(main_path):
        # Workers re-run the main program from its path before any task; `python -` has none.
        return f"the main program ({main_path}) is not a file that worker processes can load"
    return None


def _has_main_guard(path: str) -> bool:
    """Whether a script has a top-level `if __name__ == "__main__":` (either way round); a file
    that cannot be read or parsed is given the benefit of the doubt."""
    try:
        stat = os.stat(path)
    except OSError:
        return True
    return _parsed_has_guard(str(Path(path).resolve()), stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _parsed_has_guard(path: str, mtime_ns: int) -> bool:
    try:
        tree = ast.parse(Path(path).read_bytes(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return True
    return any(isinstance(node, ast.If) and _is_main_test(node.test) for node in tree.body)


def _is_main_test(test: ast.expr) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return False
    if not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s.id for s in sides if isinstance(s, ast.Name)]
    texts = [s.value for s in sides if isinstance(s, ast.Constant)]
    return names == ["__name__"] and texts == ["__main__"]


def _re_running_main_script() -> bool:
    """True in a worker process that is re-running the main script, before its first task:
    multiprocessing marks the process as inheriting while it does (the mark its own check,
    `spawn._check_not_importing_main`, reads)."""
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))


def _stop_this_worker() -> None:
    """Leave a worker that reached simlock while re-running the main script: one line instead of
    Python's traceback (SystemExit is not printed as one); the main process then runs the tasks
    itself and warns."""
    script = getattr(sys.modules.get("__mp_main__"), "__file__", None) or "the main script"
    sys.stderr.write(
        f"simlock: a worker process re-running {script} reached simlock again; {GUARD_ADVICE}\n"
    )
    sys.stderr.flush()
    raise SystemExit(1)


def _main_is_a_file() -> bool:
    """Workers re-import a script's `__main__` from its file; a notebook or stdin has none."""
    path = getattr(sys.modules.get("__main__"), "__file__", None)
    return bool(path) and os.path.isfile(path)


def _warn_fallback(reason: str) -> None:
    warnings.warn(
        f"running tasks one by one in this process: {reason}",
        SequentialFallbackWarning,
        stacklevel=_caller_level(),
    )


def _caller_level() -> int:
    """The `stacklevel` of the first caller outside simlock, so the warning names the line of
    the user's script or notebook that ran simlock."""
    package = str(Path(__file__).resolve().parents[1])
    frame, level = sys._getframe(1), 1
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(package):
        frame, level = frame.f_back, level + 1
    return level

"""Run folders that appear whole or not at all.

A run writes into a temporary folder beside its destination (`.NAME.XXXX.partial`) and renames it
into place at the end, so an interrupted or failed run leaves nothing half-written where the user
looks, and no temporary folder either. A folder that exists and is not empty is only replaced
with `force`, and only when it holds an earlier run (a `manifest.json`): `--force` never deletes a
folder of other files.

A single file is written the same way by `write_atomic` (a temporary name beside it, then a
rename): a sweep's parts and manifests, a run's manifest.

Ctrl-C and SIGTERM are held back while the old run is swapped for the new one and while
temporary folders are deleted, then delivered: the interruption still happens, but never between
the two renames or halfway through a cleanup.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from simlock.errors import OutputError

RUN_MARKER = "manifest.json"
"""A folder holding this file is a simlock run, which `--force` may replace."""

_HELD_SIGNALS = {signal.SIGINT, signal.SIGTERM}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so the same cleanup runs; exit code 143 rather than 130."""


_received: list[int] = []
"""Signals received inside `interruptible()`, in order."""


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Inside, Ctrl-C raises KeyboardInterrupt and SIGTERM (a `kill`, a scheduler stopping a job)
    raises `Terminated`, in the main thread, and each signal is remembered: an exception raised
    while Python runs a finalizer is only printed, so a long loop calls `raise_if_interrupted()`
    between steps to raise it again. The previous handlers are restored on leaving (the command
    may run inside a notebook or a test session)."""

    def handler(signum: int, frame: object) -> None:
        _received.append(signum)
        raise _exception(signum)

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    previous = {signum: signal.signal(signum, handler) for signum in _HELD_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
        _received.clear()


def raise_if_interrupted() -> None:
    """Raise again a signal received inside `interruptible()` (see there why)."""
    if _received:
        raise _exception(_received[0])


def _exception(signum: int) -> KeyboardInterrupt:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def interrupted_exit_code(exc: KeyboardInterrupt) -> int:
    """128 + the signal number, as a shell reports a process stopped by that signal."""
    return 128 + (signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)


def check_destination(destination: Path, force: bool) -> None:
    """Refuse a file in the way, a non-empty folder without `force`, and, even with `force`, a
    folder that holds something other than an earlier run."""
    if destination.exists() and not destination.is_dir():
        raise OutputError(f"{destination}: exists and is not a folder; choose another -o")
    if not destination.is_dir():
        return
    try:
        contents = sorted(p.name for p in destination.iterdir())
    except OSError as exc:
        raise OutputError(f"{destination}: cannot be read ({exc.strerror})") from None
    if not contents:
        return
    if not force:
        raise OutputError(
            f"{destination}: folder exists and is not empty; "
            "use --force to replace it or choose another -o"
        )
    if RUN_MARKER not in contents:
        shown = ", ".join(contents[:3]) + (", ..." if len(contents) > 3 else "")
        raise OutputError(
            f"{destination}: holds files that are not a simlock run ({shown}); --force only "
            "replaces an earlier run: choose another -o"
        )


def resumed_manifest(
    out: Path,
    manifest: dict[str, Any],
    *,
    file: str,
    hash_key: str,
    what: str,
    other: str,
    resume: bool,
) -> dict[str, Any] | None:
    """The manifest (`file`) of the `what` (a sweep, a calibration) that folder `out` already
    holds, when resuming it; None for a new or empty folder. Refused with an `OutputError`: a file
    in the way, a folder with something in it and no `resume`, a folder without `file`, and one
    whose `hash_key` differs from `manifest`'s (`other` says what that means: another scenario,
    other settings)."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder; choose another output folder")
    if not (out.is_dir() and any(out.iterdir())):
        return None
    if not resume:
        raise OutputError(
            f"{out}: folder is not empty; resume the {what} in it with --resume "
            "(resume=True) or choose another output folder"
        )
    path = out / file
    if not path.exists():
        raise OutputError(f"{out}: holds no {what} ({file} is missing); cannot resume")
    previous = json.loads(path.read_text())
    if previous.get(hash_key) != manifest[hash_key]:
        raise OutputError(
            f"{out}: holds a {what} of {other} "
            f"({previous.get('scenario')!r}, hash {previous.get(hash_key)}); choose another folder"
        )
    return previous


@contextlib.contextmanager
def staged_folder(destination: Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder; on success move it to `destination`, on any failure delete it."""
    check_destination(destination, force)
    destination = destination.absolute()
    parent = destination.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(
            tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".partial", dir=parent)
        )
    except OSError as exc:
        raise OutputError(f"{parent}: cannot write here ({exc.strerror})") from None
    try:
        yield staging
        check_destination(destination, force)
        with _signals_held():
            _move_into_place(staging, destination)
    finally:
        with _signals_held():
            shutil.rmtree(staging, ignore_errors=True)


def write_atomic(path: Path, write: Callable[[Path], Any]) -> None:
    """Call `write` on a temporary name beside `path` (`.NAME.partial.EXT`), then rename it to
    `path`: a reader, or a process killed mid-write, never sees half a file. The temporary file is
    deleted if `write` fails or is interrupted."""
    temporary = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _move_into_place(staging: Path, destination: Path) -> None:
    """Rename `staging` to `destination`, replacing an earlier run there (renamed aside first,
    put back if the second rename fails, deleted once the new run is in place)."""
    if not destination.exists():
        _rename(staging, destination)
        return
    retired = Path(
        tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".old", dir=destination.parent)
    )
    _rename(destination, retired / destination.name)
    try:
        _rename(staging, destination)
    except OutputError:
        _rename(retired / destination.name, destination)
        shutil.rmtree(retired, ignore_errors=True)
        raise
    shutil.rmtree(retired, ignore_errors=True)


def _rename(source: Path, target: Path) -> None:
    try:
        source.rename(target)
    except OSError as exc:
        raise OutputError(f"{target}: cannot move the run into place ({exc.strerror})") from None


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back (main thread, POSIX) and deliver them on leaving."""
    can_hold = hasattr(signal, "pthread_sigmask") and (
        threading.current_thread() is threading.main_thread()
    )
    if not can_hold:
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)

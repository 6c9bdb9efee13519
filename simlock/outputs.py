"""Run folders that appear whole or not at all.

A run writes into a temporary folder beside its destination and renames it into place at the
end, so an interrupted or failed run leaves nothing half-written where the user looks. A folder
that exists and is not empty is only replaced with `force`.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputError


def check_destination(destination: Path, force: bool) -> None:
    """Refuse a destination that holds something, unless forced; refuse a file in the way."""
    if destination.exists() and not destination.is_dir():
        raise OutputError(f"{destination}: exists and is not a folder; choose another -o")
    if destination.is_dir() and any(destination.iterdir()) and not force:
        raise OutputError(
            f"{destination}: folder exists and is not empty; "
            "use --force to replace it or choose another -o"
        )


@contextlib.contextmanager
def staged_folder(destination: Path, force: bool = False) -> Iterator[Path]:
    """Yield a temporary folder; on success move it to `destination`, on any failure delete it."""
    check_destination(destination, force)
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
        if destination.exists():
            retired = Path(
                tempfile.mkdtemp(prefix=f".{destination.name}.", suffix=".old", dir=parent)
            )
            destination.rename(retired / destination.name)
            staging.rename(destination)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            staging.rename(destination)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)

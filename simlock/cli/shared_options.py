"""Options several commands take with the same meaning, written once: where the work runs."""

from __future__ import annotations

from typing import Annotated

import typer

Workers = Annotated[
    int | None, typer.Option(min=1, max=1024, help="Worker processes (default: one per core).")
]
"""`--workers`: local worker processes."""

Scheduler = Annotated[
    str | None,
    typer.Option(help="Dask scheduler address tcp://HOST:PORT (or SIMLOCK_SCHEDULER)."),
]
"""`--scheduler`: run on a Dask cluster instead."""

"""`simlock search FILE -o DIR`: search a scenario's policy levers for the Pareto policies.

Registered by `simlock.cli.commands` as `sweep` is. Bad input is a message and exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from simlock.errors import ScenarioError, SimlockError

from .naming import slug

EXIT_BAD_INPUT = 2

_err = Console(stderr=True, highlight=False, emoji=False)
_out = Console(highlight=False, emoji=False)


def search_command(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="Scenario file (YAML) with a search: section.")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Search folder to write (default: runs/<scenario name>-search)."
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted search in its folder.")
    ] = False,
    trials: Annotated[
        int | None,
        typer.Option(min=1, max=100_000, help="Trials in all (default: the section's)."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, max=1024, help="Worker processes (default: one per core).")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address tcp://HOST:PORT (or SIMLOCK_SCHEDULER)."),
    ] = None,
) -> None:
    """Search the policy levers of a scenario's search: section with NSGA-II; write every
    trial (trials.parquet), the Pareto set (pareto.parquet, pareto-variants.yaml) and a report
    (search.html, search.md) with the frontier figure."""
    from simlock.execution.search import PARETO_YAML, run_search
    from simlock.scenario.loader import load_file

    try:
        scenario, _ = load_file(file)
        if scenario.search is None:
            raise _fail(f"{file}: the scenario has no search: section (levers, objectives)")
        destination = output or Path("runs") / f"{slug(scenario.name)}-search"
        frame = run_search(
            file,
            destination,
            resume=resume,
            trials=trials,
            workers=workers,
            scheduler=scheduler,
        )
    except ScenarioError as exc:
        raise _fail("\n".join(str(p) for p in exc.problems)) from None
    except SimlockError as exc:
        raise _fail(str(exc)) from None
    pareto = int(frame["pareto"].sum()) if not frame.empty else 0
    _out.print(
        f"wrote {destination / 'trials.parquet'}: {len(frame):,} trials, {pareto} on the "
        f"frontier; {destination / PARETO_YAML}; report {destination / 'search.html'}",
        soft_wrap=True,
    )


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    _err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, markup=True)
    return typer.Exit(code)

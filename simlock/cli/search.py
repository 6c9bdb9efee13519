"""`simlock search FILE -o DIR`: search a scenario's policy levers for the Pareto policies.

Registered by `simlock.cli.commands` as `sweep` is. Bad input is a message and exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from simlock.errors import ScenarioError, SimlockError

from .console import EXIT_BAD_INPUT
from .console import err as _err
from .console import out as _out
from .naming import slug
from .shared_options import Scheduler, Workers


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
    workers: Workers = None,
    scheduler: Scheduler = None,
    posterior: Annotated[
        Path | None,
        typer.Option(
            help="A simlock calibrate folder: evaluate every trial over worlds drawn from its "
            "posterior (default: the section's posterior, if any)."
        ),
    ] = None,
    worlds: Annotated[
        int | None,
        typer.Option(
            min=1, max=10_000, help="Worlds drawn from the posterior (default: the section's, 20)."
        ),
    ] = None,
    statistic: Annotated[
        str | None,
        typer.Option(
            help="Each objective across worlds: mean, or qNN, the cautious NN% quantile "
            "(q90: as good as the policy does in 90% of worlds). Default: the section's, mean."
        ),
    ] = None,
) -> None:
    """Search the policy levers of a scenario's search: section with NSGA-II; write every
    trial (trials.parquet), the Pareto set (pareto.parquet, pareto-variants.yaml) and a report
    (search.html, search.md) with the frontier figure. With --posterior, every trial runs in the
    same worlds drawn from a calibration's posterior (worlds.parquet) and the report says which
    Pareto policies stay on the frontier across them."""
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
            posterior=posterior,
            worlds=worlds,
            statistic=statistic,
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

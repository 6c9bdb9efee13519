"""`simlock calibrate FILE -o DIR`: calibrate a scenario's uncertain inputs to its expectations.

Registered by `simlock.cli.commands` like `sweep`; it imports nothing from there. Bad input is a
message and exit code 2; Ctrl-C keeps every finished population in DIR and says how to resume.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from simlock.errors import ScenarioError, SimlockError
from simlock.execution.outputs import raise_if_interrupted

from .console import EXIT_BAD_INPUT
from .console import err as _err
from .console import out as _out
from .naming import slug
from .shared_options import Scheduler, Workers

if TYPE_CHECKING:
    from simlock.execution.calibrate import Calibration, CalibrationProgress


def calibrate_command(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE", help="Scenario file (YAML) with uncertain: inputs and expectations."
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Calibration folder to write (default: runs/<scenario name>-calibration).",
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted calibration in its folder.")
    ] = False,
    seed: Annotated[
        int | None, typer.Option(min=0, max=2**63 - 1, help="Seed (default: the scenario's).")
    ] = None,
    scale: Annotated[
        float,
        typer.Option(min=1e-9, max=1e6, help="Multiply every activation rate (counts rescaled)."),
    ] = 1.0,
    particles: Annotated[
        int, typer.Option(min=2, max=1_000_000, help="Particles per population.")
    ] = 200,
    populations: Annotated[
        int, typer.Option(min=1, max=1_000, help="Most populations (tolerance steps).")
    ] = 8,
    replications: Annotated[
        int, typer.Option(min=1, max=10_000, help="Simulations per particle (their mean is used).")
    ] = 1,
    min_acceptance: Annotated[
        float,
        typer.Option(min=0.0, max=0.99, help="Stop when a population accepts fewer than this."),
    ] = 0.01,
    workers: Workers = None,
    scheduler: Scheduler = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress or tables.")] = False,
) -> None:
    """Find the values of a scenario's uncertain inputs that reproduce its expectations
    (ABC-SMC); write the posterior, the populations and a calibration report."""
    from simlock.execution.calibrate import calibrate
    from simlock.execution.outputs import interrupted_exit_code, interruptible
    from simlock.scenario.loader import load_file

    destination = output
    with interruptible():
        try:
            scenario, _ = load_file(file)
            destination = output or Path("runs") / f"{slug(scenario.name)}-calibration"
            result = calibrate(
                scenario,
                destination,
                particles=particles,
                populations=populations,
                replications=replications,
                scale=scale,
                seed=seed,
                min_acceptance=min_acceptance,
                resume=resume,
                workers=workers,
                scheduler=scheduler,
                progress=_Progress(quiet).update,
            )
        except ScenarioError as exc:
            raise _fail("\n".join(str(p) for p in exc.problems)) from None
        except SimlockError as exc:
            raise _fail(str(exc)) from None
        except KeyboardInterrupt as exc:
            if destination is None or not destination.is_dir():
                raise _fail(
                    "interrupted; nothing was written", interrupted_exit_code(exc)
                ) from None
            given = {
                "--particles": particles,
                "--populations": populations,
                "--replications": replications,
                "--scale": scale,
                "--seed": seed,
                "--min-acceptance": min_acceptance,
            }
            options = "".join(f" {k} {v:g}" for k, v in given.items() if v is not None)
            raise _fail(
                f"interrupted; the finished populations are saved in {destination}; continue "
                f"with: simlock calibrate {file} -o {destination} --resume{options}",
                interrupted_exit_code(exc),
            ) from None
    if not quiet:
        _print_summary(result)
    _out.print(f"wrote {destination / 'report.html'} and {destination / 'posterior.parquet'}")


class _Progress:
    """One line per finished batch on stderr (when not quiet): population, accepted, simulated.
    Also raises an interruption Python may have swallowed in a worker's wait."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def update(self, report: CalibrationProgress) -> None:
        raise_if_interrupted()
        if self.quiet:
            return
        what = (
            "prior sample"
            if report.population < 0
            else f"population {report.population + 1}/{report.populations}"
        )
        _err.print(
            f"{what}: {report.accepted}/{report.particles} accepted after "
            f"{report.evaluated:,} simulations",
            soft_wrap=True,
        )


def _print_summary(result: Calibration) -> None:
    from simlock.analysis.weighted import weighted_quantile

    posterior = result.posterior
    weights = posterior["weight"].to_numpy(dtype=float)
    table = Table(
        title=f"posterior ({len(posterior)} particles; stopped: {result.manifest['stopped']})"
    )
    for column in ("input", "median", "90% interval"):
        table.add_column(column, justify="left" if column == "input" else "right")
    for path in result.inputs:
        values = posterior[path]
        if values.dtype.kind == "f":
            low, mid, high = weighted_quantile(values.to_numpy(), weights, [0.05, 0.5, 0.95])
            table.add_row(escape(path), f"{mid:,.4g}", f"{low:,.4g} – {high:,.4g}")
        else:
            top = (
                posterior.assign(label=values.astype(str))
                .groupby("label")["weight"]
                .sum()
                .sort_values(ascending=False)
            )
            table.add_row(
                escape(path),
                escape(str(top.index[0])),
                escape(", ".join(f"{k} {v:.0%}" for k, v in top.items())),
            )
    _out.print(table)


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    _err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, markup=True)
    return typer.Exit(code)

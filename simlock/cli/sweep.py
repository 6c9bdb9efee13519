"""`simlock sweep FILE -o DIR`: run a scenario's parameter sweep from the command line.

The command function is registered by `simlock.cli` (`app.command("sweep")(sweep_command)`);
it imports nothing from there, so either module can be imported first. Bad input is a message and
exit code 2; Ctrl-C keeps every finished task on disk and says how to resume.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from simlock.errors import ScenarioError, SimlockError
from simlock.execution.outputs import raise_if_interrupted

from .console import EXIT_BAD_INPUT
from .console import err as _err
from .console import out as _out
from .naming import slug
from .shared_options import Scheduler, Workers

if TYPE_CHECKING:
    from simlock.execution.sweep import SweepProgress


def sweep_command(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="Scenario file (YAML) with a sweep: section.")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Sweep folder to write (default: runs/<scenario name>-sweep)."
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Continue an interrupted sweep in its folder."),
    ] = False,
    workers: Workers = None,
    scheduler: Scheduler = None,
    replications: Annotated[
        int | None,
        typer.Option(min=1, max=10_000, help="Replications per point (default: the sweep's)."),
    ] = None,
    scale: Annotated[
        float | None,
        typer.Option(
            min=1e-9, max=1e6, help="Multiply every activation rate (default: the sweep's scale)."
        ),
    ] = None,
    variant: Annotated[
        list[str] | None,
        typer.Option(
            "--variant",
            help="Run only this variant at each point (repeatable); baseline always runs.",
        ),
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            help="Measure the sensitivity of this metric (repeatable): users_affected, "
            "region.CU.users_affected, channel.traveller.collateral_locks, ...",
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar or tables.")
    ] = False,
) -> None:
    """Run every point x variant x replication of a scenario's sweep; write one tidy frame
    (sweep.parquet, with regions and channels in sweep_groups.parquet) and, for Sobol and Latin
    hypercube designs, sensitivity indices and their figure."""
    from simlock.execution.executors import make_executor
    from simlock.execution.memory import check_fits
    from simlock.execution.outputs import interrupted_exit_code, interruptible
    from simlock.execution.sweep import (
        SENSITIVITY_FILE,
        SWEEP_FILE,
        finished_tasks,
        run_loaded_sweep,
        sweep_variants,
        with_sweep_options,
    )
    from simlock.scenario.loader import load_file

    destination = output
    bar = _SweepProgress(enabled=not quiet and _err.is_terminal)
    with interruptible():
        try:
            scenario, lines = load_file(file)
            destination = output or Path("runs") / f"{slug(scenario.name)}-sweep"
            options = with_sweep_options(scenario, scale=scale, variants=variant, metrics=metric)
            executor = make_executor(workers, scheduler)
            if executor.name != "dask" and options.sweep is not None:  # a cluster's memory is
                check_fits(  # its workers', not this machine's
                    options,
                    options.sweep.scale,
                    executor.workers,
                    0,
                    len(sweep_variants(options)),
                    command="sweep",
                )
            with bar:
                frame = run_loaded_sweep(
                    scenario,
                    destination,
                    file=str(file),
                    lines=lines,
                    resume=resume,
                    replications=replications,
                    scale=scale,
                    variants=variant,
                    metrics=metric,
                    progress=bar.update,
                    executor=executor,
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
            raise _fail(  # counted on disk: the signal may land between a write and its report
                f"interrupted; {len(finished_tasks(destination))} finished task(s) are saved in "
                f"{destination}; continue with: simlock sweep {file} -o {destination} --resume",
                interrupted_exit_code(exc),
            ) from None
    _out.print(
        f"wrote {destination / SWEEP_FILE}: {len(frame):,} rows ({frame['point'].nunique():,} "
        f"points x {frame['variant'].nunique()} variant(s) x "
        f"{frame['replication'].nunique()} replication(s))",
        soft_wrap=True,
    )
    sensitivity = destination / SENSITIVITY_FILE
    if sensitivity.exists():
        _out.print(f"wrote {sensitivity} and {destination / 'sensitivity.png'}")
        if not quiet:
            _print_sensitivity(sensitivity, metric)
        _warn_if_noisy(sensitivity, scenario.sweep.samples if scenario.sweep else 0)


class _RateColumn(ProgressColumn):
    """Tasks finished per second, over this session (tasks found done on resume excluded)."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("-- tasks/s" if speed is None else f"{speed:.2f} tasks/s")


class _SweepProgress:
    """A Rich progress bar on stderr: points done, tasks done, rate and time left."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Progress | None = None
        self._task: int | None = None

    def __enter__(self) -> _SweepProgress:
        if self.enabled:
            self._bar = Progress(
                TextColumn("points {task.fields[points]}"),
                BarColumn(),
                TextColumn("tasks"),
                MofNCompleteColumn(),
                _RateColumn(),
                TimeRemainingColumn(),
                console=_err,
                transient=True,
            )
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, report: SweepProgress) -> None:
        """Called after each task: raise again an interruption Python may have swallowed."""
        raise_if_interrupted()
        if self._bar is None:
            return
        points = f"{report.points_done}/{report.points_total}"
        if self._task is None:
            self._task = self._bar.add_task(
                "sweep", total=report.tasks_total, completed=report.tasks_done, points=points
            )
        else:
            self._bar.update(self._task, completed=report.tasks_done, points=points)


def _print_sensitivity(path: Path, metrics: list[str] | None) -> None:
    """The baseline's indices of the chosen metrics (or users affected and collateral locks),
    most influential parameter first."""
    import pandas as pd

    indices = pd.read_csv(path)
    if indices.empty:
        return
    baseline = indices[indices["variant"] == indices["variant"].iat[0]]
    for metric in metrics or ("users_affected", "collateral_locks"):
        part = baseline[baseline["metric"] == metric]
        if part.empty:
            continue
        method = str(part["method"].iat[0]) if "method" in part.columns else "Sobol"
        orders = [o for o in ("first", "total") if o in set(part["order"])]
        wide = part.pivot(index="parameter", columns="order", values="index")
        low = part.pivot(index="parameter", columns="order", values="ci_low")
        high = part.pivot(index="parameter", columns="order", values="ci_high")
        table = Table(title=f"{metric.replace('_', ' ')}: {method} indices [95% interval]")
        for column in ("parameter", *(f"{o} order" for o in orders)):
            table.add_column(column, justify="left" if column == "parameter" else "right")
        for parameter in wide.sort_values(orders[-1], ascending=False).index:
            cells = [
                f"{wide.at[parameter, o]:.2f} [{low.at[parameter, o]:.2f}, "
                f"{high.at[parameter, o]:.2f}]"
                for o in orders
            ]
            table.add_row(parameter, *cells)
        _out.print(table)


def _warn_if_noisy(path: Path, samples: int) -> None:
    """A warning when the sample was too small for the indices to mean much (shown even with
    --quiet: a table of numbers that are noise is worse than none)."""
    import pandas as pd

    from simlock.execution.sweep import noisy_indices_warning

    said = noisy_indices_warning(pd.read_csv(path), samples)
    if said:
        _err.print(f"[yellow]warning:[/] {escape(said)}", soft_wrap=True, markup=True)


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    _err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, markup=True)
    return typer.Exit(code)

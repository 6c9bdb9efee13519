"""The `simlock` command: run, validate, schema, report and sweep.

Every error a user can cause ends as a message on stderr and exit code 2, never a traceback; a
failed `--check` exits 1; an internal inconsistency (a simlock bug) exits 3.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from simlock._version import __version__
from simlock.errors import ConsistencyError, ScenarioError, SimlockError
from simlock.scenario.loader import load_with_warnings

from .console import EXIT_BAD_INPUT, EXIT_BUG, EXIT_CHECK_FAILED, err, out
from .naming import slug
from .shared_options import Scheduler, Workers

if TYPE_CHECKING:
    from simlock.scenario.models import Scenario

# What only `run`, `report` and `sweep` need (numpy, pandas, the engine, the report) is imported
# inside those commands, so that `simlock validate` and `simlock schema` start without it.

app = typer.Typer(
    name="simlock",
    help="Simulate a phone vendor's remote-activation lock policy and report who it affects.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, markup=True)
    return typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        out.print(f"simlock {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Simulate a phone vendor's remote-activation lock policy and report who it affects."""


@app.command()
def validate(
    files: Annotated[
        list[Path], typer.Argument(metavar="FILE", help="Scenario files (YAML) to check.")
    ],
) -> None:
    """Check scenario files; print every problem with file, line, field and what is allowed."""
    failed = False
    for path in files:
        try:
            scenario, warnings = load_with_warnings(path)
        except ScenarioError as exc:
            failed = True
            for problem in exc.problems:
                err.print(f"[red]{escape(str(problem))}[/]", soft_wrap=True, highlight=False)
            continue
        for warning in warnings:
            err.print(f"[yellow]{escape(f'{path}: warning: {warning}')}[/]", soft_wrap=True)
        out.print(
            f"{path}: ok ({len(scenario.regions)} regions, {len(scenario.variant_names)} variants, "
            f"{len(scenario.expectations)} expectations)"
        )
    if failed:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def schema() -> None:
    """Print the JSON Schema of the scenario format (for editors and validators)."""
    from simlock.scenario.schema import scenario_json_schema

    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2) + "\n")


@app.command()
def run(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="Scenario file (YAML).")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Run folder to write (default: runs/<scenario name>)."),
    ] = None,
    replications: Annotated[
        int | None, typer.Option(min=1, max=10_000, help="Replications (default: the scenario's).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(min=0, max=2**63 - 1, help="Seed (default: the scenario's).")
    ] = None,
    variant: Annotated[
        list[str] | None,
        typer.Option("--variant", help="Run only this variant (repeatable); baseline always runs."),
    ] = None,
    scale: Annotated[
        float, typer.Option(min=1e-9, max=1e6, help="Multiply every activation rate.")
    ] = 1.0,
    workers: Workers = None,
    scheduler: Scheduler = None,
    detail: Annotated[
        int,
        typer.Option(min=0, help="Replications that keep device-level tables (devices, events)."),
    ] = 1,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 if any expectation fails.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace a non-empty output folder.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar or tables.")
    ] = False,
    no_report: Annotated[
        bool, typer.Option("--no-report", help="Write tables only, no report or figures.")
    ] = False,
    posterior: Annotated[
        Path | None,
        typer.Option(help="Calibration folder: run over plausible worlds from its posterior."),
    ] = None,
    worlds: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=100_000,
            help="Worlds drawn from the posterior (default: the scenario's worlds.count, or 20).",
        ),
    ] = None,
    no_worlds: Annotated[
        bool,
        typer.Option(
            "--no-worlds",
            help="Ignore the scenario's worlds: section: run the values written in the file.",
        ),
    ] = False,
) -> None:
    """Simulate a scenario and write its run folder (tables, figures, report, manifest)."""
    from simlock.execution import outputs
    from simlock.execution.executors import make_executor
    from simlock.execution.folder import write_run_folder
    from simlock.execution.manifest import manifest_text
    from simlock.execution.options import checked_variants, with_overrides
    from simlock.execution.runner import run as simulate

    results = None
    with outputs.interruptible():
        try:
            scenario, warnings = load_with_warnings(file)
            for warning in warnings:
                err.print(f"[yellow]{escape(f'{file}: warning: {warning}')}[/]", soft_wrap=True)
            posterior, worlds, per_world = _worlds_of(file, scenario, posterior, worlds, no_worlds)
            scenario = with_overrides(scenario, replications=replications or per_world, seed=seed)
            checked_variants(scenario, variant, label="--variant")
            destination = output if output is not None else Path("runs") / slug(scenario.name)
            outputs.check_destination(destination, force)
            executor = make_executor(workers, scheduler)
            tasks = scenario.replications * (worlds if posterior is not None else 1)
            with _Progress(quiet, tasks) as advance:
                results = simulate(
                    scenario,
                    variants=variant or None,
                    scale=scale,
                    detail_replications=detail,
                    executor=executor,
                    on_task_done=lambda _done: _between_tasks(advance),
                    posterior=posterior,
                    worlds=worlds,
                )
            expectations = _evaluate(results)
            write_run_folder(
                results, destination, force=force, report=not no_report, expectations=expectations
            )
        except ConsistencyError as exc:
            raise _fail(str(exc), EXIT_BUG) from None
        except ScenarioError as exc:
            raise _fail("\n".join(str(p) for p in exc.problems)) from None
        except SimlockError as exc:
            raise _fail(str(exc)) from None
        except KeyboardInterrupt as exc:
            # Ctrl-C held back while the folder was moved into place arrives just after: the
            # folder is whole if its manifest is this run's.
            written = results is not None and _read(
                destination / outputs.RUN_MARKER
            ) == manifest_text(results.manifest)
            message = (
                f"interrupted after {destination} was written completely"
                if written
                else "interrupted; nothing was written"
            )
            raise _fail(message, outputs.interrupted_exit_code(exc)) from None
    if not quiet:
        _print_summary(results, expectations)
    out.print(f"wrote {destination}")
    if not check:
        return
    if expectations is None:
        err.print("[yellow]--check: the scenario declares no expectations[/]")
        return
    from simlock.analysis.expectations import FAIL

    failed = expectations.loc[expectations["verdict"] == FAIL, "name"].tolist()
    if failed:
        raise _fail(f"{len(failed)} expectation(s) failed: {', '.join(failed)}", EXIT_CHECK_FAILED)


@app.command()
def report(
    run_dir: Annotated[
        Path, typer.Argument(metavar="RUN_DIR", help="A run folder written by `simlock run`.")
    ],
) -> None:
    """Rebuild the report of a saved run without simulating again."""
    from simlock.analysis.results import Results

    try:
        results = Results.load(run_dir)
        expectations = _evaluate(results)
        _write_report(results, run_dir, expectations)
    except SimlockError as exc:
        raise _fail(str(exc)) from None
    out.print(f"wrote {run_dir / 'report.html'}")


def _between_tasks(advance: Callable[[], None]) -> None:
    from simlock.execution.outputs import raise_if_interrupted

    raise_if_interrupted()
    advance()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _evaluate(results):
    from simlock.analysis.expectations import evaluate

    return evaluate(results)


def _write_report(results, folder: Path, expectations) -> None:
    from simlock.report.run_report import write_report

    write_report(results, folder, expectations)


class _Progress:
    """A Rich progress bar over tasks on a terminal; nothing when quiet or not a TTY."""

    def __init__(self, quiet: bool, total: int) -> None:
        self.enabled = not quiet and err.is_terminal
        self.total = total
        self.bar: Progress | None = None

    def __enter__(self):
        if not self.enabled:
            return lambda: None
        self.bar = Progress(
            TextColumn("replications"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        )
        self.bar.start()
        task = self.bar.add_task("run", total=self.total)
        return lambda: self.bar.advance(task)  # type: ignore[union-attr]

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


SUMMARY_METRICS = (
    "users_affected",
    "collateral_locks",
    "peak_locked",
    "lock_days",
    "days_to_lock_median",
)
"""The overall metrics `simlock run` prints; the report and summary.csv have all of them."""


def _print_summary(results, expectations) -> None:
    """Key metrics per variant (mean, its 95% interval beneath), then the expectations."""
    from simlock.analysis.expectations import FAIL, NOT_EVALUATED
    from simlock.analysis.formatting import format_summary_row, metric_unit

    scenario = results.scenario
    overall = results.summary[results.summary["group"] == "all"].set_index(["variant", "metric"])
    table = Table(
        title=f"{scenario.name}: {scenario.replications} replication(s), mean [95% interval]"
    )
    table.add_column("variant")
    for metric in SUMMARY_METRICS:
        table.add_column(f"{metric.replace('_', ' ')} ({metric_unit(metric)})", justify="right")
    for variant in results.summary["variant"].unique():
        cells = []
        for metric in SUMMARY_METRICS:
            row = overall.loc[(variant, metric)] if (variant, metric) in overall.index else None
            text = format_summary_row(row, metric_unit(metric), scenario.start)
            # The interval on its own line, breakable at its dash in a narrow terminal.
            cells.append(escape(text.replace(" [", "\n[", 1).replace("–", " – ")))
        table.add_row(variant, *cells)
    out.print(table)
    if expectations is None:
        return
    checks = Table(title="expectations (baseline unless said)")
    for column in ("expectation", "simulated; expected", "verdict"):
        checks.add_column(column)
    for _, row in expectations.iterrows():
        style = {FAIL: "bold red", NOT_EVALUATED: "yellow"}.get(row["verdict"], "green")
        name = row["name"] if row["variant"] == "baseline" else f"{row['name']} ({row['variant']})"
        verdict = f"[{style}]{escape(str(row['verdict']))}[/]"
        checks.add_row(escape(str(name)), escape(str(row["detail"])), verdict)
    out.print(checks)


def _register_optional_commands() -> None:
    try:
        from .calibrate import calibrate_command
        from .sweep import sweep_command
    except ImportError:
        return
    app.command("sweep", help="Run a scenario's parameter sweep (grid, Latin hypercube or Sobol).")(
        sweep_command
    )
    from .search import search_command

    app.command("search", help="Search a scenario's policy levers for the Pareto policies.")(
        search_command
    )
    app.command("calibrate")(calibrate_command)
    from .explore import register_explore

    register_explore(app)


_register_optional_commands()


def _leave_now(code: int) -> None:
    """Exit an interrupted command at once. A worker process killed by the same signal while
    sending a result can leave the pool's manager thread waiting for the rest of the message,
    and a normal exit would wait for that thread forever; the run's folders are already cleaned
    up by then, so nothing is lost by skipping the exit handlers."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main() -> None:
    """Console entry point; a bug is one paragraph (SIMLOCK_DEBUG=1 shows the traceback)."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        _leave_now(130)
    except SystemExit as exc:
        if exc.code in (130, 143):  # interrupted: everything is cleaned up and said
            _leave_now(exc.code)
        raise
    except Exception as exc:
        if os.environ.get("SIMLOCK_DEBUG"):
            raise
        err.print(
            f"internal error: {type(exc).__name__}: {exc}\nThis is a simlock bug; rerun with "
            "SIMLOCK_DEBUG=1 for the traceback and report it with the scenario file.",
            soft_wrap=True,
            markup=False,
        )
        sys.exit(EXIT_BUG)


def _worlds_of(
    file: Path, scenario: Scenario, posterior: Path | None, worlds: int | None, no_worlds: bool
) -> tuple[Path | None, int, int | None]:
    """(posterior folder, worlds, replications per world) of a run: --posterior when given,
    else the scenario's `worlds:` section (its folder relative to the scenario file), unless
    --no-worlds."""
    section = None if no_worlds else scenario.worlds
    if posterior is not None or section is None:
        return posterior, worlds or 20, None
    return file.parent / section.posterior, worlds or section.count, section.replications

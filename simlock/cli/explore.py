"""`simlock explore [FILE]`: serve the explorer on this machine until Ctrl-C.

Registered by `simlock.cli.commands` (`register_explore(app)`), as `sweep` is. Panel (the
`explore` extra) is imported only when the command runs, so every other command starts without
it; without it the command says how to install it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from simlock.errors import ScenarioError

from .console import EXIT_BAD_INPUT
from .console import err as _err
from .console import out as _out

DEFAULT_SCENARIO = Path("scenarios") / "september-2021.yaml"
"""The 2021 episode, found in the working directory or beside the package's source tree."""


def _fail(message: str) -> typer.Exit:
    _err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, markup=True)
    return typer.Exit(EXIT_BAD_INPUT)


def default_scenario() -> Path | None:
    """The 2021 scenario: ./scenarios/september-2021.yaml, else the repository's copy."""
    beside_source = Path(__file__).resolve().parents[2] / DEFAULT_SCENARIO
    for candidate in (DEFAULT_SCENARIO, beside_source):
        if candidate.is_file():
            return candidate
    return None


def explore_command(
    file: Annotated[
        Path | None,
        typer.Argument(metavar="[FILE]", help="Scenario file (YAML); default: the 2021 episode."),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (another machine can connect only if set).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 5006,
) -> None:
    """Move a scenario's policy levers in a web page and see the report's figures change beside
    the baseline, at a reduced scale; export the setting as a variant in YAML."""
    path = file if file is not None else default_scenario()
    if path is None:
        raise _fail(f"no {DEFAULT_SCENARIO} here: give a scenario FILE")
    try:
        from simlock.explorer.app import serve
        from simlock.explorer.model import Explorer
    except ImportError as exc:
        raise _fail(
            f"simlock explore needs Panel ({exc.name} is missing): pip install 'simlock[explore]'"
        ) from None
    from simlock.scenario.loader import load_scenario

    try:
        explorer = Explorer.from_scenario(load_scenario(path))
    except ScenarioError as exc:
        raise _fail("\n".join(str(p) for p in exc.problems)) from None
    _out.print(f"simlock explore: {path} at http://{host}:{port}/ (Ctrl-C stops)")
    try:
        serve(explorer, host=host, port=port)
    except OSError as exc:  # the port is taken, or the host is not this machine's
        raise _fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:  # Ctrl-C after the port opened, before Panel took over SIGINT
        pass
    _out.print("stopped")


def register_explore(app: typer.Typer) -> None:
    """Add `explore` to the `simlock` command (its help names the extra it needs)."""
    app.command("explore", help="Move a scenario's levers in a local web page (needs Panel).")(
        explore_command
    )

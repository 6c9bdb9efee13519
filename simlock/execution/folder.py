"""The run folder analysts open, written by one function for the command and the Python API.

`write_run_folder` is the only writer of a run folder: `simlock run` calls it, `Results.save`
calls it (injected, see there), so a notebook writes the same folder the command does. The folder
holds every table (Parquet, CSV copies), `scenario.yaml`, `expectations.csv` when the scenario
declares expectations, the report (`report.html`, `report.md`, `figures/`) unless asked not to,
and `manifest.json` last (what made the run, how to rerun it, timings). It is written into a
staging folder beside the destination and moved into place at the end (`outputs.staged_folder`):
an error or Ctrl-C leaves nothing half-written where the user looks. `Results.load` reads it back.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Final

import pandas as pd

from simlock.analysis.expectations import evaluate
from simlock.analysis.results import (
    FORMAT_VERSION,
    Results,
    set_run_folder_writer,
    write_tables,
)

from . import outputs
from .manifest import write_manifest

EXPECTATIONS_FILE: Final = "expectations.csv"


class _Evaluate:
    """Default of `expectations`: evaluate the scenario's expectations on the results."""

    def __repr__(self) -> str:
        return "EVALUATE"


EVALUATE: Final = _Evaluate()


def write_run_folder(
    results: Results,
    destination: str | Path,
    *,
    force: bool = False,
    report: bool = True,
    expectations: pd.DataFrame | _Evaluate | None = EVALUATE,
) -> Path:
    """Write `results` as a run folder at `destination`, whole or not at all; return its path.

    A folder that exists and is not empty is replaced only with `force`, and only if it holds an
    earlier run (`OutputError` otherwise). `expectations` is the frame of checked expectations
    when the caller already has it (the command prints it), None for none; by default they are
    evaluated here. The manifest records `format_version` and the time spent writing tables and
    the report (`results.manifest` is updated, so the report shows what the manifest says).
    """
    destination = Path(destination)
    outputs.check_destination(destination, force)
    if isinstance(expectations, _Evaluate):
        expectations = evaluate(results)
    manifest = results.manifest
    manifest["format_version"] = FORMAT_VERSION
    wall = manifest.setdefault("wall_seconds", {})
    with outputs.staged_folder(destination, force) as staging:
        clock = time.perf_counter()
        write_tables(results, staging)
        wall["write_tables"] = time.perf_counter() - clock
        if expectations is not None:
            expectations.to_csv(staging / EXPECTATIONS_FILE, index=False)
        if report:
            from simlock.report.run_report import write_report

            clock = time.perf_counter()
            write_report(results, staging, expectations)
            wall["report"] = time.perf_counter() - clock
        else:
            wall.pop("report", None)
        wall["total"] = sum(
            float(wall.get(phase, 0.0))
            for phase in ("simulate_all_tasks", "collect", "write_tables", "report")
        )
        write_manifest(staging / outputs.RUN_MARKER, manifest)
    return destination


set_run_folder_writer(write_run_folder)

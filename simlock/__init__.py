"""simlock: simulate a phone vendor's remote-activation lock policy and report who it affects.

The public API is small: `load_scenario` reads and validates a scenario, `run` simulates it and
returns `Results` (tidy pandas frames with `save`/`load`), `compare` gives each variant's paired
difference from the baseline, `run_sweep` runs a scenario's parameter sweep.

Names are imported on first use (PEP 562): `import simlock` and `simlock validate` do not load
numpy, pandas, scipy or simpy until something that simulates or analyses is asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from simlock._version import __version__
from simlock.errors import ScenarioError, SimlockError

if TYPE_CHECKING:
    from simlock.analysis.results import Results, compare
    from simlock.execution.runner import run
    from simlock.execution.sweep import run_sweep
    from simlock.scenario.loader import load_scenario
    from simlock.scenario.models import Scenario

_LAZY = {
    # Through the run-folder module, which installs the writer `Results.save` calls.
    "Results": "simlock.execution.folder",
    "compare": "simlock.analysis.results",
    "Scenario": "simlock.scenario.models",
    "load_scenario": "simlock.scenario.loader",
    "run": "simlock.execution.runner",
    "run_sweep": "simlock.execution.sweep",
}
"""Public name -> the module it is taken from, imported when the name is first used."""

_WITH = {"Results": "simlock.execution.folder"}
"""Modules a public name needs beside its own: `Results.save` writes through the run-folder
writer, which lives in a higher layer and installs itself when imported."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'simlock' has no attribute {name!r}")
    if name in _WITH:
        importlib.import_module(_WITH[name])
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later uses are plain attribute lookups
    return value


def __dir__() -> list[str]:
    """The public names (lazy ones included, before their first use) and the module's own."""
    return sorted({*__all__, *(name for name in globals() if name.startswith("__"))})


__all__ = [
    "Results",
    "Scenario",
    "ScenarioError",
    "SimlockError",
    "__version__",
    "compare",
    "load_scenario",
    "run",
    "run_sweep",
]

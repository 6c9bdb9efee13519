"""simlock: simulate a phone vendor's remote-activation lock policy and report who it affects.

The public API is small: `load_scenario` reads and validates a scenario, `run` simulates it and
returns `Results` (tidy pandas frames with `save`/`load`), `compare` gives each variant's paired
difference from the baseline.
"""

from simlock._version import __version__
from simlock.analysis.results import Results, compare
from simlock.errors import ScenarioError, SimlockError
from simlock.execution.runner import run
from simlock.execution.sweep import run_sweep
from simlock.scenario.loader import load_scenario
from simlock.scenario.models import Scenario

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

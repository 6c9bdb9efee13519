"""simlock: simulate a phone vendor's remote-activation lock policy and report who it affects.

The public API is small: `load_scenario` reads and validates a scenario, `run` simulates it and
returns `Results` (tidy pandas frames with `save`/`load`), `compare` gives each variant's paired
difference from the baseline.
"""

from .errors import ScenarioError, SimlockError
from .loader import load_scenario
from .results import Results
from .runner import run
from .scenario import Scenario
from .sweep import run_sweep

__version__ = "0.1.0"


def compare(results: Results):
    """Each variant minus the baseline, paired by replication, with 95% intervals (tidy frame)."""
    return results.compare()


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

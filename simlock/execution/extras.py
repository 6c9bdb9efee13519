"""Optional libraries behind extras: a missing one is a message saying which extra installs it.

The README's first command installs simlock alone; sweeps' sensitivity indices (SALib), Dask
clusters, calibration (pyabc) and policy search (Optuna) each come with an extra. A command that
needs one stops with the `pip install` line instead of an internal error.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from simlock.errors import SimlockError


class MissingExtraError(SimlockError):
    """An optional library a feature needs is not installed."""


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import `module`, or raise `MissingExtraError` naming the extra that installs it.

    `purpose` completes "… needs <library>": e.g. "policy search".
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        library = module.split(".")[0]
        raise MissingExtraError(
            f"{purpose} needs {library}; install it with: pip install 'simlock[{extra}]'"
        ) from None

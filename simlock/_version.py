"""simlock's version, read from the installed distribution's metadata.

A leaf module: anything may import it without importing the package's public API (which imports
the runner, which needs the version: a cycle through `simlock/__init__.py`).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("simlock")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.0.0+unknown"

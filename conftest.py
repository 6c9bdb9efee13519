"""Markers that follow from where a test lives or what it does, so no test can forget them.

The fast lane (`python -m pytest -m "not slow"`) leaves out every `slow` test. Two kinds are
slow whatever their own markers say: the notebooks (nbmake starts a kernel for each, and each
runs simulations) and every test marked `process` (starting a Python process costs a second or
more before any work). Marking here keeps the rule in one place.
"""

from __future__ import annotations

import pytest

NOTEBOOKS = "notebooks"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.suffix == ".ipynb" and NOTEBOOKS in item.path.parts:
            item.add_marker(pytest.mark.process)
        if item.get_closest_marker("process") is not None:
            item.add_marker(pytest.mark.slow)

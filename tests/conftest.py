"""Fixtures shared across test modules."""

from __future__ import annotations

import pytest

from tests.reference_comparison import ReferenceRuns


@pytest.fixture(scope="session")
def reference_runs() -> ReferenceRuns:
    """The reference model's runs of each comparison case, computed once per test session on
    first use (they take seconds each) and shared by the engine and the wrong engines."""
    return ReferenceRuns()

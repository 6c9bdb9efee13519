"""Debian's chromium driven by Playwright, for the tests that look at pages in a real browser
(the report, the explorer): where it is, how it starts, and why it cannot start here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def unavailable() -> str | None:
    """Why the browser cannot run here, or None when it can."""
    if not CHROMIUM.exists():
        return f"needs Debian's chromium at {CHROMIUM} (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs the playwright package (pip install -e '.[test]')"
    return None


def launched() -> Iterator:
    """A running chromium (a Playwright Browser), closed when the generator ends. Skips the test
    when the browser cannot run here, and fails it under CI=true, where it must."""
    reason = unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests cannot run in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield instance
        instance.close()

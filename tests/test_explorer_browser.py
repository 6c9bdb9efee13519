"""`simlock explore` as a student uses it: the real command in its own process, on a free port
of 127.0.0.1, driven in Debian's chromium by Playwright. The page loads nothing from outside the
machine; a lever moved (the surge window's coverage) changes the figure; the exported variant,
pasted under the scenario's `variants:`, validates and holds the lever's value; a bad value (no
detection signal) shows validate's plain message; Ctrl-C stops the command cleanly.

`.ci/run` installs chromium when it is missing and runs with CI=true, where these tests fail
rather than skip; on a machine without chromium or Playwright they skip and say why.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from simlock.explorer.model import VARIANT
from simlock.scenario.loader import load_scenario
from tests.browser import launched
from tests.cli_helpers import ROOT
from tests.test_explorer import SEPTEMBER, pasted

START_TIMEOUT = 120.0
"""Seconds for the command to listen: it imports Panel and runs the first figures (a few seconds
alone, much longer on a loaded two-core machine)."""
UPDATE_TIMEOUT = 90.0
"""Seconds for a moved lever to show in the figure (about one on an idle machine)."""

ENTRY = [sys.executable, "-c", "from simlock.cli import main; main()"]
"""The `simlock` command run by this interpreter (the one whose packages the tests see)."""

pytestmark = [pytest.mark.slow, pytest.mark.process]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _started(tmp_path: Path) -> tuple[subprocess.Popen[str], int, Path]:
    """`simlock explore` on a free port, once it accepts connections (polled, never slept)."""
    port = _free_port()
    log = tmp_path / "explore.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [*ENTRY, "explore", "--port", str(port)],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"simlock explore exited ({process.returncode}): {log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, port, log
        except OSError:
            time.sleep(0.1)
    process.kill()
    pytest.fail(f"simlock explore did not listen within {START_TIMEOUT:g} s: {log.read_text()}")


def _interrupted(process: subprocess.Popen[str]) -> int:
    """Ctrl-C, as a terminal sends it; the exit code (killed after 60 s, then it is -9)."""
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched()


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[str]:
    """The page's address while `simlock explore` runs on the 2021 scenario."""
    process, port, _log = _started(tmp_path_factory.mktemp("explore"))
    yield f"http://127.0.0.1:{port}/"
    _interrupted(process)


def _wait_for(check, what: str, timeout: float = UPDATE_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"{what} within {timeout:g} s")


def test_a_moved_lever_changes_the_figure_and_the_export_validates(
    browser, served: str, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(served)
    page.wait_for_selector("img", timeout=UPDATE_TIMEOUT * 1000)
    figure = page.locator("img").first
    before = figure.get_attribute("src")
    assert before and before.startswith("data:image/png;base64,")
    status = page.get_by_text("of every activation rate").first.inner_text()  # shadow DOM: a
    assert status.startswith("Scale 0.03 of every activation rate")  # text locator pierces it

    titles = page.locator(".bk-slider-title").all_inner_texts()
    surge = next(i for i, title in enumerate(titles) if title.startswith("window surge ("))
    assert titles[surge].endswith("coverage: 0.50")
    page.locator(".noUi-handle").nth(surge).focus()
    page.keyboard.press("Home")  # the slider's lowest value: the surge locks nobody
    _wait_for(
        lambda: page.locator(".bk-slider-title").nth(surge).inner_text().endswith("coverage: 0"),
        "the slider did not move",
    )
    after = _wait_for(
        lambda: (src := figure.get_attribute("src")) != before and src,
        "the figure did not change",
    )
    assert after.startswith("data:image/png;base64,")
    page.screenshot(path=str(tmp_path / "explorer-after-lever.png"), full_page=True)
    assert (tmp_path / "explorer-after-lever.png").stat().st_size > 10_000
    assert page.get_by_text("users locked (devices)").count() == 1  # the key-metrics table

    page.get_by_role("button", name="Export as variant (YAML)").click()
    export = _wait_for(lambda: page.locator("textarea").input_value(), "no YAML was exported")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the YAML").click()
    downloaded = Path(download.value.path()).read_text(encoding="utf-8")
    assert downloaded == export
    scenario_file = tmp_path / "with-export.yaml"
    scenario_file.write_text(pasted(export), encoding="utf-8")
    scenario = load_scenario(scenario_file)
    windows = {w.name: w.coverage for w in scenario.variant(VARIANT).windows}
    written = {w.name: w.coverage for w in load_scenario(SEPTEMBER).policy.windows}
    assert windows == {**written, "surge": 0.0}
    assert load_scenario(SEPTEMBER).variant_names == [
        n for n in scenario.variant_names if n != VARIANT
    ]

    for signal_name in ("sim", "ip", "gps"):  # no signal left: a bad value, said plainly
        page.get_by_label(signal_name, exact=True).uncheck()
    alert = page.get_by_role("alert")
    said = _wait_for(lambda: alert.count() and alert.inner_text(), "no message for a bad value")
    assert f"variants.{VARIANT}.detection.signals" in said and "allowed:" in said
    assert "Traceback" not in said

    outside = [
        url
        for url in requests
        if not url.startswith((served, "data:", f"blob:{served.rstrip('/')}"))
        and not url.startswith(served.replace("http", "ws"))
    ]
    assert outside == [], f"the page fetched from outside this machine: {outside}"
    page.close()


def test_ctrl_c_stops_the_command_cleanly(tmp_path: Path) -> None:
    process, _port, log = _started(tmp_path)
    assert _interrupted(process) == 0, log.read_text()
    assert "Traceback" not in log.read_text()
    assert "stopped" in log.read_text()

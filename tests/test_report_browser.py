"""The report as a reader opens it: in a real browser (Debian's chromium driven by Playwright),
from disk. It fetches nothing from the network, every figure renders, every in-page link lands on
its section, and the first screen holds the answer (headline, compact table, and the top of the
figure of devices locked over time).

`.ci/run` installs chromium when it is missing and runs with CI=true, where these tests fail
rather than skip; on a machine without chromium or Playwright they skip and say why.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest

from simlock.analysis.results import Results
from simlock.report import run_report as report
from tests.browser import launched
from tests.report_fixtures import expectations_frame, small_results

FIRST_SCREEN = {"width": 1280, "height": 1600}

pytestmark = [pytest.mark.slow, pytest.mark.process]


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from launched()


@pytest.fixture(scope="module")
def report_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("browser") / "small"
    results = small_results()
    results.save(folder)
    loaded = Results.load(folder)
    return report.write_report(loaded, folder, expectations_frame(loaded))


@pytest.fixture
def opened(browser, report_file) -> Iterator:
    """The report opened from disk; every request is recorded and anything but the file itself
    (and inline data) is refused, so a stray fetch fails the page as well as the test."""
    context = browser.new_context(viewport=FIRST_SCREEN)
    page = context.new_page()
    requests: list[str] = []

    def route(request_route) -> None:
        url = request_route.request.url
        requests.append(url)
        if url.startswith(("file:", "data:")):
            request_route.continue_()
        else:
            request_route.abort()

    page.route("**/*", route)
    page.on("request", lambda request: requests.append(request.url))
    page.goto(report_file.as_uri(), wait_until="load")
    yield page, requests
    context.close()


def test_the_report_makes_no_network_request(opened, report_file):
    page, requests = opened
    page.wait_for_load_state("networkidle")
    outside = [url for url in requests if not url.startswith(("data:", report_file.as_uri()))]
    assert outside == []
    assert report_file.as_uri() in requests


def test_every_image_renders(opened):
    page, _ = opened
    sizes = page.eval_on_selector_all(
        "img", "images => images.map(i => [i.alt, i.complete, i.naturalWidth, i.naturalHeight])"
    )
    assert len(sizes) >= 5
    for alt, complete, width, height in sizes:
        assert complete and width > 0 and height > 0, alt
        assert alt, "an image without alt text"


def test_every_in_page_link_lands_on_its_anchor(opened):
    page, _ = opened
    targets = page.eval_on_selector_all(
        "a[href^='#']", "links => links.map(a => a.getAttribute('href'))"
    )
    assert len(targets) >= 6
    for href in targets:
        page.click(f"a[href='{href}']")
        landed = page.evaluate(
            """id => {
                const target = document.getElementById(id);
                if (!target) return null;
                const box = target.getBoundingClientRect();
                return {hash: location.hash, top: box.top, height: window.innerHeight};
            }""",
            href[1:],
        )
        assert landed is not None, f"{href}: no such anchor"
        assert landed["hash"] == href
        # Scrolled to the target (a pixel of slack for subpixel layout).
        assert -1 <= landed["top"] < landed["height"], f"{href}: target not on screen"
        page.evaluate("window.scrollTo(0, 0)")


def test_the_first_screen_holds_the_answer(opened):
    page, _ = opened
    boxes = page.evaluate(
        """() => Object.fromEntries(
            ['answer', 'key-metrics', 'figure-locked_over_time'].map(id => {
                const box = document.getElementById(id).getBoundingClientRect();
                return [id, [box.top, box.bottom]];
            }))"""
    )
    height = FIRST_SCREEN["height"]
    assert boxes["answer"][0] < boxes["key-metrics"][0] < boxes["figure-locked_over_time"][0]
    assert boxes["key-metrics"][1] < height, "the compact table does not fit the first screen"
    # The figure starts on the first screen, with most of it visible.
    top, bottom = boxes["figure-locked_over_time"]
    assert top < height and (height - top) > 0.6 * (bottom - top)
    headline = page.inner_text("p.headline")
    assert "users were locked at least once" in headline

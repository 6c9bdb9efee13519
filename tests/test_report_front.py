"""The report leads with the answer: headline sentences, a compact table of every variant's key
numbers with its paired difference from the baseline, and the figure of devices locked over time,
before any detail; the detail is folded below; the Markdown follows the same order; figures carry
alt text; the by-channel table shows every metric. Checked with one variant, four and twenty."""

from __future__ import annotations

import datetime as dt
import re

import matplotlib

matplotlib.use("Agg")

import pytest

from simlock.analysis.contents import variants
from simlock.analysis.formatting import format_summary_row, format_value, metric_unit
from simlock.report import run_report as report
from simlock.report.document import FigureBlock
from simlock.report.headline import KEY_METRICS, LISTED_VARIANTS
from tests.report_fixtures import expectations_frame, small_results
from tests.test_report import Page

START = dt.date(2021, 6, 1)

CASES = {
    "one variant": ("one_variant", 2),
    "four variants": ("default", 3),
    "twenty variants": ("twenty_variants", 2),
}


def _results(case: str):
    variation, replications = CASES[case]
    return small_results(variation, replications=replications, detail=0, scale=0.1)


def _lead_figure() -> list[FigureBlock]:
    """A stand-in for the rendered figure of devices locked over time (drawing it is slow)."""
    return [FigureBlock("locked_over_time", "Devices locked over time", "caption", b"png", "alt")]


def _documents(results, expectations=None) -> tuple[str, str]:
    blocks = report.build_document(results, expectations, _lead_figure())
    return report.render_html(blocks, "title"), report.render_markdown(blocks, "title")


def _before_first_table_or_figure(html_text: str) -> str:
    body = html_text[html_text.index("<body>") :]
    return body[: min(body.index("<table"), body.index("<figure"))]


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    results = _results(request.param)
    html_text, markdown = _documents(results)
    return request.param, results, html_text, markdown


def test_the_answer_comes_first_and_says_who_where_and_how_long(case):
    _, results, html_text, _ = case
    overall = results.summary[results.summary["group"] == "all"].set_index(["variant", "metric"])
    users = format_summary_row(
        overall.loc[("baseline", "users_affected")], "devices", results.scenario.start
    )
    head = _before_first_table_or_figure(html_text)
    headings = re.findall(r"<h2 id=\"([^\"]+)\"", html_text)
    assert headings[0] == "answer"
    text = re.sub(r"<[^>]+>", "", head)
    assert f"Under the scenario's policy (baseline), {users} users were locked at least once" in (
        text.replace("&#x27;", "'")
    )
    assert re.search(r"(Most|All) were activated in Cuba \(CU\): [\d,.]+ \(\d+%\)", text)
    assert "days at the median" in text


def test_no_wall_of_paragraphs_before_the_first_table(case):
    _, _, html_text, _ = case
    head = _before_first_table_or_figure(html_text)
    paragraphs = re.findall(r"<p[ >]", head)
    words = re.sub(r"<[^>]+>", " ", head[head.index("</nav>") :])
    assert len(paragraphs) <= 5, len(paragraphs)
    assert len(words.split()) <= 260, len(words.split())
    assert "Under variant" not in head  # the per-variant sentences are below, folded


def test_the_compact_table_has_a_row_per_variant_and_paired_differences(case):
    name, results, html_text, _ = case
    page = Page(html_text)
    rows = page.body_rows("key-metrics")
    assert [attrs["data-variant"] for attrs, _ in rows] == variants(results)
    summary = results.summary[results.summary["group"] == "all"].set_index(["variant", "metric"])
    compared = results.compare()
    compared = compared[compared["group"] == "all"].set_index(["variant", "metric"])
    for attrs, cells in rows:
        variant = attrs["data-variant"]
        for cell_attrs, text in cells[1:]:
            metric = cell_attrs["data-metric"]
            unit = metric_unit(metric)
            if cell_attrs.get("data-difference"):
                if variant == "baseline":
                    assert text == report.DASH
                else:
                    expected = format_summary_row(
                        compared.loc[(variant, metric)], unit, START, True
                    )
                    assert text == expected, (variant, metric)
            else:
                mean = float(summary.loc[(variant, metric), "mean"])
                assert text == format_value(mean, unit, START), (variant, metric)
    differences = sum(1 for c in rows[0][1] if c[0].get("data-difference"))
    assert differences == (0 if name == "one variant" else len(KEY_METRICS))


def test_the_lead_figure_follows_the_compact_table_in_the_answer(case):
    _, _, html_text, _ = case
    answer = html_text[html_text.index('id="answer"') : html_text.index('id="variant-detail"')]
    assert answer.index('id="key-metrics"') < answer.index('id="figure-locked_over_time"')


def test_each_variant_in_words_is_folded_below(case):
    _, results, html_text, _ = case
    detail = html_text[html_text.index('id="variant-detail"') :]
    folds = re.findall(r"<details><summary><strong>([^<]+)</strong>", detail)
    assert folds == variants(results)
    bodies = [part.split("</details>")[0] for part in detail.split("<details>")[1:]]
    for variant, body in zip(variants(results), bodies, strict=True):
        assert f"Under variant <strong>{variant}</strong>" in body


def test_the_variants_sentence_names_at_most_a_few(case):
    name, results, html_text, _ = case
    head = re.sub(r"<[^>]+>", "", _before_first_table_or_figure(html_text))
    if name == "one variant":
        assert "What each variant changes" not in head
        return
    sentence = head[head.index("What each variant changes") :]
    others = [v for v in variants(results) if v != "baseline"]
    named = [v for v in others if re.search(rf"\b{re.escape(v)}\b", sentence)]
    # The changed ones and the unchanged ones: at most LISTED_VARIANTS (+1) of each.
    assert 1 <= len(named) <= 2 * LISTED_VARIANTS + 2
    if name == "twenty variants":
        assert re.search(r"and \d+ more", sentence)
    else:
        assert named == others


def test_markdown_follows_the_same_order(case):
    _, _, _, markdown = case
    order = [
        markdown.index("## The answer"),
        markdown.index("| variant |"),
        markdown.index("![alt](figures/locked_over_time.png)"),
        markdown.index("## Each variant in detail"),
        markdown.index("<details><summary>baseline:"),
        markdown.index("## The scenario in brief"),
        markdown.index("## Metrics"),
    ]
    assert order == sorted(order)
    assert markdown.count("<details>") == markdown.count("</details>")


def test_without_a_baseline_the_answer_is_about_the_first_variant_kept():
    results = _results("four variants")
    kept = results.summary[results.summary["variant"] != "baseline"]
    daily = results.daily[results.daily["variant"] != "baseline"]
    filtered = type(results)(
        results.scenario, kept, results.replicates, daily, results.devices, results.events
    )
    html_text, _ = _documents(filtered)
    text = re.sub(r"<[^>]+>", "", _before_first_table_or_figure(html_text))
    assert "Under variant no-lift (the run has no baseline)" in text
    assert "What each variant changes" not in text


def test_expectations_are_tallied_in_the_answer():
    results = small_results()
    html_text, _ = _documents(results, expectations_frame(results))
    head = _before_first_table_or_figure(html_text)
    assert "Expectations: 2 of 3 pass; failing: Most banned activations are locked." in head


def test_the_by_channel_table_shows_every_metric_including_how_locks_ended():
    results = _results("four variants")
    page = Page(_documents(results)[0])
    shown = {attrs["data-metric"] for attrs, _ in page.body_rows("metrics-by-channel")}
    channel = results.summary[results.summary["group"] == "channel"]
    assert shown == set(channel["metric"].astype(str))
    assert {"unlocked_by_lift", "unlocked_by_appeal", "locked_at_end"} <= shown


@pytest.mark.slow
def test_every_figure_has_alt_text_that_describes_it(tmp_path):
    results = small_results()
    rendered = report.render_figures(results, tmp_path)
    blocks = report.build_document(results, None, rendered)
    page = Page(report.render_html(blocks, "title"))
    markdown = report.render_markdown(blocks, "title")
    alts = [attrs.get("alt", "") for tag, attrs in page.tags if tag == "img"]
    assert len(alts) == len(rendered)
    for figure, alt in zip(rendered, alts, strict=True):
        assert alt == figure.alt and alt != figure.title
        assert "chart" in alt and len(alt) > 60, alt
        assert "baseline" in alt or figure.name == "support_desk"
        assert re.search(
            rf"!\[{re.escape(alt[:40])}[^\]]*\]\(figures/{figure.name}\.png\)", markdown
        )

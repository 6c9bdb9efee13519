"""The report of a run: its numbers are the run's numbers, every figure is in it, the HTML is
valid and self-contained, and scenario text cannot inject markup."""

from __future__ import annotations

import base64
import datetime as dt
import math
import re
import shutil
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest
from typer.testing import CliRunner

from simlock.analysis.expectations import check_unit
from simlock.analysis.results import Results
from simlock.cli.commands import app
from simlock.report import figures as figs
from simlock.report import run_report as report
from tests.report_fixtures import SMALL, expectations_frame, small_results

START = dt.date(2021, 6, 1)
VOID = {"meta", "img", "br", "hr", "link", "input", "col", "source", "wbr", "area", "base"}


class Page(HTMLParser):
    """Parses a report: checks that tags balance, collects attributes of every tag, and the
    tables as rows of (row attributes, [(cell attributes, cell text)])."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.tables: dict[str, list[tuple[dict[str, str], list[tuple[dict[str, str], str]]]]] = {}
        self.table: str | None = None
        self.row: tuple[dict[str, str], list] | None = None
        self.cell: list[str] | None = None
        self.cell_attrs: dict[str, str] = {}
        self.text: list[str] = []
        self.feed(text)
        self.close()
        if self.stack:
            self.problems.append(f"unclosed: {self.stack}")

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attributes))
        if tag not in VOID:
            self.stack.append(tag)
        if tag == "table":
            self.table = attributes.get("id", f"table-{len(self.tables)}")
            self.tables[self.table] = []
        elif tag == "tr" and self.table is not None:
            self.row = (attributes, [])
        elif tag in ("td", "th") and self.row is not None:
            self.cell, self.cell_attrs = [], attributes

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()
        if tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row[1].append((self.cell_attrs, "".join(self.cell).strip()))
            self.cell = None
        elif tag == "tr" and self.row is not None and self.table is not None:
            self.tables[self.table].append(self.row)
            self.row = None
        elif tag == "table":
            self.table = None

    def handle_data(self, data):
        self.text.append(data)
        if self.cell is not None:
            self.cell.append(data)

    def body_rows(self, table_id: str):
        """Rows with data cells (the header row has only <th>)."""
        return [row for row in self.tables[table_id] if row[0]]


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    """A small run saved, loaded back as `simlock report` does, and reported with expectations."""
    folder = tmp_path_factory.mktemp("run") / "small"
    results = small_results()
    results.save(folder, report=False)
    loaded = Results.load(folder)
    report.write_report(loaded, folder, expectations_frame(loaded))
    return folder


@pytest.fixture(scope="module")
def results(run_folder) -> Results:
    return Results.load(run_folder)


@pytest.fixture(scope="module")
def page(run_folder) -> Page:
    return Page((run_folder / "report.html").read_text(encoding="utf-8"))


def expected_cell(row: pd.Series | None, metric: str, start: dt.date, signed=False) -> str:
    column = "difference" if signed else "mean"
    if row is None:
        return report.DASH
    return report.format_estimate(
        row[column],
        row["ci_low"],
        row["ci_high"],
        row["n"],
        report.metric_unit(metric),
        start,
        signed,
    )


# --- numbers as people read them -------------------------------------------------------------


def test_numbers_are_formatted_in_their_units():
    assert report.format_value(1234.4, "devices", START) == "1,234"
    assert report.format_value(12.34, "devices", START) == "12"  # whole devices
    assert report.format_value(1.333, "appeals", START) == "1"
    assert report.format_value(12.34, "device-days", START) == "12.3"
    assert report.format_value(0.1234, "share", START) == "12.3%"
    assert report.format_value(0.004, "share", START) == "0.40%"
    assert report.format_value(4.06, "days", START) == "4.1"
    assert report.format_value(3.4, "date", START) == "2021-06-04"
    assert report.format_value(float("nan"), "days", START) == report.DASH
    assert report.format_value(0.02, "share", START, signed=True) == "+2.0 pp"
    assert report.format_value(-3.0, "devices", START, signed=True) == "-3"
    assert report.format_value(2.5, "date", START, signed=True) == "+2.5"  # days between dates


def test_estimates_show_the_interval_only_when_it_is_defined():
    assert report.format_estimate(150.3, 134.0, 166.6, 3, "devices", START) == "150 [134–167]"
    assert report.format_estimate(150.3, math.nan, math.nan, 1, "devices", START) == "150"
    assert report.format_estimate(1.33, -4.4, 7.07, 3, "devices", START) == "1 [-4 to 7]"
    assert report.format_estimate(5.0, 5.0, 5.0, 3, "devices", START) == "5"
    assert (
        report.format_estimate(-12.0, -22.8, -1.2, 3, "devices", START, signed=True)
        == "-12 [-23 to -1]"
    )
    assert (
        report.format_estimate(100.4, 99.6, 101.2, 3, "date", START)
        == "2021-09-09 [2021-09-09–2021-09-10]"
    )
    assert report.format_estimate(0.0, 0.0, 0.0, 3, "date", START, signed=True) == "0.0"


def test_metric_units():
    assert report.metric_unit("users_affected") == "devices"
    assert report.metric_unit("share_banned_locked") == "share"
    assert report.metric_unit("grey_market_share_of_locked") == "share"
    assert report.metric_unit("lock_days") == "device-days"
    assert report.metric_unit("days_to_lock_p90") == "days"
    assert report.metric_unit("appeal_wait_mean") == "days"
    assert report.metric_unit("appeals_filed") == "appeals"
    assert report.metric_unit("peak_locked_day") == "date"


def test_an_expectation_on_a_metric_is_in_the_unit_of_the_metrics_table():
    """The expectations table and the verdicts read a metric in the unit the metrics table
    gives it (lock_days in device-days, appeals_filed in appeals)."""
    for metric in report.METRICS:
        assert check_unit(metric) == report.metric_unit(metric), metric


# --- the full report -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table_id", "group"),
    [("metrics-all", "all"), ("metrics-by-region", "region"), ("metrics-by-channel", "channel")],
)
def test_every_metric_cell_is_the_summary_number_as_formatted(page, results, table_id, group):
    summary = results.summary[results.summary["group"] == group]
    index = {(r.variant, r.key, r.metric): r for _, r in summary.iterrows()}
    rows = page.body_rows(table_id)
    seen = set()
    for attrs, cells in rows:
        metric, key = attrs["data-metric"], attrs["data-key"]
        seen.add((key, metric))
        by_variant = {c[0]["data-variant"]: c[1] for c in cells if "data-variant" in c[0]}
        assert list(by_variant) == ["baseline", "no-lift", "warn", "exempt-allowed-sim"]
        for variant, text in by_variant.items():
            expected = expected_cell(index.get((variant, key, metric)), metric, START)
            assert text == expected, (table_id, variant, key, metric)
    # Overall and by channel: every metric the run has; by region: the chosen few.
    wanted = {
        (k, m)
        for k, m in zip(summary["key"], summary["metric"], strict=True)
        if group != "region" or m in report.REGION_METRICS
    }
    assert seen == wanted


def test_the_overall_table_explains_each_metric_and_its_unit(page):
    for attrs, cells in page.body_rows("metrics-all"):
        metric = attrs["data-metric"]
        assert cells[0][1].startswith(metric) and report.METRICS[metric] in cells[0][1]
        assert cells[1][1] == report.metric_unit(metric)


def test_differences_are_the_paired_comparison(page, results):
    compared = results.compare()
    compared = compared[compared["group"] == "all"]
    index = {(r.variant, r.metric): r for _, r in compared.iterrows()}
    rows = page.body_rows("differences-table")
    assert {a["data-metric"] for a, _ in rows} == set(compared["metric"])
    for attrs, cells in rows:
        metric = attrs["data-metric"]
        for cell_attrs, text in cells:
            if "data-variant" in cell_attrs:
                variant = cell_attrs["data-variant"]
                assert variant != "baseline"
                assert text == expected_cell(index[(variant, metric)], metric, START, signed=True)


def test_summary_in_words_gives_each_variant_its_users_and_collateral(page, results):
    text = "".join(page.text)
    overall = results.summary[results.summary["group"] == "all"].set_index(["variant", "metric"])
    for variant in ("baseline", "no-lift", "warn", "exempt-allowed-sim"):
        users = expected_cell(overall.loc[(variant, "users_affected")], "users_affected", START)
        collateral = expected_cell(
            overall.loc[(variant, "collateral_locks")], "collateral_locks", START
        )
        sentence = re.search(rf"Under variant {variant}\b[^.]*?, {re.escape(users)} users", text)
        assert sentence, f"no summary sentence for {variant}"
        assert f"against {collateral} collateral locks" in text
    assert "means over 3 replications" in text


def test_every_figure_is_saved_and_embedded(run_folder, page, results):
    html_text = (run_folder / "report.html").read_text(encoding="utf-8")
    markdown = (run_folder / "report.md").read_text(encoding="utf-8")
    # Each <img> follows the <figure> that names it.
    shown = [(tag, attrs) for tag, attrs in page.tags if tag in ("figure", "img")]
    images = {
        attrs["id"].removeprefix("figure-"): shown[i + 1][1]["src"]
        for i, (tag, attrs) in enumerate(shown)
        if tag == "figure"
    }
    for spec in figs.FIGURES:
        png = run_folder / "figures" / f"{spec.name}.png"
        svg = run_folder / "figures" / f"{spec.name}.svg"
        csv = run_folder / "figures" / f"{spec.name}.csv"
        assert png.read_bytes().startswith(b"\x89PNG")
        assert "<svg" in svg.read_text()[:1000]
        table = pd.read_csv(csv)
        assert list(table.columns) == list(spec.data(results).columns)
        assert len(table) == len(spec.data(results)) > 0
        source = images[spec.name]
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.split(",", 1)[1]) == png.read_bytes()
        assert f'id="figure-{spec.name}"' in html_text
        assert f"](figures/{spec.name}.png)" in markdown


def test_html_is_well_formed_and_self_contained(run_folder, page):
    html_text = (run_folder / "report.html").read_text(encoding="utf-8")
    assert html_text.startswith("<!DOCTYPE html>")
    assert page.problems == []
    ids = [attrs["id"] for _, attrs in page.tags if "id" in attrs]
    assert len(ids) == len(set(ids)), "ids must be unique"
    anchors = [
        attrs["href"][1:] for tag, attrs in page.tags if attrs.get("href", "").startswith("#")
    ]
    assert anchors and set(anchors) <= set(ids)
    for tag, attrs in page.tags:
        for name in ("src", "href"):
            value = attrs.get(name, "")
            assert not re.match(r"\s*(https?:)?//", value), f"<{tag} {name}={value[:60]}>"
        assert tag not in ("script", "iframe", "object", "embed")
        assert not (tag == "link" and "stylesheet" in attrs.get("rel", ""))
    assert "http://" not in html_text and "https://" not in html_text


def test_expectations_are_listed_with_source_value_and_verdict(page, results):
    expectations = expectations_frame(results)
    rows = page.body_rows("expectations-table")
    assert len(rows) == len(expectations) == 3
    names = [cells[0][1] for _, cells in rows]
    assert names == list(expectations["name"])
    assert rows[0][1][1][1] == "tests: <a source> & co"  # escaped in HTML, read back as text
    verdicts = [cells[-1][1] for _, cells in rows]
    assert [v.split(" ")[0] for v in verdicts] == ["pass", "pass", "FAIL"]
    peak = expectations.iloc[1]
    shown = rows[1][1][4][1]
    assert shown.startswith(report.format_value(peak["value"], "date", START))
    assert re.match(r"\d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d", rows[1][1][5][1])
    summary = "Expectations: 2 of 3 pass; failing: Most banned activations are locked."
    assert summary in "".join(page.text)


def test_manifest_names_version_hash_seed_replications_and_timings(page, results):
    rows = {cells[0][1]: cells[1][1] for _, cells in page.tables["manifest-table"][1:]}
    assert rows["simlock version"] == results.manifest["simlock_version"]
    assert rows["scenario hash"] == results.manifest["scenario_hash"]
    assert rows["seed"] == "7"
    assert rows["replications"] == "3"
    assert any(key.startswith("wall time") and value.endswith(" s") for key, value in rows.items())


# --- other runs ------------------------------------------------------------------------------


def _document(results, expectations=None) -> tuple[str, str, Page]:
    """The report's HTML and Markdown without rendering figures (fast)."""
    blocks = report.build_document(results, expectations, [])
    html_text = report.render_html(blocks, "title")
    return html_text, report.render_markdown(blocks, "title"), Page(html_text)


def test_without_expectations_there_is_no_expectations_section():
    html_text, markdown, page = _document(small_results())
    assert "expectations-table" not in page.tables
    assert 'id="expectations"' not in html_text and "## Expectations" not in markdown


def test_one_replication_says_intervals_are_undefined():
    _, markdown, page = _document(small_results(replications=1))
    text = "".join(page.text)
    assert "one replication: 95% intervals are undefined" in text
    assert "95% intervals are undefined" in markdown
    for _, cells in page.body_rows("metrics-all"):
        assert not any("[" in value for attrs, value in cells if "data-variant" in attrs)


@pytest.mark.slow
def test_without_appeals_the_report_says_there_are_none():
    _, markdown, page = _document(small_results("no_appeals"))
    assert "The support desk: no appeals" in "".join(page.text)
    assert "no appeals" in markdown
    folder = Path(tempfile.mkdtemp())
    try:
        rendered = report.render_figures(small_results("no_appeals"), folder)
        assert "support_desk" not in [f.name for f in rendered]
        assert not (folder / "support_desk.png").exists()
    finally:
        shutil.rmtree(folder)


def test_scenario_text_cannot_inject_markup():
    html_text, markdown, page = _document(small_results("hostile", replications=2))
    assert page.problems == []
    assert "<script>" not in html_text and "<b>bold" not in html_text
    assert "&lt;script&gt;" in html_text
    assert not any(tag in ("script", "b") for tag, _ in page.tags)
    assert not [attrs for tag, attrs in page.tags if tag == "img"]  # the description's <img>
    assert "<script>" not in markdown and "\\<script\\>" in markdown
    assert "\\[a\\](http://x)" in markdown  # no link either


def test_the_policy_and_variants_are_described_in_words():
    _, markdown, page = _document(small_results())
    text = "".join(page.text)
    assert "Banned territories: Cuba (CU), Crimea (UA-43)." in text
    assert "more than half of the available signals" in text
    assert "lognormal with a median of 4 days (σ = 0.5)" in text
    assert "no-lift: No lift: the block stays until the end of the run." in text
    assert "warn: A warning 3 days before the lock; 20% of warned users resolve it" in text
    assert "40/day from 2021-06-01; 60/day from 2021-09-01" in text
    assert "**no-lift**" in markdown


# --- the command line ------------------------------------------------------------------------


@pytest.mark.slow
def test_simlock_report_rebuilds_the_report_of_a_saved_run(run_folder, tmp_path, page):
    copy = tmp_path / "copy"
    shutil.copytree(run_folder, copy)
    shutil.rmtree(copy / "figures")
    (copy / "report.html").unlink()
    outcome = CliRunner().invoke(app, ["report", str(copy)])
    assert outcome.exit_code == 0, outcome.output
    rebuilt = Page((copy / "report.html").read_text(encoding="utf-8"))
    for table in ("metrics-all", "metrics-by-region", "differences-table"):
        assert rebuilt.tables[table] == page.tables[table]
    assert sorted(p.name for p in (copy / "figures").iterdir()) == sorted(
        p.name for p in (run_folder / "figures").iterdir()
    )


@pytest.mark.slow
def test_simlock_run_writes_the_report(tmp_path):
    out = tmp_path / "run"
    outcome = CliRunner().invoke(
        app,
        [
            "run",
            str(SMALL),
            "-o",
            str(out),
            "-q",
            "--scale",
            "0.1",
            "--replications",
            "2",
            "--workers",
            "1",
        ],
    )
    assert outcome.exit_code == 0, outcome.output
    page = Page((out / "report.html").read_text(encoding="utf-8"))
    assert page.problems == []
    assert (out / "report.md").exists()
    assert {p.stem for p in (out / "figures").glob("*.png")} == {s.name for s in figs.FIGURES}

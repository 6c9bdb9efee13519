"""The run report over plausible worlds: the headline as a range, the plausible range beside the
Monte Carlo interval in every table, two labelled bands in the figures over time, and the section
on the worlds drawn; a run without worlds reports exactly as before.

The posterior is written by hand in the format `simlock calibrate` writes (calibration.json,
scenario.yaml and the Parquet frames), so the test needs no calibration: its worlds are chosen
to differ a lot (Cuba's activations from 10 to 160 a day), so the plausible range is visibly
wider than the Monte Carlo interval.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.lines import Line2D

import simlock
from simlock.analysis.results import Results
from simlock.execution.calibrate import (
    CALIBRATION_FILE,
    PARTICLES_FILE,
    POPULATIONS_FILE,
    POSTERIOR_FILE,
    PREDICTIVE_FILE,
    SCENARIO_FILE,
)
from simlock.report import figures as figs
from simlock.report.document import Bullets, Note, Paragraph, Strong
from simlock.report.headline import headline, key_metrics_table
from simlock.report.plotting import (
    MONTE_CARLO_BAND,
    MONTE_CARLO_GID,
    PLAUSIBLE_BAND,
    PLAUSIBLE_GID,
    REPORT_STYLE,
    canvas,
    legend_below,
)
from simlock.report.questions import QUESTIONS, WHAT_IF, answer_blocks, questions
from simlock.report.run_report import build_document, write_report
from simlock.report.tables import expectations_table, metrics_table
from simlock.report.worlds import worlds_section
from simlock.scenario.loader import load_scenario
from tests.cli_helpers import small_doc, write_yaml

CU_RATE = "regions.CU.activations[0].rate_per_day"
COVERAGE = "policy.windows.surge.coverage"
RATES = [10.0, 40.0, 160.0]
COVERAGES = [0.3, 0.6, 0.9]
WORLDS = 4


def worlds_doc() -> dict:
    """The small scenario with two uncertain inputs, two variants and one expectation. Crimea's
    few locked users all complain and Cuba's many almost never do, so the territory heard from
    most is not the one locked most."""
    doc = small_doc()
    doc["variants"] = {"warn": doc["variants"]["warn"]}
    regions = {region["id"]: region for region in doc["regions"]}
    regions["CU"]["name"] = "Cuba (an island the test names)"
    regions["CU"]["complaint_share"] = 0.002
    regions["UA-43"]["complaint_share"] = 1.0
    doc["uncertain"] = [
        {"path": CU_RATE, "prior": "loguniform", "low": 5, "high": 200},
        {"path": COVERAGE, "prior": "uniform", "low": 0.2, "high": 1.0},
    ]
    doc["expectations"] = [{"name": "affected", "metric": "users_affected", "min": 50}]
    return doc


def write_posterior(folder: Path, doc: dict) -> Path:
    """A finished calibration folder whose posterior holds three equally weighted particles."""
    folder.mkdir(parents=True, exist_ok=True)
    write_yaml(folder / SCENARIO_FILE, doc)
    posterior = pd.DataFrame(
        {
            "particle": np.arange(3),
            "weight": np.full(3, 1 / 3),
            "distance": np.zeros(3),
            CU_RATE: RATES,
            COVERAGE: COVERAGES,
        }
    )
    posterior.to_parquet(folder / POSTERIOR_FILE)
    posterior.assign(population=0).to_parquet(folder / PARTICLES_FILE)
    pd.DataFrame({"population": [0], "tolerance": [0.0]}).to_parquet(
        folder / f"{POPULATIONS_FILE}.parquet"
    )
    pd.DataFrame({"particle": np.arange(3)}).to_parquet(folder / PREDICTIVE_FILE)
    manifest = {"complete": True, "calibration_hash": "hand-written"}
    (folder / CALIBRATION_FILE).write_text(json.dumps(manifest))
    return folder


@pytest.fixture(scope="module")
def over_worlds(tmp_path_factory) -> Results:
    folder = write_posterior(tmp_path_factory.mktemp("posterior"), worlds_doc())
    scenario = load_scenario(worlds_doc())
    return simlock.run(
        scenario, posterior=folder, worlds=WORLDS, replications=2, detail_replications=1
    )


@pytest.fixture(scope="module")
def ordinary() -> Results:
    doc = worlds_doc()
    del doc["uncertain"]
    return simlock.run(load_scenario(doc), replications=2, detail_replications=1)


def text_of(spans) -> str:
    return "".join(s if isinstance(s, str) else s.text for s in spans)


def cell_text(cell) -> str:
    return text_of(cell if isinstance(cell, list) else [cell])


@pytest.mark.slow
def test_the_headline_states_the_answer_as_a_range(over_worlds):
    summary = over_worlds.summary.set_index(["variant", "group", "metric"])
    row = summary.loc[("baseline", "all", "users_affected")]
    low, high = f"{row['plausible_low']:,.0f}", f"{row['plausible_high']:,.0f}"
    assert low != high  # the worlds differ: a range, not one number
    who, change = (text_of(p.spans) for p in headline(over_worlds))
    assert f"between {low} and {high} users were locked" in who
    assert f"plausible range over {WORLDS} worlds" in who
    assert "Monte Carlo 95% interval of the mean in brackets" in who
    # The variant's change as a range of paired relative differences, with the worlds it held in.
    assert f"paired within each of {WORLDS} plausible worlds" in change
    compared = over_worlds.compare().set_index(["variant", "group", "metric"])
    held = round(compared.loc[("warn", "all", "users_affected"), "worlds_same_sign"] * WORLDS)
    assert re.search(rf"in (all {WORLDS}|{held} of {WORLDS}) worlds", change)
    assert re.search(r"\d+(–\d+)?% (fewer|more|shorter|longer)|% to [+-]\d+%", change)


@pytest.mark.slow
def test_the_tables_show_the_plausible_range_beside_the_monte_carlo_interval(over_worlds):
    start = over_worlds.scenario.start
    compact = key_metrics_table(over_worlds)
    base = compact.rows[0]
    assert isinstance(base[0], Strong) and base[0].text == "baseline"
    users = base[1]
    assert isinstance(users, list) and "[" in cell_text(users[0])
    assert isinstance(users[1], Note) and users[1].text.startswith("plausible ")
    warn_difference = compact.rows[1][2]
    assert isinstance(warn_difference, list) and warn_difference[1].text.startswith("plausible")
    metrics = metrics_table(over_worlds, "all")
    users_row = next(
        r
        for r, a in zip(metrics.rows, metrics.row_attrs, strict=True)
        if a["metric"] == "users_affected"
    )
    row = over_worlds.summary.set_index(["variant", "group", "metric"]).loc[
        ("baseline", "all", "users_affected")
    ]
    plausible = f"plausible {row['plausible_low']:,.0f}–{row['plausible_high']:,.0f}"
    assert cell_text(users_row[2]).endswith(plausible)
    assert start  # dates format from the scenario's start


@pytest.mark.slow
def test_the_expectations_table_gives_each_fact_its_plausible_range(over_worlds):
    checked = over_worlds.check()
    assert {"worlds", "plausible_low", "plausible_high"} <= set(checked.columns)
    table = expectations_table(over_worlds.scenario, checked)
    assert "plausible range (5–95%)" in table.columns
    where = table.columns.index("plausible range (5–95%)")
    first = checked.iloc[0]
    expected = f"{first['plausible_low']:,.0f}–{first['plausible_high']:,.0f}"
    assert table.rows[0][where] == expected


def bands(figure) -> dict[str, int]:
    """How many filled bands of each kind (by gid) the figure's panels hold."""
    counts: dict[str, int] = {}
    for ax in figure.axes:
        for artist in ax.collections:
            if isinstance(artist, PolyCollection) and artist.get_gid():
                counts[artist.get_gid()] = counts.get(artist.get_gid(), 0) + 1
    return counts


def legend_texts(figure) -> list[str]:
    return [t.get_text() for legend in figure.legends for t in legend.get_texts()]


@pytest.mark.slow
def test_figures_over_time_draw_two_labelled_bands_per_variant(over_worlds):
    figure = figs.locked_over_time(over_worlds)
    assert bands(figure) == {PLAUSIBLE_GID: 2, MONTE_CARLO_GID: 2}  # two variants
    panel = figure.axes[0]
    plausible = next(c for c in panel.collections if c.get_gid() == PLAUSIBLE_GID)
    monte_carlo = next(c for c in panel.collections if c.get_gid() == MONTE_CARLO_GID)
    # Each band is drawn from its own columns: the baseline's plausible range and its Monte
    # Carlo interval reach their own highest points.
    data = figs.locked_over_time_data(over_worlds)
    base = data[data["variant"] == "baseline"]
    top = plausible.get_paths()[0].vertices[:, 1].max()
    assert top == pytest.approx(base["plausible_high"].max())
    assert monte_carlo.get_paths()[0].vertices[:, 1].max() == pytest.approx(base["ci_high"].max())
    assert base["plausible_high"].max() != pytest.approx(base["ci_high"].max())
    texts = legend_texts(figure)
    assert any(t.startswith("plausible range (5%–95% over worlds") for t in texts)
    assert "Monte Carlo 95% interval of the mean" in texts
    per_day = figs.locks_per_day(over_worlds)
    assert bands(per_day) == {PLAUSIBLE_GID: 4, MONTE_CARLO_GID: 4}  # two panels
    assert {"worlds", "plausible_low", "plausible_high"} <= set(data.columns)
    assert (data["plausible_high"] >= data["plausible_low"]).all()


def test_a_legend_of_four_variants_and_both_bands_fits_in_the_figure():
    # Six entries in four columns are laid out 2, 2, 1, 1 by matplotlib: the legend's width must
    # be estimated from that layout, or its long last columns run off the figure.
    labels = ["baseline", "no-lift", "warn", "exempt-allowed-sim", PLAUSIBLE_BAND, MONTE_CARLO_BAND]
    with matplotlib.rc_context(REPORT_STYLE):
        drawn = canvas(5.8)
        legend_below(drawn, [Line2D([], [], label=label) for label in labels])
        FigureCanvasAgg(drawn.figure).draw()
        box = drawn.figure.legends[0].get_window_extent()
    assert box.x0 >= 0 and box.x1 <= drawn.figure.bbox.x1


def plausible_whiskers(figure) -> int:
    return sum(c.get_gid() == PLAUSIBLE_GID for ax in figure.axes for c in ax.collections)


@pytest.mark.slow
def test_users_by_region_draws_plausible_whiskers_beside_the_monte_carlo_ones(over_worlds):
    figure = figs.users_by_region(over_worlds)
    assert plausible_whiskers(figure) == 2  # one set per variant
    data = figs.users_by_region_data(over_worlds)
    assert (data["plausible_high"] >= data["plausible_low"]).all()


@pytest.mark.slow
def test_the_worlds_section_says_how_many_from_where_and_the_inputs_ranges(over_worlds):
    blocks = worlds_section(over_worlds)
    assert blocks[0].text == "Plausible worlds"
    words = text_of(blocks[1].spans)
    assert f"in {WORLDS} plausible worlds" in words and "posterior" in words
    table = blocks[-1]
    assert table.table_id == "worlds-inputs"
    assert [a["input"] for a in table.row_attrs] == [CU_RATE, COVERAGE]
    drawn = pd.DataFrame(over_worlds.manifest["worlds"]["draws"])
    rates = table.rows[0]
    assert rates[1] == f"{drawn[CU_RATE].min():.3g}" and rates[5] == f"{drawn[CU_RATE].max():.3g}"


@pytest.mark.slow
def test_a_run_without_worlds_reports_as_before(ordinary):
    assert worlds_section(ordinary) == []
    figure = figs.locked_over_time(ordinary)
    assert bands(figure) == {}
    assert not any("plausible" in t or "Monte Carlo" in t for t in legend_texts(figure))
    assert list(figs.locked_over_time_data(ordinary).columns) == [
        "date",
        "day",
        "variant",
        "mean",
        "ci_low",
        "ci_high",
        "n",
    ]
    assert plausible_whiskers(figs.users_by_region(ordinary)) == 0
    assert "plausible_low" not in figs.users_by_region_data(ordinary).columns
    compact = key_metrics_table(ordinary)
    assert all(not isinstance(cell, list) for row in compact.rows for cell in row)
    table = expectations_table(ordinary.scenario, ordinary.check())
    assert "plausible range (5–95%)" not in table.columns
    text = " ".join(text_of(p.spans) for p in headline(ordinary))
    assert "plausible" not in text and "between" not in text


@pytest.mark.slow
def test_the_written_report_over_worlds(over_worlds, tmp_path):
    path = write_report(over_worlds, tmp_path, over_worlds.check())
    html = path.read_text(encoding="utf-8")
    assert 'id="worlds"' in html and "Plausible worlds" in html
    assert 'id="worlds-inputs"' in html
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "## Plausible worlds" in markdown and "plausible range" in markdown
    headings = [b.text for b in build_document(over_worlds, None, []) if hasattr(b, "level")]
    assert headings.index("Plausible worlds") < headings.index("Metrics")


def two_figures(value: float) -> str:
    """A count as the answers round it: two significant figures from 100 up."""
    if abs(value) < 100:
        return f"{value:,.0f}" if value >= 1 or value == 0 else "<1"
    digits = len(str(int(abs(value)))) - 2
    return f"{round(value, -digits):,.0f}"


def answers_by_question(results) -> dict[str, str]:
    lead, bullets = questions(results)
    assert isinstance(lead, Paragraph) and isinstance(bullets, Bullets)
    out = {}
    for i, item in enumerate(bullets.items):
        assert isinstance(item[0], Strong)
        under = " ".join(text_of(sub) for sub in bullets.nested.get(i, []))
        out[item[0].text] = f"{text_of(item[1:]).strip()} {under}".strip()
    return out


def region_means(results, metric: str) -> pd.Series:
    rows = results.summary[
        (results.summary["variant"] == "baseline")
        & (results.summary["group"] == "region")
        & (results.summary["metric"] == metric)
    ]
    return rows.set_index("key")["mean"].sort_values(ascending=False)


def worlds_led(results, metric: str, region: str) -> int:
    reps = results.replicates
    rows = reps[
        (reps["variant"] == "baseline") & (reps["group"] == "region") & (reps["metric"] == metric)
    ]
    means = rows.groupby(["world", "key"])["value"].mean().unstack()
    return int((means.idxmax(axis=1) == region).sum())


@pytest.mark.slow
def test_the_answer_over_worlds_asks_the_students_questions_in_order(over_worlds):
    answers = answers_by_question(over_worlds)
    assert list(answers) == list(QUESTIONS)
    summary = over_worlds.summary.set_index(["variant", "group", "metric"])
    users = summary.loc[("baseline", "all", "users_affected")]
    low, high = two_figures(users["plausible_low"]), two_figures(users["plausible_high"])
    assert low != high
    assert answers["How many phones were locked?"].startswith(f"Between {low} and {high} (mean ")
    median = summary.loc[("baseline", "all", "lock_duration_median")]
    span = f"{median['plausible_low']:.1f}–{median['plausible_high']:.1f} days"
    assert answers["For how long?"].startswith(f"A median lock lasted {span}")
    assert "warn" in answers[WHAT_IF] and f"{WORLDS} plausible worlds" in answers[WHAT_IF]
    for number in re.findall(r"[-+]?\d[\d,]*", answers[WHAT_IF].split("paired difference", 1)[1]):
        digits = number.lstrip("+-").replace(",", "")
        assert len(digits.rstrip("0")) <= 2, f"a paired difference not rounded: {number}"
    lead = text_of(questions(over_worlds)[0].spans)
    assert f"over {WORLDS} plausible worlds" in lead and "scaled world" not in lead
    scaled = dataclasses.replace(over_worlds, manifest={**over_worlds.manifest, "scale": 0.1})
    assert "Counts are for the scaled world (activation rates × 0.1)." in text_of(
        questions(scaled)[0].spans
    )


@pytest.mark.slow
def test_where_and_who_complained_name_the_scenarios_territories_and_the_worlds_they_led(
    over_worlds,
):
    answers = answers_by_question(over_worlds)
    locked, heard = (
        region_means(over_worlds, "users_affected"),
        region_means(over_worlds, "complaints"),
    )
    names = {"CU": "Cuba (CU)", "UA-43": "Crimea (UA-43)"}
    top = locked.index[0]
    assert answers["Where?"].startswith(f"Most were activated in {names[top]}: ")
    led = worlds_led(over_worlds, "users_affected", top)
    held = f"in all {WORLDS} worlds" if led == WORLDS else f"in {led} of {WORLDS} worlds"
    assert f"the most locks {held}" in answers["Where?"]
    loudest = heard.index[0]
    complained = answers["How many complained?"]
    assert f"most from {names[loudest]}: " in complained
    contrast = f"The loudest territory is not the most locked: {names[top]} had the most locks"
    assert (contrast in complained) == (loudest != top)
    assert loudest != top  # the scenario is built so that they differ


@pytest.mark.slow
def test_questions_a_run_cannot_answer_are_left_out(over_worlds):
    only_baseline = answers_by_question(over_worlds.select(["baseline"]))
    assert WHAT_IF not in only_baseline and "Where?" in only_baseline
    summary = over_worlds.summary
    silent = dataclasses.replace(over_worlds, summary=summary[summary["metric"] != "complaints"])
    assert "How many complained?" not in answers_by_question(silent)


@pytest.mark.slow
def test_the_written_reports_lead_with_the_questions(over_worlds, tmp_path):
    write_report(over_worlds, tmp_path, over_worlds.check())
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    answer = html[html.index('id="answer"') : html.index('id="key-metrics"')]
    found = [answer.index(f"<li><strong>{q}</strong>") for q in QUESTIONS]
    assert found == sorted(found)
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    answer_md = markdown[markdown.index("## The answer") : markdown.index("| variant |")]
    found_md = [answer_md.index(f"- **{q}**") for q in QUESTIONS]
    assert found_md == sorted(found_md)
    # each variant's change is listed under the last question, one item per variant
    assert re.search(r"<ul><li><strong>warn</strong>: ", answer)
    assert "\n  - **warn**: " in answer_md


@pytest.mark.slow
def test_an_ordinary_run_answers_with_the_headline_sentences(ordinary):
    blocks = answer_blocks(ordinary)
    assert blocks == headline(ordinary)
    assert not any(isinstance(block, Bullets) for block in blocks)


@pytest.mark.slow
def test_the_tradeoffs_subtitle_says_its_bars_are_over_worlds(over_worlds, ordinary):
    def words(figure) -> str:
        return " ".join(t.get_text() for t in figure.findobj(matplotlib.text.Text))

    over = words(figs.tradeoff(over_worlds))
    assert f"mean over {WORLDS} plausible worlds, bars: Monte Carlo 95% interval" in over
    assert "replications" not in over
    assert "mean of 2 replications, bars: 95% intervals" in words(figs.tradeoff(ordinary))

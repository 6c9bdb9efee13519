"""The report's figures: what they draw, what they say, and the awkward runs they must survive.

Figures are checked through their artists (titles, axis labels, legend texts, lines, bands)
and through the tidy frames behind them, which are checked against the run's own frames.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import numpy as np
import pytest
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.text import Text
from scipy import stats

from simlock.report import figures as figs
from tests.report_fixtures import HOSTILE, small_results

VARIANTS = ["baseline", "no-lift", "warn", "exempt-allowed-sim"]


def texts(figure: Figure) -> list[str]:
    """Every piece of text on a figure: titles, labels, annotations, messages, legends."""
    out = [t.get_text() for t in figure.findobj(Text)]
    return [t for t in out if t]


def legend_texts(figure: Figure) -> list[str]:
    legends = list(figure.legends) + [
        ax.get_legend() for ax in figure.get_axes() if ax.get_legend() is not None
    ]
    return [t.get_text() for legend in legends for t in legend.get_texts()]


def legend_titles(figure: Figure) -> list[str]:
    legends = list(figure.legends) + [
        ax.get_legend() for ax in figure.get_axes() if ax.get_legend() is not None
    ]
    return [legend.get_title().get_text() for legend in legends]


def titles(figure: Figure) -> str:
    """The title and the subtitle line."""
    parts = [figure.get_suptitle(), *(sub.get_suptitle() for sub in figure.subfigs)]
    return " / ".join(part for part in parts if part)


def variant_lines(ax, names):
    return [line for line in ax.get_lines() if line.get_label() in names]


def bands(ax) -> list[PolyCollection]:
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


@pytest.fixture(scope="module")
def results():
    return small_results()


@pytest.mark.parametrize("spec", figs.FIGURES, ids=lambda s: s.name)
def test_every_figure_has_a_title_axis_labels_with_units_and_a_legend_of_variants(results, spec):
    figure = spec.plot(results, spec.data(results))
    assert figure.get_suptitle() == spec.title
    assert "small" in titles(figure)  # the scenario is named under the title
    labels = [label for ax in figure.get_axes() for label in (ax.get_xlabel(), ax.get_ylabel())]
    assert len([label for label in labels if label]) >= 2
    for label in filter(None, labels):
        # Dates and regions are their own unit; every quantity says its unit in brackets.
        if not label.startswith(("date", "region")):
            assert "(" in label and ")" in label, f"{spec.name}: no unit in {label!r}"
    legend = " ".join(legend_texts(figure))
    expected = figs.appeal_variants(results) if spec.name == "support_desk" else VARIANTS
    for variant in expected:
        assert variant in legend, f"{spec.name}: {variant} missing from the legend"


def test_locked_over_time_draws_the_mean_and_t_band_of_each_variant(results):
    data = figs.locked_over_time_data(results)
    daily = results.daily[results.daily["variant"] == "baseline"]
    per_replication = daily.groupby(["day", "replication"])["locked"].sum().unstack()
    day = int(per_replication.mean(axis=1).idxmax())
    values = per_replication.loc[day].to_numpy(dtype=float)
    half = stats.t.ppf(0.975, 2) * values.std(ddof=1) / np.sqrt(3)
    row = data[(data["variant"] == "baseline") & (data["day"] == day)].iloc[0]
    assert row["mean"] == pytest.approx(values.mean())
    assert row["ci_low"] == pytest.approx(values.mean() - half)
    assert row["ci_high"] == pytest.approx(values.mean() + half)
    assert row["n"] == 3

    figure = figs.locked_over_time(results, data)
    ax = figure.get_axes()[0]
    lines = variant_lines(ax, VARIANTS)
    assert [line.get_label() for line in lines] == VARIANTS
    assert len(bands(ax)) == len(VARIANTS)
    baseline = lines[0].get_ydata()
    assert np.allclose(baseline, data.loc[data["variant"] == "baseline", "mean"])


def test_locked_over_time_labels_windows_and_the_lift_with_the_variants_it_belongs_to(results):
    words = texts(figs.locked_over_time(results))
    assert "trickle" in words and "surge" in words
    assert any("lift 14 Sep (all but no-lift)" in w for w in words)
    assert any(w.startswith("window 'surge': 01 Sep–14 Sep, 60% of eligible") for w in words)


def test_dates_are_on_the_x_axis_as_calendar_dates(results):
    figure = figs.locked_over_time(results)
    ax = figure.get_axes()[0]
    low, high = ax.get_xlim()
    assert mdates.num2date(low).date() == results.scenario.start
    assert mdates.num2date(high).date() == results.scenario.end
    assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)


def test_per_day_figure_counts_new_locks_and_unlocks(results):
    data = figs.locks_per_day_data(results)
    mine = data[data["variant"] == "no-lift"]
    daily = results.daily[results.daily["variant"] == "no-lift"]
    for measure in ("newly_locked", "unlocked"):
        total = mine.loc[mine["measure"] == measure, "mean"].sum()
        assert total == pytest.approx(daily[measure].sum() / 3)
    figure = figs.locks_per_day(results, data)
    assert len(figure.get_axes()) == 2
    assert [a.get_ylabel().split("\n")[0] for a in figure.get_axes()] == [
        "new locks per day",
        "unlocks per day",
    ]


def test_users_by_region_shows_summary_numbers_with_intervals(results):
    data = figs.users_by_region_data(results)
    summary = results.summary
    cuba = summary[
        (summary["group"] == "region")
        & (summary["key"] == "CU")
        & (summary["metric"] == "users_affected")
        & (summary["variant"] == "warn")
    ].iloc[0]
    row = data[(data["region"] == "CU") & (data["variant"] == "warn")].iloc[0]
    assert (row["mean"], row["ci_low"], row["ci_high"]) == (
        cuba["mean"],
        cuba["ci_low"],
        cuba["ci_high"],
    )
    assert row["region_name"] == "Cuba"
    figure = figs.users_by_region(results, data)
    ax = figure.get_axes()[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["Cuba (CU)", "Crimea (UA-43)"]  # Russia: nobody locked, listed instead
    assert "no user affected in: Russia (RU)" in titles(figure)
    assert len(ax.patches) == len(VARIANTS) * 2
    assert [c for c in ax.collections if isinstance(c, LineCollection)]  # interval bars


def test_delay_cdf_pools_the_detail_replication_and_matches_the_metrics(results):
    data = figs.delay_cdf_data(results)
    devices = results.devices[results.devices["variant"] == "baseline"]
    locked = devices[np.isfinite(devices["locked"])]
    to_lock = (locked["locked"] - locked["activated"]).to_numpy()
    rows = data[(data["variant"] == "baseline") & (data["measure"] == "days_to_lock")]
    assert rows["locks"].iloc[0] == len(locked)
    median = rows.loc[np.isclose(rows["share"], 0.5), "days"].iloc[0]
    assert median == pytest.approx(np.quantile(to_lock, 0.5, method="inverted_cdf"))
    replicate = results.replicates
    users = replicate[
        (replicate["variant"] == "baseline")
        & (replicate["replication"] == 0)
        & (replicate["group"] == "all")
        & (replicate["metric"] == "users_affected")
    ]["value"].iloc[0]
    assert len(locked) == users
    assert (np.diff(rows["days"]) >= 0).all()
    assert "detail replication 0" in titles(figs.delay_cdf(results, data))


def test_support_desk_queue_follows_filings_and_service_starts(results):
    data = figs.support_desk_data(results)
    assert set(data["variant"]) == set(VARIANTS)  # every variant has the desk
    devices = results.devices[results.devices["variant"] == "no-lift"]
    filed = devices["appealed"].to_numpy()
    started = devices["appeal_started"].to_numpy()
    mine = data[data["variant"] == "no-lift"].set_index("day")
    assert mine["appeals_filed"].sum() == np.isfinite(filed).sum()
    day = int(mine["queue_length"].idxmax())
    end = day + 1.0
    waiting = (filed < end) & ~(np.nan_to_num(started, nan=np.inf) < end)
    assert mine.loc[day, "queue_length"] == waiting.sum() > 0
    lift_day = (results.scenario.policy.lift.date - results.scenario.start).days
    baseline = data[data["variant"] == "baseline"].set_index("day")
    assert (baseline.loc[lift_day:, "queue_length"] == 0).all()  # the lift withdraws appeals
    assert (data["queue_length"] >= 0).all()


def test_tradeoff_places_each_variant_at_its_targeted_and_collateral_locks(results):
    data = figs.tradeoff_data(results)
    figure = figs.tradeoff(results, data)
    ax = figure.get_axes()[0]
    points = {
        line.get_label(): (line.get_xdata()[0], line.get_ydata()[0])
        for line in ax.get_lines()
        if line.get_label() in VARIANTS
    }
    wide = data.pivot(index="variant", columns="metric", values="mean")
    for variant, (x, y) in points.items():
        assert (x, y) == (
            wide.loc[variant, "targeted_locks"],
            wide.loc[variant, "collateral_locks"],
        )
    assert sorted(points) == sorted(VARIANTS)


def test_one_replication_says_the_interval_is_undefined_instead_of_drawing_bands():
    results = small_results(replications=1)
    figure = figs.locked_over_time(results)
    assert bands(figure.get_axes()[0]) == []
    assert any(figs.NO_INTERVAL in t for t in legend_titles(figure))
    assert figs.NO_INTERVAL in titles(figure)
    for plot in (figs.users_by_region, figs.tradeoff):
        figure = plot(results)
        assert any(figs.NO_INTERVAL in t for t in legend_titles(figure))
        ax = figure.get_axes()[0]
        assert not [c for c in ax.collections if isinstance(c, LineCollection)]  # no bars
    per_day = figs.locks_per_day(results)
    assert all(bands(ax) == [] for ax in per_day.get_axes())


@pytest.mark.parametrize("spec", figs.FIGURES, ids=lambda s: s.name)
def test_a_run_without_locks_draws_every_figure_and_says_nothing_was_locked(results, spec):
    quiet = small_results("no_locks", replications=2)
    figure = spec.plot(quiet)
    words = " ".join(texts(figure))
    if spec.name == "support_desk":
        assert "No appeal was filed" in words
    else:
        assert "No device was locked" in words
    # The figure's table keeps its columns (a notebook reads them) and every amount in it is
    # zero or undefined: nothing is drawn from numbers that do not exist.
    data = spec.data(quiet)
    assert list(data.columns) == list(spec.data(results).columns)
    amounts = data.select_dtypes("number").drop(
        columns=["day", "n", "replications"], errors="ignore"
    )
    assert (amounts.fillna(0) == 0).all().all(), amounts[(amounts.fillna(0) != 0).any(axis=1)]


def test_one_region_and_one_variant_draw_single_groups():
    results = small_results("one_region")
    ax = figs.users_by_region(results).get_axes()[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Cuba (CU)"]
    assert len(ax.patches) == len(VARIANTS)
    single = small_results("one_variant")
    figure = figs.locked_over_time(single)
    assert [line.get_label() for line in variant_lines(figure.get_axes()[0], ["baseline"])] == [
        "baseline"
    ]
    assert "baseline" in legend_texts(figs.tradeoff(single))
    assert not any("all but" in t for t in texts(figure))  # one variant: the lift is everyone's


def test_without_detail_replications_device_figures_say_so():
    results = small_results(detail=0)
    assert results.devices.empty
    for plot, data in (
        (figs.delay_cdf, figs.delay_cdf_data),
        (figs.support_desk, figs.support_desk_data),
    ):
        assert data(results).empty
        assert "No device-level tables in this run" in " ".join(texts(plot(results)))
    assert "no detail replications" in titles(figs.delay_cdf(results))


def test_without_appeals_the_support_desk_says_there_are_none():
    results = small_results("no_appeals")
    assert figs.appeal_variants(results) == []
    assert figs.support_desk_data(results).empty
    assert figs.NO_APPEALS in texts(figs.support_desk(results))


def test_scenario_text_with_dollars_and_markup_renders():
    results = small_results("hostile", replications=2)
    for plot in (figs.users_by_region, figs.locked_over_time):
        figure = plot(results)
        figure.savefig(io.BytesIO(), format="png", dpi=40)  # mathtext would fail on a bare $
    labels = [t.get_text() for t in figs.users_by_region(results).get_axes()[0].get_yticklabels()]
    assert labels[0] == figs.plain(HOSTILE, 26) + " (CU)"


def test_variants_keep_distinct_looks_past_the_palette():
    results = small_results("many_variants", replications=1, scale=0.05)
    styles = figs.variant_styles(results)
    assert len(styles) == 10
    assert styles["baseline"].colour == "#000000"
    looks = {(s.colour, s.line, s.marker) for s in styles.values()}
    assert len(looks) == len(styles)
    assert all(s.colour in figs.OKABE_ITO for s in styles.values())


def test_figures_use_no_pyplot_state(results):
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    for spec in figs.FIGURES:
        spec.plot(results)
    assert plt.get_fignums() == before


def test_whole_values_over_a_few_steps_get_a_bin_each_in_the_calibration_report() -> None:
    """Twenty bins over days 14-15 were too thin to see beside a target range of weeks."""
    from simlock.report.calibration_report import _bins

    assert _bins(np.array([14.0, 14.0, 15.0]), "date").tolist() == [13.5, 14.5, 15.5]
    assert _bins(np.array([3.0]), "rank").tolist() == [2.5, 3.5]
    assert len(_bins(np.array([0.1, 0.2]), "share")) == 21
    assert len(_bins(np.array([0.0, 500.0]), "devices")) == 21


def test_counts_on_narrow_panels_are_written_short() -> None:
    from matplotlib.figure import Figure

    from simlock.report.plotting import compact_count_ticks

    ax = Figure().add_subplot()
    compact_count_ticks(ax.xaxis)
    formatter = ax.xaxis.get_major_formatter()
    assert [formatter(v, 0) for v in (950, 12_000, 2_500_000, 0)] == ["950", "12k", "2.5M", "0"]

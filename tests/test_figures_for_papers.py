"""Figures for papers: every figure draws on the caller's axes, on a figure of a given size,
with a given title or none, for a subset of the variants (legends and the policy's labels name
only what is drawn), and with the font sizes of matplotlib's rcParams; `Results.select` restricts
a run to some variants."""

from __future__ import annotations

import io
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import font_scalings
from matplotlib.text import Text

from simlock.errors import OptionError
from simlock.report import figures as figs
from tests.report_fixtures import small_results
from tests.test_figures import legend_texts, texts

PANELS = {"locks_per_day": (2, 1), "delay_cdf": (1, 2), "support_desk": (2, 1)}
"""Rows and columns of the figures with more than one panel."""


@pytest.fixture(scope="module")
def results():
    return small_results()


def _axes(spec, figure: Figure):
    rows, cols = PANELS.get(spec.name, (1, 1))
    axes = figure.subplots(rows, cols, squeeze=False).ravel()
    return axes[0] if len(axes) == 1 else list(axes)


# --- Results.select --------------------------------------------------------------------------


def test_select_keeps_only_the_chosen_variants_in_every_frame(results):
    chosen = results.select(["warn", "baseline"])
    for name in ("summary", "replicates", "daily", "devices", "events"):
        frame = getattr(chosen, name)
        assert set(frame["variant"].astype(str)) == {"baseline", "warn"}, name
        original = getattr(results, name)
        expected = original[original["variant"].astype(str).isin(["baseline", "warn"])]
        assert len(frame) == len(expected) > 0, name
    for name in ("devices", "events"):
        column = getattr(chosen, name)["variant"]
        assert isinstance(column.dtype, pd.CategoricalDtype)
        assert list(column.cat.categories) == ["warn", "baseline"]
    assert set(chosen.compare()["variant"]) == {"warn"}
    assert chosen.scenario is results.scenario
    # The original is untouched.
    assert set(results.summary["variant"]) == {"baseline", "no-lift", "warn", "exempt-allowed-sim"}


def test_select_refuses_a_variant_the_run_does_not_have(results):
    with pytest.raises(
        OptionError, match=r"no variant nope.*present: baseline, exempt-allowed-sim"
    ):
        results.select(["baseline", "nope"])
    with pytest.raises(OptionError, match="none given"):
        results.select([])


# --- ax=, figsize=, title= -------------------------------------------------------------------


@pytest.mark.parametrize("spec", figs.FIGURES, ids=lambda s: s.name)
def test_every_figure_draws_on_the_axes_it_is_given(results, spec):
    figure = Figure(figsize=(8, 6))
    axes = _axes(spec, figure)
    drawn = spec.plot(results, ax=axes)
    assert drawn is figure
    assert figure._suptitle is None and not figure.legends
    panels = axes if isinstance(axes, list) else [axes]
    for ax in panels:
        assert ax.get_lines() or ax.patches or ax.collections, f"{spec.name}: empty panel"
    assert panels[0].get_title(loc="left").replace("\n", " ") == spec.title
    assert panels[0].get_legend() is not None
    expected = figs.appeal_variants(results) if spec.name == "support_desk" else ["baseline"]
    legend = " ".join(legend_texts(figure))
    assert all(variant in legend for variant in expected), legend


@pytest.mark.parametrize("spec", figs.FIGURES, ids=lambda s: s.name)
def test_a_title_on_a_small_panel_is_wrapped_to_stay_on_the_figure(results, spec):
    figure = Figure(figsize=(3.2, 3.0))
    spec.plot(results, ax=_axes(spec, figure))
    shown = figure.axes[0]._left_title
    assert shown.get_text().replace("\n", " ") == spec.title
    box = shown.get_window_extent(FigureCanvasAgg(figure).get_renderer())
    assert box.x1 <= figure.bbox.x1 + 1, f"{spec.name}: title runs off the figure"


@pytest.mark.parametrize("spec", figs.FIGURES, ids=lambda s: s.name)
def test_a_wrong_number_of_axes_or_figsize_with_axes_is_refused(results, spec):
    figure = Figure()
    rows, cols = PANELS.get(spec.name, (1, 1))
    wrong = list(figure.subplots(1, rows * cols + 1))
    with pytest.raises(ValueError, match=f"has {rows * cols} panel"):
        spec.plot(results, ax=wrong)
    with pytest.raises(ValueError, match="figsize"):
        spec.plot(results, ax=_axes(spec, Figure()), figsize=(4, 3))


@pytest.mark.parametrize("spec", figs.FIGURES, ids=lambda s: s.name)
def test_figsize_and_title(results, spec):
    figure = spec.plot(results, figsize=(6.5, 4.5), title="Figure 2")
    assert tuple(figure.get_size_inches()) == (6.5, 4.5)
    assert figure._suptitle.get_text() == "Figure 2"
    untitled = spec.plot(results, title="")
    assert untitled._suptitle is None
    on_axes = Figure()
    spec.plot(results, ax=_axes(spec, on_axes), title="")
    assert not any(ax.get_title(loc="left") for ax in on_axes.get_axes())


# --- variants= -------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", figs.FIGURES, ids=lambda s: s.name)
def test_a_subset_legend_lists_only_the_subset(results, spec):
    figure = spec.plot(results, variants=["baseline", "warn"])
    legend = " ".join(legend_texts(figure))
    for absent in ("no-lift", "exempt-allowed-sim"):
        assert absent not in legend, f"{spec.name}: {absent} in the legend of a subset"
        assert not any(absent in t for t in texts(figure)), f"{spec.name}: {absent} named"
    assert "baseline" in legend


def test_the_lift_label_describes_the_variants_drawn(results):
    everyone = texts(figs.locked_over_time(results))
    assert any("lift 14 Sep (all but no-lift)" in t for t in everyone)
    both_lift = texts(figs.locked_over_time(results, variants=["baseline", "warn"]))
    assert "lift 14 Sep 2021" in both_lift
    assert not any("all but" in t for t in both_lift)
    one_lifts = texts(figs.locked_over_time(results, variants=["baseline", "no-lift"]))
    assert "lift 14 Sep 2021 (baseline only)" in one_lifts


def test_a_subset_draws_the_same_numbers_as_the_whole(results):
    whole = figs.locked_over_time(results).get_axes()[0]
    part = figs.locked_over_time(results, variants=["warn"]).get_axes()[0]
    (line,) = [ln for ln in part.get_lines() if ln.get_label() == "warn"]
    (same,) = [ln for ln in whole.get_lines() if ln.get_label() == "warn"]
    assert np.array_equal(line.get_ydata(), same.get_ydata())
    data = figs.locked_over_time_data(results)
    given = figs.locked_over_time(results, data, variants=["warn"]).get_axes()[0]
    assert [ln.get_label() for ln in given.get_lines() if not ln.get_label().startswith("_")] == [
        "warn"
    ]


# --- fonts -----------------------------------------------------------------------------------


def _sizes(spec, results, base: float) -> list[tuple[str, float]]:
    """Every non-empty text of the figure and its size relative to font.size = `base`, with the
    figure drawn (tick labels are made while drawing) under that rcParams."""
    with matplotlib.rc_context({"font.size": base}):
        figure = spec.plot(results)
        figure.savefig(io.BytesIO(), format="png", dpi=40)
        found = [(t.get_text(), t.get_fontsize() / base) for t in figure.findobj(Text)]
    return sorted((text, round(size, 6)) for text, size in found if text)


SCALINGS = {round(v, 6) for v in font_scalings.values()}
"""Sizes relative to font.size that rcParams can give a text ("xx-small" ... "xx-large")."""


@pytest.mark.slow
@pytest.mark.parametrize("spec", figs.FIGURES, ids=lambda s: s.name)
def test_font_sizes_follow_rcparams(results, spec):
    small, large = _sizes(spec, results, 7.0), _sizes(spec, results, 15.0)
    assert len(small) > 10
    for found in (small, large):
        fixed = [(text, size) for text, size in found if size not in SCALINGS]
        assert not fixed, f"{spec.name}: sizes that ignore font.size: {fixed[:5]}"
    # The same text at the same relative size (tick labels may differ: the locators fit as many
    # ticks as the font size allows).
    common = dict(small).keys() & dict(large).keys()
    assert len(common) > 10
    assert {t: s for t, s in small if t in common} == {t: s for t, s in large if t in common}


def test_a_variant_looks_the_same_in_a_subset(results):
    whole = figs.variant_styles(results)
    part = figs.variant_styles(results.select(["baseline", "exempt-allowed-sim"]))
    assert list(part) == ["baseline", "exempt-allowed-sim"]
    assert part["exempt-allowed-sim"] == whole["exempt-allowed-sim"]
    assert part["baseline"].colour == "#000000"


@pytest.mark.slow
def test_twenty_variants_keep_the_panel_readable():
    """A coverage per variant shades one span with one legend entry, and a long legend gets
    room of its own (several columns, a taller figure) instead of squeezing the panel."""
    many = small_results("twenty_variants", replications=2, detail=0, scale=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "constrained_layout not applied" when squeezed
        figure = figs.locked_over_time(many)
        figure.savefig(io.BytesIO(), format="png", dpi=40)
    (legend,) = figure.legends
    labels = [t.get_text() for t in legend.get_texts()]
    surge = [label for label in labels if label.startswith("window 'surge'")]
    assert surge == ["window 'surge': 01 Sep–14 Sep, 10%–90% of eligible, by variant"]
    assert legend._ncols >= 3
    assert figure.get_figheight() > 5.8
    (panel,) = figure.get_axes()
    assert panel.get_position().height > 0.4

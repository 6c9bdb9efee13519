"""Words that do not mislead: what the SIM exemption exempts, how the collateral groups overlap,
whole numbers of devices, and why days to lock exceed the lock delay."""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path

import pytest

import simlock
from simlock.analysis.formatting import format_estimate, format_value
from simlock.report.delays import delay_note
from simlock.report.run_report import _overlap_words, write_report
from tests.cli_helpers import ROOT

SCENARIO = ROOT / "scenarios" / "september-2021.yaml"
START = dt.date(2021, 5, 1)


@functools.cache
def episode() -> simlock.Results:
    """The 2021 scenario, small: baseline and the SIM exemption, two replications."""
    scenario = simlock.load_scenario(SCENARIO)
    return simlock.run(
        scenario, replications=2, scale=0.05, workers=1, variants=["exempt-allowed-sim"]
    )


def overall(results: simlock.Results, variant: str, metric: str) -> float:
    s = results.summary
    row = s[(s["variant"] == variant) & (s["group"] == "all") & (s["metric"] == metric)]
    return float(row["mean"].iloc[0])


def test_the_sim_exemption_is_named_for_what_it_exempts() -> None:
    for path in [*sorted((ROOT / "scenarios").glob("*.yaml")), ROOT / "tests/data/small.yaml"]:
        scenario = simlock.load_scenario(path)
        assert "exempt-travellers" not in scenario.variants, path.name
    variant = simlock.load_scenario(SCENARIO).variant("exempt-allowed-sim")
    assert variant.exemptions.allowed_sim and not variant.exemptions.channels


def test_travellers_locked_under_the_sim_exemption_carry_a_banned_home_sim() -> None:
    """The scenario's comment says why travellers are still locked: they are visitors from a
    banned territory (Cubans in Spain, Iranians in the Emirates) whose home SIM reports it."""
    results = episode()
    scenario = results.scenario
    banned = set(scenario.policy.banned)
    home = {r.id: r.travellers_from for r in scenario.regions}
    devices = results.devices
    locked = devices[(devices["variant"] == "exempt-allowed-sim") & devices["locked"].notna()]
    travellers = locked[locked["channel"] == "traveller"]
    assert len(travellers) > 0
    assert {home[r] for r in travellers["region"].astype(str)} <= banned
    baseline = devices[(devices["variant"] == "baseline") & devices["locked"].notna()]
    spared = baseline[(baseline["channel"] == "traveller")]
    assert {home[r] for r in spared["region"].astype(str)} - banned  # the exemption spared some


def test_the_overlap_of_travellers_and_detection_errors_is_counted() -> None:
    results = episode()
    devices = results.devices
    for variant in ("baseline", "exempt-allowed-sim"):
        rows = devices[(devices["variant"] == variant) & devices["locked"].notna()]
        rows = rows[rows["replication"] == 0]
        outside = ~rows["region"].astype(str).isin(results.scenario.policy.banned)
        both = int(((rows["channel"] == "traveller") & outside).sum())
        reps = results.replicates
        value = reps[
            (reps["variant"] == variant)
            & (reps["replication"] == 0)
            & (reps["group"] == "all")
            & (reps["metric"] == "collateral_travellers_outside_banned")
        ]["value"]
        assert float(value.iloc[0]) == both
    both = overall(results, "baseline", "collateral_travellers_outside_banned")
    assert (
        0
        < both
        <= min(
            overall(results, "baseline", "collateral_travellers"),
            overall(results, "baseline", "collateral_outside_banned"),
        )
    )


def _words(travellers: float, outside: float, both: float) -> str:
    values = {
        "collateral_travellers": travellers,
        "collateral_outside_banned": outside,
        "collateral_travellers_outside_banned": both,
    }
    return _overlap_words(lambda m: format_value(values[m], "devices", START), values.__getitem__)


def test_the_collateral_sentence_says_how_the_two_groups_overlap() -> None:
    assert _words(1792, 1181, 1181) == (
        "The collateral locks include 1,792 travellers and 1,181 devices activated outside "
        "banned territories (detection errors). Every one of the latter was a traveller: the "
        "two groups overlap entirely (the travellers include them)."
    )
    assert _words(50, 30, 20).endswith(
        "; the two groups overlap: 20 travellers activated outside banned territories are "
        "counted in both."
    )
    assert _words(50, 30, 0).endswith("so the two groups do not overlap.")


@pytest.mark.slow
def test_the_report_says_how_the_groups_overlap_and_why_locks_come_later(tmp_path: Path) -> None:
    results = episode()
    write_report(results, tmp_path, None)
    text = " ".join((tmp_path / "report.md").read_text(encoding="utf-8").split())
    assert "the two groups overlap" in text
    assert "of them travellers, " not in text  # the old sentence that read as two parts
    assert "Days from activation to lock are longer than the lock delay" in text


def test_the_delay_note_names_the_reasons_that_apply() -> None:
    note = delay_note(episode())
    assert note is not None
    assert "the baseline's delay has a median of 3.0 days" in note
    assert "next check-in after the decision" in note and "offline" in note
    assert "surge, 7.0 days" in note
    observed = overall(episode(), "baseline", "days_to_lock_median")
    assert f"activation to lock is {observed:.1f} days" in note


def test_the_delay_note_leaves_out_what_the_policy_does_not_have() -> None:
    doc = simlock.load_scenario(SCENARIO).model_dump(by_alias=True)
    for window in doc["policy"]["windows"]:
        window["lookback_days"] = 0
    doc["checkin"]["offline_rate_per_day"] = 0
    doc["policy"]["warning"] = {"grace_days": 2, "resolve_share": 0.0}
    doc["variants"] = {}
    results = simlock.run(simlock.load_scenario(doc), replications=1, scale=0.02, workers=1)
    note = delay_note(results)
    assert note is not None
    assert "look-back" not in note and "offline" not in note
    assert "2.0 days of grace" in note


def test_counts_of_devices_are_whole_numbers() -> None:
    assert format_value(12.34, "devices", START) == "12"
    assert format_value(0.5, "devices", START) == "1"  # half up: not shown as none
    assert format_value(0.3, "devices", START) == "<1"  # a mean above zero is not "0"
    assert format_value(0.0, "devices", START) == "0"
    assert format_value(-0.3, "devices", START, signed=True) == "~0"
    assert format_value(4.6, "appeals", START, signed=True) == "+5"
    assert format_value(12.34, "device-days", START) == "12.3"  # a measure, not a head count
    assert format_estimate(150.3, 134.0, 166.6, 3, "devices", START) == "150 [134–167]"


def test_the_bars_of_users_by_region_are_labelled_in_whole_devices() -> None:
    from matplotlib import pyplot as plt
    from matplotlib.text import Annotation

    from simlock.report import figures

    figure = figures.users_by_region(episode())
    labels = [
        text.get_text() for ax in figure.axes for text in ax.texts if isinstance(text, Annotation)
    ]
    plt.close(figure)
    assert labels
    assert all(re.fullmatch(r"<1|\d{1,3}(,\d{3})*", label) for label in labels), labels

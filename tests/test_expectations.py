"""Expectations: each check computes what its name says, bounds and intervals decide pass or fail
as documented, bad expectations are reported like any bad field, and `--check` holds a run to
them."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import simlock
from simlock.analysis.expectations import (
    COLUMNS,
    FAIL,
    PASS_UNSURE,
    evaluate,
    known_checks,
    per_replication,
)
from simlock.analysis.formatting import format_value
from simlock.analysis.metrics import _peaks, summarize
from simlock.cli.commands import app
from simlock.scenario.models import Expectation
from tests.cli_helpers import small_doc

START = dt.date(2021, 6, 1)


def scenario_with(expectations: list[dict[str, Any]]) -> simlock.Scenario:
    doc = small_doc()
    doc["expectations"] = expectations
    return simlock.load_scenario(doc)


def synthetic_results(
    scenario: simlock.Scenario, new_locks: list[list[int]], unlocks: list[list[int]]
) -> simlock.Results:
    """Results whose daily frame has the given new locks and unlocks per day, one list per
    replication, all in region CU; replicates hold users_affected per region and per channel."""
    days = int(scenario.days)
    frames, replicates = [], []
    for replication, (new, gone) in enumerate(zip(new_locks, unlocks, strict=True)):
        newly = np.zeros(days, dtype=np.int64)
        newly[: len(new)] = new
        unlocked = np.zeros(days, dtype=np.int64)
        unlocked[: len(gone)] = gone
        frames.append(
            pd.DataFrame(
                {
                    "date": np.datetime64(scenario.start, "D") + np.arange(days),
                    "day": np.arange(days),
                    "variant": "baseline",
                    "replication": replication,
                    "region": "CU",
                    "channel": "grey_import",
                    "activations": 10,
                    "newly_locked": newly,
                    "unlocked": unlocked,
                    "locked": np.cumsum(newly - unlocked),
                }
            )
        )
        for region, value in (("CU", 30.0 + replication), ("UA-43", 2.0), ("RU", 30.5)):
            replicates.append(("baseline", replication, "region", region, "users_affected", value))
        for channel, value in (("grey_import", 58.5), ("traveller", 4.0 + replication)):
            replicates.append(
                ("baseline", replication, "channel", channel, "users_affected", value)
            )
        median = 3.0 + 2 * replication
        replicates.append(("baseline", replication, "all", "all", "days_to_lock_median", median))
    replicate_frame = pd.DataFrame(
        replicates, columns=["variant", "replication", "group", "key", "metric", "value"]
    )
    return simlock.Results(
        scenario=scenario,
        summary=summarize(replicate_frame),
        replicates=replicate_frame,
        daily=pd.concat(frames, ignore_index=True),
        devices=pd.DataFrame(),
        events=pd.DataFrame(),
    )


def values(results: simlock.Results, metric: str, **params: Any) -> list[float]:
    expectation = Expectation(name="x", metric=metric, params=params, max=1)
    return per_replication(results, expectation).tolist()


@pytest.fixture(scope="module")
def two_replications() -> simlock.Results:
    scenario = scenario_with([])
    # replication 0: locks on days 2 and 5 (1 + 3), unlocks 2 on day 7
    # replication 1: locks on days 3, 4 and 6 (2 + 2 + 4), unlocks all 8 on day 9
    return synthetic_results(
        scenario,
        new_locks=[[0, 0, 1, 0, 0, 3], [0, 0, 0, 2, 2, 0, 4]],
        unlocks=[[0, 0, 0, 0, 0, 0, 0, 2], [0, 0, 0, 0, 0, 0, 0, 0, 0, 8]],
    )


def test_share_of_locks_before_a_date_counts_days_strictly_before_it(two_replications):
    day4 = START + dt.timedelta(days=4)
    assert values(two_replications, "share_of_locks_before", date=day4) == [0.25, 0.25]


def test_new_locks_from_a_date_count_that_day_and_after(two_replications):
    day4 = START + dt.timedelta(days=4)
    assert values(two_replications, "new_locks_from", date=day4) == [3.0, 6.0]


def test_the_first_lock_date_is_a_day_number(two_replications):
    """(The peak days, plain metrics of the run, are checked against its daily table in
    test_peaks.py.)"""
    assert values(two_replications, "first_lock_date") == [2.0, 3.0]


def test_a_lock_undone_within_its_day_still_has_a_day_of_new_locks():
    """An edge no small real run is sure to show, so the peak function is called directly."""
    results = synthetic_results(scenario_with([]), new_locks=[[0, 0, 3]], unlocks=[[0, 0, 3]])
    peaks = _peaks(results.daily, "all")
    assert peaks["peak_new_locks_day"]["all"] == 2.0
    assert np.isnan(peaks["peak_locked_day"]["all"])


def test_locked_share_of_peak_reads_the_end_of_the_given_day(two_replications):
    day7 = START + dt.timedelta(days=7)
    assert values(two_replications, "locked_share_of_peak", date=day7) == [0.5, 1.0]


def test_region_rank_and_share_compare_regions_within_each_replication(two_replications):
    assert values(two_replications, "region_rank", region="CU") == [2.0, 1.0]
    assert values(two_replications, "region_rank", region="RU") == [1.0, 2.0]
    share = values(two_replications, "region_share", region="UA-43")
    assert share == pytest.approx([2 / 62.5, 2 / 63.5])


def test_a_plain_metric_is_read_from_the_replicates(two_replications):
    assert values(two_replications, "days_to_lock_median") == [3.0, 5.0]


def test_a_run_without_locks_has_undefined_dates_and_shares():
    scenario = scenario_with([])
    results = synthetic_results(scenario, new_locks=[[0], [0]], unlocks=[[0], [0]])
    assert np.isnan(values(results, "first_lock_date")).all()
    date = START + dt.timedelta(days=3)
    assert np.isnan(values(results, "share_of_locks_before", date=date)).all()
    assert values(results, "new_locks_from", date=date) == [0.0, 0.0]


def evaluated(results: simlock.Results, **expectation: Any) -> pd.Series:
    scenario = results.scenario.model_copy(
        update={"expectations": [Expectation(name="check", **expectation)]}
    )
    frame = evaluate(
        simlock.Results(
            scenario=scenario,
            summary=results.summary,
            replicates=results.replicates,
            daily=results.daily,
            devices=results.devices,
            events=results.events,
        )
    )
    assert frame is not None and list(frame.columns) == COLUMNS
    return frame.iloc[0]


def test_the_mean_across_replications_is_checked_with_its_t_interval(two_replications):
    row = evaluated(two_replications, metric="days_to_lock_median", min=2, max=7)
    assert row["value"] == 4.0 and row["n"] == 2
    # mean 4, sd sqrt(2), t(0.975, 1) = 12.706: half width 12.706 * sqrt(2) / sqrt(2)
    assert row["ci_low"] == pytest.approx(4.0 - 12.7062047, rel=1e-6)
    assert row["ci_high"] == pytest.approx(4.0 + 12.7062047, rel=1e-6)
    assert row["passed"] and not row["interval_within"]
    assert row["unit"] == "days"
    assert row["verdict"] == PASS_UNSURE == "pass (the 95% interval crosses a bound)"
    assert row["detail"].startswith("4.00 [")
    assert row["detail"].endswith("expected in [2.00, 7.00] days")


def test_bounds_are_inclusive_unless_strict(two_replications):
    assert evaluated(two_replications, metric="days_to_lock_median", max=4)["passed"]
    assert not evaluated(two_replications, metric="days_to_lock_median", max=4, strict=True)[
        "passed"
    ]
    assert not evaluated(two_replications, metric="days_to_lock_median", min=4.5)["passed"]
    failed = evaluated(two_replications, metric="days_to_lock_median", min=4.5)
    assert failed["verdict"] == FAIL


def test_date_checks_take_dates_as_bounds_and_show_dates(two_replications):
    row = evaluated(
        two_replications,
        metric="first_lock_date",
        min=START + dt.timedelta(days=2),
        max=START + dt.timedelta(days=3),
    )
    assert row["passed"] and row["unit"] == "date"
    assert row["min"] == 2.0 and row["max"] == 3.0
    # The mean first lock is day 2.5: halfway, so the later day is shown, marked as approximate.
    assert row["detail"].startswith("~2021-06-04 ")
    assert "expected in [2021-06-03, 2021-06-04]" in row["detail"]


@pytest.mark.parametrize(
    ("day", "shown"),
    [
        (2.0, "2021-06-03"),
        (2.49, "~2021-06-03"),
        (2.5, "~2021-06-04"),
        (3.5, "~2021-06-05"),
        (0.5, "~2021-06-02"),
        (4.51, "~2021-06-06"),
    ],
)
def test_a_date_between_two_days_shows_the_nearest_and_a_half_day_the_later(day, shown):
    """Halves always go to the later day (never to the even one: 2.5 and 3.5 one day apart)."""
    assert format_value(day, "date", START, precise=True) == shown
    assert format_value(day, "date", START) == shown.lstrip("~")


def test_an_undefined_value_fails(two_replications):
    empty = synthetic_results(two_replications.scenario, [[0], [0]], [[0], [0]])
    row = evaluated(empty, metric="first_lock_date", max=START + dt.timedelta(days=9))
    assert not row["passed"] and row["verdict"] == FAIL and "undefined" in row["detail"]


def test_one_replication_says_there_is_no_interval():
    scenario = scenario_with([])
    results = synthetic_results(scenario, [[0, 1]], [[0]])
    row = evaluated(results, metric="first_lock_date", max=START + dt.timedelta(days=1))
    assert row["n"] == 1 and np.isnan(row["ci_low"]) and row["passed"]
    assert "one replication: no interval" in row["detail"]


def test_no_expectations_evaluate_to_none(two_replications):
    assert evaluate(two_replications) is None


def problems_of(expectation: dict[str, Any]) -> list[str]:
    with pytest.raises(simlock.ScenarioError) as caught:
        scenario_with([{"name": "e", **expectation}])
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


@pytest.mark.parametrize(
    ("expectation", "problem"),
    [
        ({"metric": "nonsense", "max": 1}, "expectations[0].metric: unknown check 'nonsense'"),
        ({"metric": "region_rank", "max": 1}, "needs the parameter 'region'"),
        (
            {"metric": "region_rank", "params": {"region": "XX"}, "max": 1},
            "expectations[0].params.region: no region 'XX'",
        ),
        (
            {"metric": "share_of_locks_before", "params": {"date": "2022-01-01"}, "max": 1},
            "expectations[0].params.date: 2022-01-01 is outside the run",
        ),
        (
            {"metric": "share_of_locks_before", "params": {"date": "soon"}, "max": 1},
            "a date (YYYY-MM-DD) is needed",
        ),
        (
            {"metric": "users_affected", "params": {"date": "2021-07-01"}, "max": 1},
            "users_affected takes no parameter 'date'",
        ),
        ({"metric": "users_affected"}, "expectations[0]: give min, max or both"),
        (
            {"metric": "peak_new_locks_day", "max": 3},
            "expectations[0].max: peak_new_locks_day is a date",
        ),
        (
            {"metric": "users_affected", "min": dt.date(2021, 7, 1)},
            "expectations[0].min: users_affected is not a date",
        ),
        ({"metric": "users_affected", "max": 1, "variant": "nope"}, "no variant 'nope'"),
        (
            {"metric": "users_affected", "max": 1, "params": {"group": "planet"}},
            "unknown group 'planet'",
        ),
        (
            {"metric": "users_affected", "max": 1, "params": {"group": "region", "key": "XX"}},
            "expectations[0].params.key: no region 'XX'",
        ),
        (
            {"metric": "users_affected", "max": 1, "params": {"group": "channel", "key": "CU"}},
            "expectations[0].params.key: no channel 'CU'",
        ),
        (
            {"metric": "users_affected", "max": 1, "params": {"group": "region"}},
            "expectations[0].params: group region needs a key",
        ),
        (
            {"metric": "peak_locked_day", "max": "2021-09-01", "params": {"group": "region"}},
            "expectations[0].params.group: peak_locked_day exists only overall",
        ),
        (
            {
                "metric": "region_share",
                "max": 1,
                "params": {"region": "CU", "metric": "days_to_lock_median"},
            },
            "'days_to_lock_median' is not a count that adds up across regions",
        ),
    ],
)
def test_a_bad_expectation_is_reported_with_its_field_path(expectation, problem):
    assert any(problem in text for text in problems_of(expectation)), problems_of(expectation)


def test_a_metric_for_one_region_or_channel_is_checked_on_its_rows(two_replications):
    """The README's form `params: {group: region, key: CU}` goes through the loader and reads
    the region's rows."""
    scenario = scenario_with(
        [
            {
                "name": "Cuba",
                "metric": "users_affected",
                "params": {"group": "region", "key": "CU"},
                "min": 30,
            },
            {
                "name": "travellers",
                "metric": "users_affected",
                "params": {"group": "channel", "key": "traveller"},
                "min": 0,
            },
        ]
    )
    cuba, travellers = scenario.expectations
    assert per_replication(two_replications, cuba).tolist() == [30.0, 31.0]
    assert per_replication(two_replications, travellers).tolist() == [4.0, 5.0]


def test_check_ignores_an_expectation_whose_variant_was_not_run(tmp_path: Path):
    doc = small_doc()
    doc["expectations"] = [
        {"name": "warned some", "metric": "warned", "variant": "warn", "min": 1},
        {"name": "easy", "metric": "days_to_lock_median", "min": 0},
    ]
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = tmp_path / "run"
    args = ["run", str(path), "-o", str(out), "--scale", "0.1", "--workers", "1", "--no-report"]
    result = CliRunner().invoke(app, [*args, "--check", "--quiet", "--variant", "no-lift"])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "expectations.csv")
    verdicts = table["verdict"].tolist()
    assert verdicts[0] == "not evaluated"
    assert verdicts[1].startswith("pass")  # evaluated (with few devices, its interval is wide)


def test_bad_expectations_in_a_file_name_the_line(tmp_path: Path):
    doc = small_doc()
    doc["expectations"] = [{"name": "e", "metric": "region_share", "params": {"region": "XX"}}]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    line = next(
        i + 1 for i, text in enumerate(path.read_text().splitlines()) if "region: XX" in text
    )
    assert f"bad.yaml:{line}: expectations[0].params.region: no region 'XX'" in result.output


EXAMPLE_PARAMS = {"date": "2021-06-15", "region": "CU", "metric": "users_affected"}
"""A valid value for each parameter a check may ask for, in small.yaml's world."""


def loads(expectation: dict[str, Any]) -> list[str]:
    """The problems the loader finds in one expectation (none if it loads)."""
    try:
        scenario_with([{"name": "e", **expectation}])
    except simlock.ScenarioError as error:
        return [p.message for p in error.problems]
    return []


def valid_expectation(check: str) -> tuple[dict[str, Any], list[str]]:
    """An expectation on `check` made the way a user would: starting bare, adding what the
    loader's messages ask for (a parameter, or dates as bounds). Returns it and the problems
    left."""
    expectation: dict[str, Any] = {"metric": check, "min": 0, "params": {}}
    for _ in range(4):
        found = loads(expectation)
        wanted = [re.search(r"needs the parameter '(\w+)'", text) for text in found]
        for match in filter(None, wanted):
            expectation["params"][match[1]] = EXAMPLE_PARAMS[match[1]]
        if any("is a date" in text for text in found):
            expectation["min"] = START
        if not found:
            break
    return expectation, found


def test_every_check_is_documented_and_validated():
    """Documented: `simlock validate` lists every check when a name is wrong, and the analyst's
    how-to (where the README sends readers for the format) names every check that takes a
    parameter. Validated: each loads once given what the
    loader's messages ask for, and refuses a parameter it does not take."""
    checks = known_checks()
    assert len(checks) == len(set(checks))
    with pytest.raises(simlock.ScenarioError) as caught:
        scenario_with([{"name": "e", "metric": "nonsense", "max": 1}])
    (unknown,) = caught.value.problems
    assert unknown.path == "expectations[0].metric" and unknown.allowed is not None
    assert unknown.allowed.split(", ") == checks
    guide = (Path(__file__).parents[1] / "docs" / "howto" / "analyst.md").read_text()
    for check in checks:
        expectation, left = valid_expectation(check)
        assert left == [], (check, expectation, left)
        if expectation["params"]:
            assert f"`{check}`" in guide, f"{check} takes parameters the analyst's guide omits"
        bogus = {**expectation, "params": {**expectation["params"], "bogus": 1}}
        assert any(f"{check} takes no parameter 'bogus'" in text for text in loads(bogus)), check


def test_check_exits_1_when_an_expectation_fails_and_still_writes_the_run(tmp_path: Path):
    doc = small_doc()
    doc["expectations"] = [
        {"name": "impossible", "metric": "days_to_lock_median", "max": 0.01},
        {"name": "easy", "metric": "days_to_lock_median", "min": 0},
    ]
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    out = tmp_path / "run"
    args = ["run", str(path), "-o", str(out), "--scale", "0.1", "--workers", "1", "--no-report"]
    result = CliRunner().invoke(app, [*args, "--check", "--quiet"])
    assert result.exit_code == 1, result.output
    assert "1 expectation(s) failed: impossible" in result.output
    table = pd.read_csv(out / "expectations.csv")
    assert table["passed"].tolist() == [False, True]
    again = CliRunner().invoke(app, [*args, "--quiet", "--force"])
    assert again.exit_code == 0, again.output


@pytest.mark.process
def test_the_2021_scenario_reproduces_every_stylized_fact(tmp_path: Path):
    """The acceptance test of the reproduction at a fifth of the scale: every expectation of
    scenarios/september-2021.yaml passes over 20 replications (the full scale is the README's
    command; shares, dates and ranks do not depend on scale)."""
    scenario = simlock.load_scenario(Path(__file__).parents[1] / "scenarios/september-2021.yaml")
    results = simlock.run(
        scenario, variants=["baseline"], scale=0.2, workers=2, detail_replications=0
    )
    frame = evaluate(results)
    assert frame is not None and len(frame) == len(scenario.expectations) >= 12
    failed = frame.loc[~frame["passed"], ["name", "detail"]]
    assert failed.empty, failed.to_string()
    assert (frame["n"] == 20).all()

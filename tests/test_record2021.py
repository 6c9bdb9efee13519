"""The 2021 scenario is held to the public record: the nine stylized facts as its expectations,
fact 7 stated on complaints, and activation volumes and their priors within the market sizes."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from simlock.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = load_scenario(ROOT / "scenarios" / "september-2021.yaml")
DAYS = (SCENARIO.end - SCENARIO.start).days
MARKETS = {"IR": (10_000, 20_000), "CU": (100, 1_500)}
"""The record's daily volumes of the vendor's activations (docs/record/september-2021.md#fact-9)."""


def _facts_cited() -> dict[int, list]:
    cited: dict[int, list] = {}
    for exp in SCENARIO.expectations:
        for fact in re.findall(r"september-2021\.md#fact-(\d+)", exp.source or ""):
            cited.setdefault(int(fact), []).append(exp)
    return cited


def test_every_one_of_the_nine_facts_is_an_expectation() -> None:
    assert sorted(_facts_cited()) == list(range(1, 10))


def test_fact_7_is_stated_on_complaints_not_on_locks() -> None:
    fact7 = _facts_cited()[7]
    assert len(fact7) == 2
    assert all(exp.params.get("metric") == "complaints" for exp in fact7)


def test_fact_2_4_and_6_use_the_record_s_dates_and_windows() -> None:
    by_metric = {exp.metric: exp for exp in SCENARIO.expectations}
    assert by_metric["days_to_lock_p90"].max == 30  # most activated under 30 days before
    peak = by_metric["peak_new_locks_day"]
    assert (peak.min, peak.max) == (dt.date(2021, 9, 1), dt.date(2021, 9, 11))
    assert by_metric["new_locks_from"].params["date"] == dt.date(2021, 9, 15)
    assert by_metric["locked_share_of_peak"].params["date"] == dt.date(2021, 9, 21)


def test_volumes_and_their_priors_fit_the_market_sizes() -> None:
    regions = {r.id: r for r in SCENARIO.regions}
    priors = {u.path: u for u in SCENARIO.uncertain}
    for region, (low, high) in MARKETS.items():
        assert low <= regions[region].activations[0].rate_per_day <= high
        prior = priors[f"regions.{region}.activations[0].rate_per_day"]
        assert low <= prior.low < prior.high <= high
        (fact9,) = [e for e in _facts_cited()[9] if e.params.get("key") == region]
        assert (fact9.min, fact9.max) == (low * DAYS, high * DAYS)
    # Iran's vendor market is an order of magnitude above Cuba's (the point).
    assert (
        regions["IR"].activations[0].rate_per_day > 10 * regions["CU"].activations[0].rate_per_day
    )


def test_the_lift_and_the_reporting_propensities_are_uncertain() -> None:
    priors = {u.path: u for u in SCENARIO.uncertain}
    lift = priors["policy.lift.date"]
    assert (lift.low, lift.high) == (dt.date(2021, 9, 12), dt.date(2021, 9, 14))
    assert SCENARIO.policy.lift is not None and SCENARIO.policy.lift.unlock
    for region in ("CU", "IR", "SY", "UA-43"):
        assert f"regions.{region}.complaint_share" in priors
    assert priors["regions.UA-43.complaint_share"].high <= 0.01

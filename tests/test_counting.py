"""Devices no policy can touch are counted, not drawn (`draws.plan`).

The shortcut is only sound if those devices would have been `not_targeted` under every variant,
and if counting them changes nothing but how their activations fall on days: these tests draw
the same replication both ways and compare.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import simlock
from simlock.analysis import metrics, tables
from simlock.execution.runner import Task, run_task
from simlock.model.draws import plan, untouched_regions
from simlock.model.engine import Outcome, simulate_variant
from simlock.model.population import generate

from .engine_helpers import make_scenario

ROOT = Path(__file__).resolve().parents[1]

NEIGHBOURS = {
    "regions": [
        {
            "id": "CU",
            "name": "Cuba",
            "activations": [{"from": "2021-06-01", "rate_per_day": 60}],
            "channels": {"grey_import": 0.8, "traveller": 0.2},
            "travellers_from": "US",
            "signals": {"local_sim_share": 0.9, "sim_otherwise": "US", "vpn_share": 0.3},
        },
        {
            "id": "RU",
            "name": "Russia: nothing it signals is banned",
            "activations": [{"from": "2021-06-01", "rate_per_day": 80}],
            "channels": {"official": 0.7, "traveller": 0.3},
            "travellers_from": "DE",
            "signals": {"vpn_share": 0.2, "vpn_exit": "NL", "location_share": 0.5},
        },
        {
            "id": "ES",
            "name": "Spain: Cuban travellers",
            "activations": [{"from": "2021-06-01", "rate_per_day": 50}],
            "channels": {"official": 0.9, "traveller": 0.1},
            "travellers_from": "CU",
        },
        {
            "id": "US",
            "name": "US: some VPN users exit in Cuba",
            "activations": [{"from": "2021-06-01", "rate_per_day": 30}],
            "signals": {"vpn_share": 0.1, "vpn_exit": "CU"},
        },
        {
            "id": "SY",
            "name": "Syria: banned by one variant only",
            "activations": [
                {"from": "2021-06-01", "rate_per_day": 20},
                {"from": "2021-07-01", "rate_per_day": 45},
            ],
        },
        {
            "id": "DE",
            "name": "Germany: its SIMs report Syria (a contrived detection error)",
            "activations": [{"from": "2021-06-01", "rate_per_day": 25}],
            "signals": {"local_sim_share": 0.5, "sim_otherwise": "SY"},
        },
        {
            "id": "FR",
            "name": "France: untouched, two segments",
            "activations": [
                {"from": "2021-06-01", "rate_per_day": 40},
                {"from": "2021-06-20", "rate_per_day": 400},
            ],
        },
    ],
    "policy": {
        "banned": ["CU"],
        "detection": {"signals": ["sim", "ip", "gps"], "rule": "any"},
        "windows": [{"name": "all", "start": "2021-06-05", "end": "2021-07-20", "coverage": 0.6}],
    },
    "variants": {
        "syria-too": {"banned": ["CU", "SY"]},
        "majority": {"detection": {"signals": ["sim", "ip", "gps"], "rule": "majority"}},
        "warn-first": {"warning": {"grace_days": 2, "resolve_share": 0.3}},
    },
}
"""Regions each reached (or not) in a different way: by being banned, through travellers from a
banned territory, a VPN exit or a foreign SIM in one, or only under one variant."""


def test_the_regions_counted_are_those_no_variant_can_touch() -> None:
    """Russia's travellers come from Germany, which no variant bans; Spain's official sales
    cannot be placed in Cuba, its Cuban travellers can; Syria is banned by one variant only, and
    Germany's SIMs can report Syria."""
    scenario = make_scenario(NEIGHBOURS)
    every_variant = untouched_regions(scenario, scenario.policies().values())
    assert set(every_variant) == {"RU", "FR", "ES (official)"}
    assert every_variant["ES (official)"] == {"ES", "NL"}
    baseline_only = untouched_regions(scenario, [scenario.policy])
    assert set(baseline_only) == {"RU", "FR", "SY", "DE", "ES (official)"}


def test_a_region_partly_untouched_is_split_into_a_process_per_channel() -> None:
    scenario = make_scenario(NEIGHBOURS)
    draws = plan(scenario, scenario.policies().values(), count_untouched=True)
    spain = [d for d in draws if d.region.id == "ES"]
    assert [(d.channel, d.share, d.counted) for d in spain] == [
        ("official", 0.9, True),
        ("traveller", 0.1, False),
    ]
    assert len({d.stream for d in draws}) == len(draws)
    not_counting = plan(scenario, scenario.policies().values(), count_untouched=False)
    assert [(d.stream, d.share) for d in not_counting] == [(d.stream, d.share) for d in draws]
    assert not any(d.counted for d in not_counting)


def test_a_region_with_cohort_shares_is_always_drawn() -> None:
    scenario = make_scenario(
        NEIGHBOURS,
        {"cohorts": ["new", "old"]},
    )
    data = scenario.model_dump(by_alias=True)
    data["regions"][1]["cohorts"] = {"new": 0.5, "old": 0.5}
    with_shares = simlock.load_scenario(data)
    assert set(untouched_regions(with_shares, with_shares.policies().values())) == {
        "FR",
        "ES (official)",
    }


def test_the_2021_scenario_counts_its_neighbours_official_sales() -> None:
    scenario = simlock.load_scenario(ROOT / "scenarios" / "september-2021.yaml")
    assert set(untouched_regions(scenario, scenario.policies().values())) == {
        "RU",
        "UA",
        "ES (official)",
        "AE (official)",
    }


def _untouched(population) -> np.ndarray:
    """Devices of Russia, France, and Spain's official sales: what `NEIGHBOURS` counts."""
    book = population.codebook
    spain_official = (population.region == book.regions.index("ES")) & (
        population.channel == book.channels.index("official")
    )
    return np.isin(population.region, [book.regions.index(r) for r in ("RU", "FR")]) | (
        spain_official
    )


@pytest.mark.parametrize("replication", [0, 1, 2])
def test_counted_devices_would_have_been_not_targeted_under_every_variant(
    replication: int,
) -> None:
    scenario = make_scenario(NEIGHBOURS)
    drawn = generate(scenario, replication, count_untouched=False)
    of_untouched = _untouched(drawn)
    assert of_untouched.sum() > 5_000
    for name, policy in scenario.policies().items():
        result = simulate_variant(scenario, drawn, policy, name, replication)
        assert (result.outcome[of_untouched] == Outcome.NOT_TARGETED).all(), name
        assert not np.isin(result.considered, np.flatnonzero(of_untouched)).any(), name


@pytest.mark.parametrize("replication", [0, 1])
def test_counting_changes_no_metric_and_no_drawn_device(replication: int) -> None:
    """Every metric of every variant is the same whether untouched regions are counted or
    drawn: the other regions' devices are the same, and so is each counted segment's total.
    Only activations by channel may differ (a counted region splits its total by channel shares
    in one multinomial draw), and they still add up to the same total."""
    scenario = make_scenario(NEIGHBOURS)
    counted = generate(scenario, replication)
    drawn = generate(scenario, replication, count_untouched=False)
    assert counted.activations == len(drawn)
    assert len(counted) < 0.5 * len(drawn)
    kept = ~_untouched(drawn)
    for column in ("activated", "region", "channel", "sim", "ip", "gps", "key"):
        np.testing.assert_array_equal(getattr(counted, column), getattr(drawn, column)[kept])
    for name, policy in scenario.policies().items():
        frames = []
        for population in (counted, drawn):
            result = simulate_variant(scenario, population, policy, name, replication)
            daily = tables.daily_frame(scenario, population, result)
            frames.append(metrics.replicate_metrics(population, result, scenario.days, daily))
        by_channel = [
            (frame["group"] == "channel") & (frame["metric"] == "activations") for frame in frames
        ]
        assert frames[0][by_channel[0]]["value"].sum() == frames[1][by_channel[1]]["value"].sum()
        pd.testing.assert_frame_equal(
            *(
                frame[~rows].reset_index(drop=True)
                for frame, rows in zip(frames, by_channel, strict=True)
            )
        )


def test_a_counted_region_activates_as_many_devices_per_segment_and_uniformly_over_days() -> None:
    scenario = make_scenario(NEIGHBOURS)
    book = generate(scenario, 0).codebook
    n_channels = len(book.channels)
    france = book.regions.index("FR") * n_channels + book.channels.index("official")
    segment_days = 19  # 1 June to 19 June at 40 a day, then 400 a day to the end
    for replication in range(3):
        counted = generate(scenario, replication)
        drawn = generate(scenario, replication, count_untouched=False)
        per_day = counted.counted[:, france]
        times = drawn.activated[drawn.region == book.regions.index("FR")]
        assert per_day[:segment_days].sum() == np.count_nonzero(times < segment_days)
        assert per_day.sum() == times.size
        later = per_day[segment_days:]
        _, p_value = stats.chisquare(later)  # equal expected counts on every day
        assert p_value > 0.001
        spain = book.regions.index("ES") * n_channels + book.channels.index("official")
        of_spain = (drawn.region == book.regions.index("ES")) & (
            drawn.channel == book.channels.index("official")
        )
        assert counted.counted[:, spain].sum() == np.count_nonzero(of_spain)


def test_a_counted_region_splits_its_channels_by_their_shares() -> None:
    scenario = make_scenario(NEIGHBOURS, {"end": "2021-12-31"})
    counted = generate(scenario, 0)
    book = counted.codebook
    n_channels = len(book.channels)
    russia = book.regions.index("RU") * n_channels
    official = counted.counted[:, russia + book.channels.index("official")].sum()
    travellers = counted.counted[:, russia + book.channels.index("traveller")].sum()
    total = official + travellers
    assert stats.binomtest(int(travellers), int(total), 0.3).pvalue > 0.001


def test_a_policy_that_reaches_a_counted_region_is_refused() -> None:
    scenario = make_scenario(NEIGHBOURS)
    population = generate(scenario, 0, policies=[scenario.policy])
    syria_too = scenario.policies()["syria-too"]
    with pytest.raises(ValueError, match="region SY were counted"):
        simulate_variant(scenario, population, syria_too, "syria-too", 0)


def test_a_run_reports_every_activation_and_how_many_were_drawn() -> None:
    scenario = make_scenario(NEIGHBOURS)
    for detail in (True, False):
        done = run_task(Task(scenario, 0, ("baseline",), 1.0, detail=detail))
        drawn = generate(scenario, 0, count_untouched=False)
        assert done.devices_simulated == len(drawn)
        assert done.devices_drawn == len(generate(scenario, 0, thin=not detail))
        assert done.devices_drawn < done.devices_simulated


@pytest.mark.parametrize("replication", [0, 1])
def test_drawn_devices_are_counted_per_day_and_channel_as_they_are_drawn(replication: int) -> None:
    """`generate` counts the drawn devices per day from their sorted times; counting each
    device's day and group from the columns gives the same table."""
    scenario = make_scenario(NEIGHBOURS)
    population = generate(scenario, replication, count_untouched=False)
    book = population.codebook
    group = population.region.astype(np.int64) * len(book.channels) + population.channel
    day = population.activated.astype(np.int64)
    by_hand = np.zeros_like(population.drawn_per_day)
    np.add.at(by_hand, (day, group), 1)
    np.testing.assert_array_equal(population.drawn_per_day, by_hand)
    assert population.drawn_per_day.sum() == len(population)


def test_a_split_region_activates_through_each_channel_by_its_share() -> None:
    """Spain's two channels are two processes at 90% and 10% of its rate: over many days and
    replications, a tenth of its devices are travellers."""
    scenario = make_scenario(NEIGHBOURS, {"end": "2021-12-31"})
    travellers = total = 0
    for replication in range(3):
        population = generate(scenario, replication, count_untouched=False)
        book = population.codebook
        of_spain = population.region == book.regions.index("ES")
        travellers += np.count_nonzero(
            population.channel[of_spain] == book.channels.index("traveller")
        )
        total += np.count_nonzero(of_spain)
    assert stats.binomtest(travellers, total, 0.1).pvalue > 0.001

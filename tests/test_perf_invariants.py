"""The shortcuts that make realistic runs fast give exactly what the plain computations give.

Detection applies its rule once per combination of signals present, variants share memoised
work through their population, the population's signal rows are drawn one at a time (skipping
useless ones), the detail tables of all variants are written into joined columns, and
quantiles sort each quantity once.
Each test compares a shortcut with the straightforward computation it replaces.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

import simlock
from simlock.analysis.tables import devices_frame, devices_frames, events_frame, events_frames
from simlock.execution import pages
from simlock.execution.runner import Task, run_task
from simlock.model import detection as detection_module
from simlock.model.detection import infer_territory
from simlock.model.engine import simulate_variant
from simlock.model.population import NO_SIGNAL, Codebook, Population, generate
from simlock.scenario.models import Detection
from tests.cli_helpers import SMALL
from tests.engine_helpers import BASE, make_scenario

TERRITORIES = ("CU", "IR", "RU", "US", "NL", "TR")
RULES = ("any", "all", "majority", "priority")


def _random_population(n: int, seed: int) -> Population:
    """Devices whose signals are any territory or missing, in every combination."""
    rng = np.random.default_rng(seed)
    codes = np.arange(-1, len(TERRITORIES), dtype=np.int16)
    return Population(
        activated=np.zeros(n),
        region=np.zeros(n, dtype=np.int16),
        channel=np.zeros(n, dtype=np.int16),
        sim=rng.choice(codes[1:], n),
        ip=rng.choice(codes, n),
        gps=rng.choice(codes, n),
        key=np.arange(n, dtype=np.uint64),
        codebook=Codebook(TERRITORIES, ("CU",), ("official",)),
    )


def _rule_by_hand(rule: str, signals: list[int], banned: set[int]) -> tuple[int, bool]:
    """The detection rules of `Detection`'s docstring, one device at a time."""
    available = [s for s in signals if s != NO_SIGNAL]
    first = available[0] if available else NO_SIGNAL
    allowed = next((s for s in available if s not in banned), NO_SIGNAL)
    if rule == "priority":
        return (first, True) if first in banned else (allowed, False)
    if rule == "any":
        named = [s for s in available if s in banned]
        return (named[0], True) if named else (allowed, False)
    if rule == "all":
        if available and first in banned and set(available) == {first}:
            return first, True
        return allowed, False
    for s in available:  # majority, in the rule's order of signals
        if s in banned and 2 * available.count(s) > len(available):
            return s, True
    return allowed, False


@pytest.mark.parametrize("table", ["every", "dense", "sorted"])
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("order", [("sim", "ip", "gps"), ("gps", "ip"), ("ip",)])
def test_detection_of_every_device_matches_the_rule_applied_by_hand(
    rule, order, table, monkeypatch
) -> None:
    """The three ways of looking a device's combination of signals up give the rule: the rule
    settled for every possible combination, a dense table of the combinations present, or (for
    worlds with many territories) the combinations present numbered by sorting."""
    if table != "every":
        monkeypatch.setattr(detection_module, "_EVERY_COMBINATION", 0)
    if table == "sorted":
        monkeypatch.setattr(detection_module, "_LOOKUP_LIMIT", 0)
    population = _random_population(3000, seed=len(order))
    banned = np.array([0, 1], dtype=np.int16)
    detected, hit = infer_territory(population, Detection(signals=list(order), rule=rule), banned)
    columns = {"sim": population.sim, "ip": population.ip, "gps": population.gps}
    expected = [
        _rule_by_hand(rule, [int(columns[name][i]) for name in order], {0, 1})
        for i in range(len(population))
    ]
    assert detected.dtype == np.int16
    assert detected.tolist() == [d for d, _ in expected]
    assert hit.tolist() == [h for _, h in expected]
    assert hit.any() and not hit.all()


def test_a_cached_inference_is_that_of_its_own_rule_and_banned_list() -> None:
    """Asked in turn for rules and banned lists that share some memos and not others, each
    answer is what `infer_territory` gives for that rule and list."""
    population = _random_population(500, seed=3)
    majority, any_signal = Detection(rule="majority"), Detection(rule="any")
    answers = []
    for detection, banned in (
        (majority, [1, 0]),
        (majority, [0, 1, 1]),
        (any_signal, [0, 1]),
        (majority, [0]),
    ):
        cached = population.cache.inference(detection, np.array(banned))
        detected, hit = infer_territory(population, detection, np.array(banned))
        assert np.array_equal(cached.detected, detected) and np.array_equal(cached.hit, hit)
        assert np.array_equal(cached.hits, np.flatnonzero(hit))
        answers.append(hit)
    # The cases tell the rules and the lists apart: a memo shared between them would show.
    assert not np.array_equal(answers[1], answers[2])
    assert not np.array_equal(answers[1], answers[3])


VARIANTS = {
    "no-lift": {"lift": None},
    "warn": {"warning": {"grace_days": 2, "resolve_share": 0.3}},
    "exempt": {"exemptions": {"allowed_sim": True, "channels": ["traveller"]}},
    "any-ip": {"detection": {"signals": ["ip", "gps"], "rule": "any"}},
    "fixed": {"lock_delay": {"distribution": "fixed", "days": 1}},
    "one-window": {
        "windows": [{"name": "c", "start": "2021-06-10", "end": "2021-07-10", "coverage": 0.5}]
    },
}


def _scenario():
    return make_scenario(
        {
            "policy": {
                "windows": [
                    {"name": "a", "start": "2021-06-05", "end": "2021-07-01", "coverage": 0.2},
                    {
                        "name": "b",
                        "start": "2021-07-01",
                        "end": "2021-07-20",
                        "coverage": 0.7,
                        "lookback_days": 20,
                    },
                ],
                "lift": {"date": "2021-07-20", "unlock": True},
                "appeals": {
                    "share": 0.5,
                    "delay": {"distribution": "exponential", "mean_days": 1.0},
                    "agents": 1,
                    "service_days": 0.5,
                    "approval_share": 0.6,
                },
            },
            "variants": VARIANTS,
        }
    )


def test_a_variant_gives_the_same_frames_alone_as_among_variants_sharing_its_devices() -> None:
    """Memoised work (detection, personal draws, daily activations, concerned devices) is
    shared between variants; none of it may leak from one variant into another."""
    scenario = _scenario()
    together = run_task(Task(scenario, 0, tuple(scenario.variant_names), detail=True))
    for name in scenario.variant_names:
        alone = run_task(Task(scenario, 0, (name,), detail=True))
        for frame in ("daily", "replicates", "devices", "events"):
            joined = getattr(together, frame)
            part = joined[joined["variant"] == name].reset_index(drop=True)
            mine = getattr(alone, frame)  # labelled with this variant's names only
            mine = mine.astype({c: part[c].dtype for c in LABELS if c in mine})
            pd.testing.assert_frame_equal(part, mine, check_exact=True, obj=f"{name} {frame}")


LABELS = ("variant", "lock_cause", "cause")
"""Columns of the detail tables that name a variant or one of its windows."""


def test_the_detail_tables_of_all_variants_equal_their_frames_concatenated() -> None:
    """Every variant's rows are written straight into the joined columns, labelled with every
    variant's name and window (which differ here: one variant has windows of its own)."""
    scenario = _scenario()
    population = generate(scenario, 0)
    results = [
        simulate_variant(scenario, population, scenario.variant(name), name, 0)
        for name in scenario.variant_names
    ]
    for joined, each in (
        (
            devices_frames(scenario, population, results),
            [devices_frame(scenario, population, result) for result in results],
        ),
        (events_frames(scenario, results), [events_frame(scenario, result) for result in results]),
    ):
        expected = pd.concat(each, ignore_index=True)
        expected = expected.astype({c: joined[c].dtype for c in LABELS if c in joined})
        pd.testing.assert_frame_equal(joined, expected, check_exact=True)


def test_the_detail_tables_of_every_task_have_the_same_dtypes() -> None:
    """So a run joins its tasks' tables with a plain `pd.concat` and keeps them categorical."""
    scenario = _scenario()
    first, second = (
        run_task(Task(scenario, r, tuple(scenario.variant_names), detail=True)) for r in (0, 1)
    )
    for frame in ("devices", "events"):
        mine, theirs = getattr(first, frame), getattr(second, frame)
        assert mine.dtypes.equals(theirs.dtypes), frame
        joined = pd.concat([mine, theirs], ignore_index=True)
        assert joined.dtypes.equals(mine.dtypes), frame
        for column in LABELS:
            if column in mine:
                assert isinstance(mine[column].dtype, pd.CategoricalDtype), (frame, column)
        assert list(mine["variant"].cat.categories) == scenario.variant_names


SIGNALS = {
    "local_sim_share": 0.7,
    "sim_otherwise": "RU",
    "vpn_share": 0.3,
    "location_share": 0.4,
    "traveller_local_ip_share": 0.4,
}


def _population_with(signals: dict[str, object]) -> Population:
    """The engine tests' world with Cuba's signals set (replication 2)."""
    regions = copy.deepcopy(BASE["regions"])
    regions[0]["signals"] = signals
    regions[1]["channels"] = {"official": 1.0}
    return generate(make_scenario({"regions": regions}), 2)


@pytest.mark.parametrize(
    ("change", "moves", "stays"),
    [
        ({"location_share": 0.0}, "gps", ("sim", "ip")),  # no GPS draw needed: skipped
        ({"location_share": 1.0}, "gps", ("sim", "ip")),
        ({"vpn_share": 0.0}, "ip", ("sim", "gps")),  # no VPN draw needed
        ({"local_sim_share": 1.0}, "sim", ("ip", "gps")),  # no SIM draw needed
        ({"traveller_local_ip_share": 1.0}, "ip", ("sim", "gps")),
    ],
)
def test_a_signal_share_changes_only_its_own_signal(
    change: dict[str, float], moves: str, stays: tuple[str, ...]
) -> None:
    """Signal draws a share makes useless are skipped; the others must come out the same, as if
    every draw were made (a skipped draw that shifted the next ones would change them)."""
    before, after = _population_with(SIGNALS), _population_with({**SIGNALS, **change})
    for column in ("activated", "region", "channel", *stays):
        assert np.array_equal(getattr(before, column), getattr(after, column)), column
    assert not np.array_equal(getattr(before, moves), getattr(after, moves))


def test_signals_follow_their_shares() -> None:
    population = _population_with(SIGNALS)
    book = population.codebook
    cuba = population.region == 0
    local = cuba & (population.channel != book.channels.index("traveller"))
    own = book.territory_code("CU")
    for share, seen in (
        (SIGNALS["location_share"], population.gps[cuba] == own),
        (SIGNALS["local_sim_share"], population.sim[local] == own),
        (SIGNALS["vpn_share"], population.ip[cuba] == book.territory_code("NL")),
    ):
        error = np.sqrt(share * (1 - share) / seen.size)
        assert abs(seen.mean() - share) < 4 * error, (share, seen.mean())


@pytest.fixture(scope="module")
def detailed_run() -> simlock.Results:
    """small.yaml with every variant and its first replication's device table."""
    scenario = simlock.load_scenario(SMALL)
    return simlock.run(scenario, replications=2, scale=0.2, workers=1, detail_replications=1)


@pytest.mark.parametrize("group", ["all", "region", "channel"])
def test_quantile_metrics_equal_each_groups_own_quantile_of_the_device_table(
    detailed_run: simlock.Results, group: str
) -> None:
    """The metrics sort each quantity once for every grouping; the plain form takes each group's
    quantile of its own devices, read from the run's device table."""
    devices = detailed_run.devices
    horizon = detailed_run.scenario.days
    locked = devices[devices["locked"].notna()]
    quantities = {
        "days_to_lock": locked["locked"] - locked["activated"],
        "lock_duration": locked["unlocked"].fillna(horizon) - locked["locked"],
    }
    replicates = detailed_run.replicates
    compared = 0
    for name, days in quantities.items():
        frame = locked.assign(days=days.to_numpy(), all="all")
        for (variant, key), values in frame.groupby(["variant", group], observed=True)["days"]:
            for metric, q in ((f"{name}_median", 0.5), (f"{name}_p90", 0.9)):
                row = replicates[
                    (replicates["variant"] == variant)
                    & (replicates["replication"] == 0)
                    & (replicates["group"] == group)
                    & (replicates["key"] == str(key))
                    & (replicates["metric"] == metric)
                ]
                if row.empty:  # lock_duration has a median only
                    continue
                assert row["value"].item() == np.quantile(values.to_numpy(), q), (metric, key)
                compared += 1
    assert compared >= 3 * len(detailed_run.scenario.variant_names)


def test_a_task_runs_without_numpys_huge_page_hint_and_puts_it_back(monkeypatch) -> None:
    """The hint is numpy's, process-wide: a task turns it off while it runs (system time spent
    compacting memory) and leaves it as it found it, even when it fails."""
    assert pages._hint_setter() is not None, "this numpy has no switch: the saving is lost"
    calls: list[bool] = []

    def setter(enabled: bool) -> bool:
        calls.append(enabled)
        return True

    monkeypatch.setattr(pages, "_hint_setter", lambda: setter)
    run_task(Task(make_scenario(), 0, ("baseline",), 1.0))
    assert calls == [False, True]
    with pytest.raises(KeyError):
        run_task(Task(make_scenario(), 0, ("no-such-variant",), 1.0))
    assert calls == [False, True, False, True]

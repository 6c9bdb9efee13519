"""The shortcuts that make realistic runs fast give exactly what the plain computations give.

Detection only looks at devices with a banned signal, variants share memoised work through their
population, the population's signal rows are drawn one at a time (skipping useless ones), the
detail tables of all variants are written into joined columns, and quantiles sort each quantity
once.
Each test compares a shortcut with the straightforward computation it replaces.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from simlock.analysis.metrics import _SortedValues
from simlock.analysis.tables import devices_frame, devices_frames, events_frame, events_frames
from simlock.execution.runner import Task, run_task
from simlock.model.detection import infer_territory
from simlock.model.engine import simulate_variant
from simlock.model.population import NO_SIGNAL, Codebook, Population, generate
from simlock.model.streams import Kind, generator
from simlock.scenario.models import Detection
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


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("order", [("sim", "ip", "gps"), ("gps", "ip"), ("ip",)])
def test_detection_of_every_device_matches_the_rule_applied_by_hand(rule, order) -> None:
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


def _signals_by_one_draw(scenario, region, book, is_traveller, replication):
    """The signals drawn as four rows of one (4, n) draw, every row applied (the plain form)."""
    n = is_traveller.size
    profile = region.signals
    rng = generator(scenario.seed, replication, region.id, Kind.SIGNALS)
    own = book.territory_code(region.id)
    u_sim, u_vpn, u_gps, u_wifi = rng.random((4, n))
    sim = np.full(n, own, dtype=np.int16)
    if profile.sim_otherwise is not None:
        sim[u_sim >= profile.local_sim_share] = book.territory_code(profile.sim_otherwise)
    ip_home = book.territory_code(profile.ip_reports) if profile.ip_reports else own
    ip = np.full(n, ip_home, dtype=np.int16)
    if region.travellers_from is not None:
        home = book.territory_code(region.travellers_from)
        sim[is_traveller] = home
        ip[is_traveller & (u_wifi >= profile.traveller_local_ip_share)] = home
    ip[u_vpn < profile.vpn_share] = book.territory_code(profile.vpn_exit)
    gps = np.where(u_gps < profile.location_share, own, NO_SIGNAL).astype(np.int16)
    return sim, ip, gps


@pytest.mark.parametrize(
    "signals",
    [
        {"local_sim_share": 1.0, "sim_otherwise": "RU", "vpn_share": 0.0, "location_share": 0.0},
        {"local_sim_share": 0.7, "sim_otherwise": "RU", "vpn_share": 0.3, "location_share": 0.4},
        {"local_sim_share": 0.9, "sim_otherwise": "US", "vpn_share": 0.0, "location_share": 1.0},
    ],
)
def test_signals_drawn_row_by_row_equal_one_draw_of_all_rows(signals) -> None:
    regions = copy.deepcopy(BASE["regions"])
    regions[0]["signals"] = {**signals, "traveller_local_ip_share": 0.4}
    regions[1]["channels"] = {"official": 1.0}
    scenario = make_scenario({"regions": regions})
    population = generate(scenario, 2)
    book = population.codebook
    for index, region in enumerate(scenario.regions):
        mine = population.region == index
        traveller = (
            population.channel[mine] == book.channels.index("traveller")
            if ("traveller" in book.channels)
            else np.zeros(mine.sum(), dtype=bool)
        )
        sim, ip, gps = _signals_by_one_draw(scenario, region, book, traveller, 2)
        assert np.array_equal(population.sim[mine], sim), region.id
        assert np.array_equal(population.ip[mine], ip), region.id
        assert np.array_equal(population.gps[mine], gps), region.id


def test_quantiles_from_one_sort_equal_each_groups_own_quantile() -> None:
    rng = np.random.default_rng(5)
    values = np.round(rng.exponential(3.0, 4000), 1)  # many ties
    codes = rng.integers(0, 7, values.size)
    codes[codes == 4] = 5  # an empty group
    grouped = _SortedValues(values).by_group(codes, 7)
    for q in (0.5, 0.9):
        expected = [
            np.quantile(values[codes == g], q) if (codes == g).any() else np.nan for g in range(7)
        ]
        assert np.array_equal(grouped.quantile(q), np.array(expected), equal_nan=True)
        overall = _SortedValues(values).by_group(np.zeros(values.size, dtype=np.int64), 1)
        assert overall.quantile(q).tolist() == [np.quantile(values, q)]

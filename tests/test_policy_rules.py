"""The policy's pure rules, one by one: detection, delays, windows and look-back, exemptions,
the first-come-first-served desk, and the check-in closed forms against brute force."""

from __future__ import annotations

import heapq

import numpy as np
import pytest
from scipy import stats

import simlock
from simlock.execution.executors import SequentialExecutor
from simlock.model.checkins import next_contact, next_scheduled, scheduled_checkin
from simlock.model.detection import infer_territory
from simlock.model.policy import (
    EnforcementWindow,
    decide_in_window,
    delay_quantile,
    exempt,
    fcfs_desk_start,
    lift_day,
    windows_in_days,
)
from simlock.model.population import NO_SIGNAL, Codebook, Population
from simlock.model.streams import Purpose, exponential, uniform
from simlock.scenario.models import CheckIn, Detection, Policy
from tests.engine_helpers import make_scenario

TERRITORIES = ("CU", "IR", "RU", "US", "NL")
CU, IR, RU, US, NL = range(5)
NO = NO_SIGNAL


def _population(sim, ip, gps, channel=None) -> Population:
    n = len(sim)
    return Population(
        activated=np.zeros(n),
        region=np.zeros(n, dtype=np.int16),
        channel=np.asarray(channel if channel is not None else [0] * n, dtype=np.int16),
        sim=np.asarray(sim, dtype=np.int16),
        ip=np.asarray(ip, dtype=np.int16),
        gps=np.asarray(gps, dtype=np.int16),
        key=np.arange(n, dtype=np.uint64),
        codebook=Codebook(TERRITORIES, ("CU",), ("official", "traveller")),
    )


# Devices (sim, ip, gps) and, per rule with signals [sim, ip, gps] and CU and IR banned, the
# territory detected and whether the rule hit: the banned territory it settled on when it hit,
# otherwise the first signal naming an allowed territory (none when every signal names a banned
# one), so a device the rule did not act on is never logged in a banned territory.
SIGNAL_CASES = [
    ((CU, CU, CU), {"any": (CU, 1), "all": (CU, 1), "majority": (CU, 1), "priority": (CU, 1)}),
    ((RU, CU, NO), {"any": (CU, 1), "all": (RU, 0), "majority": (RU, 0), "priority": (RU, 0)}),
    ((RU, CU, CU), {"any": (CU, 1), "all": (RU, 0), "majority": (CU, 1), "priority": (RU, 0)}),
    ((CU, NL, NO), {"any": (CU, 1), "all": (NL, 0), "majority": (NL, 0), "priority": (CU, 1)}),
    ((US, NL, NO), {"any": (US, 0), "all": (US, 0), "majority": (US, 0), "priority": (US, 0)}),
    ((IR, CU, CU), {"any": (IR, 1), "all": (NO, 0), "majority": (CU, 1), "priority": (IR, 1)}),
    ((IR, CU, NO), {"any": (IR, 1), "all": (NO, 0), "majority": (NO, 0), "priority": (IR, 1)}),
]


@pytest.mark.parametrize("rule", ["any", "all", "majority", "priority"])
def test_detection_rules_settle_on_the_territory_the_rule_names(rule: str) -> None:
    sim, ip, gps = zip(*(case for case, _ in SIGNAL_CASES), strict=True)
    population = _population(sim, ip, gps)
    detected, hit = infer_territory(
        population, Detection(signals=["sim", "ip", "gps"], rule=rule), np.array([CU, IR])
    )
    expected = [answers[rule] for _, answers in SIGNAL_CASES]
    assert detected.tolist() == [territory for territory, _ in expected]
    assert hit.tolist() == [bool(h) for _, h in expected]


def test_all_rule_needs_every_available_signal_and_ignores_missing_gps() -> None:
    population = _population([CU, CU, CU], [CU, CU, NL], [NO, CU, NO])
    _, hit = infer_territory(population, Detection(rule="all"), np.array([CU]))
    assert hit.tolist() == [True, True, False]


def test_priority_rule_skips_unavailable_signals_in_its_order() -> None:
    population = _population([RU, CU], [US, US], [NO, NO])
    detection = Detection(signals=["gps", "sim", "ip"], rule="priority")
    detected, hit = infer_territory(population, detection, np.array([CU]))
    assert detected.tolist() == [RU, CU] and hit.tolist() == [False, True]


def test_detection_uses_only_the_listed_signals() -> None:
    population = _population([RU], [CU], [CU])
    _, sim_only = infer_territory(population, Detection(signals=["sim"]), np.array([CU]))
    _, ip_only = infer_territory(population, Detection(signals=["ip"]), np.array([CU]))
    assert not sim_only[0] and ip_only[0]


def test_a_device_with_no_available_signal_is_never_detected() -> None:
    population = _population([CU], [CU], [NO])
    for rule in ("any", "all", "majority", "priority"):
        detected, hit = infer_territory(
            population, Detection(signals=["gps"], rule=rule), np.array([CU])
        )
        assert detected[0] == NO and not hit[0]


def _policy(**fields) -> Policy:
    base = {"banned": ["CU"], "lock_delay": {"distribution": "fixed", "days": 1}}
    return Policy.model_validate({**base, **fields})


def test_exemptions_allowed_sim_and_channels() -> None:
    population = _population([CU, US, CU, US], [CU] * 4, [NO] * 4, channel=[0, 0, 1, 1])
    banned = np.array([CU])
    assert exempt(population, _policy(), banned).tolist() == [False] * 4
    by_sim = _policy(exemptions={"allowed_sim": True})
    assert exempt(population, by_sim, banned).tolist() == [False, True, False, True]
    by_channel = _policy(exemptions={"channels": ["traveller"]})
    assert exempt(population, by_channel, banned).tolist() == [False, False, True, True]
    both = _policy(exemptions={"allowed_sim": True, "channels": ["traveller"]})
    assert exempt(population, both, banned).tolist() == [False, True, True, True]


U = np.linspace(0.001, 0.999, 999)


@pytest.mark.parametrize(
    ("delay", "frozen"),
    [
        ({"distribution": "uniform", "low_days": 2, "high_days": 5}, stats.uniform(2, 3)),
        ({"distribution": "exponential", "mean_days": 3}, stats.expon(scale=3)),
        (
            {"distribution": "lognormal", "median_days": 4, "sigma": 0.5},
            stats.lognorm(s=0.5, scale=4),
        ),
    ],
)
def test_delay_quantiles_are_the_distributions_inverse_cdf(delay, frozen) -> None:
    policy = _policy(lock_delay=delay)
    assert np.allclose(delay_quantile(policy.lock_delay, U), frozen.ppf(U), rtol=1e-9)


def test_fixed_and_empirical_delays() -> None:
    fixed = _policy(lock_delay={"distribution": "fixed", "days": 2.5}).lock_delay
    assert (delay_quantile(fixed, U) == 2.5).all()
    weighted = _policy(
        lock_delay={"distribution": "empirical", "values_days": [5, 1, 3], "weights": [2, 1, 1]}
    ).lock_delay
    # Sorted values 1, 3, 5 with probabilities 1/4, 1/4, 1/2.
    u = np.array([0.01, 0.2499, 0.2501, 0.4999, 0.5001, 0.99])
    assert delay_quantile(weighted, u).tolist() == [1, 1, 3, 3, 5, 5]
    plain = _policy(lock_delay={"distribution": "empirical", "values_days": [7, 2]}).lock_delay
    assert delay_quantile(plain, np.array([0.3, 0.7])).tolist() == [2, 7]


def test_windows_in_days_and_the_implicit_whole_run_window() -> None:
    scenario = make_scenario()
    assert windows_in_days(_policy(coverage=0.3), scenario) == [
        EnforcementWindow("always", 0.0, scenario.days, 0.3, 0.0)
    ]
    windowed = _policy(
        windows=[
            {"name": "b", "start": "2021-06-11", "end": "2021-06-21", "coverage": 0.5},
            {"name": "a", "start": "2021-06-02", "end": "2021-06-05", "lookback_days": 4},
        ]
    )
    assert windows_in_days(windowed, scenario) == [
        EnforcementWindow("a", 1.0, 4.0, 1.0, 4.0),
        EnforcementWindow("b", 10.0, 20.0, 0.5, 0.0),
    ]


def test_the_lift_day_counts_days_from_the_start_and_is_never_without_a_lift() -> None:
    scenario = make_scenario()  # starts on 2021-06-01
    assert lift_day(_policy(lift={"date": "2021-06-11"}), scenario) == 10.0
    assert lift_day(_policy(lift={"date": "2021-06-01", "unlock": False}), scenario) == 0.0
    assert lift_day(_policy(), scenario) == np.inf


class _CountingExecutor(SequentialExecutor):
    """Runs tasks here, counting how many it was given."""

    def __init__(self) -> None:
        self.tasks = 0

    def map(self, fn, tasks):
        self.tasks += len(tasks)
        return super().map(fn, tasks)


def test_a_bad_variant_of_a_hand_built_scenario_fails_before_any_task_runs() -> None:
    """Policies are resolved once per run, before the executor gets a task, even when the bad
    variant is not among those asked for (the territory codes name every variant's)."""
    good = make_scenario({"variants": {"later": {"lift": {"date": "2021-07-20"}}}})
    bad = good.model_copy(update={"variants": {"later": {"lift": {"date": "2030-01-01"}}}})
    executor = _CountingExecutor()
    assert len(simlock.run(good, variants=["baseline"], executor=executor).daily) > 0
    assert executor.tasks == 1
    with pytest.raises(simlock.ScenarioError, match="outside the run"):
        simlock.run(bad, variants=["baseline"], executor=executor)
    assert executor.tasks == 1


def test_a_window_decides_covered_devices_whose_delay_expires_inside_it() -> None:
    window = EnforcementWindow("w", 10.0, 20.0, 0.5, 0.0)
    activated = np.array([5.0, 5.0, 5.0, 12.0, 12.0, 0.0])
    due = np.array([12.0, 20.0, 9.0, 19.99, 15.0, 10.0])
    u_cover = np.array([0.1, 0.1, 0.1, 0.49, 0.5, 0.2])
    when = decide_in_window(window, activated, due, u_cover)
    # inside; at the end (excluded); before the opening without look-back; inside; not covered;
    # at the opening exactly (inside).
    assert when.tolist() == [12.0, np.inf, np.inf, 19.99, np.inf, 10.0]


def test_a_look_back_sweeps_earlier_activations_at_the_opening() -> None:
    window = EnforcementWindow("w", 10.0, 20.0, 1.0, 4.0)
    activated = np.array([6.0, 5.99, 7.0, 9.0])
    due = np.array([8.0, 8.0, 15.0, 9.5])
    when = decide_in_window(window, activated, due, np.full(4, 0.3))
    # swept (activated within 4 days); too early for the look-back; inside; swept.
    assert when.tolist() == [10.0, np.inf, 15.0, 10.0]


def test_coverage_is_one_draw_per_device_across_windows() -> None:
    """Staged rollout: every device covered at 20% is covered at 60%."""
    u = uniform(np.arange(10_000, dtype=np.uint64), Purpose.COVERAGE)
    due = np.full(u.size, 1.0)
    narrow = decide_in_window(EnforcementWindow("a", 0, 2, 0.2, 0), due - 1, due, u)
    wide = decide_in_window(EnforcementWindow("b", 0, 2, 0.6, 0), due - 1, due, u)
    covered_narrow, covered_wide = np.isfinite(narrow), np.isfinite(wide)
    assert (covered_wide[covered_narrow]).all()
    assert abs(covered_narrow.mean() - 0.2) < 0.02 and abs(covered_wide.mean() - 0.6) < 0.02


def _desk_by_brute_force(arrivals: np.ndarray, agents: int, service: float) -> np.ndarray:
    """Each case, in arrival order, takes the agent that frees up first."""
    free = [0.0] * agents
    starts = []
    for arrival in arrivals:
        start = max(arrival, heapq.heappop(free))
        heapq.heappush(free, start + service)
        starts.append(start)
    return np.array(starts)


def test_fcfs_desk_by_hand() -> None:
    starts = fcfs_desk_start(np.array([0.0, 0.0, 0.0, 0.5, 3.0]), 2, 1.0)
    assert starts.tolist() == [0.0, 0.0, 1.0, 1.0, 3.0]


@pytest.mark.parametrize("agents", [1, 2, 3, 7])
def test_fcfs_desk_matches_a_queue_simulated_case_by_case(agents: int) -> None:
    rng = np.random.default_rng(agents)
    arrivals = np.sort(rng.uniform(0, 30, 400))
    service = 0.3 * agents
    starts = fcfs_desk_start(arrivals, agents, service)
    assert np.allclose(starts, _desk_by_brute_force(arrivals, agents, service), atol=1e-9)


def test_fcfs_desk_never_starts_a_case_before_it_arrives() -> None:
    """Regression: the lane formula (m*s + running max of arrival - j*s) rounded a start to a
    few 1e-15 days before its arrival, so appeals began before they were filed."""
    rng = np.random.default_rng(0)
    for _ in range(50):
        arrivals = np.sort(rng.uniform(0, 20, 50))
        assert (fcfs_desk_start(arrivals, 1, 0.05) >= arrivals).all()
        assert (fcfs_desk_start(arrivals, 3, 0.05) >= arrivals).all()


# --- check-ins ---------------------------------------------------------------------------------

KEYS = np.random.default_rng(5).integers(0, 2**63, 4000, dtype=np.uint64)


def test_next_scheduled_is_the_first_periodic_check_in_strictly_after_t() -> None:
    model = CheckIn(model="periodic", interval_days=1.5, jitter_days=0.6)
    activated = np.random.default_rng(1).uniform(0, 10, KEYS.size)
    t = activated + np.random.default_rng(2).uniform(0, 30, KEYS.size)
    every = np.stack(
        [
            scheduled_checkin(model, activated, KEYS, np.full(KEYS.size, k, np.uint64))
            for k in range(30)
        ]
    )
    expected = np.where(every > t, every, np.inf).min(axis=0)
    assert np.array_equal(next_scheduled(model, t, activated, KEYS, Purpose.LOCK_CONTACT), expected)
    # The schedule itself: one check-in per interval, each within the jitter of its slot.
    slots = every - activated - 1.5 * np.arange(30)[:, None]
    assert (slots.max(axis=0) - slots.min(axis=0) <= 1.2 + 1e-9).all()
    assert (slots >= -0.6 - 1e-9).all() and (slots <= 1.5 + 0.6 + 1e-9).all()
    assert (np.diff(every, axis=0) > 0).all()


def test_poisson_check_ins_without_offline_spells_are_exponential() -> None:
    model = CheckIn(model="poisson", interval_days=2.0, offline_rate_per_day=0.0)
    t = np.full(KEYS.size, 7.0)
    gap = next_contact(model, t, np.zeros(KEYS.size), np.zeros(KEYS.size), KEYS, 32) - t
    assert stats.kstest(gap, stats.expon(scale=2.0).cdf).pvalue > 1e-4


def test_an_infinite_command_time_never_reaches_the_device() -> None:
    model = CheckIn(offline_rate_per_day=0.2)
    t = np.array([np.inf, 3.0])
    contact = next_contact(model, t, np.zeros(2), np.zeros(2), KEYS[:2], Purpose.UNLOCK_CONTACT)
    assert np.isinf(contact[0]) and 3.0 < contact[1] < np.inf


def _first_contact_by_brute_force(
    model: CheckIn, t: float, online_at: float, rng: np.random.Generator, n: int
) -> np.ndarray:
    """Simulate the on/off process from `online_at` (online) and the check-ins one by one:
    the first contact after `t` (a check-in while online, or the return from an offline spell)."""
    rate_off, mean_spell = model.offline_rate_per_day, model.offline_mean_days
    tau, jitter = model.interval_days, model.jitter_days
    out = np.empty(n)
    for i in range(n):
        phase = rng.uniform(0, tau)
        jitters: dict[int, float] = {}  # each scheduled check-in keeps its own jitter
        k = 0
        clock = online_at
        while True:  # on/off spells until the one that holds the first contact after t
            off_at = clock + rng.exponential(1 / rate_off)
            back_at = off_at + rng.exponential(mean_spell)
            if model.model == "poisson":
                nxt = max(clock, t)
                nxt += rng.exponential(tau)
            else:
                while True:
                    if k not in jitters:
                        jitters[k] = rng.uniform(-jitter, jitter)
                    nxt = online_at + phase + k * tau + jitters[k]
                    if nxt > max(clock, t):
                        break
                    k += 1
            if nxt < off_at:
                out[i] = nxt
                break
            if back_at > t:
                out[i] = back_at
                break
            clock = back_at
    return out


@pytest.mark.parametrize(
    "model",
    [
        CheckIn(
            model="periodic",
            interval_days=1.0,
            jitter_days=0.3,
            offline_rate_per_day=0.4,
            offline_mean_days=1.5,
        ),
        CheckIn(
            model="poisson", interval_days=2.0, offline_rate_per_day=0.3, offline_mean_days=3.0
        ),
    ],
    ids=["periodic", "poisson"],
)
def test_next_contact_closed_form_matches_check_ins_simulated_one_by_one(model: CheckIn) -> None:
    """The closed form (offline at t with probability r/(r+s)(1-e^-(r+s)(t-t0)), then the return;
    else the next check-in unless the device goes offline first) against brute force: KS on the
    wait from the command to the contact, 4,000 devices each."""
    n = 4000
    t, online_at = 2.5, 0.0
    keys = KEYS[:n]
    engine = next_contact(
        model, np.full(n, t), np.full(n, online_at), np.zeros(n), keys, Purpose.LOCK_CONTACT
    )
    brute = _first_contact_by_brute_force(model, t, online_at, np.random.default_rng(9), n)
    assert (engine > t).all() and (brute > t).all()
    assert stats.ks_2samp(engine - t, brute - t).pvalue > 1e-4


def test_counter_based_draws_are_uniform_and_fixed_by_key_purpose_and_counter() -> None:
    u = uniform(KEYS, Purpose.COVERAGE)
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    assert np.array_equal(u, uniform(KEYS, Purpose.COVERAGE))
    assert not np.array_equal(u, uniform(KEYS, Purpose.LOCK_DELAY))
    assert not np.array_equal(u, uniform(KEYS, Purpose.COVERAGE, 1))
    assert abs(np.corrcoef(u, uniform(KEYS, Purpose.LOCK_DELAY))[0, 1]) < 0.08
    e = exponential(KEYS, Purpose.JITTER, 0, 2.0)
    assert stats.kstest(e, stats.expon(scale=2.0).cdf).pvalue > 1e-4


def _splitmix_by_hand(key: int, purpose: int, counter: int) -> float:
    """The counter-based uniform of `streams`, in Python integers: SplitMix64's finaliser of
    the key salted by the purpose, then of that plus the counter, as a 53-bit fraction."""
    mask = (1 << 64) - 1

    def mix(x: int) -> int:
        z = (x + 0x9E3779B97F4A7C15) & mask
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & mask
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & mask
        return z ^ (z >> 31)

    x = mix(key ^ ((purpose * 0xD1B54A32D192ED03) & mask))
    x = mix((x + counter * 0x9E3779B97F4A7C15) & mask)
    return ((x >> 11) + 0.5) / 2.0**53


def test_counter_based_draws_are_splitmix64_of_key_purpose_and_counter() -> None:
    """Common random numbers across runs and versions rest on these exact values."""
    keys = KEYS[:50]
    for purpose, counter in ((Purpose.COVERAGE, 0), (Purpose.APPEAL, 3), (Purpose.LISTED, 7)):
        expected = [_splitmix_by_hand(int(k), int(purpose), counter) for k in keys]
        assert uniform(keys, purpose, counter).tolist() == expected
    counters = np.arange(50, dtype=np.uint64)
    by_counter = [_splitmix_by_hand(int(k), 1, int(c)) for k, c in zip(keys, counters, strict=True)]
    assert uniform(keys, Purpose.COVERAGE, counters).tolist() == by_counter

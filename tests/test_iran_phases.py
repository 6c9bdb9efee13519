"""The Iran registry scenario holds its brand-by-brand phasing (record fact 2): no phone of a brand
is cut off before its brand's date, and phones of a brand in use before that date are kept."""

from __future__ import annotations

import numpy as np

from simlock.model.engine import simulate_variant
from simlock.model.population import generate
from simlock.scenario.loader import load_scenario
from tests.cli_helpers import ROOT

SCENARIO = ROOT / "scenarios" / "iran-registry-2018.yaml"


def test_each_brand_is_cut_off_only_from_its_phase_and_earlier_phones_are_kept() -> None:
    scenario = load_scenario(SCENARIO)
    population = generate(scenario, 0, scale=0.02)
    result = simulate_variant(scenario, population, scenario.policy, "baseline", 0)
    outcomes = np.array(result.outcomes)[result.outcome]
    book = population.codebook
    phases = {
        name: float((phase.from_ - scenario.start).days)
        for phase in scenario.policy.phases
        for name in phase.cohorts or []
    }
    assert set(phases) == set(book.cohorts) == {"iphone", "xiaomi", "samsung", "other"}
    assert phases["iphone"] < phases["other"] < phases["xiaomi"] < phases["samsung"]
    cohort_of_considered = population.cohort[result.considered]
    for name, day in phases.items():
        code = book.cohorts.index(name)
        locked = np.isfinite(result.locked) & (cohort_of_considered == code)
        assert locked.sum() > 0, name
        assert (result.locked[locked] >= day).all(), name
        of_cohort = population.cohort == code
        kept = of_cohort & (outcomes == "kept_before_registry")
        assert kept.sum() > 0, name
        assert (population.activated[kept] < day).all(), name
        subject = of_cohort & np.isin(outcomes, ["registered", "locked_at_end", "pending_at_end"])
        assert (population.activated[subject] >= day).all(), name


def test_every_brand_at_once_locks_more_than_the_phasing() -> None:
    scenario = load_scenario(SCENARIO)
    population = generate(scenario, 0, scale=0.02)
    locks = {
        name: int(
            np.isfinite(
                simulate_variant(scenario, population, scenario.variant(name), name, 0).locked
            ).sum()
        )
        for name in ("baseline", "all-brands-at-once")
    }
    assert locks["all-brands-at-once"] > 1.3 * locks["baseline"]

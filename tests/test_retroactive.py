"""A lock delay reaches across a window's opening: a window decides devices activated before it
opens. The report says when, and the loader warns where it is likely to matter (issue 16, item 3).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import simlock
from simlock.model.policy import delay_quantile as engine_quantile
from simlock.report.describe import describe_changes, describe_policy
from simlock.scenario.loader import load_with_warnings
from simlock.scenario.models import Policy
from simlock.scenario.retroactive import delay_quantile, window_reaches
from simlock.scenario.yamlio import read_yaml
from tests.engine_helpers import make_scenario

SEPTEMBER = Path(__file__).parent.parent / "scenarios" / "september-2021.yaml"
THIRTY_DAYS = {"lock_delay": {"distribution": "fixed", "days": 30}}
ONE_WINDOW = {
    "end": "2021-09-30",
    "policy": {
        "windows": [{"name": "crackdown", "start": "2021-08-01", "end": "2021-09-01"}],
    },
}
"""The engine tests' world (constant rates from 1 June) with one window opening on 1 August."""


def september(variants: dict[str, Any]) -> dict[str, Any]:
    data, _ = read_yaml(SEPTEMBER)
    data = copy.deepcopy(data)
    data["variants"].update(variants)
    return data


def test_a_thirty_day_delay_warns_naming_the_variant_the_delay_and_each_window() -> None:
    _, warnings = load_with_warnings(september({"delay30": THIRTY_DAYS}))
    about = [w for w in warnings if w.startswith("variants.delay30.lock_delay:")]
    assert len(about) == 3, warnings
    trickle, build, surge = about
    assert "window 'trickle' (opening 2021-05-15)" in trickle and "before it opens" in trickle
    assert "an estimated 15% of its decisions" in trickle
    assert "window 'build' (opening 2021-09-01)" in build
    assert "window 'surge' (opening 2021-09-06)" in surge
    for window in (build, surge):
        assert "more than 7 days (its look-back) before it opens" in window
        assert "up to 30 days" in window


def test_the_2021_baseline_has_no_such_warning() -> None:
    """A 3-day median delay reaches across the trickle's opening too, but for about 3% of its
    decisions; the build's and the surge's 7-day look-backs cover nearly all its delay reaches."""
    _, warnings = load_with_warnings(SEPTEMBER)
    assert not [w for w in warnings if ".lock_delay:" in w]
    scenario = simlock.load_scenario(SEPTEMBER)
    shares = {r.name: r.before_share for r in window_reaches(scenario, scenario.policy)}
    assert 0.02 < shares["trickle"] < 0.05
    assert shares["build"] < 0.01 and shares["surge"] < 0.01


@pytest.mark.slow
def test_the_estimate_is_what_the_engine_does() -> None:
    """With a fixed 30-day delay and a window opening two months into the run, the devices the
    engine locks in the window include those activated up to 30 days before it opens, in the
    share the loader's warning states."""
    scenario = make_scenario(ONE_WINDOW, {"policy": THIRTY_DAYS})
    (reach,) = window_reaches(scenario, scenario.policy)
    assert reach.before_share == pytest.approx(30 / 31, abs=1e-9)
    results = simlock.run(scenario, replications=1)
    locked = results.devices[results.devices["locked"].notna()]
    opening = (scenario.policy.windows[0].start - scenario.start).days
    before = locked["activated"] < opening
    assert before.mean() == pytest.approx(reach.before_share, abs=0.03)
    assert locked.loc[before, "activated"].min() >= opening - 30
    # The same world without a delay decides only devices activated while the window is open.
    prompt = make_scenario(
        ONE_WINDOW, {"policy": {"lock_delay": {"distribution": "fixed", "days": 0}}}
    )
    locked = simlock.run(prompt, replications=1).devices.dropna(subset=["locked"])
    assert len(locked) and (locked["activated"] >= opening).all()
    assert window_reaches(prompt, prompt.policy)[0].before_share == 0


def test_the_report_says_when_a_window_applies_to_devices_activated_before_it() -> None:
    scenario = make_scenario(ONE_WINDOW, {"policy": THIRTY_DAYS})
    words = describe_policy(scenario.policy, scenario)["before_start"]
    assert "up to 30 days before it opens" in words
    assert "an estimated 97% of the decisions of 'crackdown'" in words
    prompt = make_scenario(
        ONE_WINDOW, {"policy": {"lock_delay": {"distribution": "fixed", "days": 0}}}
    )
    assert "none is decided in it" in describe_policy(prompt.policy, prompt)["before_start"]
    whole_run = make_scenario({"policy": THIRTY_DAYS})  # no windows: enforcement from the start
    assert "before_start" not in describe_policy(whole_run.policy, whole_run)


def test_a_variant_that_changes_the_delay_says_how_far_back_its_windows_reach() -> None:
    scenario = simlock.load_scenario(september({"delay30": THIRTY_DAYS}))
    changes = " ".join(describe_changes(scenario.variant("delay30"), scenario.policy, scenario))
    assert "up to 30 days before it opens" in changes
    assert "15% of the decisions of 'trickle'" in changes


@pytest.mark.parametrize(
    "delay",
    [
        {"distribution": "fixed", "days": 2.5},
        {"distribution": "uniform", "low_days": 1, "high_days": 9},
        {"distribution": "exponential", "mean_days": 4},
        {"distribution": "lognormal", "median_days": 3, "sigma": 0.5},
        {"distribution": "empirical", "values_days": [5, 1, 3], "weights": [1, 2, 1]},
    ],
)
def test_the_estimate_uses_the_engine_s_delay_distribution(delay: dict[str, Any]) -> None:
    policy = Policy.model_validate({"banned": ["CU"], "lock_delay": delay})
    u = np.array([0.001, 0.1, 0.25, 0.5, 0.6, 0.9, 0.99])
    engine = engine_quantile(policy.lock_delay, u)
    mine = [delay_quantile(policy.lock_delay, float(x)) for x in u]
    assert mine == pytest.approx(engine.tolist(), rel=1e-9)

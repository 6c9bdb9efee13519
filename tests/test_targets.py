"""`policy.targets`: what a policy means to hit decides which locks are targeted and which are
collateral, in the metrics, the report's words and the trade-off figure (issue 16, item 1)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

import simlock
from simlock.analysis.results import Results
from simlock.errors import ScenarioError
from simlock.report import figures
from simlock.report.describe import describe_policy
from simlock.report.document import render_markdown
from simlock.report.run_report import build_document
from simlock.scenario.loader import load_with_warnings
from simlock.scenario.models import DEFAULT_TARGET_CHANNEL, Policy
from tests.engine_helpers import BASE, make_scenario

LOOTED = {
    "regions": [
        {**BASE["regions"][0], "channels": {"looted": 0.8, "traveller": 0.2}},
        BASE["regions"][1],
    ],
}
"""The engine tests' world with its grey channel called `looted`."""


def overall(results: Results, variant: str = "baseline") -> dict[str, float]:
    rows = results.summary[
        (results.summary["group"] == "all") & (results.summary["variant"] == variant)
    ]
    return {str(r["metric"]): float(r["mean"]) for _, r in rows.iterrows()}


def test_locks_of_a_targeted_channel_not_named_grey_import_are_targeted() -> None:
    scenario = make_scenario(LOOTED, {"policy": {"targets": {"channels": ["looted"]}}})
    results = simlock.run(scenario, replications=2)
    devices = results.devices
    locked = devices[devices["locked"].notna()]
    looted_in_cuba = int(((locked["channel"] == "looted") & (locked["region"] == "CU")).sum())
    assert looted_in_cuba > 0
    numbers = overall(results)
    # Replication 0 is the detail replication: its looted locks are its targeted locks.
    per_rep = results.replicates
    targeted_0 = per_rep[
        (per_rep["group"] == "all")
        & (per_rep["metric"] == "targeted_locks")
        & (per_rep["replication"] == 0)
    ]["value"]
    assert float(targeted_0.iloc[0]) == looted_in_cuba
    assert numbers["targeted_locks"] + numbers["collateral_locks"] == numbers["users_affected"]
    assert numbers["collateral_locks"] < numbers["targeted_locks"]
    assert numbers["grey_market_share_of_locked"] > 0.5


def test_the_same_world_without_targets_counts_the_looted_channel_as_collateral() -> None:
    """What the analyst of issue 16 saw, kept for a file that does not say what it targets: and
    the loader warns about it."""
    scenario = make_scenario(LOOTED)
    numbers = overall(simlock.run(scenario, replications=1))
    assert numbers["targeted_locks"] == 0
    assert numbers["collateral_locks"] == numbers["users_affected"] > 0
    data = copy.deepcopy(BASE)
    data["regions"] = LOOTED["regions"]
    _, warnings = load_with_warnings(data)
    assert any(w.startswith("policy.targets:") and "looted" in w for w in warnings)


def test_a_variant_targets_its_own_channels() -> None:
    scenario = make_scenario(
        {"variants": {"travellers-too": {"targets": {"channels": ["grey_import", "traveller"]}}}}
    )
    results = simlock.run(scenario, replications=1)
    base, wide = overall(results), overall(results, "travellers-too")
    assert base["users_affected"] == wide["users_affected"]  # the same locks...
    assert wide["targeted_locks"] > base["targeted_locks"]  # ...counted differently
    assert wide["collateral_travellers"] == 0 < base["collateral_travellers"]
    # Words over both variants name no one variant's targets.
    label = figures.tradeoff(results).axes[0].get_xlabel()
    assert "channels each variant targets" in label and "grey import channel" not in label


def test_the_default_target_is_grey_import_and_says_so() -> None:
    policy = Policy.model_validate(
        {"banned": ["CU"], "lock_delay": {"distribution": "fixed", "days": 1}}
    )
    assert policy.targets.channels == [DEFAULT_TARGET_CHANNEL] == ["grey_import"]
    schema = Policy.model_json_schema()
    assert schema["properties"]["targets"]["default"] == {
        "channels": ["grey_import"],
        "unregistered": False,
    }
    assert "default: {channels: [grey_import]}" in schema["properties"]["targets"]["description"]


@pytest.mark.parametrize(
    ("override", "path"),
    [
        ({"policy": {"targets": {"channels": ["loted"]}}}, "policy.targets.channels[0]"),
        (
            {"variants": {"v": {"targets": {"channels": ["looted", "travelers"]}}}},
            "variants.v.targets.channels[1]",
        ),
    ],
)
def test_a_target_channel_no_region_has_is_an_error(override: dict[str, Any], path: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        make_scenario(LOOTED, override)
    (problem,) = caught.value.problems
    assert problem.path == path
    assert "did you mean" in problem.message
    assert "looted" in (problem.allowed or "")


def test_the_report_names_the_policy_targets() -> None:
    scenario = make_scenario(LOOTED, {"policy": {"targets": {"channels": ["looted"]}}})
    words = describe_policy(scenario.policy, scenario)["targets"]
    assert "looted channel" in words and "grey" not in words
    results = simlock.run(scenario, replications=1)
    text = render_markdown(build_document(results, None, []), title="t")
    assert "devices of the looted channel in banned territories" in text
    assert "grey import channel" not in text
    figure = figures.tradeoff(results)
    assert "looted channel" in figure.axes[0].get_xlabel()

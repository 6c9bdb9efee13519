"""A world with no activation at all runs: its tasks have no daily rows, and the consistency
check reads their daily totals as zero (the fuzzer found a registry scenario at rate 0 refused
as a simlock bug)."""

from __future__ import annotations

import simlock
from tests.cli_helpers import small_doc


def test_a_scenario_without_activations_runs_and_locks_no_one() -> None:
    doc = small_doc()
    for region in doc["regions"]:
        for segment in region["activations"]:
            segment["rate_per_day"] = 0
    doc["expectations"] = []
    scenario = simlock.load_scenario(doc)
    results = simlock.run(scenario, replications=2, workers=1, detail_replications=1)
    users = results.metric("users_affected")
    assert (users["mean"] == 0).all()
    assert results.daily["newly_locked"].sum() == 0

"""The 2021 scenario's search file: the scenario itself (by `extends:`), with a search section."""

from __future__ import annotations

from pathlib import Path

from simlock.scenario.loader import load_file

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def test_the_search_file_is_the_2021_scenario_with_a_search_section() -> None:
    original, _ = load_file(SCENARIOS / "september-2021.yaml")
    searched, _ = load_file(SCENARIOS / "september-2021-search.yaml")
    assert searched.model_dump(exclude={"search", "name"}) == original.model_dump(
        exclude={"search", "name"}
    )
    assert [o.metric for o in searched.search.objectives] == [
        "targeted_locks",
        "collateral_locks",
        "collateral_lock_days",
    ]
    assert {lever.path.split(".")[1] for lever in searched.search.levers} == {
        "detection",
        "lock_delay",
        "warning",
        "exemptions",
    }

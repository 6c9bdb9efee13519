"""The 2021 scenario's search file: the scenario itself, unchanged, with a search section."""

from __future__ import annotations

from pathlib import Path

import yaml

from simlock.scenario.loader import load_file

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def test_the_search_file_repeats_the_2021_scenario_and_validates() -> None:
    """No `extends:` in the format yet: the file is a copy, and must not drift from the original."""
    original = yaml.safe_load((SCENARIOS / "september-2021.yaml").read_text(encoding="utf-8"))
    searched = yaml.safe_load(
        (SCENARIOS / "september-2021-search.yaml").read_text(encoding="utf-8")
    )
    assert {k: v for k, v in searched.items() if k != "search"} == original
    scenario, _ = load_file(SCENARIOS / "september-2021-search.yaml")
    assert [o.metric for o in scenario.search.objectives] == [
        "targeted_locks",
        "collateral_locks",
        "collateral_lock_days",
    ]

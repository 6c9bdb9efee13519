"""The scenario layer's public functions raise simlock's own errors only: a `ScenarioError`
whose message is what `simlock validate` prints, never KeyError, ValueError or pydantic's
ValidationError, whatever the source (a file, a mapping, a Scenario built or changed by hand)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import simlock
from simlock.errors import ScenarioError, SimlockError
from simlock.scenario import fieldpaths
from simlock.scenario.loader import load_with_warnings
from tests.cli_helpers import SMALL, invoke, small_doc, write_yaml


def test_load_scenario_takes_a_file_a_mapping_or_a_scenario() -> None:
    from_file = simlock.load_scenario(SMALL)
    assert simlock.load_scenario(str(SMALL)) == from_file
    assert simlock.load_scenario(small_doc()) == from_file
    assert simlock.load_scenario(from_file) == from_file


def test_a_scenario_changed_by_hand_is_validated_again_whole() -> None:
    scenario = simlock.load_scenario(SMALL)
    changed = scenario.model_copy(update={"variants": {"late": {"lift": {"date": "2030-01-01"}}}})
    with pytest.raises(ScenarioError) as caught:
        simlock.load_scenario(changed)
    (problem,) = caught.value.problems
    assert problem.path == "variants.late.lift.date"
    assert "outside the run" in problem.message


@pytest.mark.parametrize("source", [42, None, ["a", "list"], b"bytes"])
def test_load_scenario_of_something_else_is_a_scenario_error(source: Any) -> None:
    with pytest.raises(ScenarioError, match="cannot load a scenario from") as caught:
        simlock.load_scenario(source)
    assert "a path to a YAML file, a mapping of fields, or a Scenario" in str(caught.value)


def test_a_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read the file"):
        simlock.load_scenario(tmp_path / "nowhere.yaml")


def test_a_bad_mapping_gives_the_messages_the_command_prints(tmp_path: Path) -> None:
    doc = small_doc()
    doc["regions"][0]["signals"]["vpn_share"] = 2
    file = write_yaml(tmp_path / "bad.yaml", doc)
    with pytest.raises(ScenarioError) as from_mapping:
        simlock.load_scenario(doc)
    printed = invoke("validate", file).stderr.strip()
    # The same message, the mapping's without a file and line.
    assert printed.endswith(str(from_mapping.value).removeprefix("<scenario>:"))


def test_an_unknown_variant_is_a_scenario_error_with_the_nearest_name() -> None:
    scenario = simlock.load_scenario(SMALL)
    with pytest.raises(ScenarioError) as caught:
        scenario.variant("no_lift")
    assert not isinstance(caught.value, KeyError)
    (problem,) = caught.value.problems
    assert problem.message == "no variant 'no_lift'; did you mean 'no-lift'?"
    assert problem.allowed == "baseline, no-lift, warn, exempt-allowed-sim"


def test_a_bad_variant_of_a_hand_built_scenario_names_its_field() -> None:
    scenario = simlock.load_scenario(SMALL)
    broken = scenario.model_copy(
        update={"variants": {"slow": {"warning": {"grace_days": -1}}, **scenario.variants}}
    )
    for call in (
        lambda: broken.variant("slow"),
        broken.policies,
        broken.warnings,
        lambda: load_with_warnings(broken),
    ):
        with pytest.raises(ScenarioError) as caught:
            call()
        (problem,) = caught.value.problems
        assert problem.path == "variants.slow.warning.grace_days"
        assert "greater than or equal to 0" in problem.message


def test_a_bad_sweep_path_is_a_simlock_error() -> None:
    with pytest.raises(SimlockError, match="empty field name"):
        fieldpaths.tokens("policy..coverage")
    doc = simlock.load_scenario(SMALL).model_dump(by_alias=True)
    with pytest.raises(SimlockError, match="no field 'coverag'"):
        fieldpaths.assign(doc, fieldpaths.tokens("policy.coverag"), 0.5, dry_run=True)

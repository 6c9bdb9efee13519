"""Every name that refers to another part of the scenario is checked against what it defines
(issue 16, item 2): an exempted channel, a channel exempted by a variant, a sweep parameter's
path (region ids, window names and field names in it), an expectation's variant, metric, region
and key, and a `--variant`. An unknown name is an error with file, line, field path, what is
defined, and the nearest name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import simlock
from simlock.errors import Problem, ScenarioError
from tests.cli_helpers import FAST, SMALL, invoke, small_doc, write_yaml


def only_problem(tmp_path: Path, doc: dict[str, Any]) -> Problem:
    file = write_yaml(tmp_path / "refs.yaml", doc)
    with pytest.raises(ScenarioError) as caught:
        simlock.load_scenario(file)
    (problem,) = caught.value.problems
    assert problem.file == str(file)
    assert problem.line is not None
    return problem


def line_of(problem: Problem) -> str:
    assert problem.file is not None and problem.line is not None
    return Path(problem.file).read_text(encoding="utf-8").splitlines()[problem.line - 1]


def test_an_exempted_channel_no_region_has_is_an_error(tmp_path: Path) -> None:
    doc = small_doc()
    doc["policy"]["exemptions"] = {"channels": ["traveller", "offical"]}
    problem = only_problem(tmp_path, doc)
    assert problem.path == "policy.exemptions.channels[1]"
    assert problem.message == "no region has a channel 'offical'; did you mean 'official'?"
    assert problem.allowed == "grey_import, traveller, official"
    assert "offical" in line_of(problem)


def test_a_channel_exempted_by_a_variant_is_checked_too(tmp_path: Path) -> None:
    doc = small_doc()
    doc["variants"]["spare-grey"] = {"exemptions": {"channels": ["grey-import"]}}
    problem = only_problem(tmp_path, doc)
    assert problem.path == "variants.spare-grey.exemptions.channels[0]"
    assert problem.message.endswith("did you mean 'grey_import'?")
    assert "grey-import" in line_of(problem)


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("regions.CUU.signals.vpn_share", "no item with id or name 'CUU'; did you mean 'CU'?"),
        ("policy.windows.surg.coverage", "no item with id or name 'surg'; did you mean 'surge'?"),
        ("policy.covrage", "no field 'covrage'; did you mean 'coverage'?"),
    ],
)
def test_a_sweep_parameter_naming_nothing_is_an_error_when_loaded(
    tmp_path: Path, path: str, says: str
) -> None:
    doc = small_doc()
    doc["sweep"] = {"design": "grid", "parameters": [{"path": path, "values": [0.1, 0.2]}]}
    problem = only_problem(tmp_path, doc)
    assert problem.path == "sweep.parameters[0].path"
    assert problem.message == f"{path!r}: {says}"
    assert path in line_of(problem)


@pytest.mark.parametrize(
    ("expectation", "path", "says"),
    [
        ({"variant": "no_lift"}, "expectations[0].variant", "did you mean 'no-lift'?"),
        ({"metric": "users_afected"}, "expectations[0].metric", "did you mean 'users_affected'?"),
        (
            {"metric": "region_share", "params": {"region": "UA43"}},
            "expectations[0].params.region",
            "no region 'UA43'; did you mean 'UA-43'?",
        ),
        (
            {"params": {"group": "channel", "key": "travellers"}},
            "expectations[0].params.key",
            "no channel 'travellers'; did you mean 'traveller'?",
        ),
    ],
)
def test_names_in_expectations_are_checked_with_the_nearest_name(
    tmp_path: Path, expectation: dict[str, Any], path: str, says: str
) -> None:
    doc = small_doc()
    doc["expectations"] = [{"name": "x", "metric": "users_affected", "min": 0, **expectation}]
    problem = only_problem(tmp_path, doc)
    assert problem.path == path
    assert problem.message.endswith(says)


def test_validate_prints_file_line_path_and_the_nearest_name(tmp_path: Path) -> None:
    doc = small_doc()
    doc["policy"]["exemptions"] = {"channels": ["offical"]}
    file = write_yaml(tmp_path / "refs.yaml", doc)
    result = invoke("validate", file)
    assert result.exit_code == 2
    line = next(i for i, t in enumerate(file.read_text().splitlines(), 1) if "offical" in t)
    assert result.stderr.replace("\n", " ").startswith(
        f"{file}:{line}: policy.exemptions.channels[0]: no region has a channel 'offical'; "
        "did you mean 'official'?"
    )


def test_an_unknown_variant_on_the_command_line_gets_the_nearest_name(tmp_path: Path) -> None:
    result = invoke("run", SMALL, "-o", tmp_path / "out", "--variant", "no_lift", *FAST)
    assert result.exit_code == 2
    assert "no variant named no_lift; did you mean 'no-lift'?" in result.stderr.replace("\n", " ")

"""Reuse (issue 16, item 4): `extends: other.yaml` builds a scenario on another file (relative
path, deep merge by the variants' rules, chains allowed, cycles and missing files refused with a
clear message), and a variant changes one window by its name while a list replaces them all.
Problems are reported in the file and at the line that holds the value."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import simlock
from simlock.errors import Problem, ScenarioError
from tests.cli_helpers import SCHEMA_FILE, SMALL, invoke, small_doc, write_yaml


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def only_problem(source: Any) -> Problem:
    with pytest.raises(ScenarioError) as caught:
        simlock.load_scenario(source)
    (problem,) = caught.value.problems
    return problem


def line_of(problem: Problem) -> str:
    assert problem.file is not None and problem.line is not None
    return Path(problem.file).read_text(encoding="utf-8").splitlines()[problem.line - 1]


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """small.yaml in a folder of its own, for files elsewhere to extend."""
    target = tmp_path / "shipped" / "small.yaml"
    target.parent.mkdir()
    shutil.copy(SMALL, target)
    return target


# -- extends -----------------------------------------------------------------------------------


def test_a_file_that_extends_another_changes_only_what_it_says(tmp_path: Path, base: Path) -> None:
    child = write(
        tmp_path / "mine" / "longer-surge.yaml",
        "extends: ../shipped/small.yaml\n"
        "name: longer-surge\n"
        "policy:\n"
        "  windows:\n"
        "    surge: {end: 2021-09-20}\n"
        "  lift: {date: 2021-09-20}\n"
        "regions:\n"
        "  CU:\n"
        "    signals: {vpn_share: 0.3}\n",
    )
    original = simlock.load_scenario(base)
    scenario = simlock.load_scenario(child)
    assert scenario.name == "longer-surge"
    assert [(w.name, w.end) for w in scenario.policy.windows] == [
        ("trickle", dt.date(2021, 9, 1)),
        ("surge", dt.date(2021, 9, 20)),
    ]
    assert scenario.policy.windows[1].coverage == original.policy.windows[1].coverage
    assert scenario.policy.lift is not None and scenario.policy.lift.unlock is True
    assert scenario.regions[0].signals.vpn_share == 0.3
    assert scenario.regions[0].signals.vpn_exit == original.regions[0].signals.vpn_exit
    unchanged = {"regions", "policy", "name"}
    assert scenario.model_dump(exclude=unchanged) == original.model_dump(exclude=unchanged)
    assert scenario.regions[1:] == original.regions[1:]
    assert scenario.variants == original.variants


def test_a_list_in_an_extending_file_replaces_the_whole_list(tmp_path: Path, base: Path) -> None:
    child = write(
        tmp_path / "one-window.yaml",
        "extends: shipped/small.yaml\n"
        "policy:\n"
        "  windows:\n"
        "    - {name: all-summer, start: 2021-06-15, end: 2021-09-14, coverage: 0.5}\n",
    )
    assert [w.name for w in simlock.load_scenario(child).policy.windows] == ["all-summer"]


def test_null_removes_a_window_and_an_optional_part(tmp_path: Path, base: Path) -> None:
    child = write(
        tmp_path / "c.yaml",
        "extends: shipped/small.yaml\npolicy:\n  windows: {trickle: null}\n  appeals: null\n",
    )
    scenario = simlock.load_scenario(child)
    assert [w.name for w in scenario.policy.windows] == ["surge"]
    assert scenario.policy.appeals is None


def test_extends_can_chain(tmp_path: Path, base: Path) -> None:
    write(tmp_path / "middle.yaml", "extends: shipped/small.yaml\nreplications: 5\nseed: 11\n")
    top = write(tmp_path / "deep" / "top.yaml", "extends: ../middle.yaml\nseed: 12\n")
    scenario = simlock.load_scenario(top)
    assert (scenario.replications, scenario.seed, scenario.name) == (5, 12, "small")


def test_a_cycle_is_refused_naming_the_files(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "a.yaml", "extends: b.yaml\nname: a\n")
    write(tmp_path / "b.yaml", "extends: a.yaml\nname: b\n")
    problem = only_problem(tmp_path / "a.yaml")
    assert problem.message == (
        "a.yaml leads back to a file already being extended: a cycle (a.yaml -> b.yaml -> a.yaml)"
    )
    assert problem.file == str(tmp_path / "b.yaml") and problem.path == "extends"
    assert line_of(problem) == "extends: a.yaml"
    itself = write(tmp_path / "self.yaml", "extends: self.yaml\n")
    assert "a cycle (self.yaml -> self.yaml)" in only_problem(itself).message


def test_a_missing_base_is_a_clear_error(tmp_path: Path) -> None:
    child = write(tmp_path / "c.yaml", "name: c\nextends: scenarios/nowhere.yaml\n")
    problem = only_problem(child)
    assert problem.path == "extends" and problem.line == 2 and problem.file == str(child)
    assert problem.message == (
        f"scenarios/nowhere.yaml does not exist ({tmp_path / 'scenarios' / 'nowhere.yaml'})"
    )
    result = invoke("validate", child)
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_extends_must_name_a_file(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path / "c.yaml", "extends: [a.yaml]\n"))
    assert problem.message == "extends names another scenario file; got ['a.yaml']"


def test_a_problem_is_reported_in_the_file_that_holds_the_value(tmp_path: Path, base: Path) -> None:
    child = write(
        tmp_path / "c.yaml",
        "extends: shipped/small.yaml\npolicy:\n  windows:\n    surge: {coverage: 1.5}\n",
    )
    problem = only_problem(child)
    assert (problem.file, problem.line) == (str(child), 4)
    assert problem.path == "policy.windows.surge.coverage"
    # A value from the base is reported in the base: a start after the base's segments.
    later = write(tmp_path / "later.yaml", "extends: shipped/small.yaml\nstart: 2021-07-01\n")
    with pytest.raises(ScenarioError) as caught:
        simlock.load_scenario(later)
    problems = caught.value.problems
    in_base = [p for p in problems if p.path.startswith("regions")]
    assert in_base and all(p.file == str(base) for p in in_base)
    assert "2021-06-01" in line_of(in_base[0])


def test_an_unknown_window_or_region_named_in_an_extending_file_is_an_error(
    tmp_path: Path, base: Path
) -> None:
    child = write(
        tmp_path / "c.yaml", "extends: shipped/small.yaml\nregions:\n  UA43: {name: Crimea}\n"
    )
    problem = only_problem(child)
    assert problem.path == "regions.UA43" and problem.line == 3
    assert problem.message == "no region 'UA43' to change; did you mean 'UA-43'?"
    assert problem.allowed == "CU, UA-43, RU; or a list, which replaces them all"


def test_a_mapping_extends_a_file_relative_to_the_current_folder(
    tmp_path: Path, base: Path, monkeypatch
) -> None:
    monkeypatch.chdir(base.parent)
    scenario = simlock.load_scenario({"extends": "small.yaml", "seed": 99})
    assert scenario.seed == 99 and scenario.name == "small"


# -- a variant changes one window by its name --------------------------------------------------


def variant_doc(override: dict[str, Any]) -> dict[str, Any]:
    doc = small_doc()
    doc["variants"] = {"longer": override}
    return doc


def test_a_variant_changes_one_window_by_name_and_keeps_the_others() -> None:
    scenario = simlock.load_scenario(variant_doc({"windows": {"surge": {"end": "2021-09-20"}}}))
    policy = scenario.variant("longer")
    assert [(w.name, w.end, w.coverage) for w in policy.windows] == [
        ("trickle", dt.date(2021, 9, 1), 0.05),
        ("surge", dt.date(2021, 9, 20), 0.6),
    ]


def test_a_list_of_windows_in_a_variant_still_replaces_them_all() -> None:
    window = {"name": "only", "start": "2021-07-01", "end": "2021-09-01"}
    scenario = simlock.load_scenario(variant_doc({"windows": [window]}))
    assert [w.name for w in scenario.variant("longer").windows] == ["only"]


def test_a_misspelt_window_in_a_variant_is_an_error_at_its_line(tmp_path: Path) -> None:
    file = write_yaml(
        tmp_path / "v.yaml", variant_doc({"windows": {"surg": {"end": "2021-09-20"}}})
    )
    problem = only_problem(file)
    assert problem.path == "variants.longer.windows.surg"
    assert problem.message == "no window 'surg' to change; did you mean 'surge'?"
    assert "surg:" in line_of(problem)


def test_a_bad_value_in_a_window_changed_by_name_is_reported_by_its_name(tmp_path: Path) -> None:
    file = write_yaml(
        tmp_path / "v.yaml", variant_doc({"windows": {"surge": {"end": "2021-12-20"}}})
    )
    problem = only_problem(file)
    assert problem.path == "variants.longer.windows.surge.end"
    assert "after the run ends" in problem.message
    assert "2021-12-20" in line_of(problem)


# -- the JSON Schema knows both --------------------------------------------------------------


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))


def test_the_schema_accepts_windows_by_name_and_extending_files(
    validator: Draft202012Validator,
) -> None:
    doc = json.loads(
        json.dumps(variant_doc({"windows": {"surge": {"end": "2021-09-20"}}}), default=str)
    )
    assert list(validator.iter_errors(doc)) == []
    extending = {
        "extends": "small.yaml",
        "policy": {"windows": {"surge": {"end": "2021-09-20"}}, "lift": None},
        "regions": {"CU": {"signals": {"vpn_share": 0.3}}},
    }
    assert list(validator.iter_errors(extending)) == []


def test_the_schema_still_requires_whole_parts_without_extends(
    validator: Draft202012Validator,
) -> None:
    partial = {"name": "x", "start": "2021-06-01", "end": "2021-10-01", "regions": {"CU": {}}}
    messages = [e.message for e in validator.iter_errors(partial)]
    assert "'policy' is a required property" in messages
    assert any("is not of type 'array'" in m for m in messages)
    broken = {"extends": "small.yaml", "policy": {"windows": {"surge": {"coverag": 1}}}}
    assert list(validator.iter_errors(broken)) != []

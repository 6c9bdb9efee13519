"""Validation as a specification: every rule of the scenario format, broken once in a file of
tests/data/bad/, is reported with the file, the line, the field path, what is wrong and what is
allowed, the same way by `simlock validate` (exit code 2) and by `simlock.load_scenario`.

Each bad file says what it expects in its first lines (`# expect path:`, `# expect message:`,
`# expect allowed:`) and marks the line the problem must point at with `# <- here`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

import simlock
from simlock.errors import Problem, ScenarioError
from simlock.scenario.models import Scenario
from tests.cli_helpers import BAD, SHIPPED, SMALL, invoke, small_doc, write_yaml

BAD_FILES = sorted(BAD.glob("*.yaml"))


@dataclass(frozen=True)
class Expected:
    path: str
    message: str
    allowed: str | None
    line: int | None


def expected(file: Path) -> Expected:
    lines = file.read_text(encoding="utf-8").splitlines()
    fields = dict(
        re.match(r"# expect (\w+):(.*)", line).groups()  # type: ignore[union-attr]
        for line in lines
        if line.startswith("# expect ")
    )
    marked = [number for number, line in enumerate(lines, 1) if line.endswith("# <- here")]
    assert len(marked) <= 1, f"{file.name}: mark one line at most"
    allowed = fields.get("allowed")
    return Expected(
        path=fields["path"].strip(),
        message=fields["message"].strip(),
        allowed=allowed.strip() if allowed is not None else None,
        line=marked[0] if marked else None,
    )


def problems_of(file: Path) -> list[Problem]:
    with pytest.raises(ScenarioError) as caught:
        simlock.load_scenario(file)
    return caught.value.problems


def test_there_is_a_bad_file_for_every_rule_named_in_issue_2() -> None:
    names = {f.stem for f in BAD_FILES}
    for rule in (
        "end-before-start",
        "share-above-one",
        "channel-shares-do-not-sum-to-one",
        "window-outside-the-run",
        "variant-overrides-an-unknown-field",
        "lift-before-the-first-window",
        "not-yaml",
        "not-a-mapping",
        "wrong-type-number",
        "unknown-top-level-field",
        "region-ids-repeated",
        "segment-dates-do-not-increase",
        "checkin-jitter-too-large",
        "uniform-delay-high-below-low",
    ):
        assert rule in names


@pytest.mark.parametrize("file", BAD_FILES, ids=lambda f: f.stem)
def test_each_bad_file_gives_exactly_its_problem_at_its_line(file: Path) -> None:
    want = expected(file)
    problems = problems_of(file)
    assert len(problems) == 1, "\n".join(map(str, problems))
    problem = problems[0]
    assert problem.file == str(file)
    assert problem.path == want.path
    assert want.message in problem.message
    if want.allowed is not None:
        assert problem.allowed is not None
        assert want.allowed in problem.allowed
    assert problem.line == want.line


@pytest.mark.parametrize("file", BAD_FILES, ids=lambda f: f.stem)
def test_validate_prints_the_same_problem_and_exits_2(file: Path) -> None:
    result = invoke("validate", file)
    assert result.exit_code == 2
    assert result.stdout == ""
    printed = [line for line in result.stderr.splitlines() if line]
    assert printed == [str(p) for p in problems_of(file)]
    want = expected(file)
    where = f"{file}:{want.line}:" if want.line is not None else f"{file}:"
    assert printed[0].startswith(where)
    if want.path:
        assert f" {want.path}: " in printed[0]
    if want.allowed is not None:
        assert printed[0].endswith(")") and "(allowed: " in printed[0]
    assert "Traceback" not in result.output


def test_a_problem_reads_file_line_path_message_allowed() -> None:
    problem = Problem(
        "Input should be less than or equal to 1; got 1.5",
        path="regions[0].signals.vpn_share",
        file="world.yaml",
        line=28,
        allowed="a number from 0 to 1",
    )
    assert str(problem) == (
        "world.yaml:28: regions[0].signals.vpn_share: Input should be less than or equal to 1; "
        "got 1.5 (allowed: a number from 0 to 1)"
    )
    assert str(Problem("file is empty")) == "<scenario>: file is empty"


@pytest.mark.parametrize("file", SHIPPED, ids=lambda f: f.name)
def test_every_shipped_scenario_is_valid(file: Path) -> None:
    result = invoke("validate", file)
    assert result.exit_code == 0, result.output
    assert f"{file}: ok" in result.stdout


def test_every_problem_in_a_file_is_reported_not_only_the_first(tmp_path: Path) -> None:
    doc = small_doc()
    doc["replications"] = 0
    doc["regions"][0]["signals"]["vpn_share"] = 2
    doc["policy"]["coverag"] = 0.5
    problems = problems_of(write_yaml(tmp_path / "three.yaml", doc))
    assert {p.path for p in problems} == {
        "replications",
        "regions[0].signals.vpn_share",
        "policy.coverag",
    }
    assert all(p.line is not None for p in problems)


def test_problems_of_several_variants_are_all_reported(tmp_path: Path) -> None:
    doc = small_doc()
    doc["variants"]["warn"] = {"warning": {"grace_days": -1}}
    doc["variants"]["no-lift"] = {"lift": {"date": dt.date(2022, 1, 1)}}
    problems = problems_of(write_yaml(tmp_path / "variants.yaml", doc))
    assert [p.path for p in problems] == [
        "variants.no-lift.lift.date",
        "variants.warn.warning.grace_days",
    ]


def test_validate_checks_every_file_and_says_which_are_fine(tmp_path: Path) -> None:
    bad = BAD / "share-above-one.yaml"
    result = invoke("validate", SMALL, bad, tmp_path / "missing.yaml")
    assert result.exit_code == 2
    assert f"{SMALL}: ok (3 regions, 4 variants" in result.stdout
    assert f"{bad}:" in result.stderr
    assert f"{tmp_path / 'missing.yaml'}: cannot read the file: No such file or directory" in (
        result.stderr
    )


def test_a_banned_territory_no_region_has_is_a_warning_and_exit_0(tmp_path: Path) -> None:
    doc = small_doc()
    doc["policy"]["banned"] = ["CU", "UA-43", "KP"]
    file = write_yaml(tmp_path / "kp.yaml", doc)
    result = invoke("validate", file)
    assert result.exit_code == 0
    assert f"{file}: ok" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert warnings == [
        f"{file}: warning: policy.banned: KP is banned but no region has that id "
        "(only detection errors can point there)"
    ]
    scenario, found = simlock.scenario.loader.load_with_warnings(file)
    assert len(found) == 1 and "KP" in found[0]
    assert "KP" in scenario.policy.banned


def test_a_variant_that_bans_a_missing_territory_is_warned_about_itself(tmp_path: Path) -> None:
    doc = small_doc()
    doc["variants"]["wider"] = {"banned": ["CU", "IR"]}
    scenario = simlock.load_scenario(write_yaml(tmp_path / "wider.yaml", doc))
    assert scenario.warnings() == [
        "variants.wider.banned: IR is banned but no region has that id "
        "(only detection errors can point there)"
    ]


def test_a_folder_or_a_missing_file_is_reported_without_a_traceback(tmp_path: Path) -> None:
    for path, says in (
        (tmp_path, "is a folder, not a scenario file"),
        (tmp_path / "nope.yaml", "cannot read the file: No such file or directory"),
    ):
        problems = problems_of(path)
        assert [str(p) for p in problems] == [f"{path}: {says}"]


def test_an_unreadable_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "locked.yaml"
    file.write_text(SMALL.read_text())

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert [str(p) for p in problems_of(file)] == [
        f"{file}: cannot read the file: Permission denied"
    ]


def test_a_mapping_is_validated_like_a_file_without_a_file_name() -> None:
    doc = small_doc()
    doc["end"] = dt.date(2021, 5, 1)
    with pytest.raises(ScenarioError) as caught:
        simlock.load_scenario(doc)
    (problem,) = caught.value.problems
    assert problem.file is None and problem.line is None
    assert str(problem) == (
        "<scenario>: end: end 2021-05-01 must come after start 2021-06-01 "
        "(allowed: a date after 2021-06-01 (end is the first day after the run))"
    )
    assert str(caught.value) == str(problem)


def test_dates_written_as_text_in_a_mapping_are_dates() -> None:
    doc = small_doc()
    doc["start"], doc["end"] = "2021-06-01", "2021-10-01"
    assert simlock.load_scenario(doc).days == 122


def test_field_names_must_be_text(tmp_path: Path) -> None:
    file = tmp_path / "numbers.yaml"
    file.write_text(SMALL.read_text() + "2021: year\n")
    (problem,) = problems_of(file)
    assert problem.message == "field names must be text, found 2021"
    assert problem.line == len(SMALL.read_text().splitlines()) + 1


def test_a_nested_key_that_is_a_number_is_named_as_written(tmp_path: Path) -> None:
    doc = small_doc()
    doc["regions"][2]["channels"] = {1: 1.0}
    (problem,) = problems_of(write_yaml(tmp_path / "key.yaml", doc))
    assert problem.path == "regions[2].channels.1"
    assert "a name of lowercase letters" in (problem.allowed or "")


def test_too_many_windows_are_refused(tmp_path: Path) -> None:
    doc = small_doc()
    doc["policy"]["windows"] = [
        {"name": f"w{i}", "start": dt.date(2021, 6, 2), "end": dt.date(2021, 6, 3)}
        for i in range(101)
    ]
    (problem,) = problems_of(write_yaml(tmp_path / "windows.yaml", doc))
    assert problem.path == "policy.windows"
    assert "at most 100 items" in problem.message


def test_a_hand_built_scenario_validates_its_variants_on_first_use() -> None:
    scenario = simlock.load_scenario(small_doc())
    broken = scenario.model_copy(
        update={"variants": {"late": {"lift": {"date": dt.date(2021, 6, 2)}}}}
    )
    with pytest.raises(ScenarioError, match="comes before the first window"):
        broken.variant("late")
    with pytest.raises(ScenarioError, match="no variant 'nope'"):
        scenario.variant("nope")


def test_model_copy_with_an_update_is_how_sweeps_change_a_scenario() -> None:
    scenario = simlock.load_scenario(SMALL)
    lenient = scenario.model_copy(update={"policy": scenario.variant("no-lift")})
    assert lenient.policy.lift is None
    assert scenario.policy.lift is not None
    assert isinstance(lenient, Scenario)


def test_a_variant_that_changes_the_delay_distribution_replaces_the_delay(tmp_path: Path) -> None:
    doc = small_doc()
    doc["variants"] = {"instant": {"lock_delay": {"distribution": "fixed", "days": 0}}}
    scenario = simlock.load_scenario(write_yaml(tmp_path / "instant.yaml", doc))
    assert scenario.variant("instant").lock_delay.model_dump() == {
        "distribution": "fixed",
        "days": 0.0,
    }


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("grey\nimport", '["grey\\nimport"]'),
        ("grey\n", '["grey\\n"]'),
        ("\x85", '["\\u0085"]'),
        ("\u2028", '["\\u2028"]'),
        ("gris importé", '["gris importé"]'),
    ],
    ids=["line-break", "trailing-line-break", "next-line", "line-separator", "accents"],
)
def test_a_key_that_is_not_a_plain_name_is_quoted_so_a_problem_stays_on_one_line(
    key: str, shown: str
) -> None:
    doc = small_doc()
    doc["regions"][0]["channels"][key] = 0.0
    with pytest.raises(ScenarioError) as caught:
        simlock.load_scenario(doc)
    (problem,) = caught.value.problems
    assert problem.path == f"regions[0].channels{shown}"
    assert len(str(problem).splitlines()) == 1


def test_the_order_windows_are_written_in_does_not_change_the_scenario() -> None:
    doc = small_doc()
    written = simlock.load_scenario(doc)
    doc["policy"]["windows"].reverse()
    reversed_ = simlock.load_scenario(doc)
    assert [w.name for w in reversed_.policy.windows] == ["trickle", "surge"]
    assert reversed_ == written


def test_a_variant_overriding_coverage_under_windows_is_warned_as_ignored() -> None:
    """`coverage` applies only without windows; a variant changing it alone changes nothing."""
    doc = small_doc()
    doc["variants"] = {"half": {"coverage": 0.5}, "no-windows": {"windows": [], "coverage": 0.5}}
    warnings = simlock.load_scenario(doc).warnings()
    assert any(w.startswith("variants.half.coverage: ignored") for w in warnings), warnings
    assert not any("no-windows" in w for w in warnings)


def test_a_variant_window_outside_the_run_is_named_by_its_place_as_written(tmp_path: Path) -> None:
    """Windows are sorted by start once validated; a problem still points at the item written."""
    doc = small_doc()
    surge, trickle = reversed(doc["policy"]["windows"])
    doc["variants"] = {"early": {"windows": [surge, {**trickle, "start": dt.date(2021, 5, 15)}]}}
    file = write_yaml(tmp_path / "early.yaml", doc)
    (problem,) = problems_of(file)
    assert problem.path == "variants.early.windows[1].start"
    assert problem.message.startswith("window trickle opens on 2021-05-15")
    written = file.read_text(encoding="utf-8").splitlines()
    assert "2021-05-15" in written[problem.line - 1]  # type: ignore[operator]

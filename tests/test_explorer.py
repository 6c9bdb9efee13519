"""The explorer's logic without a browser: levers become a variant's override of the policy
(only what differs from the baseline), a bad value is `ScenarioError`'s plain text (what
`simlock validate` says), the exported YAML pasted under a scenario's `variants:` validates, the
world's levers change the world and not the variant, and a moved lever changes the figure."""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket
from pathlib import Path

import pytest
import yaml

from simlock.errors import ScenarioError
from simlock.explorer.model import REPLICATIONS, SCALE, VARIANT, Explorer, explore, set_lever
from simlock.scenario.loader import load_scenario
from tests.cli_helpers import ROOT, invoke

SEPTEMBER = ROOT / "scenarios" / "september-2021.yaml"


@pytest.fixture(scope="module")
def explorer() -> Explorer:
    return Explorer.from_scenario(load_scenario(SEPTEMBER))


def pasted(export: str, into: Path = SEPTEMBER) -> str:
    """The scenario file's text with `export` pasted, indented, right under `variants:`."""
    lines = into.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("variants:"))
    block = ["  " + line for line in export.splitlines()]
    return "\n".join([*lines[: at + 1], *block, *lines[at + 1 :]]) + "\n"


def load_text(text: str, tmp_path: Path):
    path = tmp_path / "pasted.yaml"
    path.write_text(text, encoding="utf-8")
    return load_scenario(path)


def test_the_baseline_levers_override_nothing(explorer: Explorer) -> None:
    base = explorer.baseline
    policy = load_scenario(SEPTEMBER).policy
    assert policy.lift is not None
    assert base.detection_rule == policy.detection.rule
    assert base.lock_delay_days == policy.lock_delay.median_days
    assert base.window_coverage == {w.name: w.coverage for w in policy.windows}
    assert base.window_lookback == {w.name: w.lookback_days for w in policy.windows}
    assert base.lift_on and base.lift_date == policy.lift.date
    assert not base.warning_on and not base.appeals_on
    assert explorer.override(base) == {}


def test_each_lever_maps_to_its_field_path(explorer: Explorer) -> None:
    levers = explorer.baseline
    for key, value in [
        ("detection_rule", "any"),
        ("detection_signals", ["sim"]),
        ("lock_delay_days", 7.5),
        ("window_coverage.surge", 0.2),
        ("window_lookback.surge", 3.0),
        ("lift_date", dt.date(2021, 9, 20)),
        ("exempt_allowed_sim", True),
        ("exempt_channels", ["traveller"]),
    ]:
        levers = set_lever(levers, key, value)
    assert explorer.override(levers) == {
        "detection": {"rule": "any", "signals": ["sim"]},
        "lock_delay": {"distribution": "lognormal", "median_days": 7.5},
        "windows": {"surge": {"coverage": 0.2, "lookback_days": 3.0}},
        "lift": {"date": dt.date(2021, 9, 20)},
        "exemptions": {"allowed_sim": True, "channels": ["traveller"]},
    }
    policy = explorer.scenario(levers).variant(VARIANT)
    assert policy.detection.signals == ["sim"]
    assert (policy.lock_delay.median_days, policy.lock_delay.sigma) == (7.5, 0.5)
    surge = next(w for w in policy.windows if w.name == "surge")
    trickle = next(w for w in policy.windows if w.name == "trickle")
    written = next(w for w in load_scenario(SEPTEMBER).policy.windows if w.name == "trickle")
    assert (surge.coverage, surge.lookback_days, trickle.coverage) == (0.2, 3.0, written.coverage)
    assert policy.lift is not None and policy.lift.date == dt.date(2021, 9, 20)


def test_switches_turn_on_with_the_scenarios_own_settings(explorer: Explorer) -> None:
    """Warning and appeals take the 2021 scenario's warn-first and retailer-appeals settings;
    the lift switched off is `lift: null`, as the no-lift variant writes it."""
    levers = dataclasses.replace(
        explorer.baseline, warning_on=True, appeals_on=True, appeals_agents=5, lift_on=False
    )
    override = explorer.override(levers)
    assert override["lift"] is None
    assert override["warning"] == {"grace_days": 3.0, "resolve_share": 0.3}
    assert override["appeals"]["agents"] == 5
    assert override["appeals"]["delay"] == {"distribution": "exponential", "mean_days": 2.0}
    policy = explorer.scenario(levers).variant(VARIANT)
    assert policy.lift is None and policy.warning is not None
    assert policy.appeals is not None and policy.appeals.approval_share == 0.5


def test_a_bad_value_is_the_plain_message_of_validate(explorer: Explorer, tmp_path: Path) -> None:
    """A lift before the first window: the page shows ScenarioError's text, the problem that
    `simlock validate` prints for a file with the exported variant."""
    levers = dataclasses.replace(explorer.baseline, lift_date=dt.date(2021, 5, 2))
    outcome = explore(explorer, levers)
    assert outcome.figures == {} and outcome.message is not None
    with pytest.raises(ScenarioError) as raised:
        explorer.scenario(levers)
    assert outcome.message == str(raised.value)
    assert "Traceback" not in outcome.message
    assert f"variants.{VARIANT}.lift.date" in outcome.message
    assert "comes before the first window (trickle" in outcome.message
    bad = tmp_path / "bad.yaml"
    bad.write_text(pasted(explorer.export_yaml(levers)), encoding="utf-8")
    printed = invoke("validate", bad)
    assert printed.exit_code == 2
    problem = outcome.message.split(": ", 1)[1]  # without "<scenario>:", which the file names
    assert problem in " ".join(printed.stderr.split())


def test_no_signal_at_all_is_a_message_too(explorer: Explorer) -> None:
    outcome = explore(explorer, set_lever(explorer.baseline, "detection_signals", []))
    assert outcome.message is not None
    assert f"variants.{VARIANT}.detection.signals" in outcome.message
    assert "allowed:" in outcome.message


def test_the_export_validates_pasted_under_variants(explorer: Explorer, tmp_path: Path) -> None:
    levers = dataclasses.replace(
        set_lever(explorer.baseline, "window_coverage.surge", 0.25),
        lock_delay_days=1.0,
        warning_on=True,
        lift_on=False,
        appeals_on=True,
    )
    export = explorer.export_yaml(levers)
    assert yaml.safe_load(export) == {VARIANT: explorer.override(levers)}
    scenario = load_text(pasted(export), tmp_path)
    assert VARIANT in scenario.variants
    assert scenario.variant(VARIANT) == explorer.scenario(levers).variant(VARIANT)


def test_the_baseline_export_is_an_empty_variant_that_validates(
    explorer: Explorer, tmp_path: Path
) -> None:
    export = explorer.export_yaml(explorer.baseline)
    scenario = load_text(pasted(export), tmp_path)
    assert scenario.variant(VARIANT) == scenario.policy


def test_world_levers_change_the_world_not_the_variant(explorer: Explorer) -> None:
    levers = dataclasses.replace(
        explorer.baseline, activation_multiplier=2.0, traveller_multiplier=3.0
    )
    assert explorer.override(levers) == {}
    scenario = explorer.scenario(levers)
    written = next(r for r in load_scenario(SEPTEMBER).regions if r.id == "CU")
    cuba = next(r for r in scenario.regions if r.id == "CU")
    assert cuba.activations[0].rate_per_day == 2 * written.activations[0].rate_per_day
    travellers = 3 * written.channels["traveller"]
    assert cuba.channels["traveller"] == pytest.approx(travellers)
    others = 1 - written.channels["traveller"]
    for channel, share in written.channels.items():
        if channel != "traveller":  # the other channels shrink in proportion to make room
            assert cuba.channels[channel] == pytest.approx(share / others * (1 - travellers))
    for region in scenario.regions:
        assert sum(region.channels.values()) == pytest.approx(1.0)
    export = explorer.export_yaml(levers)
    assert "every activation rate x 2" in export and "traveller share x 3" in export
    assert yaml.safe_load(export) == {VARIANT: {}}


def test_a_traveller_share_never_passes_one(explorer: Explorer) -> None:
    levers = dataclasses.replace(explorer.baseline, traveller_multiplier=50.0)
    cuba = next(r for r in explorer.scenario(levers).regions if r.id == "CU")
    assert cuba.channels == pytest.approx({"grey_import": 0.0, "traveller": 1.0})


def test_a_delay_without_a_central_field_is_no_lever() -> None:
    data = yaml.safe_load(SEPTEMBER.read_text(encoding="utf-8"))
    data["policy"]["lock_delay"] = {"distribution": "uniform", "low_days": 1, "high_days": 4}
    data.pop("uncertain", None)  # its prior on the lognormal's median no longer has a field
    data.pop("worlds", None)
    uniform = Explorer.from_scenario(load_scenario(data))
    assert uniform.baseline.lock_delay_days is None
    assert uniform.override(uniform.baseline) == {}


@pytest.mark.slow
def test_a_moved_lever_changes_the_figure_and_says_its_scale(explorer: Explorer) -> None:
    before = explore(explorer, explorer.baseline)
    after = explore(explorer, set_lever(explorer.baseline, "window_coverage.surge", 1.0))
    assert before.message is None and after.message is None
    assert set(before.figures) == {"locked_over_time", "users_by_region"}
    for png in before.figures.values():
        assert png.startswith(b"\x89PNG")
    assert before.figures["locked_over_time"] != after.figures["locked_over_time"]
    assert after.results is not None
    assert "| **explored** | " in after.answer and "vs baseline" in after.answer
    assert after.answer.startswith("Under the scenario's policy (**baseline**)")
    assert list(after.results.summary["variant"].unique()) == ["baseline", VARIANT]
    options = after.results.provenance()["options"]
    assert (options["scale"], options["replications"]) == (SCALE, REPLICATIONS)


def test_the_command_listens_on_localhost_unless_told(tmp_path: Path) -> None:
    shown = invoke("explore", "--help")
    assert shown.exit_code == 0
    assert "--host" in shown.stdout and "127.0.0.1" in shown.stdout and "--port" in shown.stdout


def test_the_command_refuses_a_bad_file_plainly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SEPTEMBER.read_text(encoding="utf-8").replace("seed: 2021", "seed: -1"))
    done = invoke("explore", bad)
    assert done.exit_code == 2
    assert "seed" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_a_taken_port_is_a_message_not_a_traceback() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = invoke("explore", "--port", str(port))
    assert done.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_only_this_machine_may_open_the_page_on_loopback() -> None:
    from simlock.explorer.app import websocket_origins

    assert websocket_origins("127.0.0.1", 5006) == ["127.0.0.1:5006", "localhost:5006"]
    assert websocket_origins("0.0.0.0", 80) == ["*"]

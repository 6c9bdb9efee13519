"""Warnings for two silent surprises (issue 10, item 10): a traveller channel that is not named
`traveller`, or `travellers_from` with no traveller channel; and a lift on the run's end, which
never takes effect. Each names the field and what was probably meant; `simlock validate` prints
it and still exits 0."""

from __future__ import annotations

from pathlib import Path

import pytest

import simlock
from simlock.scenario.loader import load_with_warnings
from tests.cli_helpers import SHIPPED, invoke, small_doc, write_yaml


def warnings_of(doc: dict) -> list[str]:
    return load_with_warnings(doc)[1]


@pytest.mark.parametrize("misspelt", ["travellers", "traveler", "travelers", "travel"])
def test_a_misspelt_traveller_channel_is_warned_about(misspelt: str) -> None:
    doc = small_doc()
    doc["regions"][0]["channels"] = {"grey_import": 0.8, misspelt: 0.2}
    found = warnings_of(doc)
    assert (
        f"regions[0].channels.{misspelt}: only a channel named 'traveller' is treated as "
        "travellers (SIM and IP from travellers_from); did you mean 'traveller'? "
        f"As written, '{misspelt}' devices are locals"
    ) in found
    # travellers_from is still set, so it is said to be unused too, pointing at the lookalike.
    assert (
        "regions[0].travellers_from: US is set but CU has no 'traveller' channel, so nothing uses "
        f"it; did you mean to name the channel '{misspelt}' 'traveller'?"
    ) in found
    assert len(found) == 2


def test_travellers_from_without_a_traveller_channel_is_warned_about() -> None:
    doc = small_doc()
    doc["regions"][2]["travellers_from"] = "DE"  # Russia: official channel only
    assert warnings_of(doc) == [
        "regions[2].travellers_from: DE is set but RU has no 'traveller' channel, so nothing uses "
        "it; did you mean to give the region a 'traveller' channel?"
    ]


@pytest.mark.parametrize("name", ["trader", "retailer", "tourist", "grey_import"])
def test_channels_that_do_not_look_like_traveller_are_not_warned_about(name: str) -> None:
    doc = small_doc()
    doc["regions"][2]["channels"] = {"official": 0.5, name: 0.5}
    assert warnings_of(doc) == []


def test_a_lift_on_the_runs_end_is_warned_about() -> None:
    doc = small_doc()
    doc["policy"]["lift"] = {"date": doc["end"], "unlock": True}
    assert warnings_of(doc) == [
        "policy.lift.date: the lift on 2021-10-01 is the run's end (the first day after the run), "
        "so it never takes effect; did you mean a date before 2021-10-01, or no lift (lift: null)?"
    ]


def test_a_variant_that_lifts_on_the_runs_end_is_warned_about_itself() -> None:
    doc = small_doc()
    doc["variants"]["late-lift"] = {"lift": {"date": "2021-10-01"}}
    found = warnings_of(doc)
    assert len(found) == 1
    assert found[0].startswith("variants.late-lift.lift.date: the lift on 2021-10-01 is the run's")


def test_a_lift_the_day_before_the_end_is_not_warned_about() -> None:
    doc = small_doc()
    doc["policy"]["lift"] = {"date": "2021-09-30", "unlock": True}
    assert warnings_of(doc) == []


def test_validate_prints_the_warning_and_exits_0(tmp_path: Path) -> None:
    doc = small_doc()
    doc["regions"][0]["channels"] = {"grey_import": 0.8, "travellers": 0.2}
    file = write_yaml(tmp_path / "misspelt.yaml", doc)
    result = invoke("validate", file)
    assert result.exit_code == 0
    assert f"{file}: warning: regions[0].channels.travellers: only a channel named" in (
        result.stderr.replace("\n", " ")
    )


@pytest.mark.parametrize("file", SHIPPED, ids=lambda f: f.name)
def test_shipped_scenarios_raise_no_surprise(file: Path) -> None:
    assert simlock.load_scenario(file).warnings() == []


def test_a_variant_that_extends_a_window_past_the_lift_is_warned_about() -> None:
    """Extending a window to enforce longer does nothing while the lift stays: the lift stops
    every window (a user tried exactly this and got the baseline's numbers back)."""
    doc = small_doc()
    lift = simlock.load_scenario(doc).policy.lift
    assert lift is not None
    window = simlock.load_scenario(doc).policy.windows[-1]
    later = lift.date.replace(day=lift.date.day + 5)
    doc["variants"]["long"] = {"windows": {window.name: {"end": later.isoformat()}}}
    found = [w for w in warnings_of(doc) if "past the lift" in w]
    assert found == [
        f"variants.long.windows.{window.name}.end: window '{window.name}' runs to {later}, past "
        f"the lift on {lift.date}, which stops all enforcement: its days after the lift decide "
        "nothing. Did you mean to move the lift (lift.date) as well, or to remove it (lift: null)?"
    ]


def test_a_window_that_ends_at_the_lift_is_not_warned_about() -> None:
    assert not [w for w in warnings_of(small_doc()) if "past the lift" in w]

"""Channel shares that sum to 1 within rounding are accepted (issue 16, item 5); a sum further
off is refused with a message that states the tolerance."""

from __future__ import annotations

import pytest

import simlock
from simlock.errors import ScenarioError
from simlock.scenario.models import CHANNEL_SHARE_TOLERANCE
from tests.cli_helpers import small_doc


def with_shares(shares: dict[str, float]) -> dict:
    doc = small_doc()
    doc["regions"][2]["channels"] = shares
    return doc


@pytest.mark.parametrize(
    "shares",
    [
        {"official": 0.33333, "grey_import": 0.33333, "smuggled": 0.33333},
        {"official": 0.333, "grey_import": 0.333, "smuggled": 0.333},
        {"official": 0.3334, "grey_import": 0.3333, "smuggled": 0.3334},
    ],
    ids=["five-decimals", "three-decimals", "over-by-a-ten-thousandth"],
)
def test_shares_that_sum_to_one_within_rounding_are_accepted(shares: dict[str, float]) -> None:
    scenario = simlock.load_scenario(with_shares(shares))
    assert scenario.regions[2].channels == shares


@pytest.mark.parametrize(("total", "shares"), [("0.998", (0.5, 0.498)), ("1.002", (0.5, 0.502))])
def test_a_sum_beyond_the_tolerance_is_refused_and_the_message_says_it(
    total: str, shares: tuple[float, float]
) -> None:
    assert CHANNEL_SHARE_TOLERANCE == 0.001
    with pytest.raises(ScenarioError) as caught:
        simlock.load_scenario(
            with_shares(dict(zip(["official", "grey_import"], shares, strict=True)))
        )
    (problem,) = caught.value.problems
    assert problem.path == "regions[2].channels"
    assert problem.message == f"channel shares must sum to 1 (within 0.001), they sum to {total}"

"""A difference that shows as zero carries no sign: "-0.00 days" would read as a decrease."""

from __future__ import annotations

import datetime as dt

import pytest

from simlock.analysis.formatting import format_value

START = dt.date(2021, 5, 1)


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (-0.001, "days", "0.00"),
        (0.001, "days", "0.00"),
        (-0.0004, "share", "0.0 pp"),
        (0.0004, "share", "0.0 pp"),
        (-0.3, "devices", "~0"),
        (-0.004, "device-days", "0.00"),
    ],
)
def test_a_difference_that_rounds_to_zero_has_no_sign(value: float, unit: str, shown: str):
    assert format_value(value, unit, START, signed=True) == shown


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (-0.01, "days", "-0.01"),
        (0.14, "days", "+0.14"),
        (0.012, "share", "+1.2 pp"),
        (-0.012, "share", "-1.2 pp"),
        (-611.2, "devices", "-611"),
        (227.0, "devices", "+227"),
    ],
)
def test_a_difference_that_shows_a_digit_keeps_its_sign(value: float, unit: str, shown: str):
    assert format_value(value, unit, START, signed=True) == shown


@pytest.mark.parametrize(
    ("value", "shown"), [(1.0, "1"), (2.0, "2"), (1.05, "1.05"), (1.5, "1.50")]
)
def test_a_precise_rank_is_whole_when_every_replication_agrees(value: float, shown: str):
    """A verdict on a rank reads 'first is 1', not '1.00'; a mean between ranks keeps its
    hundredths so that it is not rounded onto a bound."""
    assert format_value(value, "rank", dt.date(2021, 5, 1), precise=True) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [(1010.0, "1,010"), (1009.96, "~1,010"), (1964986.6, "~1,964,987"), (0.4, "0.4"), (9.5, "9.5")],
)
def test_a_precise_count_is_whole_from_ten_and_marked_when_rounded(value: float, shown: str):
    """A verdict's mean of counts over worlds reads '~1,010', not '1,010.0' or '1,009.96'; below
    ten a tenth still matters (0.4 against '> 0' must not read as 0)."""
    assert format_value(value, "devices", dt.date(2021, 5, 1), precise=True) == shown

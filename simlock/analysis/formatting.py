"""Numbers as people read them, in one place for the report and the expectations.

The unit of a metric (devices, appeals, device-days, days, share or date), one value in its unit
(counts with thousands separators, days, shares as percentages, day numbers as dates), an
estimate with its 95% interval, and the bounds an expectation allows. The report's tables and
the expectations' one-line verdicts (`simlock.analysis.expectations.evaluate`, column `detail`)
format through these functions, so the same value reads the same way in both; a verdict asks for
`precise` values, so that a value next to a bound is not rounded onto it. Units come from
`simlock.scenario.metric_names` (`metric_unit` is re-exported here).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable

import pandas as pd

from simlock.scenario.metric_names import metric_unit

DASH = "—"
"""Shown for a value that is undefined (a median of no locks, a share of no activations)."""


def _signed(text: str, value: float, signed: bool) -> str:
    """`text` with an explicit + for a positive difference; a number that shows as zero carries
    no sign at all ("-0.00" would read as a decrease)."""
    if not any(digit in text for digit in "123456789"):
        return text.lstrip("-")
    return f"+{text}" if signed and value > 0 else text


def _count(value: float, signed: bool) -> str:
    size = abs(value)
    if size >= 100 or value == 0 or float(value).is_integer():
        text = f"{value:,.0f}"
    elif size >= 10:
        text = f"{value:,.1f}"
    else:
        text = f"{value:.2f}"
    return _signed(text, value, signed)


PRECISE_WHOLE_FROM = 10
"""From here a mean of counts in a verdict is rounded to a whole number (and marked '~'): a
tenth of a device means nothing beside a thousand, but 0.4 must not read as 0 against '> 0'."""

WHOLE_UNITS = ("devices", "appeals")
"""Units people count in whole numbers: a mean over replications is shown rounded to one."""


def _whole(value: float, signed: bool) -> str:
    """A count of devices or appeals as a whole number; a mean that is not zero but rounds to
    zero reads '<1' (a difference: '~0'), so that it is not mistaken for none at all."""
    if value != 0 and abs(value) < 0.5:
        return "~0" if signed else "<1"
    whole = math.floor(abs(value) + 0.5)  # half up: a mean of 0.5 devices is not shown as 0
    return _signed(f"{'-' if value < 0 else ''}{whole:,d}", value, signed)


def format_value(
    value: float, unit: str, start: dt.date, signed: bool = False, precise: bool = False
) -> str:
    """One number in its unit: devices and appeals as whole numbers (means over replications
    rounded), other counts with thousands separators, days to 0.1, shares as percentages, day
    numbers from `start` as dates (the nearest day; halfway, the later one). `signed` formats a
    difference: an explicit +, shares in percentage points, dates in days.

    `precise` is for a verdict against bounds: counts to 0.1 below `PRECISE_WHOLE_FROM` and
    otherwise whole, marked '~' when rounded; days and ranks to 0.01 (a whole rank as a whole
    number), and a date that falls between two days (a mean over replications) marked '~'.
    """
    if value is None or not math.isfinite(value):
        return DASH
    if unit == "date":
        if signed:
            return format_value(value, "days", start, signed, precise)
        day = (start + dt.timedelta(days=_nearest_day(value))).isoformat()
        return f"~{day}" if precise and not float(value).is_integer() else day
    if unit == "share":
        if signed:
            return _signed(f"{value * 100:.1f} pp", value, signed)
        return f"{value * 100:.1f}%" if abs(value) >= 0.01 or value == 0 else f"{value * 100:.2f}%"
    if precise and unit == "rank" and float(value).is_integer():
        return _signed(f"{value:.0f}", value, signed)  # first is 1, not 1.00
    if unit == "days" or (precise and unit == "rank"):
        hundredths = precise or (abs(value) < 1 and value != 0)
        return _signed(f"{value:.2f}" if hundredths else f"{value:.1f}", value, signed)
    if precise:
        if float(value).is_integer():
            text = f"{value:,.0f}"
        elif abs(value) >= PRECISE_WHOLE_FROM:  # a mean of counts: '~1,010', as a date is '~'
            text = f"~{value:,.0f}"
        else:
            text = f"{value:,.1f}"
        return _signed(text, value, signed)
    if unit in WHOLE_UNITS:
        return _whole(value, signed)
    return _count(value, signed)


def _nearest_day(value: float) -> int:
    """The day number nearest `value`; halfway between two days, the later one. Python's `round`
    rounds halves to even, which would show a mean of 2.5 as day 2 but 3.5 as day 4: a reader
    comparing two such dates would see them move apart by two days instead of one."""
    return math.floor(value + 0.5)


def format_estimate(
    mean: float, low: float, high: float, n: int, unit: str, start: dt.date, signed: bool = False
) -> str:
    """'1,234 [1,200–1,270]': a mean and its 95% interval; the mean alone when the interval is
    undefined (one replication). Bounds below zero are joined by 'to', not a dash."""
    if signed and unit == "date":
        unit = "days"  # a difference of dates is a number of days
    text = format_value(mean, unit, start, signed)
    if text == DASH or n < 2 or not (math.isfinite(low) and math.isfinite(high)):
        return text
    lo = format_value(low, unit, start, signed)
    hi = format_value(high, unit, start, signed)
    if lo == hi == text:  # every replication gave the same value
        return text
    joiner = " to " if signed or low < 0 else "–"
    return f"{text} [{lo}{joiner}{hi}]"


def format_summary_row(
    row: pd.Series | None, unit: str, start: dt.date, signed: bool = False
) -> str:
    """A row of `Results.summary` (its mean) or of `Results.compare()` (its difference, with
    `signed`) as an estimate with its interval; a dash when there is no row."""
    if row is None:
        return DASH
    column = "difference" if signed else "mean"
    return format_estimate(
        float(row[column]),
        float(row["ci_low"]),
        float(row["ci_high"]),
        int(row["n"]),
        unit,
        start,
        signed,
    )


def format_bounds(
    low: float, high: float, strict: bool, show: Callable[[float], str], brackets: bool = False
) -> str:
    """The range an expectation allows, NaN meaning no bound: '2 to 7' (with `brackets`, the
    interval notation 'in [2, 7]', open with `strict`), '≤ 7', '> 2' or 'any'. `show` formats a
    bound."""
    has_low, has_high = math.isfinite(low), math.isfinite(high)
    if has_low and has_high:
        if brackets:
            opening, closing = ("(", ")") if strict else ("[", "]")
            return f"in {opening}{show(low)}, {show(high)}{closing}"
        return f"{show(low)} to {show(high)}" + (" (exclusive)" if strict else "")
    if has_high:
        return f"{'<' if strict else '≤'} {show(high)}"
    if has_low:
        return f"{'>' if strict else '≥'} {show(low)}"
    return "any"


__all__ = [
    "DASH",
    "format_bounds",
    "format_estimate",
    "format_summary_row",
    "format_value",
    "metric_unit",
]

"""A median lock duration cut short by the run's end is said to be a lower bound: a user read
"a lock lasted 43 days at the median" beside "all of them were still locked at the end"."""

from __future__ import annotations

import pytest

import simlock
from simlock.report.headline import CENSORED, who_where_how_long
from tests.cli_helpers import small_doc


def _results(lift: bool) -> simlock.Results:
    doc = small_doc()
    if not lift:
        doc["policy"]["lift"] = None
    doc["variants"] = {}
    doc["expectations"] = []
    return simlock.run(
        simlock.load_scenario(doc), replications=2, scale=0.2, workers=1, detail_replications=0
    )


@pytest.mark.slow
def test_the_headline_says_a_censored_median_is_a_lower_bound() -> None:
    text = "".join(str(span) for span in who_where_how_long(_results(lift=False)).spans)
    assert f"at the median{CENSORED}" in text
    assert "were still locked at the end of the run" in text


@pytest.mark.slow
def test_a_run_whose_locks_all_end_in_it_says_no_such_thing() -> None:
    results = _results(lift=True)
    locked_at_end = results.metric("locked_at_end")
    assert float(locked_at_end.loc[locked_at_end["variant"] == "baseline", "mean"].iat[0]) == 0
    text = "".join(str(span) for span in who_where_how_long(results).spans)
    assert CENSORED not in text

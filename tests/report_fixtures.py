"""Small runs shared by the report and figure tests, built once per test session.

Each variation edits tests/data/small.yaml in one way that a figure or the report must cope
with (no locks, one region, one variant, no appeals, hostile names), so a test names the case
it needs and gets the same Results object every time it asks.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import simlock
from simlock.analysis.results import Results
from tests.cli_helpers import small_doc

SMALL = Path(__file__).parent / "data" / "small.yaml"
HOSTILE = "Cuba <script>alert('x')</script> $1 & *co* | [a](http://x)"


def _no_locks(doc: dict[str, Any]) -> None:
    for window in doc["policy"]["windows"]:
        window["coverage"] = 0.0


def _one_region(doc: dict[str, Any]) -> None:
    doc["regions"] = [r for r in doc["regions"] if r["id"] == "CU"]
    doc["policy"]["banned"] = ["CU"]


def _one_variant(doc: dict[str, Any]) -> None:
    doc["variants"] = {}


def _no_appeals(doc: dict[str, Any]) -> None:
    doc["policy"].pop("appeals")


def _hostile(doc: dict[str, Any]) -> None:
    doc["name"] = "small <b>bold</b> & $x$"
    doc["description"] = "<img src=http://example.com/x.png> & `code` * star"
    doc["regions"][0]["name"] = HOSTILE


def _many_variants(doc: dict[str, Any]) -> None:
    doc["variants"] = {
        f"v{i}": {"lock_delay": {"distribution": "fixed", "days": i}} for i in range(9)
    }


def _twenty_variants(doc: dict[str, Any]) -> None:
    """Nineteen variants beside the baseline: lock delays of 0 to 9 days, and nine surge
    coverages."""
    doc["variants"] = {
        f"delay-{i}": {"lock_delay": {"distribution": "fixed", "days": i}} for i in range(10)
    }
    surge = doc["policy"]["windows"][1]
    for i in range(1, 10):
        doc["variants"][f"surge-{i}0"] = {
            "windows": [doc["policy"]["windows"][0], {**surge, "coverage": i / 10}]
        }


VARIATIONS = {
    "default": lambda doc: None,
    "no_locks": _no_locks,
    "one_region": _one_region,
    "one_variant": _one_variant,
    "no_appeals": _no_appeals,
    "hostile": _hostile,
    "many_variants": _many_variants,
    "twenty_variants": _twenty_variants,
}


def scenario_document(variation: str = "default") -> dict[str, Any]:
    """tests/data/small.yaml as a mapping, with one variation applied."""
    doc = small_doc()
    VARIATIONS[variation](doc)
    return doc


@functools.cache
def small_results(
    variation: str = "default", replications: int = 3, detail: int = 1, scale: float = 0.2
) -> Results:
    """A run of the small scenario (cached: the same arguments give the same object)."""
    scenario = simlock.load_scenario(scenario_document(variation))
    return simlock.run(
        scenario, replications=replications, scale=scale, detail_replications=detail, workers=1
    )


def expectations_frame(results: Results) -> pd.DataFrame:
    """Three expectations in the interface's format (simlock/expectations.py): a delay that
    passes, a date that passes, and a share that fails, with bounds set from the run itself."""
    summary = results.summary[(results.summary["group"] == "all")]
    base = summary[summary["variant"] == "baseline"].set_index("metric")

    def row(name: str, metric: str, unit: str, low: float, high: float) -> dict[str, Any]:
        r = base.loc[metric]
        value = float(r["mean"])
        passed = (math.isnan(low) or value >= low) and (math.isnan(high) or value <= high)
        return {
            "name": name,
            "source": "tests: <a source> & co",
            "variant": "baseline",
            "metric": metric,
            "value": value,
            "ci_low": float(r["ci_low"]),
            "ci_high": float(r["ci_high"]),
            "n": int(r["n"]),
            "min": low,
            "max": high,
            "strict": False,
            "passed": bool(passed),
            "verdict": "pass" if passed else "FAIL",
            "unit": unit,
            "detail": "",
        }

    delay = float(base.loc["days_to_lock_median", "mean"])
    peak = float(base.loc["peak_locked_day", "mean"])
    share = float(base.loc["share_banned_locked", "mean"])
    return pd.DataFrame(
        [
            row(
                "Locks come a few days after activation",
                "days_to_lock_median",
                "days",
                delay - 1,
                delay + 1,
            ),
            row(
                "The peak comes in September",
                "peak_locked_day",
                "date",
                np.floor(peak) - 3,
                np.floor(peak) + 3,
            ),
            row(
                "Most banned activations are locked",
                "share_banned_locked",
                "share",
                min(0.99, share * 2 + 0.01),
                np.nan,
            ),
        ]
    )

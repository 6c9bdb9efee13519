"""The 2021 scenario ships its calibration: `simlock run FILE` answers over plausible worlds
drawn from the posterior its `worlds:` section names, and --check holds every fact over them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from simlock.cli.commands import _worlds_of
from simlock.errors import ScenarioError
from simlock.execution.calibrate import load_calibration
from simlock.scenario.loader import load_scenario
from tests.cli_helpers import ROOT, invoke, small_doc, write_yaml

SEPTEMBER = ROOT / "scenarios" / "september-2021.yaml"
SCENARIO = load_scenario(SEPTEMBER)


def test_the_worlds_section_names_the_shipped_posterior() -> None:
    assert SCENARIO.worlds is not None
    folder = SEPTEMBER.parent / SCENARIO.worlds.posterior
    calibration = load_calibration(folder)
    assert set(calibration.inputs) == {u.path for u in SCENARIO.uncertain}
    # Small enough to ship: a few files of a few tens of kilobytes.
    assert sum(p.stat().st_size for p in folder.iterdir()) < 500_000


def test_every_posterior_value_lies_inside_its_prior() -> None:
    calibration = load_calibration(SEPTEMBER.parent / SCENARIO.worlds.posterior)
    posterior = calibration.posterior
    for u in SCENARIO.uncertain:
        values = posterior[u.path]
        if isinstance(u.low, (int, float)):
            assert values.min() >= u.low and values.max() <= u.high, u.path


def test_the_cli_takes_its_worlds_from_the_section_unless_told_otherwise() -> None:
    folder, worlds, per_world = _worlds_of(SEPTEMBER, SCENARIO, None, None, False)
    assert folder == SEPTEMBER.parent / SCENARIO.worlds.posterior
    assert worlds == SCENARIO.worlds.count and per_world == SCENARIO.worlds.replications
    assert _worlds_of(SEPTEMBER, SCENARIO, None, 3, False)[1] == 3
    assert _worlds_of(SEPTEMBER, SCENARIO, None, None, True) == (None, 20, None)
    given = Path("elsewhere")
    assert _worlds_of(SEPTEMBER, SCENARIO, given, None, False) == (given, 20, None)


def test_a_bad_worlds_section_is_refused_at_its_field(tmp_path: Path) -> None:
    doc = small_doc()
    doc["worlds"] = {"posterior": "cal", "count": 0}
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write_yaml(tmp_path / "s.yaml", doc))
    assert "worlds.count" in str(caught.value)


@pytest.mark.slow
def test_check_passes_every_fact_over_the_shipped_worlds(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = [SEPTEMBER, "-o", out, "--scale", "0.1", "--worlds", "8", "--variant", "baseline"]
    result = invoke("run", *args, "--workers", "1", "--quiet", "--no-report", "--check")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "expectations.csv")
    assert len(table) == len(SCENARIO.expectations) and table["passed"].all()
    assert "plausible_low" in table.columns
    manifest = json.loads((out / "manifest.json").read_text())
    assert "--posterior" in " ".join(manifest["rerun"])

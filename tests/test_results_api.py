"""Results for researchers: provenance to cite and rerun (recorded in the run folder and sweeps),
equality that compares what a run produced, a short repr, and `simlock.compare`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import simlock
from simlock.analysis import provenance as provenance_module
from simlock.analysis.provenance import LIBRARIES, content_hash
from tests.cli_helpers import SMALL, small_doc

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def scenario() -> simlock.Scenario:
    return simlock.load_scenario(SMALL)


@pytest.fixture(scope="module")
def results(scenario) -> simlock.Results:
    return simlock.run(scenario, replications=2, scale=0.05, workers=1, variants=["warn"])


def test_provenance_names_versions_commit_content_options_and_the_rerun(results) -> None:
    cited = results.provenance()
    assert cited["simlock_version"] == simlock.__version__
    assert set(LIBRARIES) | {"python"} <= set(cited["environment"])
    import numpy

    assert cited["environment"]["numpy"] == numpy.__version__
    assert cited["scenario"]["content_hash"] == content_hash(results.scenario)
    assert cited["options"] == {
        "seed": 7,
        "replications": 2,
        "scale": 0.05,
        "variants": ["baseline", "warn"],
        "detail_replications": 1,
    }
    assert cited["numbers_unchanged_by"] == {"executor": "sequential", "workers": 1}
    assert cited["rerun"] == [
        "simlock", "run", "scenario.yaml", "--scale", "0.05", "--detail", "1", "--variant", "warn"
    ]  # fmt: skip


def test_the_git_commit_is_the_checkout_s_and_says_if_it_was_dirty(results) -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not run from a git checkout")
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    git = results.provenance()["git"]
    assert git["commit"] == head
    assert isinstance(git["dirty"], bool)


def test_outside_a_checkout_there_is_no_commit(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    provenance_module.git_checkout.cache_clear()
    monkeypatch.setattr(provenance_module, "__file__", str(tmp_path / "a" / "b" / "provenance.py"))
    try:
        assert provenance_module.git_checkout() is None
    finally:
        provenance_module.git_checkout.cache_clear()


def test_the_content_hash_ignores_the_run_options_and_follows_the_content(scenario) -> None:
    base = content_hash(scenario)
    other_options = scenario.model_copy(update={"seed": 99, "replications": 7})
    assert content_hash(other_options) == base
    doc = small_doc()
    doc["policy"]["windows"][0]["coverage"] = 0.123
    assert content_hash(simlock.load_scenario(doc)) != base
    run_a = simlock.run(scenario, replications=1, seed=1, scale=0.05, workers=1)
    run_b = simlock.run(scenario, replications=2, seed=2, scale=0.1, workers=1, variants=["warn"])
    assert run_a.provenance()["scenario"]["content_hash"] == base
    assert run_b.provenance()["scenario"]["content_hash"] == base
    assert run_a.manifest["scenario_hash"] != run_b.manifest["scenario_hash"]


def test_the_run_folder_and_a_sweep_record_the_same_provenance(results, tmp_path: Path) -> None:
    folder = results.save(tmp_path / "run", report=False)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert simlock.Results.load(folder).provenance() == results.provenance()
    for key in ("simlock_version", "environment", "git", "content_hash", "rerun"):
        assert manifest[key] == results.manifest[key]
    doc = small_doc()
    doc["sweep"] = {
        "design": "grid",
        "parameters": [{"path": "policy.windows[0].coverage", "values": [0.5]}],
    }
    swept = simlock.load_scenario(doc)
    simlock.run_sweep(swept, tmp_path / "sweep", replications=1, workers=1)
    recorded = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    assert recorded["content_hash"] == content_hash(swept)
    assert recorded["environment"] == manifest["environment"]
    assert recorded["git"] == manifest["git"]
    assert recorded["rerun"] == ["simlock", "sweep", "scenario.yaml", "--replications", "1"]
    assert simlock.load_scenario(tmp_path / "sweep" / "scenario.yaml") == swept


def test_results_are_equal_when_frames_and_scenario_are(results, scenario) -> None:
    again = simlock.run(scenario, replications=2, scale=0.05, workers=1, variants=["warn"])
    assert again == results
    other_seed = simlock.run(
        scenario, replications=2, seed=8, scale=0.05, workers=1, variants=["warn"]
    )
    assert other_seed != results
    changed = simlock.Results(**{**vars(results), "summary": results.summary.iloc[:-1]})
    assert changed != results
    assert results != "results"


def test_the_repr_is_short_and_says_what_is_inside(results) -> None:
    text = repr(results)
    assert len(text) < 300
    assert text.startswith("<Results 'small': 2 replication(s), variants baseline, warn;")
    assert f"summary={len(results.summary):,} rows" in text


def test_simlock_compare_is_each_variant_minus_the_baseline(results) -> None:
    frame = simlock.compare(results)
    assert set(frame["variant"]) == {"warn"}
    pd.testing.assert_frame_equal(frame, results.compare())
    reverse = simlock.compare(results, baseline="warn")
    assert set(reverse["variant"]) == {"baseline"}
    one = frame[(frame["metric"] == "users_affected") & (frame["group"] == "all")]
    two = reverse[(reverse["metric"] == "users_affected") & (reverse["group"] == "all")]
    assert one["difference"].iat[0] == pytest.approx(-two["difference"].iat[0])


def test_a_sweep_s_options_do_not_change_the_content_hash() -> None:
    doc = small_doc()
    doc["sweep"] = {
        "design": "grid",
        "parameters": [{"path": "policy.windows[0].coverage", "values": [0.5]}],
    }
    plain = content_hash(simlock.load_scenario(doc))
    doc["sweep"].update(replications=3, scale=0.5, variants=["warn"])
    assert content_hash(simlock.load_scenario(doc)) == plain
    doc["sweep"]["parameters"][0]["values"] = [0.25]
    assert content_hash(simlock.load_scenario(doc)) != plain

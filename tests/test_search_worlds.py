"""`simlock search --posterior`: every trial over the same plausible worlds, each objective a
statistic across them, and the report's count of the worlds each Pareto policy stays on the
frontier in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from simlock.errors import OptionError, OutputError
from simlock.execution.calibrate import calibrate
from simlock.execution.executors import ProcessExecutor, SequentialExecutor
from simlock.execution.search import TRIALS_FILE, WORLDS_FILE, run_search
from simlock.execution.search_worlds import Statistic, robust_worlds
from simlock.scenario.loader import load_scenario
from tests.cli_helpers import invoke, write_yaml

FRONTIER = Path(__file__).parent / "data" / "search_frontier.yaml"
LOCAL_IP = "regions.CU.signals.traveller_local_ip_share"
WORLDS = 4


def robust_doc() -> dict[str, Any]:
    """The closed-form frontier scenario, smaller, with one uncertain input that changes which
    policy is best: the share of Cuba's travellers on local IPs. Near 0, covering June locks
    almost no travellers (cover it fully); near 1, June's collateral is its tenth of devices."""
    doc = yaml.safe_load(FRONTIER.read_text(encoding="utf-8"))
    doc["replications"] = 1
    doc["uncertain"] = [{"path": LOCAL_IP, "prior": "uniform", "low": 0.0, "high": 1.0}]
    doc["expectations"] = [{"name": "anything", "metric": "users_affected", "min": 0}]
    doc["search"].update(scale=0.2, trials=8, population=4)
    return doc


@pytest.fixture(scope="module")
def posterior(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny calibration: every prior draw is accepted, so the posterior is 8 spread values."""
    doc = robust_doc()
    doc.pop("search")
    folder = tmp_path_factory.mktemp("calibration")
    calibrate(load_scenario(doc), folder, particles=8, populations=1, scale=0.2, workers=1)
    return folder


@pytest.fixture(scope="module")
def searched(
    posterior: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, pd.DataFrame]:
    """A cautious (q90) search over the posterior, on one process."""
    out = tmp_path_factory.mktemp("search") / "out"
    frame = run_search(
        load_scenario(robust_doc()),
        out,
        posterior=posterior,
        worlds=WORLDS,
        statistic="q90",
        executor=SequentialExecutor(),
    )
    return out, frame


@pytest.mark.slow
def test_objectives_are_the_cautious_quantile_of_the_per_world_table(searched) -> None:
    out, frame = searched
    per_world = pd.read_parquet(out / WORLDS_FILE)
    assert sorted(per_world["world"].unique()) == list(range(WORLDS))
    assert len(per_world) == WORLDS * frame["feasible"].sum()
    # The uncertain input matters: one policy's collateral differs between worlds.
    assert per_world.groupby("trial")["collateral_locks"].nunique().max() > 1
    for _, trial in frame.iterrows():
        rows = per_world[per_world["trial"] == trial["trial"]]
        # Worst 10% of worlds: the 10% quantile of what is maximised, 90% of what is minimised.
        assert trial["targeted_locks"] == pytest.approx(np.quantile(rows["targeted_locks"], 0.1))
        assert trial["collateral_locks"] == pytest.approx(
            np.quantile(rows["collateral_locks"], 0.9)
        )
    assert pd.read_parquet(out / TRIALS_FILE).equals(frame)


@pytest.mark.slow
def test_robustness_counts_the_worlds_a_pareto_policy_is_non_dominated_in(searched) -> None:
    out, frame = searched
    per_world = pd.read_parquet(out / WORLDS_FILE)
    pareto = frame[frame["pareto"]]
    assert frame.loc[~frame["pareto"], "robust_worlds"].isna().all()
    for _, trial in pareto.iterrows():
        expected = 0
        for _, world in per_world.groupby("world"):
            mine = world[world["trial"] == trial["trial"]].iloc[0]
            rivals = world[world["trial"].isin(pareto["trial"]) & (world["trial"] != mine["trial"])]
            beaten = (
                (rivals["targeted_locks"] >= mine["targeted_locks"])
                & (rivals["collateral_locks"] <= mine["collateral_locks"])
                & (
                    (rivals["targeted_locks"] > mine["targeted_locks"])
                    | (rivals["collateral_locks"] < mine["collateral_locks"])
                )
            ).any()
            expected += int(not beaten)
        assert trial["robust_worlds"] == expected
    report = (out / "search.md").read_text(encoding="utf-8")
    assert "Across plausible worlds" in report
    assert f"of {WORLDS}" in report
    assert "cautious 90% quantile" in report


def test_robust_worlds_on_a_hand_made_table() -> None:
    """Trial 1 beats trial 2 in world 0, trial 2 beats trial 1 in world 1; trial 3 is beaten by
    neither anywhere."""
    doc = yaml.safe_load(FRONTIER.read_text(encoding="utf-8"))
    objectives = load_scenario(doc).search.objectives  # targeted up, collateral down
    per_world = pd.DataFrame(
        [
            (1, 0, 10, 1),
            (2, 0, 9, 2),
            (3, 0, 20, 5),
            (1, 1, 9, 2),
            (2, 1, 10, 1),
            (3, 1, 20, 5),
        ],
        columns=["trial", "world", "targeted_locks", "collateral_locks"],
    )
    counts = robust_worlds(pd.DataFrame({"trial": [1, 2, 3]}), per_world, objectives)
    assert counts.to_dict() == {1: 1, 2: 1, 3: 2}


def test_the_statistic_reads_cautiously_for_either_direction() -> None:
    values = list(range(11))  # 0 .. 10
    q90 = Statistic.parse("q90")
    assert q90.of(values, minimize=True) == pytest.approx(9.0)
    assert q90.of(values, minimize=False) == pytest.approx(1.0)
    assert Statistic.parse("mean").of(values, minimize=True) == pytest.approx(5.0)
    for bad in ("q0", "q100", "median", "q9.5"):
        with pytest.raises(OptionError, match="qNN"):
            Statistic.parse(bad)


@pytest.mark.slow
def test_the_same_worlds_and_trials_for_one_or_two_workers_and_from_the_section(
    posterior: Path, searched, tmp_path: Path
) -> None:
    """The command on one worker, with the posterior, worlds and statistic in the section
    (the posterior relative to the scenario file), gives the library's two-worker search."""
    _, frame = searched
    doc = robust_doc()
    doc["search"].update(posterior="calibration", worlds=WORLDS, statistic="q90")
    (tmp_path / "calibration").symlink_to(posterior)
    path = write_yaml(tmp_path / "robust.yaml", doc)
    done = invoke("search", path, "-o", tmp_path / "one", "--workers", "1")
    assert done.exit_code == 0, done.stderr
    one = pd.read_parquet(tmp_path / "one" / TRIALS_FILE)
    pd.testing.assert_frame_equal(one, frame)
    two = run_search(
        load_scenario(robust_doc()),
        tmp_path / "two",
        posterior=posterior,
        worlds=WORLDS,
        statistic="q90",
        executor=ProcessExecutor(2),
    )
    pd.testing.assert_frame_equal(two, frame)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "two" / WORLDS_FILE),
        pd.read_parquet(tmp_path / "one" / WORLDS_FILE),
    )


@pytest.mark.slow
def test_a_resume_over_other_worlds_or_statistic_is_refused(posterior: Path, searched) -> None:
    out, _ = searched
    with pytest.raises(OutputError, match="other worlds or with another statistic"):
        run_search(
            load_scenario(robust_doc()),
            out,
            resume=True,
            posterior=posterior,
            worlds=WORLDS,
            statistic="mean",
            executor=SequentialExecutor(),
        )
    with pytest.raises(OutputError, match="no posterior"):
        run_search(load_scenario(robust_doc()), out, resume=True, executor=SequentialExecutor())


def test_a_bad_posterior_is_exit_2_with_a_clear_message(tmp_path: Path) -> None:
    path = write_yaml(tmp_path / "robust.yaml", robust_doc())
    missing = invoke("search", path, "-o", tmp_path / "a", "--posterior", tmp_path / "nowhere")
    assert missing.exit_code == 2
    assert "no such folder" in missing.stderr and "simlock calibrate" in missing.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    other = invoke("search", path, "-o", tmp_path / "b", "--posterior", empty)
    assert other.exit_code == 2 and "not a calibration" in other.stderr
    statistic = invoke("search", path, "-o", tmp_path / "c", "--statistic", "worst")
    assert statistic.exit_code == 2 and "qNN" in statistic.stderr
    alone = invoke("search", path, "-o", tmp_path / "d", "--worlds", "3")
    assert alone.exit_code == 2 and "need a posterior" in alone.stderr

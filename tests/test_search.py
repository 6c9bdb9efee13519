"""`simlock search`: the search section's validation, determinism and resume, the Pareto
variants, the command's bad input, and an honest search on a frontier known in closed form."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from simlock.errors import ScenarioError
from simlock.execution.executors import ProcessExecutor, SequentialExecutor
from simlock.execution.search import PARETO_YAML, TRIALS_FILE, run_search
from simlock.scenario.loader import load_scenario
from tests.cli_helpers import run_simlock, write_yaml

FRONTIER = Path(__file__).parent / "data" / "search_frontier.yaml"


def frontier_doc(**search: Any) -> dict[str, Any]:
    doc = yaml.safe_load(FRONTIER.read_text(encoding="utf-8"))
    doc["search"].update(search)
    return doc


def small_search(tmp_path: Path, **search: Any) -> Path:
    """A fast search: a tenth of the frontier scenario's devices, one replication."""
    doc = frontier_doc(scale=0.1, **search)
    doc["replications"] = 1
    return write_yaml(tmp_path / "search.yaml", doc)


def problems_of(doc: dict[str, Any]) -> list[str]:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(doc)
    return [f"{p.path}: {p.message}" for p in caught.value.problems]


def test_a_lever_that_reaches_no_policy_field_is_named_with_a_suggestion() -> None:
    doc = frontier_doc()
    doc["search"]["levers"][0]["path"] = "policy.windows.june.coverag"
    (problem,) = problems_of(doc)
    assert problem.startswith("search.levers[0].path")
    assert "did you mean 'coverage'" in problem


def test_a_lever_outside_the_policy_is_refused() -> None:
    doc = frontier_doc()
    doc["search"]["levers"][0]["path"] = "regions.CU.activations[0].rate_per_day"
    (problem,) = problems_of(doc)
    assert "field of the policy" in problem


def test_an_unknown_objective_metric_is_named_with_a_suggestion() -> None:
    doc = frontier_doc()
    doc["search"]["objectives"][1]["metric"] = "colateral_locks"
    (problem,) = problems_of(doc)
    assert problem.startswith("search.objectives[1].metric")
    assert "did you mean 'collateral_locks'" in problem


def test_a_constraint_needs_a_bound_and_a_known_metric() -> None:
    doc = frontier_doc(constraints=[{"metric": "collateral_locks"}])
    assert any("give min, max or both" in p for p in problems_of(doc))
    doc = frontier_doc(constraints=[{"metric": "no_such_metric", "max": 3}])
    assert any(p.startswith("search.constraints[0].metric") for p in problems_of(doc))


@pytest.mark.slow
def test_the_command_says_what_is_wrong_with_file_and_line(tmp_path: Path) -> None:
    doc = frontier_doc()
    doc["search"]["objectives"][0]["direction"] = "up"
    path = write_yaml(tmp_path / "bad.yaml", doc)
    done = run_simlock("search", path, "-o", tmp_path / "out")
    assert done.returncode == 2
    assert "search.objectives[0].direction" in done.stderr
    assert "bad.yaml" in done.stderr
    plain = write_yaml(tmp_path / "plain.yaml", {k: v for k, v in doc.items() if k != "search"})
    done = run_simlock("search", plain, "-o", tmp_path / "out")
    assert done.returncode == 2
    assert "no search: section" in done.stderr


@pytest.mark.slow
def test_the_same_seed_gives_the_same_trials_with_one_or_two_workers(tmp_path: Path) -> None:
    path = small_search(tmp_path, trials=8, population=4)
    one = run_search(path, tmp_path / "one", executor=SequentialExecutor())
    two = run_search(path, tmp_path / "two", executor=ProcessExecutor(2))
    pd.testing.assert_frame_equal(one, two)
    assert one["policy.windows.june.coverage"].nunique() > 1  # it searched
    (tmp_path / "o").mkdir()
    other = small_search(tmp_path / "o", trials=8, population=4, seed=99)
    assert not run_search(other, tmp_path / "seed99", executor=SequentialExecutor()).equals(one)


@pytest.mark.slow
def test_a_resumed_search_runs_the_trials_an_uninterrupted_one_runs(tmp_path: Path) -> None:
    path = small_search(tmp_path, trials=8, population=4)
    whole = run_search(path, tmp_path / "whole", executor=SequentialExecutor())
    run_search(path, tmp_path / "parts", trials=4, executor=SequentialExecutor())
    with pytest.raises(Exception, match="--resume"):
        run_search(path, tmp_path / "parts", executor=SequentialExecutor())
    resumed = run_search(path, tmp_path / "parts", resume=True, executor=SequentialExecutor())
    pd.testing.assert_frame_equal(whole, resumed)
    assert (tmp_path / "parts" / TRIALS_FILE).exists()


def test_each_pareto_policy_pasted_as_a_variant_validates_and_is_the_trials_policy(
    tmp_path: Path,
) -> None:
    path = small_search(tmp_path, trials=8, population=4)
    out = tmp_path / "out"
    frame = run_search(path, out, executor=SequentialExecutor())
    pasted = yaml.safe_load((out / PARETO_YAML).read_text(encoding="utf-8"))["variants"]
    pareto = frame[frame["pareto"]]
    assert set(pasted) == {f"search-trial-{t}" for t in pareto["trial"]}
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["variants"].update(copy.deepcopy(pasted))
    scenario = load_scenario(doc)
    for _, row in pareto.iterrows():
        windows = scenario.variant(f"search-trial-{row['trial']}").windows
        assert [w.coverage for w in windows] == pytest.approx(list(row[LEVERS]))
    report = (out / "search.md").read_text(encoding="utf-8")
    assert "Pareto policies" in report and "june-only" in report
    assert (out / "figures" / "frontier.png").stat().st_size > 10_000


# The frontier scenario, in closed form. Territory i activates RATE[i] devices a day for DAYS[i]
# days of its own month, a share GREY[i] grey imports (targeted), the rest travellers (collateral);
# every device is detected in its banned territory (IP alone, no VPN, visitors on local IPs) and
# decided at activation, inside its month's window, with probability the window's coverage x[i].
# So, in expectation, targeted = x . T and collateral = x . C. The least collateral for a targeted
# count fills the months in order of collateral per targeted lock (1/9, 1/3, 1, 3): a concave
# piecewise-linear frontier with kinks where each month is fully covered.
RATE = np.array([40.0, 25.0, 20.0, 20.0])
DAYS = np.array([30.0, 31.0, 31.0, 30.0])
GREY = np.array([0.9, 0.75, 0.5, 0.25])
T = RATE * DAYS * GREY
C = RATE * DAYS * (1 - GREY)
LEVERS = [f"policy.windows.{m}.coverage" for m in ("june", "july", "august", "september")]


def least_collateral(targeted: np.ndarray) -> np.ndarray:
    """The frontier: the least expected collateral for an expected targeted count."""
    order = np.argsort(C / T)
    reach = np.concatenate([[0.0], np.cumsum(T[order])])
    cost = np.concatenate([[0.0], np.cumsum(C[order])])
    return np.interp(targeted, reach, cost)


def hypervolume(targeted: np.ndarray, collateral: np.ndarray) -> float:
    """The area dominated by the points (targeted up, collateral down) within the box from
    (0 targeted, all collateral), by a sweep over targeted from the largest down."""
    order = np.argsort(-targeted)
    area, best = 0.0, C.sum()
    for i, k in enumerate(order):
        best = min(best, collateral[k])
        left = targeted[order[i + 1]] if i + 1 < len(order) else 0.0
        area += (targeted[k] - left) * (C.sum() - best)
    return area


@pytest.mark.slow
def test_the_search_finds_the_known_frontier(tmp_path: Path) -> None:
    """Each Pareto policy's levers are judged by their expected outcome (closed form, free of
    noise): how much more collateral it costs than the frontier for its targeted count.

    The search ranks policies by the means of R = 2 replications. Collateral counts are Poisson:
    the difference of two policies' mean collateral has a standard deviation of at most
    sigma = sqrt(2 * sum(C) / R) = 33 devices, so policies within 2 sigma (66 devices, 6% of all
    collateral) of each other cannot be told apart by these replications. Blind search leaves
    the median Pareto policy about 146 devices from the frontier (a closed-form simulation of 6
    seeds); NSGA-II at this budget left it 55-102 over the scenario's seeds 11-16 (measured on
    2026-12-02, before and after the population was thinned: 4 of the 6 seeds above 2 sigma
    either way). The bound, 3.5 sigma (115 devices), tells a search from a blind one without
    failing on the seed. The Pareto set must also dominate 82% of the frontier's hypervolume:
    at this budget (192 trials) random search reached 0.78-0.80 and NSGA-II 0.86-0.90 in that
    simulation (0.82-0.90 measured over those seeds), so that bound tells them apart too.
    """
    doc = frontier_doc(trials=192, population=16)
    path = write_yaml(tmp_path / "frontier.yaml", doc)
    frame = run_search(path, tmp_path / "out", executor=ProcessExecutor(2))
    pareto = frame[frame["pareto"]]
    x = pareto[LEVERS].to_numpy()
    targeted, collateral = x @ T, x @ C
    excess = collateral - least_collateral(targeted)
    sigma = np.sqrt(2 * C.sum() / 2)
    assert np.median(excess) <= 3.5 * sigma, np.sort(excess)
    truth = np.linspace(0, T.sum(), 4001)
    covered = hypervolume(targeted, collateral) / hypervolume(truth, least_collateral(truth))
    assert covered >= 0.82, covered
    # The observed means follow the closed form (the metrics are wired to the objectives).
    assert np.corrcoef(targeted, pareto["targeted_locks"])[0, 1] > 0.99
    assert np.corrcoef(collateral, pareto["collateral_locks"])[0, 1] > 0.99

"""Saved runs: a folder written by `simlock run` loads back exactly; one that is corrupt, edited
or from another format version is refused on load with a message naming the file and what to do,
and `simlock report` on it exits 2 without a traceback."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from simlock.analysis.results import FORMAT_VERSION, FRAMES, Results
from simlock.errors import SavedRunError
from tests.cli_helpers import FAST, SMALL, invoke


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("saved") / "run"
    result = invoke("run", SMALL, "-o", folder, *FAST, "--detail", "1")
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture
def copy(saved: Path, tmp_path: Path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(saved, target)
    return target


def test_a_saved_run_loads_back_exactly(saved: Path) -> None:
    results = Results.load(saved)
    for name in FRAMES:
        pd.testing.assert_frame_equal(
            getattr(results, name), pd.read_parquet(saved / f"{name}.parquet"), check_exact=True
        )
    assert results.manifest["format_version"] == FORMAT_VERSION
    assert results.scenario.name == "small"
    assert not results.devices.empty


@pytest.mark.slow
def test_save_then_load_round_trips_every_frame(saved: Path, tmp_path: Path) -> None:
    first = Results.load(saved)
    again = Results.load(first.save(tmp_path / "again"))
    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(first, name), getattr(again, name), check_exact=True)
    assert again.scenario == first.scenario


def _truncate(folder: Path) -> None:
    path = folder / "daily.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _garbage(folder: Path) -> None:
    (folder / "summary.parquet").write_bytes(b"not parquet at all")


def _remove(folder: Path) -> None:
    (folder / "replicates.parquet").unlink()


def _swap(folder: Path) -> None:
    shutil.copy(folder / "daily.parquet", folder / "summary.parquet")


def _bad_json(folder: Path) -> None:
    (folder / "manifest.json").write_text('{"format_version": 1,')


def _not_a_mapping(folder: Path) -> None:
    (folder / "manifest.json").write_text("[1, 2, 3]")


def _no_manifest(folder: Path) -> None:
    (folder / "manifest.json").unlink()


def _other_version(folder: Path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    manifest["simlock_version"] = "9.0.0"
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _edited_scenario(folder: Path) -> None:
    path = folder / "scenario.yaml"
    path.write_text(path.read_text().replace("coverage: 0.6", "coverage: 0.7"))


def _broken_scenario(folder: Path) -> None:
    path = folder / "scenario.yaml"
    path.write_text(path.read_text().replace("replications: 2", "replications: none"))


def _no_scenario(folder: Path) -> None:
    (folder / "scenario.yaml").unlink()


CORRUPTIONS: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated-parquet": (_truncate, "daily.parquet: not a readable Parquet file"),
    "garbage-parquet": (_garbage, "summary.parquet: not a readable Parquet file"),
    "missing-parquet": (_remove, "replicates.parquet: missing (the run folder is incomplete)"),
    "swapped-table": (_swap, "summary.parquet: lacks the column(s) group, key, metric"),
    "manifest-not-json": (_bad_json, "manifest.json: unreadable manifest"),
    "manifest-not-a-mapping": (_not_a_mapping, "saved with run format None"),
    "manifest-missing": (_no_manifest, "not a simlock run (manifest.json is missing)"),
    "other-format-version": (
        _other_version,
        f"saved with run format {FORMAT_VERSION + 1} (simlock 9.0.0); this simlock reads format "
        f"{FORMAT_VERSION}: rerun the scenario",
    ),
    "edited-scenario": (_edited_scenario, "scenario.yaml: does not match the run's scenario hash"),
    "invalid-scenario": (_broken_scenario, "scenario.yaml: cannot be read back"),
    "missing-scenario": (_no_scenario, "scenario.yaml: cannot be read back"),
}


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=list(CORRUPTIONS))
def test_a_corrupt_saved_run_is_refused_on_load_with_a_clear_message(
    copy: Path, corruption: str
) -> None:
    damage, says = CORRUPTIONS[corruption]
    damage(copy)
    with pytest.raises(SavedRunError) as caught:
        Results.load(copy)
    assert says in str(caught.value)
    assert str(copy) in str(caught.value)


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=list(CORRUPTIONS))
def test_report_on_a_corrupt_run_exits_2(copy: Path, corruption: str) -> None:
    damage, says = CORRUPTIONS[corruption]
    damage(copy)
    before = sorted(p.name for p in copy.iterdir())
    result = invoke("report", copy)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert says in result.stderr.replace("\n", " ")
    assert "Traceback" not in result.output
    assert sorted(p.name for p in copy.iterdir()) == before


def test_an_edited_scenario_tells_which_hash_the_run_had(copy: Path) -> None:
    _edited_scenario(copy)
    run_hash = json.loads((copy / "manifest.json").read_text())["scenario_hash"]
    with pytest.raises(SavedRunError, match=f"scenario hash {run_hash} .edited after the run"):
        Results.load(copy)


def test_a_run_without_device_tables_still_loads(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    assert invoke("run", SMALL, "-o", folder, *FAST, "--detail", "0").exit_code == 0
    results = Results.load(folder)
    assert results.devices.empty and results.events.empty

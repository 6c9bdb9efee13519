"""The frames a run produces, and saving and loading them as a folder that round-trips.

A saved run holds Parquet for every frame (exact types: categories, dates, floats), CSV copies of
`daily`, `summary` and `replicates` for spreadsheets, the scenario as resolved (`scenario.yaml`),
and `manifest.json` (simlock version, format version, scenario hash, seeds, timings).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from simlock.errors import SavedRunError, ScenarioError
from simlock.scenario.loader import load_scenario
from simlock.scenario.models import Scenario

from .metrics import compare as _compare

FORMAT_VERSION = 2
"""Bumped when the saved layout changes incompatibly; `Results.load` refuses other versions.
2: `variant`, `lock_cause` and `cause` in `devices` and `events` are always categories (were
text for `variant`, and for causes when variants had different windows)."""

FRAMES = ("summary", "replicates", "daily", "devices", "events")
CSV_FRAMES = ("summary", "replicates", "daily")
KEY_COLUMNS = {
    "summary": ("variant", "group", "key", "metric", "mean", "ci_low", "ci_high", "n"),
    "replicates": ("variant", "replication", "group", "key", "metric", "value"),
    "daily": ("date", "variant", "replication", "activations", "newly_locked", "locked"),
    "devices": ("variant", "replication", "device", "activated", "locked"),
    "events": ("variant", "replication", "device", "t", "kind"),
}
"""Columns `Results.load` requires of each saved frame (device-level frames may be empty)."""


def scenario_document(scenario: Scenario) -> dict[str, Any]:
    """The scenario as plain data (dates as ISO strings), as it is saved and hashed."""
    return scenario.model_dump(mode="json", by_alias=True, exclude_none=True)


def scenario_hash(scenario: Scenario) -> str:
    """A short SHA-256 of the scenario's canonical JSON: names a run's inputs exactly."""
    text = json.dumps(scenario_document(scenario), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Results:
    """Everything a run produced: tidy frames, the scenario, and the manifest.

    - `summary`: per variant, group (all/region/channel), key and metric: mean, 95% interval, n.
    - `replicates`: the same metrics per replication (for paired comparisons and sweeps).
    - `daily`: per date, variant, replication, region, channel: activations, newly locked,
      unlocked, and locked at the end of the day.
    - `devices`, `events`: device-level tables for the detail replications.
    """

    scenario: Scenario
    summary: pd.DataFrame
    replicates: pd.DataFrame
    daily: pd.DataFrame
    devices: pd.DataFrame
    events: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)

    def compare(self) -> pd.DataFrame:
        """Each variant minus the baseline, paired by replication, with 95% intervals (over
        plausible worlds: paired within each world, with plausible ranges)."""
        from .worlds import compare_worlds, has_worlds

        if has_worlds(self.replicates):
            return compare_worlds(self.replicates)
        return _compare(self.replicates)

    def check(self) -> pd.DataFrame | None:
        """The scenario's expectations checked on these results (None if it declares none):
        one row per expectation with its value, 95% interval, bounds and pass/fail."""
        from .expectations import evaluate

        return evaluate(self)

    def metric(self, name: str, group: str = "all") -> pd.DataFrame:
        """One metric's summary rows (mean and interval per variant and key)."""
        rows = self.summary[(self.summary["metric"] == name) & (self.summary["group"] == group)]
        return rows.reset_index(drop=True)

    def save(self, folder: str | Path) -> Path:
        """Write every frame, the scenario and the manifest into `folder` (created if needed)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name in FRAMES:
            getattr(self, name).to_parquet(folder / f"{name}.parquet", index=False)
        for name in CSV_FRAMES:
            getattr(self, name).to_csv(folder / f"{name}.csv", index=False)
        with open(folder / "scenario.yaml", "w", encoding="utf-8") as handle:
            yaml.safe_dump(
                scenario_document(self.scenario), handle, sort_keys=False, allow_unicode=True
            )
        manifest = {**self.manifest, "format_version": FORMAT_VERSION}
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> Results:
        """Read a folder written by `save`; raise `SavedRunError` if it is missing, corrupt or
        from an incompatible version."""
        folder = Path(folder)
        if not folder.is_dir():
            raise SavedRunError(f"{folder}: no such run folder")
        manifest_path = folder / "manifest.json"
        try:
            manifest = json.loads(manifest_path.read_text())
        except FileNotFoundError:
            raise SavedRunError(f"{folder}: not a simlock run (manifest.json is missing)") from None
        except (OSError, ValueError) as exc:
            raise SavedRunError(f"{manifest_path}: unreadable manifest ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
            info = manifest if isinstance(manifest, dict) else {}
            raise SavedRunError(
                f"{folder}: saved with run format {info.get('format_version')!r} "
                f"(simlock {info.get('simlock_version', '?')}); this simlock reads format "
                f"{FORMAT_VERSION}: rerun the scenario"
            )
        try:
            scenario = load_scenario(folder / "scenario.yaml")
        except ScenarioError as exc:
            raise SavedRunError(
                f"{folder / 'scenario.yaml'}: cannot be read back:\n{exc}"
            ) from None
        if manifest.get("scenario_hash") not in (None, scenario_hash(scenario)):
            raise SavedRunError(
                f"{folder / 'scenario.yaml'}: does not match the run's scenario hash "
                f"{manifest.get('scenario_hash')} (edited after the run?); rerun the scenario"
            )
        frames = {name: _read_frame(folder / f"{name}.parquet", name) for name in FRAMES}
        return cls(scenario=scenario, manifest=manifest, **frames)


def _read_frame(path: Path, name: str) -> pd.DataFrame:
    """One saved frame, refused with the file named if it is missing, unreadable or lacks the
    columns a run writes."""
    if not path.is_file():
        raise SavedRunError(f"{path}: missing (the run folder is incomplete); rerun the scenario")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several kinds of error for a damaged file
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SavedRunError(
            f"{path}: not a readable Parquet file ({reason}); rerun the scenario"
        ) from None
    missing = [c for c in KEY_COLUMNS[name] if c not in frame.columns]
    if missing and not (name in ("devices", "events") and frame.empty):
        raise SavedRunError(
            f"{path}: lacks the column(s) {', '.join(missing)} of a {name} table; "
            "rerun the scenario"
        )
    return frame

"""The frames a run produces, and saving and loading them as a folder that round-trips.

A saved run holds Parquet for every frame (exact types: categories, dates, floats), CSV copies of
`daily`, `summary` and `replicates` for spreadsheets, the scenario as resolved (`scenario.yaml`),
and `manifest.json` (simlock version, format version, scenario hash, seeds, timings). The whole
run folder (these, `expectations.csv`, the report, the atomic move into place) is written by one
function, `simlock.execution.folder.write_run_folder`, which `Results.save` and `simlock run`
both call; this module writes and reads the tables.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from simlock.errors import OptionError, SavedRunError, ScenarioError, SimlockError
from simlock.scenario.loader import load_scenario
from simlock.scenario.models import Scenario
from simlock.scenario.suggest import did_you_mean

from .metrics import compare as _compare
from .provenance import provenance as _provenance

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


def save_scenario(scenario: Scenario, path: Path) -> None:
    """Write the scenario as resolved, as YAML that `load_scenario` reads back."""
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(scenario_document(scenario), handle, sort_keys=False, allow_unicode=True)


def write_tables(results: Results, folder: Path) -> None:
    """Every frame as Parquet, the CSV copies and `scenario.yaml` into an existing `folder`
    (the run folder's tables; the manifest is written last, by the folder writer)."""
    for name in FRAMES:
        getattr(results, name).to_parquet(folder / f"{name}.parquet", index=False)
    for name in CSV_FRAMES:
        getattr(results, name).to_csv(folder / f"{name}.csv", index=False)
    save_scenario(results.scenario, folder / "scenario.yaml")


RunFolderWriter = Callable[..., Path]
"""`write_run_folder(results, destination, *, force, report) -> Path`."""

_run_folder_writer: list[RunFolderWriter] = []


def set_run_folder_writer(writer: RunFolderWriter) -> None:
    """Install the run-folder writer `Results.save` calls (done by `simlock.execution.folder`
    when it is imported; see `Results.save` for why it is injected)."""
    _run_folder_writer[:] = [writer]


@dataclass(eq=False)
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

    def compare(self, baseline: str = "baseline") -> pd.DataFrame:
        """Each variant minus `baseline` (a variant of this run), paired by replication, with
        95% intervals (over plausible worlds: paired within each world, with plausible ranges);
        an unknown baseline is an `OptionError`."""
        from .worlds import compare_worlds, has_worlds

        _check_name("baseline", baseline, self.replicates["variant"].unique(), "variant")
        if has_worlds(self.replicates):
            return compare_worlds(self.replicates, baseline)
        return _compare(self.replicates, baseline)

    def check(self, variant: str | None = None) -> pd.DataFrame | None:
        """The scenario's expectations checked on these results (None if it declares none):
        one row per expectation with its value, 95% interval, bounds and pass/fail.

        Each expectation is checked on the variant it names (the baseline unless it says
        otherwise); `variant=` checks every one of them on that variant instead, to see which
        facts a what-if would have broken. A variant that was not run is an `OptionError`."""
        from .expectations import evaluate

        if variant is None:
            return evaluate(self)
        _check_name("variant", variant, self.summary["variant"].unique())
        retargeted = [e.model_copy(update={"variant": variant}) for e in self.scenario.expectations]
        scenario = self.scenario.model_copy(update={"expectations": retargeted})
        return evaluate(replace(self, scenario=scenario))

    def select(self, variants: Iterable[str]) -> Results:
        """These results restricted to `variants`: every frame keeps only their rows, and a
        categorical `variant` column keeps only their categories (in the order given), so that
        tables, figures and their legends show exactly the variants selected. The scenario and
        the manifest are kept as they are (they say what was run).

        Raises `OptionError` naming the variants present when one of `variants` is not."""
        wanted = list(dict.fromkeys(str(v) for v in variants))
        present = {
            str(v) for frame in (self.summary, self.daily) for v in frame["variant"].unique()
        }
        missing = [v for v in wanted if v not in present]
        if missing or not wanted:
            raise OptionError(
                f"variants: no variant {', '.join(missing) or '(none given)'} in these results "
                f"(present: {', '.join(sorted(present))})"
            )
        frames = {name: _only(getattr(self, name), wanted) for name in FRAMES}
        return Results(scenario=self.scenario, manifest=dict(self.manifest), **frames)

    def metric(self, name: str, group: str = "all") -> pd.DataFrame:
        """One metric's summary rows (mean and interval per variant and key); an unknown metric
        or group is an `OptionError` naming the closest one."""
        _check_name("metric", name, self.summary["metric"].unique())
        _check_name("group", group, self.summary["group"].unique())
        rows = self.summary[(self.summary["metric"] == name) & (self.summary["group"] == group)]
        return rows.reset_index(drop=True)

    def provenance(self) -> dict[str, Any]:
        """What made these numbers, to cite and to rerun: simlock's and the libraries' versions
        (`environment`), the git commit of a checkout and whether it had uncommitted changes
        (`git`, None for an installed package), the scenario's `content_hash` (its content
        without the run options, so the same scenario run with another seed, replication count,
        scale, variant list or number of workers keeps it), the `options` that change the
        numbers, those that never do (`numbers_unchanged_by`: executor, workers) and `rerun`, the
        command that reproduces the run from its saved folder. Recorded when the run started."""
        return _provenance(self.manifest, self.scenario)

    def __eq__(self, other: object) -> bool:
        """Equal when the scenarios are equal and every frame is equal (values, columns and
        types; dates at any unit); the manifest (timings, versions, executor) is not compared."""
        if not isinstance(other, Results):
            return NotImplemented
        return self.scenario == other.scenario and all(
            _frames_equal(getattr(self, name), getattr(other, name)) for name in FRAMES
        )

    __hash__ = None  # type: ignore[assignment]  # mutable frames: not hashable

    def __repr__(self) -> str:
        variants = list(dict.fromkeys(str(v) for v in self.summary.get("variant", [])))
        shown = ", ".join(f"{name}={len(getattr(self, name)):,} rows" for name in FRAMES)
        return (
            f"<Results {self.scenario.name!r}: {self.scenario.replications} replication(s), "
            f"variants {', '.join(variants) or 'none'}; {shown}>"
        )

    def save(self, folder: str | Path, *, force: bool = False, report: bool = True) -> Path:
        """Write the run folder `simlock run` writes: every table, `scenario.yaml`,
        `expectations.csv` (when the scenario declares expectations), the report and its figures
        (unless `report=False`) and `manifest.json` with the provenance. The folder appears whole
        or not at all; a folder that exists and is not empty is replaced only with `force`, and
        only if it holds an earlier run. Returns the folder.

        The writer is `simlock.execution.folder.write_run_folder`, the function the command
        calls, so a notebook and the command write the same folder. `Results` belongs to the
        analysis layer, which may not import the layers above it (the report, the run folder),
        so that function is injected: `simlock.execution.folder` installs itself here when
        imported, which `simlock.Results`, `simlock.run` and the command all do. (Only a
        `Results` imported from this module by hand, with nothing run, can lack it.)"""
        if not _run_folder_writer:
            raise SimlockError(
                "Results.save needs simlock's run-folder writer: use simlock.Results, or "
                "import simlock.execution.folder first"
            )
        return _run_folder_writer[0](self, Path(folder), force=force, report=report)

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


def compare(results: Results, baseline: str = "baseline") -> pd.DataFrame:
    """Each variant of `results` minus `baseline`, paired by replication, with 95% intervals
    (tidy frame: variant, group, key, metric, difference, ci_low, ci_high, n). The function form
    of `Results.compare`, exported as `simlock.compare`."""
    if not isinstance(results, Results):
        raise OptionError(
            f"results: expected the Results of simlock.run or Results.load, got "
            f"{type(results).__name__}"
        )
    return results.compare(baseline)


def _check_name(argument: str, name: object, known: Any, noun: str | None = None) -> None:
    """Refuse a name that is not among `known`, naming the closest and all that are."""
    names = [str(k) for k in known]
    if name in names:
        return
    hint = did_you_mean(name, names)
    raise OptionError(
        f"{argument}: no {noun or argument} named {name!r}{hint} "
        f"(allowed: {', '.join(sorted(names))})"
    )


def _frames_equal(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Same columns, values and types; datetimes compared at one unit, since Parquet keeps a
    run's seconds as milliseconds (a loaded run equals the run it was saved from)."""
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    return _one_time_unit(a).equals(_one_time_unit(b))


def _one_time_unit(frame: pd.DataFrame) -> pd.DataFrame:
    times = {c: frame[c].astype("datetime64[ns]") for c in frame if frame[c].dtype.kind == "M"}
    return frame.assign(**times) if times else frame


def _only(frame: pd.DataFrame, variants: list[str]) -> pd.DataFrame:
    """The rows of `variants` (all of a frame without a variant column), with the categories of
    a categorical variant column narrowed to them."""
    if "variant" not in frame.columns:
        return frame.copy()
    column = frame["variant"]
    kept = frame[column.astype(str).isin(variants)].reset_index(drop=True)
    if isinstance(column.dtype, pd.CategoricalDtype):
        order = [v for v in variants if v in set(column.cat.categories.astype(str))]
        kept["variant"] = pd.Categorical(kept["variant"].astype(str), categories=order)
    return kept


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

"""A run's options checked once, for the command and the Python API alike.

`simlock run` and `simlock.run` accept the same options (replications, seed, variants, scale,
workers, detail replications); both check them here, so a bad value gets the same plain message
from either, as an `OptionError` (exit code 2 in the command), never a `KeyError`, `ValueError`
or pydantic's `ValidationError`. The command's own range checks (typer's `min`/`max`) use the
same bounds.
"""

from __future__ import annotations

from collections.abc import Iterable

from simlock.errors import OptionError
from simlock.scenario.models import BASELINE, Scenario
from simlock.scenario.suggest import did_you_mean

MAX_REPLICATIONS = 10_000
MAX_SEED = 2**63 - 1
MIN_SCALE, MAX_SCALE = 1e-9, 1e6
MAX_WORKERS = 1024


def with_overrides(
    scenario: Scenario, *, replications: int | None = None, seed: int | None = None
) -> Scenario:
    """The scenario with `replications` and `seed` replaced when given (the scenario's own
    otherwise); refused with `OptionError` when out of range."""
    updates: dict[str, int] = {}
    if replications is not None:
        updates["replications"] = checked_replications(replications)
    if seed is not None:
        updates["seed"] = _whole("seed", seed, 0, MAX_SEED, "0 to 2**63 - 1")
    if not updates:
        return scenario
    return scenario.model_validate({**scenario.model_dump(by_alias=True), **updates})


def checked_variants(
    scenario: Scenario, wanted: Iterable[str] | None, *, label: str = "variants"
) -> tuple[str, ...]:
    """The variants to run: all when `wanted` is None, else the baseline (comparisons are made
    against it) then the named ones in the order given, each once. An unknown name is an
    `OptionError` with the names allowed and the closest one; `label` names the argument as the
    caller spells it (`--variant` in the command)."""
    if wanted is None:
        return tuple(scenario.variant_names)
    if isinstance(wanted, str):
        wanted = [wanted]
    names = list(dict.fromkeys(wanted))
    unknown = [v for v in names if v not in scenario.variant_names]
    if unknown:
        hint = did_you_mean(unknown[0], scenario.variant_names)
        raise OptionError(
            f"{label}: no variant named {', '.join(unknown)}{hint} "
            f"(allowed: {', '.join(scenario.variant_names)})"
        )
    return (BASELINE, *(v for v in names if v != BASELINE))


def checked_replications(replications: object) -> int:
    """A replication count the command accepts (1 to 10,000), or `OptionError`."""
    return _whole("replications", replications, 1, MAX_REPLICATIONS, "1 to 10,000")


def checked_workers(workers: object) -> int | None:
    """A worker count the command accepts (1 to 1024, None for one per core)."""
    if workers is None:
        return None
    return _whole(
        "workers", workers, 1, MAX_WORKERS, f"1 to {MAX_WORKERS}, or None for one per core"
    )


def checked_run_options(scale: float, workers: int | None, detail_replications: int) -> None:
    """Refuse a scale, worker count or detail count the command would refuse."""
    if isinstance(scale, bool) or not isinstance(scale, int | float):
        raise OptionError(
            f"scale: {scale!r} is not a number (allowed: {MIN_SCALE:g} to {MAX_SCALE:g})"
        )
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise OptionError(
            f"scale: {scale!r} is out of range (allowed: {MIN_SCALE:g} to {MAX_SCALE:g})"
        )
    checked_workers(workers)
    _whole("detail_replications", detail_replications, 0, None, "0 or more")


def _whole(name: str, value: object, low: int, high: int | None, allowed: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError(f"{name}: {value!r} is not a whole number (allowed: {allowed})")
    if value < low or (high is not None and value > high):
        raise OptionError(f"{name}: {value} is out of range (allowed: {allowed})")
    return value

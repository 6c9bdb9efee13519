"""Will a run fit in memory? Checked before anything is allocated.

The number of devices is known in expectation from the rates, so the memory a run needs can be
estimated up front; a run that would not fit stops with the estimate and the `--scale` that would,
instead of being killed by the operating system.
"""

from __future__ import annotations

import math
import os

from simlock.errors import TooBigError
from simlock.model.population import BYTES_PER_DEVICE, expected_devices
from simlock.scenario.models import Scenario

WORKING_BYTES_PER_DEVICE = 160
"""Peak bytes per device while a variant runs (columns, draws and temporaries), measured."""

DETAIL_BYTES_PER_DEVICE_VARIANT = 140
"""Bytes per device and variant of the `devices` frame kept for a detail replication."""


def available_memory() -> int:
    """Bytes this process can still use: the least of the memory available on the machine, the
    room left under a container's limit (cgroup) and under an address-space limit (`ulimit -v`).
    In a container the machine's figure is the host's, so the limit is what counts."""
    found = [_machine_available(), _cgroup_room(), _address_space_room()]
    return min(bytes_ for bytes_ in found if bytes_ is not None)


def _machine_available() -> int:
    """MemAvailable on Linux, else physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


_CGROUP_FILES = (
    ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
    ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"),
)
_NO_LIMIT = 2**60
"""cgroup reports 'no limit' as 'max' or as a number near 2^63."""


def _cgroup_room() -> int | None:
    """Limit minus usage of this process's memory cgroup (v2, then v1), if it has a limit."""
    for limit_file, usage_file in _CGROUP_FILES:
        try:
            with open(limit_file, encoding="ascii") as handle:
                limit_text = handle.read().strip()
            with open(usage_file, encoding="ascii") as handle:
                usage = int(handle.read().strip())
        except (OSError, ValueError):
            continue
        if limit_text == "max" or not limit_text.isdigit() or int(limit_text) >= _NO_LIMIT:
            return None
        return max(0, int(limit_text) - usage)
    return None


def _address_space_room() -> int | None:
    """The address-space limit (`ulimit -v`) minus what this process has mapped already."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/statm", encoding="ascii") as handle:
            mapped = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (ImportError, OSError, ValueError, IndexError):
        return None
    return max(0, soft - mapped)


def estimate_memory(
    scenario: Scenario, scale: float, workers: int, detail: int, variants: int
) -> int:
    """Bytes a run is expected to need at its peak (with a 4-sigma margin on the device count)."""
    mean = expected_devices(scenario, scale)
    devices = mean + 4 * math.sqrt(mean)
    per_task = devices * (BYTES_PER_DEVICE + WORKING_BYTES_PER_DEVICE)
    detail_bytes = (
        devices * DETAIL_BYTES_PER_DEVICE_VARIANT * variants * min(detail, scenario.replications)
    )
    return int(per_task * max(1, min(workers, scenario.replications)) + detail_bytes + 200e6)


def check_fits(
    scenario: Scenario,
    scale: float,
    workers: int,
    detail: int,
    variants: int,
    available: int | None = None,
    *,
    command: str = "run",
) -> None:
    """Raise `TooBigError` if the run would need more memory than is available, saying the
    estimate and the largest scale that fits (or that none does with these workers). `command`
    says which options to suggest: a sweep has no --detail."""
    need = estimate_memory(scenario, scale, workers, detail, variants)
    have = available if available is not None else available_memory()
    if need <= have:
        return
    devices = expected_devices(scenario, scale)
    fitting = fitting_scale(scenario, scale, workers, detail, variants, have)
    if fitting is None:
        advice = "nothing fits with these settings: try --workers 1" + (
            " and --detail 0" if command == "run" else ""
        )
    elif command == "run":
        advice = (
            f"try --scale {fitting:.3g} (from Python: scale={fitting:.3g}), fewer --workers or "
            "a smaller --detail"
        )
    else:
        advice = (
            f"try --scale {fitting:.3g} (or scale: {fitting:.3g} in the sweep: section), or "
            "fewer --workers"
        )
    raise TooBigError(
        f"this {command} needs about {_gigabytes(need)} ({devices:,.0f} devices per "
        f"replication, {workers} worker(s), {min(detail, scenario.replications)} detail "
        f"replication(s)) but {_gigabytes(have)} is available; {advice}"
    )


def fitting_scale(
    scenario: Scenario, scale: float, workers: int, detail: int, variants: int, available: int
) -> float | None:
    """The largest scale (3 significant digits, rounded down) whose estimate fits `available`
    bytes, or None if even a vanishing scale does not."""
    if estimate_memory(scenario, 0.0, workers, detail, variants) > available:
        return None
    low, high = 0.0, scale
    for _ in range(100):
        middle = (low + high) / 2
        if estimate_memory(scenario, middle, workers, detail, variants) <= available:
            low = middle
        else:
            high = middle
    if low <= 0:
        return None
    digits = 2 - math.floor(math.log10(low))
    rounded = math.floor(low * 10**digits) / 10**digits
    return rounded if rounded > 0 else None


def _gigabytes(size: float) -> str:
    return f"{size / 1e9:,.1f} GB" if size >= 1e8 else f"{size / 1e6:,.0f} MB"

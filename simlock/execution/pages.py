"""Ordinary memory pages while a task runs: numpy's huge-page hint costs more than it saves here.

numpy advises the kernel to back every large array with huge pages (`madvise(MADV_HUGEPAGE)`).
Where the kernel then compacts memory to find them on demand (transparent huge pages with
`defrag` set to `madvise`, a common default), each fresh array waits for that: a task allocates
and frees hundreds of arrays of millions of elements, and spent as much time in the kernel as in
numpy. Measured on one full-scale replication of the 2021 baseline (2 cores, Linux 6, THP
`madvise`): 0.45 s of system time with the hint, 0.13 s without, the same user time.

The hint is a process-wide numpy setting, so the task restores what it found when it ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


def _hint_setter():
    """numpy's switch for the hint (private, present since numpy 1.20), or None."""
    core = getattr(np, "_core", None) or getattr(np, "core", None)
    return getattr(getattr(core, "multiarray", None), "_set_madvise_hugepage", None)


@contextmanager
def ordinary_pages() -> Iterator[None]:
    """Run the block with numpy's huge-page hint off, then put it back as it was."""
    setter = _hint_setter()
    if setter is None:
        yield
        return
    before = setter(False)
    try:
        yield
    finally:
        setter(before)

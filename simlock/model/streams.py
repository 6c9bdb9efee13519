"""Random streams: one per kind of draw, spawned from the scenario seed.

A process's arrivals and device keys (and cohorts) come from `numpy.random.Generator`s whose
`SeedSequence` is the scenario seed with a spawn key of (replication, process, kind). A region's
devices therefore do not change when another region's parameters do, nor when any policy's do,
which keeps sweeps, searches and plausible worlds on common random numbers too.

A device's coverage and lock-delay draws, which every variant's windows read, and its channel
come from streams too, one uniform per device in order. Every other per-device draw (signals,
check-in times, appeals and their service times, behaviours after a lock) is taken from a
counter-based generator: a SplitMix64 mix of the device's 64-bit key with a purpose constant
and a counter. Each (device, purpose, counter) gives the same uniform in every variant, without
storing arrays or depending on which devices a variant touches, or which devices a replication
keeps (`thinning`): that is what makes the variants of a replication differ only by their
policy.
"""

from __future__ import annotations

import zlib
from enum import IntEnum

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_PURPOSE = np.uint64(0xD1B54A32D192ED03)
_S30, _S27, _S31, _S11 = (np.uint64(n) for n in (30, 27, 31, 11))


class Kind(IntEnum):
    """Population streams: one Generator per kind, process (`draws.Draw.stream`) and
    replication, each drawn for every device of the process in order (so a device's draws do not
    depend on which devices are kept: `thinning`): its time, key, channel, and the two personal
    draws every variant's windows read (coverage and lock delay)."""

    ARRIVALS = 1
    CHANNELS = 2
    KEYS = 4
    COHORTS = 5
    COUNTS = 6
    """How a counted process's activations fall on days and channels (`draws.count_counted`)."""
    COVERAGE = 7
    LOCK_DELAY = 8


class Purpose(IntEnum):
    """Per-device counter-based draws, one constant per decision. A generated population draws
    coverage and lock delay from streams (`Kind`); the two purposes serve a population built
    column by column (`Population`)."""

    COVERAGE = 1
    LOCK_DELAY = 2
    PHASE = 3
    JITTER = 4
    RESOLVE = 5
    APPEAL = 6
    APPEAL_DELAY = 7
    APPROVAL = 8
    SERVICE = 9
    AFTER_LOCK = 10
    REGISTRY_TRY = 11
    REGISTRY_SUCCESS = 12
    REGISTRY_DELAY = 13
    COMPLAIN = 14
    WARN_CONTACT = 16
    LOCK_CONTACT = 32
    UNLOCK_CONTACT = 48
    LISTED = 64  # past the contact purposes' blocks of 16, clear of any purpose added below them
    SIM = 81
    VPN = 82
    GPS = 83
    WIFI = 84


def generator(seed: int, replication: int, region_id: str, kind: Kind) -> np.random.Generator:
    """The Generator for one kind of population draw in one region and replication."""
    region_key = zlib.crc32(region_id.encode())
    sequence = np.random.SeedSequence(seed, spawn_key=(replication, region_key, int(kind)))
    return np.random.Generator(np.random.PCG64(sequence))


def _mix(z: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser of `z + golden`, in place in `z` (`scratch`: a buffer as large).

    In place because `uniform` runs over millions of keys per variant: a fresh array for each of
    the mix's nine operations was most of its time."""
    z += _GOLDEN
    for shift, factor in ((_S30, _MIX1), (_S27, _MIX2)):
        np.right_shift(z, shift, out=scratch)
        z ^= scratch
        z *= factor
    np.right_shift(z, _S31, out=scratch)
    z ^= scratch
    return z


BLOCK = 1 << 15
"""Keys mixed per block (32,768: 256 KB per array), so that a mix's dozen passes stay in the
processor's cache: over whole arrays of millions of keys each pass went to memory, and the same
draws took twice as long."""


def uniform(keys: np.ndarray, purpose: int, counter: np.ndarray | int = 0) -> np.ndarray:
    """Uniforms in (0, 1), one per key, fixed by (key, purpose, counter): the key salted by the
    purpose and mixed, then moved by the counter and mixed again, as a 53-bit fraction; block by
    block (`BLOCK`)."""
    keys = np.asarray(keys, dtype=np.uint64)
    counter = np.asarray(counter, dtype=np.uint64)
    shape = np.broadcast_shapes(keys.shape, counter.shape)
    flat_keys = np.broadcast_to(keys, shape).reshape(-1)
    counters = np.broadcast_to(counter, shape).reshape(-1) if counter.ndim else None
    out = np.empty(flat_keys.size)
    z_buffer = np.empty(min(BLOCK, flat_keys.size), dtype=np.uint64)
    scratch_buffer = np.empty_like(z_buffer)
    with np.errstate(over="ignore"):
        salt = np.uint64(purpose) * _PURPOSE
        step = counter * _GOLDEN
        for start in range(0, flat_keys.size, BLOCK):
            stop = min(start + BLOCK, flat_keys.size)
            z, scratch = z_buffer[: stop - start], scratch_buffer[: stop - start]
            np.bitwise_xor(flat_keys[start:stop], salt, out=z)
            _mix(z, scratch)
            z += step if counters is None else counters[start:stop] * _GOLDEN
            _mix(z, scratch)
            z >>= _S11
            block = out[start:stop]
            np.copyto(block, z, casting="unsafe")
            block += 0.5
            block *= 1.0 / 9007199254740992.0
    return out.reshape(shape)


def exponential(keys: np.ndarray, purpose: int, counter: int, mean: float) -> np.ndarray:
    """Exponential draws with the given mean (days), fixed by (key, purpose, counter)."""
    return -mean * np.log(uniform(keys, purpose, counter))

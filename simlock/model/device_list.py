"""The device-list trigger (`policy.device_list`): which considered devices are on the vendor's
list, and from when each listed device's lock delay counts.

A device of the batch (its channel is one of `batch`) is on the list unless the list missed it,
with probability `missed_share`; any other considered device is on it by mistake with
probability `false_listing_share`. One uniform per device decides both (the same in every
variant, so a variant without listing errors locks the same batch devices and no others). A
listed device is decided `lock_delay` after the later of its activation and the list's start
(after the end of its grace too, with a registry); with `check: first_connection`, a listed
device activated before the start is never checked again, and kept. With `proof_of_purchase`
the appeals desk approves no device of the batch (`cannot_prove`).

So, for a considered device that connects after the list's start, in a policy without windows
that covers every device, the chance it is locked is

    P(locked | batch) = 1 − missed_share,    P(locked | not batch) = false_listing_share,

and the share of collateral among the locks is
N_other · false_listing_share / (N_batch · (1 − missed_share) + N_other · false_listing_share),
which `tests/test_device_list.py` checks against the engine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from simlock.scenario.device_list import DeviceList

from .streams import Purpose, uniform

DEVICE_LIST_OUTCOMES = ("not_listed", "missed_by_list", "connected_before_list")
"""Outcomes a device list adds (after the engine's, the behaviours' and a registry's): not on
the list and not in the batch; in the batch but missed by the list; listed, but first connected
before a list checked only at first connection."""


@dataclass(frozen=True)
class ListingFate:
    """What the list makes of each considered device (arrays over them): `listed` (on the list,
    locked unless the policy spares it), `missed` (of the batch, not listed), `unlisted` (not of
    the batch, not listed), `before` (listed, connected before a first-connection list), and
    `earliest`, the earliest time each listed device's lock delay may count from."""

    listed: np.ndarray
    missed: np.ndarray
    unlisted: np.ndarray
    before: np.ndarray
    earliest: float


def listing_fate(
    device_list: DeviceList,
    start_day: float,
    activated: np.ndarray,
    in_batch: np.ndarray,
    keys: np.ndarray,
) -> ListingFate:
    """The list's verdict on devices activated at `activated` (days), of the batch where
    `in_batch` holds; `start_day`: the list's start (days)."""
    u = uniform(keys, Purpose.LISTED)
    on_list = np.where(in_batch, u >= device_list.missed_share, u < device_list.false_listing_share)
    before = on_list & (activated < start_day)
    if device_list.check != "first_connection":
        before = np.zeros(activated.size, dtype=bool)
    return ListingFate(
        listed=on_list & ~before,
        missed=in_batch & ~on_list,
        unlisted=~in_batch & ~on_list,
        before=before,
        earliest=start_day,
    )


def batch_codes(device_list: DeviceList, channels: list[str]) -> np.ndarray:
    """Codes (`Codebook.channels`) of the batch's channels that some device came through."""
    return np.array([channels.index(c) for c in device_list.batch if c in channels], np.int64)


def cannot_prove(
    device_list: DeviceList | None, channel: np.ndarray, channels: list[str]
) -> np.ndarray:
    """Devices (by their channel codes) whose appeal a proof-of-purchase desk refuses: those of
    the batch, when the list asks for a proof (`proof_of_purchase`); none otherwise."""
    if device_list is None or not device_list.proof_of_purchase:
        return np.zeros(channel.size, dtype=bool)
    return np.isin(channel, batch_codes(device_list, channels))


def start_day(device_list: DeviceList, scenario_start: dt.date) -> float:
    """The list's start in days from the run's start (0 when it has none)."""
    if device_list.start is None:
        return 0.0
    return float((device_list.start - scenario_start).days)

"""The device-list trigger of a policy (`policy.device_list`): the vendor locks the devices whose
serial numbers are on its list (a stolen or diverted batch), with listing errors both ways.

Kept in its own module, beside `models`, so the trigger's format, its rules between fields and
its warnings read in one place. Its base configuration is the format's strict one (unknown keys
are errors, numbers finite): the same settings as `models._Model`, written here because
`models` imports this module.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .rules import Loc, RuleProblem, duplicate_problems, raise_rules
from .suggest import did_you_mean

_Share = Annotated[float, Field(ge=0.0, le=1.0, description="share between 0 and 1")]
_Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]

CHECKS = ("every_connection", "first_connection")
"""When a device's serial is checked against the list: at each of its check-ins, or only at its
first connection (its activation)."""


class DeviceList(BaseModel):
    """A device-list trigger: among the devices the policy considers (detected in a banned
    territory and not exempt), only those whose serial is on the vendor's list are locked.

    The devices truly in the batch (looted or diverted stock) are those of the `batch` channels.
    The list misses a share `missed_share` of the batch, and names by mistake a share
    `false_listing_share` of the other devices the policy considers (legitimate ones). A listed
    device gets its lock decision `lock_delay` after the later of its activation and the list's
    `start`; from there the policy's windows, warning, appeals and lift apply as to any lock. With
    `check: first_connection` the list is consulted only when a device first connects (its
    activation): a listed device that connected before `start` is never locked (outcome
    `connected_before_list`). A device not on the list is never locked by the policy (outcome
    `not_listed`, or `missed_by_list` for a device of the batch). With `proof_of_purchase`, the
    policy's appeals desk approves only devices outside the batch."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, allow_inf_nan=False, validate_default=True
    )

    batch: list[_Name] = Field(
        min_length=1,
        description=(
            "channels whose devices are the batch the list means to name (e.g. [looted]); each "
            "must be a channel of some region"
        ),
    )
    start: dt.date | None = Field(
        None, description="the day the list takes effect; default: the start of the run"
    )
    missed_share: _Share = Field(
        0.0, description="share of the batch's devices missing from the list (never locked)"
    )
    false_listing_share: _Share = Field(
        0.0,
        description=(
            "share of the other devices the policy considers that are listed by mistake "
            "(legitimate devices locked as if in the batch)"
        ),
    )
    check: Literal["every_connection", "first_connection"] = Field(
        "every_connection",
        description=(
            "when a serial is checked: at every check-in (a listed device already in use is "
            "locked after `start`), or only at a device's first connection"
        ),
    )

    proof_of_purchase: bool = Field(
        False,
        description=(
            "appeals are approved only for devices outside the batch: a legitimate owner can "
            "prove the purchase, the holder of a batch device cannot (the case still takes the "
            "desk's time)"
        ),
    )

    @field_validator("batch")
    @classmethod
    def _unique(cls, channels: list[str]) -> list[str]:
        raise_rules(
            "DeviceList",
            duplicate_problems(channels, "each channel at most once"),
            channels,
        )
        return channels


def device_list_problems(device_list: DeviceList | None, channels: list[str]) -> list[RuleProblem]:
    """Batch channels that no region has (paths relative to the policy): a typo there would make
    every listed device a mistake without a word."""
    if device_list is None:
        return []
    return [
        RuleProblem(
            ("device_list", "batch", i),
            f"no region has a channel {name!r}" + did_you_mean(name, channels),
            "a channel of some region: " + ", ".join(channels),
        )
        for i, name in enumerate(device_list.batch)
        if name not in channels
    ]


def device_list_date_problems(
    device_list: DeviceList | None, start: dt.date, end: dt.date
) -> list[RuleProblem]:
    """The list's start inside the run (path relative to the policy)."""
    if device_list is None or device_list.start is None or start <= device_list.start < end:
        return []
    where: Loc = ("device_list", "start")
    return [
        RuleProblem(
            where,
            f"device list start {device_list.start} is outside the run {start}..{end}",
            f"a date from {start} to {end - dt.timedelta(days=1)}",
        )
    ]


def batch_target_warning(device_list: DeviceList | None, targets: list[str], where: str) -> str:
    """A warning when the policy's targets leave out part of its batch: a lock of a batch device
    would then count as collateral, which is rarely what a file means ('' when all is well)."""
    if device_list is None:
        return ""
    left_out = [name for name in device_list.batch if name not in targets]
    if not left_out:
        return ""
    return (
        f"{where}.targets: the device list's batch channel(s) {', '.join(left_out)} are not "
        "targeted, so a lock of a batch device counts as collateral (add them to "
        "targets.channels)"
    )

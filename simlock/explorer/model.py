"""The explorer's logic, without a browser: levers -> a variant's override -> a validated
scenario -> a small run -> the report's figures, and the variant written out as YAML.

A lever is one value a student moves. The policy's levers become a variant's override of
`policy` (a plain mapping, only the fields that differ from the baseline), so that what the page
shows is exactly what a file with that variant would run, and the export is that override. The
world's levers (activation rates, the traveller share) cannot be a variant (variants override the
policy only): they change the world of both the baseline and the variant, and the export says
so in a comment. Every scenario is validated by `simlock.load_scenario`, so a bad combination
(a lift before the first window, no detection signal) is the same `ScenarioError` text that
`simlock validate` prints.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import time
from dataclasses import dataclass, field, replace
from typing import Any

import yaml
from matplotlib.figure import Figure

from simlock.analysis.results import Results
from simlock.errors import SimlockError
from simlock.execution.runner import run
from simlock.report.document import render_markdown
from simlock.report.figures import locked_over_time, users_by_region
from simlock.report.headline import headline, key_metrics_table
from simlock.scenario.loader import load_scenario
from simlock.scenario.models import CHANNEL_TRAVELLER, Scenario

VARIANT = "explored"
"""The name of the explored variant, in the figures and in the exported YAML."""

SCALE = 0.03
"""Activation rates are multiplied by this in the explorer: measured on the 2021 scenario, a
run of the baseline and one variant at 0.03 with two replications takes about half a second on
one core, and the two figures another half second, so the page answers in about a second."""

REPLICATIONS = 2
"""Two replications: the fewest with which the figures can draw an interval."""

DELAY_FIELDS = {"fixed": "days", "lognormal": "median_days", "exponential": "mean_days"}
"""The field of each delay distribution that the lock-delay lever moves (its central days)."""

DEFAULT_APPEALS: dict[str, Any] = {
    "share": 0.4,
    "delay": {"distribution": "exponential", "mean_days": 2.0},
    "agents": 20,
    "service_days": 1.0,
    "approval_share": 0.5,
}
"""Appeals switched on in a scenario whose policy and variants have none: a support desk of the
size the 2021 scenario's `retailer-appeals` variant assumes."""

DEFAULT_WARNING: dict[str, Any] = {"grace_days": 3.0, "resolve_share": 0.3}
"""A warning switched on in a scenario whose policy and variants have none."""


@dataclass(frozen=True)
class Levers:
    """Everything a student can move. `from_scenario` gives the baseline's values; a page holds
    one `Levers` and replaces it (`dataclasses.replace`) as widgets move."""

    detection_rule: str
    detection_signals: tuple[str, ...]
    lock_delay_days: float | None
    """The delay's central days (median, mean or fixed days); None when the baseline's
    distribution has no single such field (uniform, empirical): then it is not a lever."""
    window_coverage: dict[str, float]
    window_lookback: dict[str, float]
    coverage: float
    """The policy's own coverage, which applies only when it has no windows."""
    lift_on: bool
    lift_date: dt.date
    warning_on: bool
    grace_days: float
    resolve_share: float
    exempt_allowed_sim: bool
    exempt_channels: tuple[str, ...]
    appeals_on: bool
    appeals_share: float
    appeals_agents: int
    activation_multiplier: float = 1.0
    traveller_multiplier: float = 1.0


@dataclass
class Explorer:
    """One scenario being explored: its file's data, its baseline levers and the defaults the
    switches (warning, appeals) turn on."""

    data: dict[str, Any]
    baseline: Levers
    appeals_template: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_APPEALS))
    warning_template: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_WARNING))

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> Explorer:
        """The baseline of `scenario` as levers. A switch the baseline has off (warning,
        appeals) turns on with the settings of the policy or of the first variant that has them
        (the 2021 scenario's `warn-first`, `retailer-appeals`), else with the defaults here."""
        data = scenario.model_dump(by_alias=True, mode="json", exclude={"sweep", "expectations"})
        data["variants"] = {}
        policies = [scenario.variant(name) for name in scenario.variant_names]
        warning = next((p.warning for p in policies if p.warning is not None), None)
        appeals = next((p.appeals for p in policies if p.appeals is not None), None)
        warning_template = (
            warning.model_dump(by_alias=True, mode="json") if warning else dict(DEFAULT_WARNING)
        )
        appeals_template = (
            appeals.model_dump(by_alias=True, mode="json") if appeals else dict(DEFAULT_APPEALS)
        )
        return cls(
            data=data,
            baseline=_levers_of(scenario, warning_template, appeals_template),
            appeals_template=appeals_template,
            warning_template=warning_template,
        )

    @property
    def policy(self) -> dict[str, Any]:
        return self.data["policy"]

    @property
    def channels(self) -> list[str]:
        """Every channel of the world, for the exemption lever."""
        return list(
            dict.fromkeys(name for region in self.data["regions"] for name in region["channels"])
        )

    def override(self, levers: Levers) -> dict[str, Any]:
        """The variant's override of `policy`: only what differs from the baseline, in the
        scenario format (windows changed by name, as `simlock.scenario.merge` allows)."""
        base = self.baseline
        out: dict[str, Any] = {}
        detection: dict[str, Any] = {}
        if levers.detection_rule != base.detection_rule:
            detection["rule"] = levers.detection_rule
        if levers.detection_signals != base.detection_signals:
            detection["signals"] = list(levers.detection_signals)
        if detection:
            out["detection"] = detection
        if levers.lock_delay_days is not None and levers.lock_delay_days != base.lock_delay_days:
            delay = self.policy["lock_delay"]
            out["lock_delay"] = {
                "distribution": delay["distribution"],
                DELAY_FIELDS[delay["distribution"]]: levers.lock_delay_days,
            }
        windows: dict[str, Any] = {}
        for name, coverage in levers.window_coverage.items():
            change: dict[str, Any] = {}
            if coverage != base.window_coverage[name]:
                change["coverage"] = coverage
            if levers.window_lookback[name] != base.window_lookback[name]:
                change["lookback_days"] = levers.window_lookback[name]
            if change:
                windows[name] = change
        if windows:
            out["windows"] = windows
        if not self.policy["windows"] and levers.coverage != base.coverage:
            out["coverage"] = levers.coverage
        if levers.lift_on != base.lift_on or (
            levers.lift_on and levers.lift_date != base.lift_date
        ):
            out["lift"] = {"date": levers.lift_date} if levers.lift_on else None
        out.update(self._warning_override(levers))
        exemptions: dict[str, Any] = {}
        if levers.exempt_allowed_sim != base.exempt_allowed_sim:
            exemptions["allowed_sim"] = levers.exempt_allowed_sim
        if levers.exempt_channels != base.exempt_channels:
            exemptions["channels"] = list(levers.exempt_channels)
        if exemptions:
            out["exemptions"] = exemptions
        out.update(self._appeals_override(levers))
        return out

    def _warning_override(self, levers: Levers) -> dict[str, Any]:
        base = self.baseline
        if not levers.warning_on:
            return {"warning": None} if base.warning_on else {}
        values = {"grace_days": levers.grace_days, "resolve_share": levers.resolve_share}
        if not base.warning_on:
            return {"warning": values}
        changed = {
            key: value
            for key, value in values.items()
            if value != {"grace_days": base.grace_days, "resolve_share": base.resolve_share}[key]
        }
        return {"warning": changed} if changed else {}

    def _appeals_override(self, levers: Levers) -> dict[str, Any]:
        base = self.baseline
        if not levers.appeals_on:
            return {"appeals": None} if base.appeals_on else {}
        values = {"share": levers.appeals_share, "agents": levers.appeals_agents}
        if not base.appeals_on:
            return {"appeals": {**copy.deepcopy(self.appeals_template), **values}}
        changed = {
            key: value
            for key, value in values.items()
            if value != {"share": base.appeals_share, "agents": base.appeals_agents}[key]
        }
        return {"appeals": changed} if changed else {}

    def world(self, levers: Levers) -> list[dict[str, Any]]:
        """The regions with the world's levers applied: every activation rate multiplied, and
        each region's traveller share multiplied (at most 1) with its other channels rescaled so
        the shares still sum to 1."""
        regions = copy.deepcopy(self.data["regions"])
        for region in regions:
            for segment in region["activations"]:
                segment["rate_per_day"] *= levers.activation_multiplier
            channels = region["channels"]
            travellers = channels.get(CHANNEL_TRAVELLER, 0.0)
            if travellers <= 0.0 or levers.traveller_multiplier == 1.0:
                continue
            new = min(1.0, travellers * levers.traveller_multiplier)
            others = 1.0 - travellers
            for name in channels:
                if name != CHANNEL_TRAVELLER:
                    channels[name] = channels[name] * (1.0 - new) / others if others else 0.0
            channels[CHANNEL_TRAVELLER] = new
        return regions

    def world_changes(self, levers: Levers) -> list[str]:
        """The world's levers that differ from the file, in words (they are not in a variant)."""
        changes = []
        if levers.activation_multiplier != 1.0:
            changes.append(f"every activation rate x {levers.activation_multiplier:g}")
        if levers.traveller_multiplier != 1.0:
            changes.append(f"every region's traveller share x {levers.traveller_multiplier:g}")
        return changes

    def scenario(self, levers: Levers) -> Scenario:
        """The scenario with the levers' world and the override as variant `VARIANT`, validated
        by `simlock.load_scenario` (raises its `ScenarioError`)."""
        data = copy.deepcopy(self.data)
        data["regions"] = self.world(levers)
        data["variants"] = {VARIANT: _plain(self.override(levers))}
        return load_scenario(data)

    def export_yaml(self, levers: Levers) -> str:
        """The levers as a variant, in YAML to paste under a scenario's `variants:`."""
        lines = [
            f"# simlock explore: a variant of {self.data['name']}; paste under `variants:`",
        ]
        changes = self.world_changes(levers)
        if changes:
            lines.append(
                "# not in this variant (variants change the policy only; edit the regions): "
                + "; ".join(changes)
            )
        text = yaml.safe_dump(
            {VARIANT: self.override(levers)}, sort_keys=False, default_flow_style=False
        )
        return "\n".join(lines) + "\n" + text


@dataclass(frozen=True)
class Outcome:
    """What the page shows for one setting of the levers: the figures as PNG bytes, or the plain
    message of what is wrong; and how long it took."""

    figures: dict[str, bytes]
    message: str | None
    seconds: float
    results: Results | None = None
    answer: str = ""
    """The report's headline and key-metrics table for this run, in Markdown."""


FIGURES = ("locked_over_time", "users_by_region")
"""The report's figures the explorer draws, baseline beside the explored variant."""


def explore(explorer: Explorer, levers: Levers, *, scale: float = SCALE) -> Outcome:
    """Validate, run at `scale` and draw: the whole step from levers to what the page shows.
    A `SimlockError` (a bad value, a scale too big) is its message, never a traceback."""
    started = time.perf_counter()
    try:
        scenario = explorer.scenario(levers)
        results = run(
            scenario,
            replications=REPLICATIONS,
            scale=scale,
            variants=[VARIANT],
            workers=1,
            detail_replications=0,
        )
    except SimlockError as exc:
        return Outcome({}, str(exc), time.perf_counter() - started)
    figures = {
        "locked_over_time": _png(
            locked_over_time(
                results, figsize=(7.5, 3.6), title="Devices locked, baseline and explored"
            )
        ),
        "users_by_region": _png(
            users_by_region(results, figsize=(7.5, 3.6), title="Users affected by region")
        ),
    }
    return Outcome(figures, None, time.perf_counter() - started, results, answer(results))


def answer(results: Results) -> str:
    """The report's own first screen in words: the headline sentences and the compact table of
    key metrics with the paired difference from the baseline (Markdown, without a title)."""
    blocks = [*headline(results), key_metrics_table(results)]
    return render_markdown(blocks, title="").split("\n\n", 1)[1]


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def _plain(value: Any) -> Any:
    """Dates as ISO text: the scenario mapping is the JSON dump of a scenario."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _levers_of(
    scenario: Scenario, warning_template: dict[str, Any], appeals_template: dict[str, Any]
) -> Levers:
    policy = scenario.policy
    delay = policy.lock_delay
    delay_field = DELAY_FIELDS.get(delay.distribution)
    lift = policy.lift
    warning = policy.warning.model_dump() if policy.warning else warning_template
    appeals = policy.appeals.model_dump() if policy.appeals else appeals_template
    return Levers(
        detection_rule=policy.detection.rule,
        detection_signals=tuple(policy.detection.signals),
        lock_delay_days=getattr(delay, delay_field) if delay_field else None,
        window_coverage={w.name: w.coverage for w in policy.windows},
        window_lookback={w.name: w.lookback_days for w in policy.windows},
        coverage=policy.coverage,
        lift_on=lift is not None,
        lift_date=lift.date if lift is not None else scenario.end,
        warning_on=policy.warning is not None,
        grace_days=warning["grace_days"],
        resolve_share=warning["resolve_share"],
        exempt_allowed_sim=policy.exemptions.allowed_sim,
        exempt_channels=tuple(policy.exemptions.channels),
        appeals_on=policy.appeals is not None,
        appeals_share=appeals["share"],
        appeals_agents=appeals["agents"],
    )


def set_lever(levers: Levers, key: str, value: Any) -> Levers:
    """`levers` with one lever changed; a key `window_coverage.NAME` names a window's lever."""
    field, _, window = key.partition(".")
    if window:
        return replace(levers, **{field: {**getattr(levers, field), window: value}})
    if isinstance(value, list):
        value = tuple(value)
    return replace(levers, **{field: value})


__all__ = [
    "FIGURES",
    "REPLICATIONS",
    "SCALE",
    "VARIANT",
    "Explorer",
    "Levers",
    "Outcome",
    "answer",
    "explore",
    "set_lever",
]

"""The report of a run: `report.html` (one self-contained file), `report.md`, and the figures.

`write_report` renders every figure of `simlock.figures` to `figures/NAME.png` and `.svg` with the
table behind it as `figures/NAME.csv`, then writes the same document twice: as HTML (figures
embedded as base64 PNG, inline CSS, no script, nothing fetched from the network, so it can be
forwarded as one file) and as Markdown (figures referenced as `figures/NAME.png`) for git.

`build_document` puts the sections in reading order; each section builder here says what the
section shows and takes its parts from the private modules: the blocks and their renderers
(`_document`, which escapes every piece of text, so a scenario's names and descriptions can never
inject markup), the scenario in words (`_describe`), the tables of numbers (`_report_tables`).
Numbers are formatted in one place (`_format`; `format_value`, `format_estimate` and
`metric_unit` are re-exported here) so that the report, the expectations and the tests agree on
what a number looks like."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import matplotlib
import pandas as pd

from simlock.analysis.contents import (
    appeal_variants,
    describe_replications,
    detail_replications,
    policy_of,
    replications,
    variants,
)
from simlock.analysis.expectations import FAIL, NOT_EVALUATED, PASS, PASS_UNSURE
from simlock.analysis.formatting import (
    DASH,
    format_estimate,
    format_summary_row,
    format_value,
    metric_unit,
)
from simlock.analysis.metrics import METRICS
from simlock.analysis.results import Results
from simlock.scenario.models import BASELINE, Scenario

from . import figures as figs
from .alt_text import alt_text
from .delays import delay_note
from .describe import scenario_section, shared_target_label, target_label
from .document import (
    Block,
    FigureBlock,
    Fold,
    Heading,
    Paragraph,
    Span,
    Strong,
    render_html,
    render_markdown,
)
from .headline import CENSORED, key_metrics_table
from .plotting import REPORT_STYLE
from .questions import answer_blocks
from .tables import differences_table, expectations_table, manifest_table, metrics_table
from .worlds import MONTE_CARLO_LABEL, PLAUSIBLE_LABEL, worlds_count, worlds_section

PNG_DPI = 110

REGION_METRICS = (
    "users_affected",
    "targeted_locks",
    "collateral_locks",
    "lock_days",
    "share_banned_locked",
)
LEAD_FIGURE = "locked_over_time"
"""The figure shown with the answer, before any detail."""


# ---------------------------------------------------------------------------------------------
# Writing the report


def write_report(results: Results, folder: Path, expectations: pd.DataFrame | None) -> Path:
    """Write report.html, report.md, figures/*.png|svg|csv into `folder`; return report.html."""
    folder = Path(folder)
    figure_dir = folder / "figures"
    figure_dir.mkdir(parents=True, exist_ok=True)
    rendered = render_figures(results, figure_dir)
    blocks = build_document(results, expectations, rendered)
    title = f"simlock report: {results.scenario.name}"
    (folder / "report.md").write_text(render_markdown(blocks, title), encoding="utf-8")
    path = folder / "report.html"
    path.write_text(render_html(blocks, title), encoding="utf-8")
    return path


def render_figures(results: Results, figure_dir: Path) -> list[FigureBlock]:
    """Draw every figure that applies (the support desk only when a variant has appeals), save
    PNG, SVG and CSV, and return them as blocks with their captions."""
    out = []
    for spec in figs.figures_for(results):
        data = spec.data(results)
        data.to_csv(figure_dir / f"{spec.name}.csv", index=False)
        buffer = io.BytesIO()
        # The report's font sizes, whatever the caller's rcParams (ticks are made while saving).
        with matplotlib.rc_context(REPORT_STYLE):
            figure = spec.plot(results, data)
            figure.savefig(buffer, format="png", dpi=PNG_DPI)
            # No date in the SVG: the same run gives the same file.
            figure.savefig(figure_dir / f"{spec.name}.svg", format="svg", metadata={"Date": None})
        png = buffer.getvalue()
        (figure_dir / f"{spec.name}.png").write_bytes(png)
        caption = _caption(results, spec.name, data)
        out.append(
            FigureBlock(spec.name, spec.title, caption, png, alt_text(results, spec.name, data))
        )
    return out


def _targets(results: Results) -> str:
    """What the run's variants target, in words ('grey import channel'), for text about all of
    them."""
    policies = [policy_of(results.scenario, v) for v in variants(results)]
    return shared_target_label([p for p in policies if p is not None] or [results.scenario.policy])


def _caption(results: Results, name: str, data: pd.DataFrame) -> str:
    n = replications(results)
    over = (
        f"mean over {n} replications with its 95% band"
        if n >= 2
        else "one replication, so no interval"
    )
    worlds = worlds_count(results)
    if worlds:
        over = (
            f"mean over {worlds} plausible worlds; light band: plausible range, 5%–95% over "
            f"every world and replication; dark band: {MONTE_CARLO_LABEL}"
        )
    detail = describe_replications(detail_replications(results))
    log_scale = name == "locks_per_day" and figs.per_day_log_scale(data)
    bars = "bars: 95% intervals" if n >= 2 else "no interval"
    region_bars = bars
    if worlds:
        bars = f"bars: {MONTE_CARLO_LABEL}"
        region_bars = f"solid whiskers: {MONTE_CARLO_LABEL}; dotted grey: {PLAUSIBLE_LABEL}"
    captions = {
        "locked_over_time": f"Devices locked at the end of each day, per variant ({over}). "
        "Shaded: enforcement windows; dashed line: the lift.",
        "locks_per_day": f"Devices newly locked and unlocked each day, per variant ({over})"
        + (
            "; logarithmic scale above one device a day, so the early trickle and the surge "
            "both show."
            if log_scale
            else "."
        ),
        "users_by_region": "Devices locked at least once, by the region where they were "
        f"activated, per variant ({region_bars}).",
        "delay_cdf": "Share of locked devices locked within a given number of days of "
        "activation, and locked for at most a given number of days (devices still locked at the "
        f"end count until the end); device-level rows of {detail}.",
        "tradeoff": f"Targeted locks (devices of the {_targets(results)} in banned territories) "
        "against collateral locks (travellers, official devices, detection errors) per variant "
        f"({bars}): right is what a variant "
        "buys, up is what it costs.",
        "support_desk": "Appeals waiting for the support desk at the end of each day, and the "
        "mean days appeals filed that day waited before service (served appeals only; the lift "
        f"withdraws the rest); {detail}.",
        "complaints_by_region": "What happened against what the public saw: devices locked at "
        "least once (light bars) and, inside them, the users who complained publicly (hatched; "
        "the observation model: each territory's complaint_share of its locked users), by the "
        f"region of activation, per variant ({over}). A territory with the most complaints need "
        "not be the one with the most locks.",
        "users_by_cohort": "Devices locked at least once (left) and devices kept for being in "
        "use before their cohort's phase (right), by cohort, per variant "
        f"({region_bars}). A phase-in spares the phones of a cohort in use before its date.",
    }
    return captions[name]


# ---------------------------------------------------------------------------------------------
# The content


def build_document(
    results: Results, expectations: pd.DataFrame | None, rendered: list[FigureBlock]
) -> list[Block]:
    """The report's content in reading order, for both renderers: the answer first (headline,
    key numbers, devices locked over time), then the detail (each variant in words, folded; the
    scenario; every metric; differences; expectations; the other figures; the manifest)."""
    scenario = results.scenario
    lead = [f for f in rendered if f.name == LEAD_FIGURE]
    blocks: list[Block] = []
    blocks += _opening(results)
    blocks += _answer_section(results, expectations, lead)
    blocks += _variants_section(results)
    blocks += scenario_section(results)
    blocks += worlds_section(results)
    blocks += _metrics_section(results)
    blocks += _differences_section(results)
    if expectations is not None:
        blocks += _expectations_section(scenario, expectations, worlds_count(results))
    blocks += _figures_section(results, [f for f in rendered if f.name != LEAD_FIGURE])
    blocks += _manifest_section(results)
    return blocks


def _opening(results: Results) -> list[Block]:
    scenario = results.scenario
    manifest = results.manifest
    blocks: list[Block] = []
    if scenario.description:
        blocks.append(Paragraph([scenario.description], css="lead"))
    scale = manifest.get("scale", 1.0)
    n = replications(results)
    facts = (
        f"Simulated {scenario.start.isoformat()} to {scenario.end.isoformat()} "
        f"({scenario.days:g} days), {n} replication(s), seed {scenario.seed}"
    )
    if scale != 1:
        facts += f", activation rates scaled by {scale:g} (counts are for the scaled world)"
    facts += f"; simlock {manifest.get('simlock_version', '?')}."
    worlds = worlds_count(results)
    if worlds:
        facts = facts.replace(
            f"{n} replication(s)", f"{worlds} plausible worlds × {n // worlds} replication(s)"
        )
        facts += (
            f" Numbers are means over the {worlds} worlds, with the {MONTE_CARLO_LABEL} (over "
            f"the worlds' means) in brackets; the {PLAUSIBLE_LABEL} is given beside them."
        )
        return [*blocks, Paragraph([facts])]
    if n >= 2:
        facts += (
            f" Numbers are means over {n} replications, with 95% Student-t intervals across "
            "replications in brackets."
        )
        return [*blocks, Paragraph([facts])]
    return [
        *blocks,
        Paragraph([facts]),
        Paragraph(
            [
                "This run has one replication: 95% intervals are undefined and not shown; "
                "rerun with --replications 10 or more for intervals."
            ],
            css="note",
        ),
    ]


def _answer_section(
    results: Results, expectations: pd.DataFrame | None, lead: list[FigureBlock]
) -> list[Block]:
    """What a reader came for, before any detail: the headline sentences (over plausible
    worlds, the students' questions answered with ranges), the expectations' tally, the key
    numbers of every variant with its difference from the baseline, and the figure of devices
    locked over time."""
    blocks: list[Block] = [Heading("The answer", 2, "answer"), *answer_blocks(results)]
    if expectations is not None and len(expectations):
        text = "Expectations: " + _tally(expectations)
        failed = [str(x) for x in expectations.loc[expectations["verdict"] == FAIL, "name"]]
        text += f"; failing: {'; '.join(failed)}." if failed else "."
        blocks.append(Paragraph([text], css="fail" if failed else "pass"))
    if worlds_count(results):
        blocks.append(Paragraph([WORLDS_CELLS], css="note"))
    blocks.append(key_metrics_table(results))
    return blocks + list(lead)


WORLDS_CELLS = (
    f"In the tables of a run over plausible worlds, each number is the mean with its "
    f"{MONTE_CARLO_LABEL} in brackets, and under it its {PLAUSIBLE_LABEL}."
)


def _overall(results: Results) -> dict[tuple[str, str], pd.Series]:
    rows = results.summary[results.summary["group"] == "all"]
    return {(str(r["variant"]), str(r["metric"])): r for _, r in rows.iterrows()}


def _variants_section(results: Results) -> list[Block]:
    """Every number of each variant in sentences, one folded block per variant."""
    overall = _overall(results)
    start = results.scenario.start
    folds: list[Block] = []
    for variant in variants(results):
        users = format_summary_row(
            overall.get((variant, "users_affected")), "devices", start
        ).split(" [")[0]
        folds.append(
            Fold(
                [Strong(variant), f": {users} users locked"],
                [Paragraph(_variant_words(results, variant, overall))],
            )
        )
    return [Heading("Each variant in detail", 2, "variant-detail"), *folds]


def _variant_words(
    results: Results, variant: str, overall: dict[tuple[str, str], pd.Series]
) -> list[Span]:
    """'Under variant X, N users [CI] were locked at least once ...' in plain sentences."""
    start = results.scenario.start

    def est(metric: str) -> str:
        return format_summary_row(overall.get((variant, metric)), metric_unit(metric), start)

    def mean(metric: str) -> float:
        row = overall.get((variant, metric))
        return float(row["mean"]) if row is not None else float("nan")

    who = " (the scenario's policy)" if variant == BASELINE else ""
    spans: list[Span] = ["Under variant ", Strong(variant), who]
    if not mean("users_affected") > 0:
        return [*spans, ", no device was locked."]
    policy = policy_of(results.scenario, variant)
    targets = target_label(policy) if policy is not None else "policy's targets"
    listing = policy is not None and policy.device_list is not None
    text = f", {est('users_affected')} users were locked at least once"
    if mean("banned_activations") > 0 and not listing:
        text += f" ({est('share_banned_locked')} of activations in banned territories)"
    text += (
        f": {est('targeted_locks')} targeted locks (devices of the {targets}"
        + ("" if listing else " in banned territories")
        + ") against "
        f"{est('collateral_locks')} collateral locks. {_overlap_words(est, mean)} "
    )
    if listing:
        text += (
            f"The device list named {est('listed')} devices, {est('listed_by_mistake')} of them "
            f"by mistake, and missed {est('missed_by_list')} of the batch"
            + (
                f"; {est('connected_before_list')} listed devices had connected before it "
                "and were never checked again. "
                if mean("connected_before_list") > 0
                else ". "
            )
        )
    text += (
        f"Locked devices lost {est('lock_days')} device-days; at the peak, "
        f"{est('peak_locked')} devices were locked at once (around {est('peak_locked_day')}). "
        f"Half of the locks came within {est('days_to_lock_median')} days of activation, 90% "
        f"within {est('days_to_lock_p90')} days; the median lock lasted "
        f"{est('lock_duration_median')} days{CENSORED if mean('locked_at_end') > 0 else ''}."
    )
    if policy is not None and policy.lift is not None and policy.lift.unlock:
        text += f" The lift unlocked {est('unlocked_by_lift')} devices"
        text += f"; {est('locked_at_end')} were still locked at the end of the run."
    elif mean("locked_at_end") > 0:
        text += f" {est('locked_at_end')} devices were still locked at the end of the run."
    if policy is not None and policy.warning is not None:
        text += (
            f" {est('warned')} users were warned first; {est('resolved_after_warning')} "
            "resolved it and were not locked."
        )
    if policy is not None and policy.appeals is not None:
        text += (
            f" {est('appeals_filed')} appeals were filed, {est('appeals_served')} served and "
            f"{est('appeals_approved')} approved; the served appeals waited a median of "
            f"{est('appeal_wait_median')} days."
        )
    return [*spans, text]


def _overlap_words(est: Callable[[str], str], mean: Callable[[str], float]) -> str:
    """The travellers and the devices activated outside banned territories among the collateral
    locks, and how the two groups overlap (travellers abroad are in both), so that nobody adds
    them up."""
    travellers, outside = est("collateral_travellers"), est("collateral_outside_banned")
    both = mean("collateral_travellers_outside_banned")
    text = (
        f"The collateral locks include {travellers} travellers and {outside} devices activated "
        "outside banned territories (detection errors)"
    )
    if both == 0:
        return text + "; no traveller was among the latter, so the two groups do not overlap."
    if both == mean("collateral_outside_banned"):
        return text + (
            ". Every one of the latter was a traveller: the two groups overlap entirely (the "
            "travellers include them)."
        )
    return text + (
        f"; the two groups overlap: {est('collateral_travellers_outside_banned')} travellers "
        "activated outside banned territories are counted in both."
    )


# ---------------------------------------------------------------------------------------------
# Metrics, differences and expectations


def _delay_paragraph(results: Results) -> list[Block]:
    """Why days to lock exceed the lock delay (nothing when no device was locked)."""
    note = delay_note(results)
    return [] if note is None else [Paragraph([note])]


def _metrics_section(results: Results) -> list[Block]:
    n = replications(results)
    how = (
        f"Mean and 95% interval across {n} replications (Student t), per variant."
        if n >= 2
        else "One replication: the value of that replication; 95% intervals are undefined."
    )
    worlds = worlds_count(results)
    if worlds:
        how = (
            f"Mean over {worlds} plausible worlds per variant, with its {MONTE_CARLO_LABEL} "
            f"(over the worlds' means) in brackets and its {PLAUSIBLE_LABEL} under it."
        )
    blocks: list[Block] = [
        Heading("Metrics", 2, "metrics"),
        Paragraph(
            [
                how + f" {DASH} marks a value that is undefined (for example a median delay "
                "when nothing was locked). Collateral locks are all locks except those of devices "
                f"of the {_targets(results)} activated in a banned territory."
            ]
        ),
        metrics_table(results, "all", list(METRICS)),
        *_delay_paragraph(results),
        Heading("By region", 3, "by-region"),
        metrics_table(results, "region", list(REGION_METRICS)),
        Heading("By channel", 3, "by-channel"),
        Paragraph(
            [
                "Every metric for the devices of each sales channel, including how their locks "
                "ended (unlocked by the lift or by an appeal, or still locked at the end)."
            ]
        ),
        metrics_table(results, "channel"),
        *_cohort_blocks(results),
    ]
    return blocks


COHORT_METRICS = (
    "activations",
    "banned_activations",
    "users_affected",
    "targeted_locks",
    "collateral_locks",
    "share_banned_locked",
    "registered",
    "kept_before_registry",
    "kept_before_phase",
    "other_cohort",
    "days_to_lock_median",
)
"""What the table by cohort shows: who each brand's phase reached, kept and locked."""


def _cohort_blocks(results: Results) -> list[Block]:
    """The table by cohort, when the scenario has cohorts (the summary has a cohort group)."""
    if not (results.summary["group"] == "cohort").any():
        return []
    return [
        Heading("By cohort", 3, "by-cohort"),
        Paragraph(
            [
                "The devices of each cohort (brand, model or release): how many the policy "
                "reached, kept (in use before their phase, when it is not retroactive) or left "
                "out (a cohort it does not reach), and how many it locked. Devices of a region "
                "without cohort shares are under none."
            ]
        ),
        metrics_table(results, "cohort", list(COHORT_METRICS)),
    ]


def _differences_section(results: Results) -> list[Block]:
    table = differences_table(results)
    if table is None:
        return []
    n = replications(results)
    how = (
        f"paired over {n} replications (the variants of a replication share their devices), "
        "with 95% intervals of the paired differences"
        if n >= 2
        else "one replication, so no interval"
    )
    worlds = worlds_count(results)
    if worlds:
        how = (
            f"paired within each (world, replication) over {worlds} plausible worlds, with the "
            f"{MONTE_CARLO_LABEL} difference in brackets and the {PLAUSIBLE_LABEL} of the paired "
            "differences under it"
        )
    return [
        Heading("Differences from the baseline", 2, "differences"),
        Paragraph(
            [
                f"Each variant minus the baseline, {how}. An interval that excludes 0 is a "
                "difference the replications cannot explain away."
            ]
        ),
        table,
    ]


def _tally(expectations: pd.DataFrame) -> str:
    """'11 of 12 pass' (and how many were not evaluated, when some were not)."""
    verdicts = expectations["verdict"]
    passed = int(verdicts.isin([PASS, PASS_UNSURE]).sum())
    skipped = int((verdicts == NOT_EVALUATED).sum())
    text = f"{passed} of {len(expectations)} pass"
    return text + (f", {skipped} not evaluated (variant not run)" if skipped else "")


def _expectations_section(
    scenario: Scenario, expectations: pd.DataFrame, worlds: int = 0
) -> list[Block]:
    blocks: list[Block] = [Heading("Expectations", 2, "expectations")]
    if expectations.empty:
        return [*blocks, Paragraph(["The scenario declares no expectations."])]
    how = "Each is checked on the mean across replications; the interval shows how sure that is."
    if worlds:
        how = (
            f"Each is checked on the mean over {worlds} plausible worlds (its {MONTE_CARLO_LABEL} "
            f"in brackets); the {PLAUSIBLE_LABEL} beside it shows whether the fact holds across "
            "the worlds or only on average."
        )
    blocks.append(Paragraph([f"{_tally(expectations)}. {how}"]))
    blocks.append(expectations_table(scenario, expectations))
    return blocks


# ---------------------------------------------------------------------------------------------
# Figures and manifest


def _figures_section(results: Results, rendered: list[FigureBlock]) -> list[Block]:
    blocks: list[Block] = [Heading("Figures", 2, "figures")]
    for figure in rendered:
        blocks.append(figure)
    if not appeal_variants(results):
        blocks.append(
            Paragraph(
                [
                    "The support desk: no appeals. No variant of this scenario lets locked users "
                    "appeal, so there is no queue to show."
                ],
                css="note",
            )
        )
    if not detail_replications(results):
        blocks.append(
            Paragraph(
                [
                    "This run kept no device-level tables (--detail 0): the distributions of "
                    "delays and durations, and the support desk, cannot be drawn."
                ],
                css="note",
            )
        )
    return blocks


def _manifest_section(results: Results) -> list[Block]:
    return [Heading("Manifest", 2, "manifest"), manifest_table(results.manifest)]


__all__ = [
    "build_document",
    "format_estimate",
    "format_value",
    "metric_unit",
    "render_html",
    "render_markdown",
    "write_report",
]

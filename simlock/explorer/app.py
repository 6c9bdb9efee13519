"""The explorer's page (Panel): levers on the left, the report's figures on the right, an export
button below them. Everything it computes is `simlock.explorer.model`; this module only maps
widgets to `Levers` and results to panes.

Sliders act when released (`value_throttled`), so dragging one does not queue a run per pixel;
the server is single-threaded, so runs never overlap.
"""

from __future__ import annotations

import datetime as dt
import html
import io
from typing import Any

import panel as pn

from .model import REPLICATIONS, SCALE, VARIANT, Explorer, Levers, Outcome, explore, set_lever

SIGNAL_OPTIONS = ["sim", "ip", "gps"]
RULE_OPTIONS = ["any", "all", "majority", "priority"]


class Page:
    """One browser session's page: its widgets, its current levers and what they produced."""

    def __init__(self, explorer: Explorer, scale: float = SCALE) -> None:
        self.explorer = explorer
        self.scale = scale
        base = explorer.baseline
        self.levers = base
        self.status = pn.pane.Markdown("", name="status")
        self.answer = pn.pane.Markdown("", name="answer", sizing_mode="stretch_width")
        self.error = pn.pane.HTML("", visible=False, name="error", sizing_mode="stretch_width")
        self.figures = {
            name: pn.pane.PNG(None, name=name, sizing_mode="scale_width", alt_text=alt)
            for name, alt in (
                ("locked_over_time", "Devices locked over time, baseline and explored variant"),
                ("users_by_region", "Users affected by region, baseline and explored variant"),
            )
        }
        self.export_button = pn.widgets.Button(
            name="Export as variant (YAML)", button_type="primary"
        )
        self.export_text = pn.widgets.TextAreaInput(
            name=f"Paste under `variants:` in {explorer.data['name']}", rows=14, value=""
        )
        self.export_button.on_click(lambda _event: self.export())
        self.download = pn.widgets.FileDownload(
            callback=self._download, filename=f"{VARIANT}.yaml", label="Download the YAML"
        )
        self.controls = self._controls(base)
        self.update()

    # --- levers --------------------------------------------------------------------------------
    def _slider(
        self, key: str, label: str, value: float, low: float, high: float, step: float
    ) -> pn.widgets.FloatSlider:
        widget = pn.widgets.FloatSlider(name=label, start=low, end=high, step=step, value=value)
        widget.param.watch(lambda event: self._moved(key, event.new), "value_throttled")
        return widget

    def _widget(self, key: str, widget: Any) -> Any:
        widget.param.watch(lambda event: self._moved(key, event.new), "value")
        return widget

    def _controls(self, base: Levers) -> pn.Column:
        explorer = self.explorer
        data = explorer.data
        policy = explorer.policy
        parts: list[Any] = [pn.pane.Markdown("### Detection")]
        parts.append(
            self._widget(
                "detection_rule",
                pn.widgets.Select(name="rule", options=RULE_OPTIONS, value=base.detection_rule),
            )
        )
        parts.append(
            self._widget(
                "detection_signals",
                pn.widgets.CheckBoxGroup(
                    name="signals",
                    options=SIGNAL_OPTIONS,
                    value=list(base.detection_signals),
                    inline=True,
                ),
            )
        )
        parts.append(pn.pane.Markdown("### Lock"))
        if base.lock_delay_days is not None:
            distribution = policy["lock_delay"]["distribution"]
            parts.append(
                self._slider(
                    "lock_delay_days",
                    f"lock delay, {distribution} (days)",
                    base.lock_delay_days,
                    0.0,
                    30.0,
                    0.5,
                )
            )
        for window in policy["windows"]:
            name = window["name"]
            parts.append(
                self._slider(
                    f"window_coverage.{name}",
                    f"window {name} ({window['start']} to {window['end']}): coverage",
                    base.window_coverage[name],
                    0.0,
                    1.0,
                    0.01,
                )
            )
            parts.append(
                self._slider(
                    f"window_lookback.{name}",
                    f"window {name}: look-back (days)",
                    base.window_lookback[name],
                    0.0,
                    60.0,
                    1.0,
                )
            )
        if not policy["windows"]:
            parts.append(self._slider("coverage", "coverage", base.coverage, 0.0, 1.0, 0.01))
        parts.append(pn.pane.Markdown("### Lift"))
        parts.append(self._widget("lift_on", pn.widgets.Checkbox(name="lift", value=base.lift_on)))
        parts.append(
            self._widget(
                "lift_date",
                pn.widgets.DatePicker(
                    name="lift date",
                    value=base.lift_date,
                    start=dt.date.fromisoformat(data["start"]),
                    end=dt.date.fromisoformat(data["end"]),
                ),
            )
        )
        parts.append(pn.pane.Markdown("### Warning"))
        parts.append(
            self._widget(
                "warning_on", pn.widgets.Checkbox(name="warn first", value=base.warning_on)
            )
        )
        parts.append(self._slider("grace_days", "grace (days)", base.grace_days, 0.0, 30.0, 0.5))
        parts.append(
            self._slider("resolve_share", "share who resolve", base.resolve_share, 0.0, 1.0, 0.01)
        )
        parts.append(pn.pane.Markdown("### Exemptions"))
        parts.append(
            self._widget(
                "exempt_allowed_sim",
                pn.widgets.Checkbox(
                    name="spare a SIM of an allowed country", value=base.exempt_allowed_sim
                ),
            )
        )
        parts.append(
            self._widget(
                "exempt_channels",
                pn.widgets.CheckBoxGroup(
                    name="spare channels (an oracle bound)",
                    options=explorer.channels,
                    value=list(base.exempt_channels),
                    inline=True,
                ),
            )
        )
        parts.append(pn.pane.Markdown("### Appeals"))
        parts.append(
            self._widget("appeals_on", pn.widgets.Checkbox(name="appeals", value=base.appeals_on))
        )
        parts.append(
            self._slider("appeals_share", "share who appeal", base.appeals_share, 0.0, 1.0, 0.01)
        )
        agents = pn.widgets.IntSlider(
            name="support agents", start=1, end=200, step=1, value=base.appeals_agents
        )
        agents.param.watch(
            lambda event: self._moved("appeals_agents", event.new), "value_throttled"
        )
        parts.append(agents)
        parts.append(pn.pane.Markdown("### World (baseline and variant)"))
        parts.append(
            self._slider(
                "activation_multiplier",
                "activation rates x",
                base.activation_multiplier,
                0.1,
                5.0,
                0.1,
            )
        )
        parts.append(
            self._slider(
                "traveller_multiplier",
                "traveller shares x",
                base.traveller_multiplier,
                0.0,
                5.0,
                0.1,
            )
        )
        return pn.Column(*parts, width=340)

    def _moved(self, key: str, value: Any) -> None:
        self.levers = set_lever(self.levers, key, value)
        self.update()

    # --- output --------------------------------------------------------------------------------
    def update(self) -> Outcome:
        """Run the current levers and show the figures, or the plain message of what is wrong."""
        outcome = explore(self.explorer, self.levers, scale=self.scale)
        if outcome.message is not None:
            self.error.object = error_html(outcome.message)
            self.error.visible = True
        else:
            self.error.visible = False
            for name, png in outcome.figures.items():
                self.figures[name].object = png
            self.answer.object = outcome.answer
        self.status.object = (
            f"**Scale {self.scale:g}** of every activation rate, {REPLICATIONS} replications: "
            f"counts are about {self.scale:.0%} of the full run's. Variant `{VARIANT}` beside "
            f"the baseline; updated in {outcome.seconds:.1f} s."
        )
        return outcome

    def export(self) -> str:
        """Write the current levers as a variant into the export box."""
        self.export_text.value = self.explorer.export_yaml(self.levers)
        return self.export_text.value

    def _download(self) -> io.StringIO:
        return io.StringIO(self.explorer.export_yaml(self.levers))

    def view(self) -> pn.Row:
        main = pn.Column(
            pn.pane.Markdown(f"## simlock explore: {self.explorer.data['name']}"),
            self.status,
            self.error,
            self.figures["locked_over_time"],
            self.figures["users_by_region"],
            self.answer,
            pn.Row(self.export_button, self.download),
            self.export_text,
            sizing_mode="stretch_width",
        )
        return pn.Row(self.controls, main, sizing_mode="stretch_width")


def error_html(message: str) -> str:
    """The plain message, wrapped and escaped, in a red box that says nothing ran."""
    return (
        '<div role="alert" style="background:#f8d7da;color:#58151c;border:1px solid #f1aeb5;'
        'border-radius:4px;padding:0.5em 1em"><strong>Not run</strong>; the figures are the '
        "last setting that ran. What is wrong:"
        f'<pre style="white-space:pre-wrap;margin:0.5em 0 0">{html.escape(message)}</pre></div>'
    )


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def websocket_origins(host: str, port: int) -> list[str]:
    """The pages allowed to open the session's websocket: this machine's own addresses on a
    loopback host; any, when `--host` opened the port to others (they reach it by a name this
    process cannot know, and whoever can reach the port can use the page anyway)."""
    if host in LOOPBACK:
        return [f"{name}:{port}" for name in ("127.0.0.1", "localhost")]
    return ["*"]


def serve(explorer: Explorer, *, host: str, port: int, scale: float = SCALE) -> None:
    """Serve the page until Ctrl-C; each browser session gets its own `Page`."""
    pn.extension()

    def page() -> pn.Row:
        return Page(explorer, scale).view()

    pn.serve(
        {"/": page},
        address=host,
        port=port,
        websocket_origin=websocket_origins(host, port),
        show=False,
        threaded=False,
        title=f"simlock explore: {explorer.data['name']}",
    )

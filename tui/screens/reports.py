"""`S`: the SLA report (models/desk/report.py) on a screen: first responses met per kind, median and
p90, breaches, the daily trend as a sparkline, and a table per technician. Computed in a thread
worker; `r` recomputes, `1` / `3` / `9` show 7, 30 or 90 days, `esc` goes back. Styles live in
screens.tcss."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Sparkline, Static

from models.desk.report import SlaReport, report_days, sla_report
from models.desk.report_output import minutes_text, percent_text, trend_values
from models.desk.work import sla_policy
from models.policy.sanitize import safe_line

if TYPE_CHECKING:
    from tui.app import ShiftdeskApp

AUTO_REFRESH_SECONDS = 60.0  # a report over days moves slowly; `r` recomputes at once


def carried_forward(values: list[float | None]) -> list[float]:
    """The sparkline's data: a day without first responses repeats the day before (the first
    known value stands in for leading empty days); nothing at all gives []."""
    known = [value for value in values if value is not None]
    if not known:
        return []
    last = known[0]
    out = []
    for value in values:
        last = last if value is None else value
        out.append(last)
    return out


class ReportsScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "back", "Back", id="report.back"),
        Binding("r", "reload", "Refresh", id="report.refresh"),
        Binding("1", "days(7)", "7 days", id="report.days_7"),
        Binding("3", "days(30)", "30 days", id="report.days_30"),
        Binding("9", "days(90)", "90 days", id="report.days_90"),
    ]

    def __init__(self, days: int = 30) -> None:
        super().__init__()
        self.days = days
        self.report: SlaReport | None = None
        self.loads = 0  # finished computations (tests wait on it)

    @property
    def sd(self) -> ShiftdeskApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="report-body"):
            yield Static("computing the SLA report…", id="report-title")
            yield Static(id="report-kinds")
            yield Static(id="report-breaches")
            yield Static(id="report-trend-label")
            yield Sparkline([], id="report-trend")
            yield Static(id="report-trend-axis")
            yield DataTable(id="report-technicians", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#report-technicians", DataTable)
        table.add_column("technician")
        for label in ("responses", "met", "median std", "median emerg"):
            table.add_column(Text(label, justify="right"))
        self.action_reload()
        if self.sd.ctx.live:
            self.set_interval(AUTO_REFRESH_SECONDS, self.action_reload, name="report-refresh")

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_days(self, days: int) -> None:
        self.days = days
        self.action_reload()

    def action_reload(self) -> None:
        self.compute(self.days)

    @work(thread=True, exclusive=True, group="report", exit_on_error=False)
    def compute(self, days: int) -> None:
        ctx = self.sd.ctx
        now = ctx.clock()
        zone = ctx.zone
        first_day, last_day = report_days(now, zone, days=days)
        with ctx.store.session() as session:
            report = sla_report(
                session,
                first_day=first_day,
                last_day=last_day,
                zone=zone,
                now=now,
                policy=sla_policy(ctx.config),
            )
        self.app.call_from_thread(self.show, report)

    def show(self, report: SlaReport) -> None:
        self.report = report
        self.query_one("#report-title", Static).update(
            Text.assemble(
                ("SLA report ", "bold"),
                f"{report.first_day.isoformat()} to {report.last_day.isoformat()} "
                f"({len(report.days)} days, {report.zone}) · first responses",
            )
        )
        kinds = Table(box=None, padding=(0, 2), header_style="bold")
        for column in ("", "responses", "met", "median", "p90", "breaches"):
            kinds.add_column(column, justify="left" if not column else "right")
        for figures in report.kinds:
            kinds.add_row(
                figures.kind,
                str(figures.responses),
                percent_text(figures.met_percent),
                minutes_text(figures.median_minutes),
                minutes_text(figures.p90_minutes),
                Text(str(figures.breaches), style="bold red" if figures.breaches else ""),
            )
        self.query_one("#report-kinds", Static).update(kinds)
        late = report.standard.missed + report.emergency.missed
        self.query_one("#report-breaches", Static).update(
            Text.assemble(
                (f"Breaches: {report.breaches}", "bold"),
                f" · {late} late first responses · {report.unanswered_breached} still "
                "unanswered past their deadline (by today's policy: none stored yet)\n",
                ("standard: business minutes on the SLA calendar · emergency: wall minutes", "dim"),
            )
        )
        values = trend_values(report)
        known = [value for value in values if value is not None]
        label = "Met % by day"
        if known:
            label += f" · lowest {percent_text(min(known))} · highest {percent_text(max(known))}"
        else:
            label += " · no first responses in this range"
        self.query_one("#report-trend-label", Static).update(Text(label, style="bold"))
        self.query_one("#report-trend", Sparkline).data = carried_forward(values)
        axis = self.query_one("#report-trend-axis", Static)
        axis.update(
            Text.assemble(
                report.first_day.isoformat(), " … ", report.last_day.isoformat(), style="dim"
            )
        )
        table = self.query_one("#report-technicians", DataTable)
        table.clear()
        for tech in report.technicians:
            table.add_row(
                Text(safe_line(tech.name)),
                Text(str(tech.responses), justify="right"),
                Text(percent_text(tech.met_percent), justify="right"),
                Text(minutes_text(tech.median_standard_minutes), justify="right"),
                Text(minutes_text(tech.median_emergency_minutes), justify="right"),
            )
        self.loads += 1

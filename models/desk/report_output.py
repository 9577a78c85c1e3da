"""The SLA report's shapes (models/desk/report.py computes it): the text of `shiftdesk report`, its
one JSON record, its CSV rows, and the small formatters the Reports screen shares."""

from __future__ import annotations

from models.clock.timefmt import format_instant
from models.desk.report import UNANSWERED_NOTE, KindFigures, SlaReport
from models.policy.sanitize import safe_line

SPARK_LEVELS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float | None], *, low: float = 0.0, high: float = 100.0) -> str:
    """One character per value on a fixed low..high scale; `·` where there is no value."""
    span = high - low or 1.0
    out = []
    for value in values:
        if value is None:
            out.append("·")
            continue
        share = min(1.0, max(0.0, (value - low) / span))
        out.append(SPARK_LEVELS[round(share * (len(SPARK_LEVELS) - 1))])
    return "".join(out)


def minutes_text(minutes: float | None) -> str:
    """'42m', '3h 05m', '2d 4h' ('—' for none)."""
    if minutes is None:
        return "—"
    whole = round(minutes)
    if whole < 60:
        return f"{whole}m"
    hours, rest = divmod(whole, 60)
    if hours < 48:
        return f"{hours}h {rest:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def percent_text(percent: float | None) -> str:
    return "—" if percent is None else f"{percent:.1f}%"


def trend_values(report: SlaReport) -> list[float | None]:
    """Met % per day (None on a day without first responses)."""
    return [day.met_percent for day in report.days]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _kind_record(figures: KindFigures) -> dict[str, object]:
    return {
        "responses": figures.responses,
        "met": figures.met,
        "missed": figures.missed,
        "met_percent": _round(figures.met_percent),
        "median_minutes": _round(figures.median_minutes),
        "p90_minutes": _round(figures.p90_minutes),
        "minutes_are": "business" if figures.kind == "standard" else "wall",
        "unanswered_past_deadline": figures.unanswered_breached,
        "breaches": figures.breaches,
    }


def report_record(report: SlaReport) -> dict[str, object]:
    """The one JSON shape of the report (snake_case keys, dates ISO, times with offset)."""
    return {
        "from": report.first_day.isoformat(),
        "to": report.last_day.isoformat(),
        "zone": report.zone,
        "generated_at": format_instant(report.generated_at, report.zone),
        "standard": _kind_record(report.standard),
        "emergency": _kind_record(report.emergency),
        "breaches": {
            "total": report.breaches,
            "late_first_responses": report.standard.missed + report.emergency.missed,
            "unanswered_past_deadline": report.unanswered_breached,
            "note": UNANSWERED_NOTE,
        },
        "technicians": [
            {
                "name": tech.name,
                "email": tech.email,
                "responses": tech.responses,
                "met": tech.met,
                "missed": tech.missed,
                "met_percent": _round(tech.met_percent),
                "median_standard_minutes": _round(tech.median_standard_minutes),
                "median_emergency_minutes": _round(tech.median_emergency_minutes),
            }
            for tech in report.technicians
        ],
        "days": [
            {
                "day": day.day.isoformat(),
                "responses": day.responses,
                "met": day.met,
                "missed": day.missed,
                "met_percent": _round(day.met_percent),
            }
            for day in report.days
        ],
    }


CSV_HEADER = [
    "section",
    "key",
    "responses",
    "met",
    "missed",
    "met_percent",
    "median_minutes",
    "p90_minutes",
    "median_emergency_minutes",
    "unanswered_past_deadline",
]


def report_rows(report: SlaReport) -> list[list[object]]:
    """CSV rows under CSV_HEADER: one per kind (minutes: business for standard, wall for
    emergency), one per technician (median_minutes = standard, business), one per day."""

    def number(value: float | None) -> object:
        return "" if value is None else round(value, 1)

    rows: list[list[object]] = [list(CSV_HEADER)]
    for figures in report.kinds:
        rows.append(
            ["kind", figures.kind, figures.responses, figures.met, figures.missed,
             number(figures.met_percent), number(figures.median_minutes),
             number(figures.p90_minutes), "", figures.unanswered_breached]
        )  # fmt: skip
    for tech in report.technicians:
        rows.append(
            ["technician", safe_line(tech.email or tech.name), tech.responses, tech.met,
             tech.missed, number(tech.met_percent), number(tech.median_standard_minutes), "",
             number(tech.median_emergency_minutes), ""]
        )  # fmt: skip
    for day in report.days:
        rows.append(
            ["day", day.day.isoformat(), day.responses, day.met, day.missed,
             number(day.met_percent), "", "", "", ""]
        )  # fmt: skip
    return rows


def report_text(report: SlaReport) -> str:
    """The plain-text report of `shiftdesk report`."""
    lines = [
        f"SLA report {report.first_day.isoformat()} to {report.last_day.isoformat()} "
        f"({report.zone}): first responses",
        "",
        f"{'':<10} {'responses':>9} {'met':>7} {'median':>8} {'p90':>8} {'breaches':>9}",
    ]
    for figures in report.kinds:
        lines.append(
            f"{figures.kind:<10} {figures.responses:>9} {percent_text(figures.met_percent):>7} "
            f"{minutes_text(figures.median_minutes):>8} {minutes_text(figures.p90_minutes):>8} "
            f"{figures.breaches:>9}"
        )
    lines += [
        "(standard: business minutes on the SLA calendar; emergency: wall minutes)",
        "",
        f"Breaches: {report.breaches}: "
        f"{report.standard.missed + report.emergency.missed} late first responses, "
        f"{report.unanswered_breached} still unanswered past their deadline",
        "  (an unanswered ticket's deadline is today's SLA policy's: none was stored yet)",
        "",
        f"Met % by day   {sparkline(trend_values(report))}   (· no first response that day)",
        f"               {report.first_day.isoformat()}"
        f"{report.last_day.isoformat():>{max(10, len(report.days) - 10)}}",
        "",
    ]
    if not report.technicians:
        lines.append("No first responses in this range.")
        return "\n".join(lines)
    lines.append(
        f"{'technician':<28} {'responses':>9} {'met':>7} {'median std':>11} {'median emerg':>13}"
    )
    for tech in report.technicians:
        name = safe_line(tech.name)[:28]
        lines.append(
            f"{name:<28} {tech.responses:>9} {percent_text(tech.met_percent):>7} "
            f"{minutes_text(tech.median_standard_minutes):>11} "
            f"{minutes_text(tech.median_emergency_minutes):>13}"
        )
    return "\n".join(lines)

"""`shiftdesk sla` (deadline and state of one ticket, or a batch of JSON lines) and
`shiftdesk calendar preview` (the next openings, holidays, DST changes and config warnings).

Never imports Textual.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import sys
import time
from typing import Any, TextIO, cast

import click

from models.clock.calendar import BusinessCalendar
from models.clock.sla import KINDS, ClockKind, SlaPolicy, SlaState
from models.clock.timefmt import format_instant, parse_instant
from models.policy.config import (
    WEEKDAYS,
    CalendarConfig,
    Config,
    ConfigError,
    load_config,
    parse_interval,
)
from tui.cli.core import EX_DATAERR, EX_USAGE, common_options, echo_text, fail, settings


def _load(now: float) -> tuple[Config, BusinessCalendar, SlaPolicy]:
    try:
        config = load_config(settings().config_path)
        calendar = BusinessCalendar.from_config(config.calendar, now=now)
    except ConfigError as exc:
        fail(str(exc), EX_USAGE)
        raise  # unreachable: fail exits
    return config, calendar, SlaPolicy(calendar, config.sla)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 3)


def state_json(state: SlaState, zone: str) -> dict[str, Any]:
    return {
        "kind": state.kind,
        "received": format_instant(state.received, zone),
        "at": format_instant(state.at, zone),
        "deadline": format_instant(state.deadline, zone),
        "remaining_seconds": _number(state.remaining_seconds),
        "paused": state.paused,
        "resumes_at": format_instant(state.resumes_at, zone),
        "breached": state.breached,
    }


def _kind(value: object) -> ClockKind:
    if value not in KINDS:
        raise ValueError(f"kind must be 'standard' or 'emergency', got {value!r}")
    return cast(ClockKind, value)


def _batch_line(line: str, policy: SlaPolicy, zone: str, now: float) -> dict[str, Any]:
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg}") from None
    if not isinstance(item, dict):
        raise ValueError("expected a JSON object with kind, received, at")
    unknown = set(item) - {"kind", "received", "at"}
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
    kind = _kind(item.get("kind", "standard"))
    if "received" not in item:
        raise ValueError("missing 'received'")
    received = parse_instant(item["received"], zone)
    at = now if item.get("at") is None else parse_instant(item["at"], zone)
    return state_json(policy.state(kind, received, at), zone)


def run_batch(stdin: TextIO, stdout: TextIO, policy: SlaPolicy, zone: str, now: float) -> bool:
    """One JSON line out per non-blank line in; returns True if every line was good."""
    all_good = True
    for raw in stdin:
        line = raw.strip()
        if not line:
            continue
        try:
            result = _batch_line(line, policy, zone, now)
        except (ValueError, TypeError, OverflowError) as exc:
            result = {"error": str(exc)}
            all_good = False
        stdout.write(json.dumps(result) + "\n")
        stdout.flush()
    return all_good


@click.command("sla")
@common_options
@click.option(
    "--kind",
    metavar="standard|emergency",
    default="standard",
    show_default=True,
    help="standard = business hours, emergency = wall clock 24x7.",
)
@click.option("--received", metavar="ISO", help="When the ticket arrived (naive = calendar zone).")
@click.option("--at", "at_text", metavar="ISO", help="The moment to evaluate [default: now].")
@click.option("--batch", is_flag=True, help='Read JSON lines {"kind","received","at"} on stdin.')
def sla_command(kind: str, received: str | None, at_text: str | None, batch: bool) -> None:
    """Print the SLA deadline and state of a ticket as JSON."""
    now = time.time()
    if kind not in KINDS:
        fail(f"--kind: {kind!r} is not one of standard, emergency", EX_USAGE)
    _config, calendar, policy = _load(now)
    zone = calendar.timezone
    if batch:
        if received is not None or at_text is not None:
            fail("--batch reads received/at from stdin; drop --received/--at", EX_USAGE)
        if not run_batch(sys.stdin, sys.stdout, policy, zone, now):
            sys.exit(EX_DATAERR)
        return
    if received is None:
        fail("missing --received ISO (or use --batch)", EX_USAGE)
        return
    try:
        received_at = parse_instant(received, zone)
    except ValueError as exc:
        fail(f"--received: {exc}", EX_USAGE)
        return
    at = now
    if at_text is not None:
        try:
            at = parse_instant(at_text, zone)
        except ValueError as exc:
            fail(f"--at: {exc}", EX_USAGE)
            return
    try:
        state = policy.state(_kind(kind), received_at, at)
    except (ValueError, OverflowError) as exc:
        fail(str(exc), EX_USAGE)
        return
    click.echo(json.dumps(state_json(state, zone)))


@click.group("calendar")
def calendar_group() -> None:
    """The business calendar."""


@calendar_group.command("preview")
@common_options
@click.option("--days", type=click.IntRange(1, 366), default=14, show_default=True)
@click.option("--from", "from_text", metavar="ISO", help="Start of the preview [default: now].")
def preview_command(days: int, from_text: str | None) -> None:
    """Show the next openings per day, holidays, DST changes and config warnings."""
    now = time.time()
    config, calendar, _policy = _load(now)
    start = now
    if from_text is not None:
        try:
            start = parse_instant(from_text, calendar.timezone)
        except ValueError as exc:
            fail(f"--from: {exc}", EX_USAGE)
    try:
        lines = preview_lines(config, calendar, start, days)
    except (ValueError, OverflowError) as exc:  # e.g. --from 9999-12-31: past year 9999
        fail(f"--from: {exc}", EX_USAGE)
        return
    for line in lines:
        echo_text(line)  # holiday names come from the `holidays` package and the config


def _clock(local: dt.datetime, day: dt.date) -> str:
    if local.date() == day:
        return local.strftime("%H:%M")
    if local.date() == day + dt.timedelta(days=1) and local.hour == 0 and local.minute == 0:
        return "24:00"
    return local.strftime("%a %H:%M")


def _offset(seconds: int) -> str:
    sign = "+" if seconds >= 0 else "-"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def preview_lines(config: Config, calendar: BusinessCalendar, start: float, days: int) -> list[str]:
    first_day = calendar.local_date(start)
    window_start = calendar.local_instant(first_day)
    window_end = calendar.local_instant(first_day + dt.timedelta(days=days))
    source = str(config.source) if config.source else "built-in defaults"
    lines = [f"Business calendar {calendar.timezone} ({source}), {days} days from {first_day}"]
    by_day: dict[dt.date, list[str]] = {}
    for span in calendar.spans_between(window_start, window_end):
        local_start = calendar.local_datetime(span.start)
        local_end = calendar.local_datetime(span.end)
        day = local_start.date()
        by_day.setdefault(day, []).append(f"{_clock(local_start, day)}–{_clock(local_end, day)}")
    holidays_seen: list[str] = []
    for offset in range(days):
        day = first_day + dt.timedelta(days=offset)
        notes = []
        holiday = calendar.holiday_name(day)
        if holiday:
            notes.append(f"holiday: {holiday}")
            holidays_seen.append(f"  {day:%a %Y-%m-%d}  {holiday}")
        if calendar.has_override(day):
            notes.append("override")
        openings = ", ".join(by_day.get(day, [])) or "closed"
        suffix = f"  ({'; '.join(notes)})" if notes else ""
        lines.append(f"  {day:%a %Y-%m-%d}  {openings}{suffix}")
    country = calendar.holiday_country
    subdivision = config.calendar.holiday_subdivision
    where = f"{country}{'-' + subdivision if subdivision else ''} " if country else ""
    lines.append(f"Public holidays: {where}{calendar.holiday_source}".rstrip())
    lines.append("Holidays:" if holidays_seen else "Holidays: none in this window")
    lines.extend(holidays_seen)
    changes = calendar.utc_offset_changes(window_start, window_end)
    lines.append("DST changes:" if changes else "DST changes: none in this window")
    for instant, before, after in changes:
        local = calendar.local_datetime(instant)
        lines.append(
            f"  {local:%a %Y-%m-%d %H:%M}  UTC offset {_offset(before)} -> {_offset(after)}"
        )
    warnings = config_warnings(config.calendar, calendar)
    lines.append("Warnings:" if warnings else "Warnings: none")
    lines.extend(f"  {warning}" for warning in warnings)
    label = f"{calendar.local_datetime(start):%a %Y-%m-%d %H:%M}"
    if math.isinf(calendar.next_open(start)):
        lines.append(f"At {label}: closed, no opening within 5 years")
    else:
        lines.append(f"At {label}: {calendar.opening_text(start)}")
    return lines


def config_warnings(config: CalendarConfig, calendar: BusinessCalendar) -> list[str]:
    """Suspicious but valid calendar settings."""
    warnings: list[str] = []
    parsed_days: dict[str, list[tuple[int, int]]] = {}

    def check(key: str, items: list[str]) -> list[tuple[int, int]]:
        parsed = []
        for index, text in enumerate(items):
            if text.strip().endswith("23:59"):
                warnings.append(
                    f"calendar: {key}[{index}] ends at 23:59, which drops the last minute of "
                    f"the day; use 24:00 to close at midnight"
                )
            parsed.append(parse_interval(text))
        ordered = sorted(parsed)
        for (_a_start, a_end), (b_start, _b_end) in itertools.pairwise(ordered):
            if b_start < a_end:
                warnings.append(f"calendar: {key} has overlapping intervals {items}")
                break
        return parsed

    for day in WEEKDAYS:
        parsed_days[day] = check(f"calendar.hours.{day}", config.hours.get(day, []))
    for name, items in config.overrides.items():
        key = f"calendar.overrides.{name}"
        parsed = check(key, items)
        try:
            day_date = dt.date.fromisoformat(name)
        except ValueError:
            continue
        weekly = parsed_days[WEEKDAYS[day_date.weekday()]]
        if calendar.holiday_name(day_date):
            warnings.append(f"calendar: {key} has no effect: {name} is a holiday")
        elif len(parsed) >= 2 and weekly:
            same_envelope = min(parsed)[0] == min(weekly)[0] and max(
                end for _s, end in parsed
            ) == max(end for _s, end in weekly)
            gaps = [b[0] - a[1] for a, b in itertools.pairwise(sorted(parsed))]
            if same_envelope and gaps and max(gaps) <= 180 and len(parsed) > len(weekly):
                warnings.append(
                    f"calendar: {key} looks like a lunch break entered for one date only; "
                    f"put it in calendar.hours to apply it every week"
                )
    for index, name in enumerate(config.holidays):
        try:
            day_date = dt.date.fromisoformat(name)
        except ValueError:
            continue
        intervals = calendar.intervals_for(day_date)
        if not intervals:
            warnings.append(
                f"calendar: calendar.holidays[{index}] {name} is a {day_date:%A}, closed anyway"
            )
    return warnings

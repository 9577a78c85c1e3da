"""Time at the edges: ISO 8601 in and out, and the humanised countdown texts.

Inside shiftdesk instants are epoch float seconds; these helpers turn them into and out of text.
Naive input times are local times in the calendar zone, resolved with PEP 495 fold=0 (an ambiguous
time is its first occurrence, a nonexistent one is pushed forward by the gap).
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo

import pendulum

Zone = zoneinfo.ZoneInfo | str


def as_zone(zone: Zone) -> zoneinfo.ZoneInfo:
    return zone if isinstance(zone, zoneinfo.ZoneInfo) else zoneinfo.ZoneInfo(zone)


def parse_instant(text: str, zone: Zone) -> float:
    """ISO 8601 text -> epoch seconds. Naive = wall time in `zone` (fold=0). ValueError if bad."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{text!r} is not an ISO 8601 time")
    cleaned = text.strip()
    parsed: dt.datetime | None = None
    try:
        parsed = dt.datetime.fromisoformat(cleaned)
    except ValueError:
        parsed = None
    if parsed is None:
        try:
            value = pendulum.parse(cleaned, exact=True, tz=None)
        except (ValueError, TypeError):
            raise ValueError(f"{text!r} is not an ISO 8601 time") from None
        if isinstance(value, dt.datetime):
            parsed = dt.datetime(
                value.year,
                value.month,
                value.day,
                value.hour,
                value.minute,
                value.second,
                value.microsecond,
                tzinfo=value.tzinfo,
            )
        elif isinstance(value, dt.date):
            parsed = dt.datetime(value.year, value.month, value.day)
        else:
            raise ValueError(f"{text!r} is not an ISO 8601 time")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=as_zone(zone), fold=0)
    return parsed.timestamp()


def format_instant(at: float | None, zone: Zone) -> str | None:
    """Epoch seconds -> ISO 8601 in `zone` with its offset, to the second (None/inf -> None)."""
    if at is None or not math.isfinite(at):
        return None
    return dt.datetime.fromtimestamp(math.floor(at), as_zone(zone)).isoformat(timespec="seconds")


def format_wall(at: float, zone: Zone, *, with_date: bool = False) -> str:
    """'Mon 08:00' (or 'Mon 2024-03-04 08:00') in `zone`."""
    # plain datetime, not pendulum: the queue formats this for every paused row each second
    local = dt.datetime.fromtimestamp(at, as_zone(zone))
    return local.strftime("%a %Y-%m-%d %H:%M" if with_date else "%a %H:%M")


def span(whole: int, *, seconds: bool) -> str:
    """A span of whole seconds: '3d 4h', '2h 05m', then '42m 10s' / '35s' when `seconds`,
    else '42m' / '<1m'. The one formatter behind countdowns, overdue times and ages."""
    days, rest = divmod(max(0, whole), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if seconds:
        return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"
    return f"{minutes}m" if minutes else "<1m"


def countdown(seconds: float) -> str:
    """Time left: '3h 12m', '42m 10s' under an hour, '35s' under a minute, '2d 3h' from a day."""
    return span(math.ceil(seconds), seconds=True)


def overdue(seconds: float) -> str:
    """Time past due: 'overdue 12m', 'overdue 2h 05m', 'overdue 3d 4h', 'overdue 40s'."""
    whole = max(0, math.floor(seconds))
    return f"overdue {span(whole, seconds=False) if whole >= 60 else f'{whole}s'}"

"""Time at the edges: ISO 8601 in and out, and the humanised countdown texts.

Inside shiftdesk instants are epoch float seconds; these helpers turn them into and out of text.
Naive input times are wall times in a zone; one rule for the whole product (`wall_time`): a time a
DST change skips, or one that happens twice, is refused with the reason, never silently moved.
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
        return wall_time(parsed.replace(tzinfo=None), as_zone(zone))
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


# a countdown shows seconds in its last minutes only: '42m' ticks once a minute, '9m 59s' every
# second. A screen of countdowns under an hour repainted every second cost a served console about
# a third of its idle CPU, for seconds nobody acts on 40 minutes ahead.
SECONDS_UNDER = 600


def countdown(seconds: float) -> str:
    """Time left: '3h 12m', '42m' under an hour, '9m 59s' under ten minutes, '35s' under a
    minute, '2d 3h' from a day."""
    whole = math.ceil(seconds)
    return span(whole, seconds=whole < SECONDS_UNDER)


def overdue(seconds: float) -> str:
    """Time past due: 'overdue 12m', 'overdue 2h 05m', 'overdue 3d 4h', 'overdue 40s'."""
    whole = max(0, math.floor(seconds))
    return f"overdue {span(whole, seconds=False) if whole >= 60 else f'{whole}s'}"


LOCAL_FORMAT_HINT = "YYYY-MM-DD HH:MM"


def parse_local_time(text: str, zone: Zone) -> float:
    """A time a technician types, as wall time in `zone` -> epoch seconds. ValueError if bad.

    The one parser for every local time entered in shiftdesk (call times, appointments, when an
    RSAA was accepted): 'YYYY-MM-DD HH:MM' (a 'T' instead of the space, seconds and an explicit
    offset are accepted). A time that a DST change skips, or that happens twice, is refused
    with the reason rather than silently moved: an appointment an hour off is worse than a
    question (an explicit offset settles a repeated hour).
    """
    cleaned = " ".join((text or "").split())
    if not cleaned:
        raise ValueError(f"give a time as {LOCAL_FORMAT_HINT}")
    try:
        tz = as_zone(zone.strip() if isinstance(zone, str) else zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{zone!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
    try:
        parsed = dt.datetime.fromisoformat(cleaned.replace(" ", "T", 1))
    except ValueError:
        raise ValueError(f"{cleaned!r} is not a time as {LOCAL_FORMAT_HINT} (ISO 8601)") from None
    if parsed.tzinfo is not None:
        return parsed.timestamp()
    return wall_time(parsed, tz)


def wall_time(parsed: dt.datetime, tz: zoneinfo.ZoneInfo) -> float:
    """A naive wall time in `tz` -> epoch seconds; ValueError for a time the clocks skip or
    repeat (an explicit offset settles a repeated hour)."""
    first = parsed.replace(tzinfo=tz, fold=0)
    second = parsed.replace(tzinfo=tz, fold=1)
    if first.utcoffset() != second.utcoffset():
        # a round trip tells a skipped time (it comes back different) from a repeated one
        back = dt.datetime.fromtimestamp(first.timestamp(), tz).replace(tzinfo=None)
        if back != parsed:
            raise ValueError(
                f"{parsed:%Y-%m-%d %H:%M} does not exist in {tz.key}: the clocks jump forward"
            )
        offset = first.strftime("%z")
        raise ValueError(
            f"{parsed:%Y-%m-%d %H:%M} happens twice in {tz.key} (the clocks go back): add the "
            f"offset, e.g. {parsed:%Y-%m-%d %H:%M}{offset[:3]}:{offset[3:]}"
        )
    return first.timestamp()

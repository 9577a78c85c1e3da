"""The SLA report: how first responses met their deadlines over a range of local days.

Answered tickets are judged only from what was stored with their first response (the deadline,
met or missed, the minutes it took on the ticket's clock, who sent it: `models.desk.work`), never
recomputed from today's config, so changing the hours or targets does not rewrite history.

A ticket still waiting for its first response whose deadline fell inside the range (and has
passed) counts as a breach too. It has no stored deadline, so that deadline is today's policy's;
the report gives that count separately and says so.

Range and days are local dates in the company's zone; a first response belongs to the day it was
sent. One streaming query over the indexed `first_response_at` (five columns on the raw cursor)
and one COUNT per kind for the unanswered ones; the rest is arithmetic (bench/report_bench.py).
Its text, JSON and CSV shapes are in models/desk/report_output.py.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from models.clock.sla import KINDS, ClockKind, SlaPolicy
from models.store.tables import Technician, Ticket, TicketKind, TicketStatus, table_of

DEFAULT_DAYS = 30
FETCH_CHUNK = 5000
MAX_DAYS = 366
UNANSWERED_NOTE = (
    "includes tickets still without a first response whose deadline has passed "
    "(their deadline is today's SLA policy's: nothing was stored for them yet)"
)
_SEARCH_BACK = 400 * 86400.0  # a first-response deadline is never further than this after arrival

_TICKETS = table_of(Ticket)
_TECHNICIANS = table_of(Technician)


class ReportError(ValueError):
    """A range that cannot be reported (end before start, too long)."""


@dataclass(frozen=True)
class KindFigures:
    """First responses of one kind: standard (business minutes) or emergency (wall minutes)."""

    kind: ClockKind
    responses: int  # first responses sent in the range
    met: int
    missed: int  # answered after the stored deadline
    unanswered_breached: int  # no response yet, deadline passed inside the range
    median_minutes: float | None
    p90_minutes: float | None

    @property
    def met_percent(self) -> float | None:
        judged = self.met + self.missed
        return 100.0 * self.met / judged if judged else None

    @property
    def breaches(self) -> int:
        return self.missed + self.unanswered_breached


@dataclass(frozen=True)
class TechnicianFigures:
    technician_id: int | None  # None: responses recorded without a technician
    name: str
    email: str
    responses: int
    met: int
    missed: int
    median_standard_minutes: float | None  # business minutes
    median_emergency_minutes: float | None  # wall minutes

    @property
    def met_percent(self) -> float | None:
        judged = self.met + self.missed
        return 100.0 * self.met / judged if judged else None


@dataclass(frozen=True)
class DayFigures:
    day: dt.date
    responses: int
    met: int
    missed: int

    @property
    def met_percent(self) -> float | None:
        judged = self.met + self.missed
        return 100.0 * self.met / judged if judged else None


@dataclass(frozen=True)
class SlaReport:
    first_day: dt.date
    last_day: dt.date
    zone: str
    start: float  # first_day's local midnight (epoch seconds)
    end: float  # the local midnight after last_day
    generated_at: float
    standard: KindFigures
    emergency: KindFigures
    technicians: list[TechnicianFigures] = field(default_factory=list)
    days: list[DayFigures] = field(default_factory=list)

    @property
    def kinds(self) -> tuple[KindFigures, KindFigures]:
        return (self.standard, self.emergency)

    @property
    def breaches(self) -> int:
        return self.standard.breaches + self.emergency.breaches

    @property
    def unanswered_breached(self) -> int:
        return self.standard.unanswered_breached + self.emergency.unanswered_breached


def local_midnight(day: dt.date, zone: str) -> float:
    return dt.datetime.combine(day, dt.time(0), tzinfo=zoneinfo.ZoneInfo(zone)).timestamp()


def report_days(
    now: float,
    zone: str,
    *,
    days: int | None = None,
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
) -> tuple[dt.date, dt.date]:
    """The local days to report: the last `days` (default 30) up to today, or first..last
    (either alone: 30 days from / up to it). Raises ReportError."""
    today = dt.datetime.fromtimestamp(now, zoneinfo.ZoneInfo(zone)).date()
    if days is not None and (first_day is not None or last_day is not None):
        raise ReportError("give either a number of days or a from/to range, not both")
    if days is not None:
        if not 1 <= days <= MAX_DAYS:
            raise ReportError(f"days must be 1 to {MAX_DAYS}, got {days}")
        return today - dt.timedelta(days=days - 1), today
    span = dt.timedelta(days=DEFAULT_DAYS - 1)
    if first_day is None and last_day is None:
        return today - span, today
    if first_day is None:
        assert last_day is not None
        first_day = last_day - span
    if last_day is None:
        last_day = first_day + span
    if last_day < first_day:
        raise ReportError(f"the range ends ({last_day}) before it starts ({first_day})")
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise ReportError(f"a report covers at most {MAX_DAYS} days")
    return first_day, last_day


def percentile(sorted_values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (`share` 0.5 = median, 0.9 = p90) of an ascending list."""
    if not sorted_values:
        return None
    if share == 0.5 and len(sorted_values) % 2 == 0:  # the usual median of an even count
        middle = len(sorted_values) // 2
        return (sorted_values[middle - 1] + sorted_values[middle]) / 2
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


def _received_cutoff(policy: SlaPolicy, kind: ClockKind, instant: float) -> float:
    """The earliest arrival whose first-response deadline is not before `instant`: a ticket
    received before it was due before `instant` (deadlines never go back as arrivals move on)."""
    if kind == "emergency":
        return instant - policy.target(kind)
    low, high = instant - _SEARCH_BACK, instant
    if policy.deadline(kind, low) >= instant:
        return low
    while high - low > 0.001:
        middle = (low + high) / 2
        if policy.deadline(kind, middle) < instant:
            low = middle
        else:
            high = middle
    return high


def _unanswered_breached(
    session: Session, policy: SlaPolicy, kind: ClockKind, start: float, end: float
) -> int:
    if end <= start:
        return 0
    low = _received_cutoff(policy, kind, start)
    high = _received_cutoff(policy, kind, end)
    query = select(func.count()).where(
        and_(
            _TICKETS.c.first_response_at.is_(None),
            _TICKETS.c.status != TicketStatus.CLOSED,
            _TICKETS.c.kind == kind,
            _TICKETS.c.received_at >= low,
            _TICKETS.c.received_at < high,
        )
    )
    return int(session.execute(query).scalar_one())


def _kind(stored: str) -> ClockKind:
    return "emergency" if stored == TicketKind.EMERGENCY else "standard"


def sla_report(
    session: Session,
    *,
    first_day: dt.date,
    last_day: dt.date,
    zone: str,
    now: float,
    policy: SlaPolicy,
) -> SlaReport:
    """The report for local days first_day..last_day in `zone`. `policy` (today's) is used only
    for the deadlines of tickets still without a first response."""
    day_count = (last_day - first_day).days + 1
    days = [first_day + dt.timedelta(days=i) for i in range(day_count)]
    midnights = [local_midnight(day, zone) for day in days]
    start = midnights[0]
    end = local_midnight(last_day + dt.timedelta(days=1), zone)

    # one pass on the raw DB-API cursor (as models.desk.queue does: no Row objects), in chunks, a
    # couple of dict operations per row; everything else works on the tallies
    tally: Counter[tuple[str, int | None, object, int]] = Counter()
    taken_by: dict[tuple[str, int | None], list[float]] = defaultdict(list)
    mark = "%s" if session.get_bind().dialect.name == "postgresql" else "?"
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(
            "SELECT kind, first_response_at, first_response_met, first_response_minutes,"
            " first_response_by_id FROM tickets"
            f" WHERE first_response_at >= {mark} AND first_response_at < {mark}",
            (start, end),
        )
        while chunk := cursor.fetchmany(FETCH_CHUNK):
            for kind, at, met, taken, by_id in chunk:
                tally[(kind, by_id, met, bisect_right(midnights, at) - 1)] += 1
                if taken is not None:
                    taken_by[(kind, by_id)].append(taken)
    finally:
        cursor.close()

    counts: dict[str, list[int]] = {kind: [0, 0, 0] for kind in KINDS}  # responses, met, missed
    per_day = [[0, 0, 0] for _ in days]
    per_tech: dict[int | None, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (kind, by_id, met, day), count in tally.items():
        slot = 1 if met else 2 if met is not None else 0  # met, missed, or not judged
        for row in (counts[_kind(kind)], per_day[day], per_tech[by_id]):
            row[0] += count
            if slot:
                row[slot] += count
    minutes: dict[str, list[float]] = {kind: [] for kind in KINDS}
    tech_minutes: dict[tuple[int | None, str], list[float]] = {}
    for (kind, by_id), values in taken_by.items():
        minutes[_kind(kind)].extend(values)
        tech_minutes.setdefault((by_id, _kind(kind)), []).extend(values)

    until = min(end, now)
    figures: dict[str, KindFigures] = {}
    for kind in KINDS:
        values = sorted(minutes[kind])
        responses_count, met_count, missed_count = counts[kind]
        figures[kind] = KindFigures(
            kind=kind,
            responses=responses_count,
            met=met_count,
            missed=missed_count,
            unanswered_breached=_unanswered_breached(session, policy, kind, start, until),
            median_minutes=percentile(values, 0.5),
            p90_minutes=percentile(values, 0.9),
        )

    known = [tech_id for tech_id in per_tech if tech_id is not None]
    names: dict[int, tuple[str, str]] = {}
    if known:
        rows = session.execute(
            select(_TECHNICIANS.c.id, _TECHNICIANS.c.name, _TECHNICIANS.c.email).where(
                _TECHNICIANS.c.id.in_(known)
            )
        )
        names = {tech_id: (name, email) for tech_id, name, email in rows}
    technicians = []
    for tech_id, (total, met_count, missed_count) in per_tech.items():
        name, email = names.get(tech_id, ("(unknown)", "")) if tech_id is not None else ("—", "")
        technicians.append(
            TechnicianFigures(
                technician_id=tech_id,
                name=name,
                email=email,
                responses=total,
                met=met_count,
                missed=missed_count,
                median_standard_minutes=percentile(
                    sorted(tech_minutes.get((tech_id, "standard"), [])), 0.5
                ),
                median_emergency_minutes=percentile(
                    sorted(tech_minutes.get((tech_id, "emergency"), [])), 0.5
                ),
            )
        )
    technicians.sort(key=lambda t: (-t.responses, t.name.lower(), t.email))
    return SlaReport(
        first_day=first_day,
        last_day=last_day,
        zone=zone,
        start=start,
        end=end,
        generated_at=now,
        standard=figures["standard"],
        emergency=figures["emergency"],
        technicians=technicians,
        days=[
            DayFigures(day=day, responses=row[0], met=row[1], missed=row[2])
            for day, row in zip(days, per_day, strict=True)
        ],
    )

"""The countdown cell: which clock a queue row runs on, and how it reads at `now`."""

from __future__ import annotations

import math
from typing import NamedTuple

from models.clock.sla import RESUME_DATE_AFTER, ClockKind, SlaPolicy
from models.clock.timefmt import SECONDS_UNDER
from models.desk.queue import QueueRow
from models.store.tables import Entitlement, TicketKind, TicketStatus


class Clock(NamedTuple):
    kind: ClockKind
    basis: float  # when the clock started


class Countdown(NamedTuple):
    text: str
    state: str  # ok | warning | critical | breached | paused | none
    deadline: float | None


def clock_for(row: QueueRow) -> Clock | None:
    """The SLA clock of a ticket waiting for us, else None.

    Before the first response: emergency tickets run on the wall clock, the rest on business
    time from received_at. After it, a customer's new message starts a business-time clock
    from that message (emergency tickets are worked in business hours after the first response).
    """
    if row.status != TicketStatus.OPEN or row.entitlement == Entitlement.NONE:
        return None
    if row.first_response_at is None:
        kind: ClockKind = "emergency" if row.kind == TicketKind.EMERGENCY else "standard"
        return Clock(kind, row.received_at)
    return Clock("standard", row.waiting_since or row.received_at)


def countdown(policy: SlaPolicy, row: QueueRow, now: float, zone: str) -> Countdown:
    clock = clock_for(row)
    if clock is None:
        if row.status == TicketStatus.CLOSED:
            return Countdown("closed", "none", None)
        if row.entitlement == Entitlement.NONE:
            return Countdown("not entitled", "none", None)
        return Countdown("answered", "none", None)
    state = policy.state(clock.kind, clock.basis, now)
    text = policy.humanize(state)
    if text.startswith("paused · "):  # the cell is narrow: dim style already says "paused"
        text = text.removeprefix("paused · ")
    return Countdown(text, policy.status(state), state.deadline)


def steady_for(policy: SlaPolicy, row: QueueRow, now: float) -> float:
    """Seconds from `now` during which `row`'s countdown cell reads exactly as at `now` (text and
    state), or less, never more: the 1 Hz tick skips the rows that show minutes or hours, or a
    paused or finished clock, until their cell can change.

    A clock's time left falls no faster than the wall clock (business time stops while the
    company is closed), so the wait until the next value the cell can show, in wall time, is a
    safe bound; so are the next opening or closing (a business clock pauses or resumes), the
    status thresholds and the deadline.
    """
    clock = clock_for(row)
    if clock is None:
        return math.inf  # closed, answered, not entitled: the row itself must change first
    state = policy.state(clock.kind, clock.basis, now)
    steady = policy.calendar.next_change(now) - now if clock.kind == "standard" else math.inf
    remaining = state.remaining_seconds
    if state.breached:  # "overdue 40s", "overdue 12m", "overdue 2h 05m", "overdue 3d 4h"
        late = -remaining
        whole = math.floor(late)
        unit = 1 if whole < 60 else 3600 if whole >= 86400 else 60
        return max(0.0, min(steady, (whole // unit + 1) * unit - late))
    if state.paused:  # "resumes Mon 08:00": the date joins it within RESUME_DATE_AFTER
        if state.resumes_at is not None and state.resumes_at - RESUME_DATE_AFTER > now:
            steady = min(steady, state.resumes_at - RESUME_DATE_AFTER - now)
        return max(0.0, steady)
    # "2d 3h" / "3h 12m" / "42m" / "9m 10s" of ceil(remaining): the next value shows at
    # boundary - 1
    whole = math.ceil(remaining)
    unit = 3600 if whole >= 86400 else 60 if whole >= SECONDS_UNDER else 1
    steady = min(steady, remaining - (whole // unit * unit - 1))
    for threshold in (0.0, *policy.thresholds(clock.kind)):  # breach, critical, warning
        if threshold <= remaining:
            steady = min(steady, remaining - threshold)
    return max(0.0, steady)

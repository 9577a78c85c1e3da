"""The countdown cell: which clock a queue row runs on, and how it reads at `now`."""

from __future__ import annotations

from typing import NamedTuple

from models.clock.sla import ClockKind, SlaPolicy
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

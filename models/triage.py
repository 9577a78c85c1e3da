"""What a technician does with tickets the gateway and the shop let in: accept a not-entitled
ticket anyway (its clock runs from the time it was received), and schedule an installation or
training session at a local time in the customer's zone. One transaction per call."""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo

from models.actions import (
    ActionError,
    Actor,
    audit,
    technician_for,
    ticket_action,
)
from models.db import Store
from models.tables import Appointment, Entitlement, Ticket, TicketKind, TicketStatus


def accept_ticket(
    store: Store,
    number: int,
    actor: Actor,
    reason: str,
    *,
    expected_version: int | None = None,
    at: float | None = None,
) -> Ticket:
    """Accept a not-entitled ticket anyway; its clock runs from the time it was received."""
    at = time.time() if at is None else at
    if not reason or not reason.strip():
        raise ActionError("give a reason for accepting a ticket that is not entitled")
    with ticket_action(store, number, expected_version, at) as (session, ticket):
        if ticket.entitlement != Entitlement.NONE:
            raise ActionError(f"#{number} is already entitled ({ticket.entitlement})")
        previous_note = ticket.entitlement_note
        ticket.entitlement = Entitlement.ACCEPTED
        ticket.entitlement_note = f"accepted by {actor.email}: {reason.strip()}" + (
            f" (was: {previous_note})" if previous_note else ""
        )
        if ticket.status == TicketStatus.OPEN and ticket.first_response_at is None:
            ticket.waiting_since = ticket.received_at
        audit(
            session, number, actor, "accept", at, reason=reason.strip(), previous_note=previous_note
        )
        return ticket


def local_to_epoch(starts_local_iso: str, timezone: str) -> float:
    """'2026-05-04T09:30' in `timezone` → UTC epoch; refuses times a DST change skips."""
    try:
        zone = zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ActionError(f"{timezone!r} is not an IANA time zone") from exc
    try:
        local = dt.datetime.fromisoformat(starts_local_iso.strip())
    except ValueError as exc:
        raise ActionError(f"{starts_local_iso!r} is not an ISO date and time") from exc
    if local.tzinfo is not None:
        return local.timestamp()
    aware = local.replace(tzinfo=zone)
    back = dt.datetime.fromtimestamp(aware.timestamp(), zone).replace(tzinfo=None)
    if back != local:
        raise ActionError(f"{starts_local_iso} does not exist in {timezone} (clocks change)")
    return aware.timestamp()


def schedule_appointment(
    store: Store,
    number: int,
    actor: Actor,
    starts_local_iso: str,
    customer_timezone: str,
    duration_minutes: int = 60,
    note: str | None = None,
    *,
    at: float | None = None,
) -> Appointment:
    """Record an installation / training session at a local time in the customer's zone."""
    at = time.time() if at is None else at
    starts_at = local_to_epoch(starts_local_iso, customer_timezone)
    if duration_minutes <= 0 or duration_minutes > 24 * 60:
        raise ActionError("the duration must be between 1 minute and 24 hours")
    with ticket_action(store, number, None, at) as (session, ticket):
        if ticket.kind not in (TicketKind.INSTALLATION, TicketKind.TRAINING):
            raise ActionError(
                f"#{number} is a {ticket.kind} ticket: only installation and "
                "training tickets are scheduled"
            )
        technician = technician_for(session, actor)
        assert technician.id is not None
        appointment = Appointment(
            ticket_number=number,
            technician_id=technician.id,
            starts_at=starts_at,
            customer_timezone=customer_timezone,
            duration_minutes=duration_minutes,
            note=note,
            created_at=at,
        )
        session.add(appointment)
        session.flush()
        audit(
            session,
            number,
            actor,
            "schedule",
            at,
            starts_local=starts_local_iso,
            timezone=customer_timezone,
            starts_at=starts_at,
            minutes=duration_minutes,
        )
        return appointment


__all__ = ["accept_ticket", "local_to_epoch", "schedule_appointment"]

"""What a technician does with tickets the gateway and the shop let in: accept a not-entitled
ticket anyway (its clock runs from the time it was received), and schedule an installation or
training session at a local time in the customer's zone. One transaction per call."""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo

from models.clock.timefmt import parse_local_time
from models.desk.actions import (
    ActionError,
    Actor,
    NotFound,
    audit,
    technician_for,
    ticket_action,
)
from models.store.db import Store
from models.store.tables import Appointment, Customer, Entitlement, Ticket, TicketKind, TicketStatus


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
    """'2026-05-04 09:30' in `timezone` → UTC epoch (`parse_local_time`: refuses times a DST
    change skips or repeats)."""
    try:
        return parse_local_time(starts_local_iso, timezone)
    except ValueError as exc:
        raise ActionError(str(exc)) from None


_NOT_SCHEDULED = (
    "#{number} is a {kind} ticket: only installation and training tickets are scheduled"
)
PAST_GRACE_SECONDS = 60  # "now" typed a moment ago is not the past


def customer_zone(store: Store, number: int) -> str | None:
    """The IANA zone of the ticket's customer (None when unknown): the zone `s` schedules in.
    ActionError for a ticket that is not scheduled (only installation and training are)."""
    with store.session() as session:
        ticket = session.get(Ticket, number)
        if ticket is None:
            raise NotFound(f"there is no ticket #{number}")
        if ticket.kind not in (TicketKind.INSTALLATION, TicketKind.TRAINING):
            raise ActionError(_NOT_SCHEDULED.format(number=number, kind=ticket.kind))
        customer = session.get(Customer, ticket.customer_id) if ticket.customer_id else None
        return customer.timezone if customer is not None and customer.timezone else None


def schedule_appointment(
    store: Store,
    number: int,
    actor: Actor,
    starts_local_iso: str,
    customer_timezone: str | None = None,
    duration_minutes: int = 60,
    note: str | None = None,
    *,
    expected_version: int | None = None,
    at: float | None = None,
) -> Appointment:
    """Record an installation / training session at a local time in the customer's zone.

    The zone is always the customer's: the stored one; `customer_timezone` only for a customer
    who has none yet (it is then remembered on the customer), and refused when it contradicts
    the stored zone. A time in the past is refused.
    """
    at = time.time() if at is None else at
    if duration_minutes <= 0 or duration_minutes > 24 * 60:
        raise ActionError("the duration must be between 1 minute and 24 hours")
    given = check_zone(customer_timezone) if customer_timezone else None
    with ticket_action(store, number, expected_version, at) as (session, ticket):
        if ticket.kind not in (TicketKind.INSTALLATION, TicketKind.TRAINING):
            raise ActionError(_NOT_SCHEDULED.format(number=number, kind=ticket.kind))
        customer = session.get(Customer, ticket.customer_id) if ticket.customer_id else None
        stored = customer.timezone if customer is not None and customer.timezone else None
        if stored and given and given != stored:
            raise ActionError(
                f"the customer's time zone is {stored}, not {given}: appointments are in the "
                "customer's zone"
            )
        zone = stored or given
        if zone is None:
            raise ActionError(
                "the customer has no time zone on file: give theirs (e.g. Europe/Berlin)"
            )
        starts_at = local_to_epoch(starts_local_iso, zone)
        if starts_at < at - PAST_GRACE_SECONDS:
            raise ActionError(
                f"{starts_local_iso.strip()} in {zone} is in the past: give a future time"
            )
        if customer is not None and not stored:
            customer.timezone = zone
        technician = technician_for(session, actor)
        assert technician.id is not None
        appointment = Appointment(
            ticket_number=number,
            technician_id=technician.id,
            starts_at=starts_at,
            customer_timezone=zone,
            duration_minutes=duration_minutes,
            note=(note or "").strip() or None,
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
            appointment=appointment.id,
            starts_local=dt.datetime.fromtimestamp(starts_at, zoneinfo.ZoneInfo(zone)).strftime(
                "%Y-%m-%d %H:%M"
            ),
            timezone=zone,
            starts_at=starts_at,
            minutes=duration_minutes,
        )
        return appointment


def check_zone(name: str) -> str:
    text = name.strip()
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ActionError(f"{name!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
    return text


__all__ = ["accept_ticket", "customer_zone", "local_to_epoch", "schedule_appointment"]

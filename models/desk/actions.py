"""The only way ticket state changes.

Each public action is one transaction: the change, an audit event, a change-log row (and a
PostgreSQL NOTIFY), and the ticket's `version` bumped. An action given `expected_version` is
refused with `Conflict` when someone else changed the ticket since it was loaded; the message
says who did what. The version bump is the transaction's first statement so SQLite takes its
write lock up front (no stale-snapshot upgrade failures) and PostgreSQL locks the row.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sys
import time
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.engine import CursorResult, Result
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlmodel import col

from models.store.db import Store, StoreUnavailable, one_line
from models.store.tables import (
    AuditEvent,
    ChangeLog,
    Entitlement,
    Message,
    MessageDirection,
    Rsaa,
    Technician,
    Ticket,
    TicketKind,
    TicketStatus,
    table_of,
)

NOTIFY_CHANNEL = "shiftdesk_changes"

_program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"


def set_program(name: str) -> None:
    """Name the running program in audit events (e.g. "shiftdesk tui", "shiftdesk mailgate")."""
    global _program
    _program = name


_HOST = socket.gethostname()
_display_zone: zoneinfo.ZoneInfo | None = None  # None: the machine's local time


def set_display_zone(name: str | None) -> None:
    """Times in action messages (who changed a ticket, when) in the company's zone (None, or a
    zone that does not exist: the machine's local time)."""
    global _display_zone
    try:
        _display_zone = zoneinfo.ZoneInfo(name) if name else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        _display_zone = None


def process_label() -> str:
    return f"{_HOST}:{os.getpid()}:{_program}"


class ActionError(Exception):
    """An action refused for a reason a technician can read (one line)."""


class Conflict(ActionError):
    """Someone else changed the ticket since it was loaded."""

    def __init__(self, message: str, ticket_number: int) -> None:
        super().__init__(message)
        self.ticket_number = ticket_number


class NotFound(ActionError):
    pass


class UnknownTechnician(ActionError):
    """`assign` to an address that is no technician of this store."""


class AssignedElsewhere(ActionError):
    """`take` or `assign` without `take_over` on a ticket a colleague holds."""

    def __init__(self, message: str, ticket_number: int, assignee: str) -> None:
        super().__init__(message)
        self.ticket_number = ticket_number
        self.assignee = assignee


@dataclass(frozen=True)
class Actor:
    email: str
    name: str | None = None

    @property
    def label(self) -> str:
        return self.email


SYSTEM = Actor("system", "shiftdesk")


def now() -> float:
    return time.time()


def normalize_email(address: str) -> str:
    return address.strip().lower()


# --------------------------------------------------------------------------- building blocks


def technician_for(session: Session, actor: Actor) -> Technician:
    """The technician row for `actor`, created on first use."""
    email = normalize_email(actor.email)
    row = session.execute(
        select(Technician).where(col(Technician.email) == email)
    ).scalar_one_or_none()
    if row is None:
        row = Technician(email=email, name=actor.name or email.split("@", 1)[0])
        session.add(row)
        session.flush()
    return row


def audit(
    session: Session,
    ticket_number: int | None,
    actor: Actor,
    action: str,
    at: float,
    **detail: Any,
) -> None:
    # a Core insert, not an ORM object: audit rows are never read back in the same transaction,
    # and building + flushing a SQLModel object costs ~3x as much (the mail gateway does 2-3 each)
    session.execute(
        _AUDIT_INSERT,
        {
            "ticket_number": ticket_number,
            "actor": actor.email,
            "action": action,
            "detail": json.dumps(detail, sort_keys=True, default=str) if detail else None,
            "process": process_label(),
            "created_at": at,
        },
    )


_AUDIT_INSERT = insert(table_of(AuditEvent))
_CHANGE_INSERT = insert(table_of(ChangeLog))
_TICKETS = table_of(Ticket)
_TICKET_INSERT = insert(_TICKETS)
_MESSAGE_INSERT = insert(table_of(Message))
_BUMP = (
    update(_TICKETS)
    .where(_TICKETS.c.number == bindparam("n"))
    .values(version=_TICKETS.c.version + 1, updated_at=bindparam("at"))
)
_BUMP_IF = _BUMP.where(_TICKETS.c.version == bindparam("expected"))


def mark_changed(session: Session, ticket_number: int, at: float) -> None:
    session.execute(_CHANGE_INSERT, {"ticket_number": ticket_number, "changed_at": at})
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": NOTIFY_CHANNEL, "payload": str(ticket_number)},
        )


def describe_last_change(session: Session, ticket_number: int) -> str:
    event = session.execute(
        select(AuditEvent)
        .where(col(AuditEvent.ticket_number) == ticket_number)
        .order_by(col(AuditEvent.id).desc())
        .limit(1)
    ).scalar_one_or_none()
    if event is None:
        return "it changed"
    did = _PAST.get(event.action, event.action)
    return f"{event.actor} {did} it at {clock_text(event.created_at)}"


def clock_text(at: float) -> str:
    """ "10:31:02 MST": a time of day in action messages, in the display zone."""
    return dt.datetime.fromtimestamp(at, _display_zone).strftime("%H:%M:%S %Z").strip()


_PAST = {
    "take": "took",
    "release": "released",
    "assign": "reassigned",
    "reply": "replied to",
    "note": "added a note to",
    "close": "closed",
    "reopen": "reopened",
    "reclassify": "reclassified",
    "phone_grant": "granted phone support on",
    "phone_decline": "declined phone support on",
    "phone_call": "logged a call on",
    "rsaa_record": "recorded an RSAA on",
    "rsaa_revoke": "revoked the RSAA on",
    "customer_message": "wrote again on",
    "accept": "accepted",
    "schedule": "scheduled",
    "create": "created",
}


def bump_version(session: Session, number: int, expected_version: int | None, at: float) -> None:
    """Bump the version (first statement: takes the write lock) or raise NotFound/Conflict."""
    if expected_version is None:
        result = session.execute(_BUMP, {"n": number, "at": at})
    else:
        result = session.execute(_BUMP_IF, {"n": number, "at": at, "expected": expected_version})
    if getattr(result, "rowcount", 0) == 0:
        exists = session.execute(select(_TICKETS.c.number).where(_TICKETS.c.number == number))
        if exists.first() is None:
            raise NotFound(f"there is no ticket #{number}")
        raise Conflict(
            f"#{number} changed since you loaded it: {describe_last_change(session, number)}",
            number,
        )


def inserted_id(result: Result[Any]) -> int:
    """The new row's primary key after a single-row Core insert."""
    key = cast(CursorResult[Any], result).inserted_primary_key
    assert key is not None
    return int(key[0])


def lock_ticket(session: Session, number: int, expected_version: int | None, at: float) -> Ticket:
    """`bump_version`, then the ticket as an ORM object, freshly read."""
    bump_version(session, number, expected_version, at)
    ticket = session.get(Ticket, number, populate_existing=True)
    assert ticket is not None
    return ticket


@contextmanager
def action(store: Store) -> Iterator[Session]:
    """One transaction; driver errors become ActionError / StoreUnavailable."""
    try:
        with store.transaction() as session:
            yield session
    except ActionError:
        raise
    except IntegrityError as exc:
        raise ActionError(f"refused by the store: {one_line(exc)}") from exc
    except OperationalError as exc:
        raise StoreUnavailable(f"store unavailable: {one_line(exc)}") from exc


@contextmanager
def ticket_action(
    store: Store, number: int, expected_version: int | None, at: float
) -> Iterator[tuple[Session, Ticket]]:
    """One technician action on one ticket: `action`'s transaction, the version bumped first
    (`lock_ticket`: NotFound / Conflict), and when the body succeeds the change-log row (and the
    PostgreSQL NOTIFY) that tells every console. A body that raises changes nothing."""
    with action(store) as session:
        ticket = lock_ticket(session, number, expected_version, at)
        yield session, ticket
        mark_changed(session, number, at)


def revoke_active_rsaa(
    session: Session, ticket_number: int, actor: Actor, reason: str, at: float
) -> Rsaa | None:
    """Revoke the ticket's active RSAA, if any (same transaction as the caller)."""
    rsaa = session.execute(
        select(Rsaa).where(col(Rsaa.ticket_number) == ticket_number, col(Rsaa.revoked_at).is_(None))
    ).scalar_one_or_none()
    if rsaa is None:
        return None
    rsaa.revoked_at = at
    rsaa.revoked_by_id = technician_for(session, actor).id if actor is not SYSTEM else None
    rsaa.revoke_reason = reason
    audit(session, ticket_number, actor, "rsaa_revoke", at, rsaa=rsaa.id, reason=reason)
    return rsaa


# --------------------------------------------------------------------------- ticket creation


@dataclass(frozen=True)
class NewTicket:
    number: int
    message_id: int  # the first (inbound) message


def insert_ticket_and_message(
    session: Session,
    *,
    subject: str,
    requester_email: str,
    received_at: float,
    body: str = "",
    kind: str = TicketKind.STANDARD,
    customer_id: int | None = None,
    license_id: int | None = None,
    entitlement: str = Entitlement.NONE,
    entitlement_note: str | None = None,
    phone_requested: bool = False,
    rfc_message_id: str | None = None,
    headers: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    actor: Actor = SYSTEM,
) -> NewTicket:
    """Create a ticket with its first (inbound) message, in the caller's transaction.

    Core inserts, not ORM objects: the mail gateway creates one per message, and the ORM's unit
    of work costs several times as much. Load the Ticket with `session.get` to change it further.
    """
    email = normalize_email(requester_email)
    number = inserted_id(
        session.execute(
            _TICKET_INSERT,
            {
                "kind": kind,
                "status": TicketStatus.OPEN,
                "subject": subject,
                "customer_id": customer_id,
                "requester_email": email,
                "license_id": license_id,
                "entitlement": entitlement,
                "entitlement_note": entitlement_note,
                "received_at": received_at,
                "waiting_since": received_at,
                "first_response_at": None,
                "first_response_met": None,
                "first_response_deadline": None,
                "first_response_minutes": None,
                "first_response_by_id": None,
                "assignee_id": None,
                "phone_requested": phone_requested,
                "phone_escalated": False,
                "refund_requested": False,
                "closed_at": None,
                "updated_at": received_at,
                "version": 1,
            },
        )
    )
    message_id = insert_message(
        session,
        number,
        direction=MessageDirection.IN,
        author=email,
        created_at=received_at,
        subject=subject,
        body=body,
        rfc_message_id=rfc_message_id,
        in_reply_to=in_reply_to,
        references=references,
        headers=headers,
    )
    audit(session, number, actor, "create", received_at, kind=kind, entitlement=entitlement)
    mark_changed(session, number, received_at)
    return NewTicket(number, message_id)


def insert_message(
    session: Session,
    ticket_number: int,
    *,
    direction: str,
    author: str,
    created_at: float,
    subject: str,
    body: str,
    technician_id: int | None = None,
    rfc_message_id: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    headers: str | None = None,
) -> int:
    """One message row (Core insert); returns its id."""
    result = session.execute(
        _MESSAGE_INSERT,
        {
            "ticket_number": ticket_number,
            "direction": direction,
            "author": author,
            "technician_id": technician_id,
            "created_at": created_at,
            "subject": subject,
            "body": body,
            "rfc_message_id": rfc_message_id,
            "in_reply_to": in_reply_to,
            "references": references,
            "headers": headers,
        },
    )
    return inserted_id(result)


def insert_ticket(session: Session, **fields: Any) -> Ticket:
    """`insert_ticket_and_message`, returning the Ticket as an ORM object (for callers that go
    on changing it, such as the demo)."""
    ticket = session.get(Ticket, insert_ticket_and_message(session, **fields).number)
    assert ticket is not None
    return ticket


def create_ticket(store: Store, **fields: Any) -> int:
    """Create a ticket with its first message; returns its number."""
    with action(store) as session:
        return insert_ticket_and_message(session, **fields).number


# --------------------------------------------------------------------------- simple actions


def take(
    store: Store,
    number: int,
    actor: Actor,
    *,
    expected_version: int | None = None,
    at: float | None = None,
    take_over: bool = False,
) -> Ticket:
    """Become the ticket's assignee. A ticket assigned to a colleague is taken from them only
    with `take_over` (the TUI asks first; the CLI needs --take-over): without it a racing or
    unknowing take is refused with `AssignedElsewhere`, naming whose it is."""
    at = now() if at is None else at
    with ticket_action(store, number, expected_version, at) as (session, ticket):
        if ticket.status == TicketStatus.CLOSED:
            raise ActionError(f"#{number} is closed: reopen it first")
        me = technician_for(session, actor)
        if ticket.assignee_id == me.id:
            raise ActionError(f"#{number} is already yours")
        previous = session.get(Technician, ticket.assignee_id) if ticket.assignee_id else None
        if previous is not None and not take_over:
            raise AssignedElsewhere(
                f"#{number} is assigned to {previous.email}: take it over only if you mean to",
                number,
                previous.email,
            )
        ticket.assignee_id = me.id
        audit(
            session,
            number,
            actor,
            "take",
            at,
            previous_assignee=previous.email if previous is not None else None,
        )
        return ticket


def known_technicians(store: Store) -> list[tuple[str, str]]:
    """(email, name) of every technician of the store, by name: whom a ticket can be given to.
    A technician is known once they have acted in shiftdesk (or opened a ticket in a console)."""
    with store.session() as session:
        rows = session.execute(
            select(col(Technician.email), col(Technician.name)).order_by(
                col(Technician.name), col(Technician.email)
            )
        ).all()
    return [(str(email), str(name)) for email, name in rows]


def assign(
    store: Store,
    number: int,
    to_email: str | None,
    actor: Actor,
    *,
    expected_version: int | None = None,
    at: float | None = None,
    take_over: bool = False,
) -> Ticket:
    """Give the ticket to the technician `to_email`, or to nobody (None: unassign).

    Only known technicians (`known_technicians`): an unknown address is refused with
    `UnknownTechnician`, never created (a typo would otherwise park the ticket with nobody). A
    ticket a colleague holds (not the actor, not the new assignee) is taken from them only with
    `take_over`, as `take` does: the TUI asks first, the CLI needs --take-over. The audit event
    names the new and the previous assignee; the change feed tells both consoles."""
    at = now() if at is None else at
    target = normalize_email(to_email) if to_email is not None else None
    with ticket_action(store, number, expected_version, at) as (session, ticket):
        new: Technician | None = None
        if target is not None:
            new = session.execute(
                select(Technician).where(col(Technician.email) == target)
            ).scalar_one_or_none()
            if new is None:
                raise UnknownTechnician(
                    f"no technician {target} in this store: a technician is known once they "
                    "have used shiftdesk"
                )
            if ticket.status == TicketStatus.CLOSED:
                raise ActionError(f"#{number} is closed: reopen it first")
        previous = session.get(Technician, ticket.assignee_id) if ticket.assignee_id else None
        if previous is None and new is None:
            raise ActionError(f"#{number} is not assigned to anyone")
        if previous is not None and new is not None and previous.id == new.id:
            raise ActionError(f"#{number} is already assigned to {new.email}")
        me = normalize_email(actor.email)
        if previous is not None and previous.email != me and not take_over:
            raise AssignedElsewhere(
                f"#{number} is assigned to {previous.email}: "
                + ("reassign" if new is not None else "unassign")
                + " it only if you mean to",
                number,
                previous.email,
            )
        ticket.assignee_id = new.id if new is not None else None
        audit(
            session,
            number,
            actor,
            "assign",
            at,
            to=new.email if new is not None else None,
            previous_assignee=previous.email if previous is not None else None,
        )
        return ticket


@dataclass(frozen=True)
class Assignment:
    """The latest change of a ticket's assignee: who did it, how, and to whom."""

    actor: str
    action: str  # take | assign | release
    to: str | None  # the new assignee (None: nobody)
    previous: str | None


def last_assignment(store: Store, number: int) -> Assignment | None:
    """The ticket's latest take / assign / release, for the notice a console shows when a
    ticket becomes, or stops being, its technician's."""
    with store.session() as session:
        event = session.execute(
            select(AuditEvent)
            .where(
                col(AuditEvent.ticket_number) == number,
                col(AuditEvent.action).in_(("take", "assign", "release")),
            )
            .order_by(col(AuditEvent.id).desc())
            .limit(1)
        ).scalar_one_or_none()
    if event is None:
        return None
    detail = json.loads(event.detail) if event.detail else {}
    to = event.actor if event.action == "take" else detail.get("to")
    previous = detail.get("previous_assignee")
    return Assignment(
        event.actor,
        event.action,
        to if isinstance(to, str) else None,
        previous if isinstance(previous, str) else None,
    )


@dataclass(frozen=True)
class Closed:
    """A closed ticket, and what closing it leaves the technician to undo by hand."""

    ticket: Ticket
    revoke_reminder: str | None  # the revoked RSAA's "remove the account and firewall rule"


def close(
    store: Store,
    number: int,
    actor: Actor,
    *,
    expected_version: int | None = None,
    at: float | None = None,
    reason: str | None = None,
) -> Ticket:
    """Close; revokes the ticket's active RSAA in the same transaction (`close_ticket` also says
    what the technician must remove on the customer's side)."""
    return close_ticket(
        store, number, actor, expected_version=expected_version, at=at, reason=reason
    ).ticket


def close_ticket(
    store: Store,
    number: int,
    actor: Actor,
    *,
    expected_version: int | None = None,
    at: float | None = None,
    reason: str | None = None,
) -> Closed:
    """Close; an active RSAA is revoked in the same transaction, and its reminder (the
    temporary account and the firewall rule to remove) returned, as a manual revoke shows it."""
    from models.desk.rsaa import revoke_reminder  # models.desk.rsaa builds on this module

    at = now() if at is None else at
    with ticket_action(store, number, expected_version, at) as (session, ticket):
        if ticket.status == TicketStatus.CLOSED:
            raise ActionError(f"#{number} is already closed")
        revoked = revoke_active_rsaa(session, number, actor, "ticket_closed", at)
        ticket.status = TicketStatus.CLOSED
        ticket.closed_at = at
        ticket.waiting_since = None
        audit(session, number, actor, "close", at, reason=reason)
        return Closed(ticket, revoke_reminder(revoked) if revoked is not None else None)


def reopen(
    store: Store,
    number: int,
    actor: Actor,
    *,
    expected_version: int | None = None,
    at: float | None = None,
) -> Ticket:
    """Reopen a closed ticket. A revoked RSAA stays revoked."""
    at = now() if at is None else at
    with ticket_action(store, number, expected_version, at) as (session, ticket):
        if ticket.status != TicketStatus.CLOSED:
            raise ActionError(f"#{number} is not closed")
        ticket.status = (
            TicketStatus.OPEN if ticket.first_response_at is None else TicketStatus.ANSWERED
        )
        ticket.closed_at = None
        audit(session, number, actor, "reopen", at)
        return ticket

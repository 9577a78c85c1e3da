"""The only way ticket state changes.

Each public action is one transaction: the change, an audit event, a change-log row (and a
PostgreSQL NOTIFY), and the ticket's `version` bumped. An action given `expected_version` is
refused with `Conflict` when someone else changed the ticket since it was loaded; the message
says who did what. The version bump is the transaction's first statement so SQLite takes its
write lock up front (no stale-snapshot upgrade failures) and PostgreSQL locks the row.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlmodel import col

from models.calendar import BusinessCalendar
from models.config import Config
from models.db import Store, StoreUnavailable, one_line
from models.outbox import enqueue, make_message_id
from models.sla import ClockKind, SlaPolicy
from models.tables import (
    Attachment,
    AuditEvent,
    ChangeLog,
    Customer,
    Draft,
    Entitlement,
    License,
    Message,
    MessageDirection,
    OutboxEntry,
    PhoneCall,
    PhoneDecision,
    Product,
    Rsaa,
    Technician,
    Ticket,
    TicketKind,
    TicketStatus,
)

NOTIFY_CHANNEL = "shiftdesk_changes"

_program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"


def set_program(name: str) -> None:
    """Name the running program in audit events (e.g. "shiftdesk tui", "shiftdesk mailgate")."""
    global _program
    _program = name


def process_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{_program}"


class ActionError(Exception):
    """An action refused for a reason a technician can read (one line)."""


class Conflict(ActionError):
    """Someone else changed the ticket since it was loaded."""

    def __init__(self, message: str, ticket_number: int) -> None:
        super().__init__(message)
        self.ticket_number = ticket_number


class NotFound(ActionError):
    pass


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
    session.add(
        AuditEvent(
            ticket_number=ticket_number,
            actor=actor.email,
            action=action,
            detail=json.dumps(detail, sort_keys=True, default=str) if detail else None,
            process=process_label(),
            created_at=at,
        )
    )


def mark_changed(session: Session, ticket_number: int, at: float) -> None:
    session.add(ChangeLog(ticket_number=ticket_number, changed_at=at))
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
    when = time.strftime("%H:%M:%S", time.localtime(event.created_at))
    return f"{event.actor} {_PAST.get(event.action, event.action)} it at {when}"


_PAST = {
    "take": "took",
    "release": "released",
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


def lock_ticket(session: Session, number: int, expected_version: int | None, at: float) -> Ticket:
    """Bump the version (first statement: takes the write lock), check it, return the row."""
    stmt = update(Ticket).where(Ticket.number == number)  # type: ignore[arg-type]
    if expected_version is not None:
        stmt = stmt.where(Ticket.version == expected_version)  # type: ignore[arg-type]
    result = session.execute(
        stmt.values(version=col(Ticket.version) + 1, updated_at=at),
        execution_options={"synchronize_session": False},
    )
    if getattr(result, "rowcount", 0) == 0:
        exists = session.get(Ticket, number)
        if exists is None:
            raise NotFound(f"there is no ticket #{number}")
        raise Conflict(
            f"#{number} changed since you loaded it: {describe_last_change(session, number)}",
            number,
        )
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


def insert_ticket(
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
    actor: Actor = SYSTEM,
) -> Ticket:
    ticket = Ticket(
        kind=kind,
        status=TicketStatus.OPEN,
        subject=subject,
        customer_id=customer_id,
        requester_email=normalize_email(requester_email),
        license_id=license_id,
        entitlement=entitlement,
        entitlement_note=entitlement_note,
        received_at=received_at,
        waiting_since=received_at,
        phone_requested=phone_requested,
        updated_at=received_at,
    )
    session.add(ticket)
    session.flush()
    assert ticket.number is not None
    session.add(
        Message(
            ticket_number=ticket.number,
            direction=MessageDirection.IN,
            author=normalize_email(requester_email),
            created_at=received_at,
            subject=subject,
            body=body,
            rfc_message_id=rfc_message_id,
            headers=headers,
        )
    )
    audit(session, ticket.number, actor, "create", received_at, kind=kind, entitlement=entitlement)
    mark_changed(session, ticket.number, received_at)
    return ticket


def create_ticket(store: Store, **fields: Any) -> int:
    """Create a ticket with its first message; returns its number."""
    with action(store) as session:
        ticket = insert_ticket(session, **fields)
        assert ticket.number is not None
        return ticket.number


# --------------------------------------------------------------------------- simple actions


def take(
    store: Store,
    number: int,
    actor: Actor,
    *,
    expected_version: int | None = None,
    at: float | None = None,
) -> Ticket:
    at = now() if at is None else at
    with action(store) as session:
        ticket = lock_ticket(session, number, expected_version, at)
        if ticket.status == TicketStatus.CLOSED:
            raise ActionError(f"#{number} is closed: reopen it first")
        me = technician_for(session, actor)
        if ticket.assignee_id == me.id:
            raise ActionError(f"#{number} is already yours")
        previous = ticket.assignee_id
        ticket.assignee_id = me.id
        audit(session, number, actor, "take", at, previous_assignee=previous)
        mark_changed(session, number, at)
        return ticket


def close(
    store: Store,
    number: int,
    actor: Actor,
    *,
    expected_version: int | None = None,
    at: float | None = None,
    reason: str | None = None,
) -> Ticket:
    """Close; revokes the ticket's active RSAA in the same transaction."""
    at = now() if at is None else at
    with action(store) as session:
        ticket = lock_ticket(session, number, expected_version, at)
        if ticket.status == TicketStatus.CLOSED:
            raise ActionError(f"#{number} is already closed")
        revoke_active_rsaa(session, number, actor, "ticket_closed", at)
        ticket.status = TicketStatus.CLOSED
        ticket.closed_at = at
        ticket.waiting_since = None
        audit(session, number, actor, "close", at, reason=reason)
        mark_changed(session, number, at)
        return ticket


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
    with action(store) as session:
        ticket = lock_ticket(session, number, expected_version, at)
        if ticket.status != TicketStatus.CLOSED:
            raise ActionError(f"#{number} is not closed")
        ticket.status = (
            TicketStatus.OPEN if ticket.first_response_at is None else TicketStatus.ANSWERED
        )
        ticket.closed_at = None
        audit(session, number, actor, "reopen", at)
        mark_changed(session, number, at)
        return ticket


# --------------------------------------------------------------------------- working a ticket
#
# Everything below is one transaction per public call. Validation happens before the first write
# where it can; anything refused later raises inside `action()`, which rolls the whole thing back.

MAX_BODY_CHARS = 200_000
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|sv|fwd?)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_PHONE_CHARS = re.compile(r"^[0-9 ()./+-]+$")
MAX_REFERENCES = 20  # keep the References header bounded on very long threads


@dataclass(frozen=True)
class ReplyResult:
    """What `reply` committed: the ticket as it now stands and the queued mail."""

    ticket: Ticket
    message_id: int  # messages.id of the outbound message
    outbox_id: int
    rfc_message_id: str  # the Message-ID the customer will see
    subject: str
    to_address: str
    first_response: bool  # this reply was the ticket's first response
    first_response_met: bool | None  # the ticket's (possibly earlier) verdict


@dataclass(frozen=True)
class PhoneResult:
    """A recorded phone decision; `reply` is set when a decline also queued an email."""

    ticket: Ticket
    decision_id: int
    reply: ReplyResult | None = None


@dataclass(frozen=True)
class CallResult:
    ticket: Ticket
    call_id: int
    first_response: bool  # this call became the ticket's first response


def reply_subject(subject: str, number: int) -> str:
    """ "Re: [#N] subject" without piling up "Re:" prefixes or repeating the tag."""
    text = " ".join((subject or "").split())
    tag = f"[#{number}]"
    while True:
        stripped = _REPLY_PREFIX.sub("", text)
        stripped = stripped.replace(tag, " ").strip() if stripped.startswith(tag) else stripped
        stripped = " ".join(stripped.split())
        if stripped == text:
            break
        text = stripped
    text = " ".join(text.replace(tag, " ").split())
    return f"Re: {tag} {text}" if text else f"Re: {tag}"


_policy_cache: dict[tuple[str, str], SlaPolicy] = {}


def sla_policy(config: Config) -> SlaPolicy:
    """The SLA policy for `config` (built once per distinct calendar + targets)."""
    key = (repr(config.calendar), repr(config.sla))
    policy = _policy_cache.get(key)
    if policy is None:
        policy = SlaPolicy(BusinessCalendar.from_config(config.calendar), config.sla)
        _policy_cache[key] = policy
    return policy


def first_response_deadline(ticket: Ticket, config: Config) -> float:
    """Deadline of the first response: wall clock for emergencies, business time otherwise."""
    kind: ClockKind = "emergency" if ticket.kind == TicketKind.EMERGENCY else "standard"
    return sla_policy(config).deadline(kind, ticket.received_at)


def _record_first_response(ticket: Ticket, at: float, config: Config) -> bool:
    """Stop the first-response clock if it still runs; True when this was the first."""
    if ticket.first_response_at is not None:
        return False
    ticket.first_response_at = at
    ticket.first_response_met = at <= first_response_deadline(ticket, config)
    return True


def _check_body(body: str, what: str) -> str:
    if not body or not body.strip():
        raise ActionError(f"the {what} is empty")
    if len(body) > MAX_BODY_CHARS:
        raise ActionError(
            f"the {what} is too long ({len(body):,} characters, at most {MAX_BODY_CHARS:,})"
        )
    return body


def _check_open(ticket: Ticket, doing: str) -> None:
    if ticket.status == TicketStatus.CLOSED:
        raise ActionError(f"#{ticket.number} is closed: reopen it before you {doing}")


def _latest_inbound(session: Session, number: int) -> Message | None:
    return session.execute(
        select(Message)
        .where(col(Message.ticket_number) == number, col(Message.direction) == MessageDirection.IN)
        .order_by(col(Message.created_at).desc(), col(Message.id).desc())
        .limit(1)
    ).scalar_one_or_none()


def _thread_headers(parent: Message | None) -> tuple[str | None, str | None]:
    """In-Reply-To and References (RFC 5322 3.6.4) for a reply to `parent`."""
    if parent is None or not parent.rfc_message_id:
        return None, None
    chain = (parent.references or "").split()
    if parent.rfc_message_id not in chain:
        chain.append(parent.rfc_message_id)
    if len(chain) > MAX_REFERENCES:  # keep the thread's root and the newest ones
        chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
    return parent.rfc_message_id, " ".join(chain)


def _mail_domain(config: Config) -> str | None:
    address = config.smtp.from_address
    return address.rsplit("@", 1)[1].strip(" >") if "@" in address else None


def _delete_draft(session: Session, number: int, technician_id: int | None) -> None:
    session.execute(
        delete(Draft).where(
            col(Draft.ticket_number) == number, col(Draft.technician_id) == technician_id
        )
    )


def _send_reply(
    session: Session,
    ticket: Ticket,
    actor: Actor,
    body: str,
    at: float,
    config: Config,
    *,
    audit_action: str = "reply",
    **audit_detail: Any,
) -> ReplyResult:
    """Outbound message + outbox entry + first response + audit, in the caller's transaction."""
    number = ticket.number
    assert number is not None
    me = technician_for(session, actor)
    parent = _latest_inbound(session, number)
    in_reply_to, references = _thread_headers(parent)
    to_address = (
        parent.author if parent is not None and "@" in parent.author else ticket.requester_email
    )
    subject = reply_subject(ticket.subject, number)
    rfc_message_id = make_message_id(number, _mail_domain(config))
    message = Message(
        ticket_number=number,
        direction=MessageDirection.OUT,
        author=normalize_email(actor.email),
        technician_id=me.id,
        created_at=at,
        subject=subject,
        body=body,
        rfc_message_id=rfc_message_id,
        in_reply_to=in_reply_to,
        references=references,
    )
    session.add(message)
    session.flush()
    assert message.id is not None
    entry = enqueue(
        session,
        to_address=to_address,
        subject=subject,
        body=body,
        at=at,
        ticket_number=number,
        message_id=message.id,
        in_reply_to=in_reply_to,
        references=references,
        rfc_message_id=rfc_message_id,
    )
    assert entry.id is not None
    first = _record_first_response(ticket, at, config)
    ticket.status = TicketStatus.ANSWERED
    ticket.waiting_since = None
    _delete_draft(session, number, me.id)
    audit(
        session,
        number,
        actor,
        audit_action,
        at,
        message=message.id,
        outbox=entry.id,
        to=to_address,
        first_response=first,
        first_response_met=ticket.first_response_met if first else None,
        **audit_detail,
    )
    return ReplyResult(
        ticket=ticket,
        message_id=message.id,
        outbox_id=entry.id,
        rfc_message_id=rfc_message_id,
        subject=subject,
        to_address=to_address,
        first_response=first,
        first_response_met=ticket.first_response_met,
    )


def reply(
    store: Store,
    number: int,
    actor: Actor,
    body: str,
    *,
    expected_version: int | None = None,
    at: float | None = None,
    config: Config | None = None,
) -> ReplyResult:
    """Email the customer: message, outbox entry, first response, status answered, draft gone.

    `config` supplies the SLA calendar/targets (first response verdict) and the Message-ID
    domain (the SMTP from address); defaults to `Config()`.
    """
    at = now() if at is None else at
    config = config or Config()
    _check_body(body, "reply")
    with action(store) as session:
        ticket = lock_ticket(session, number, expected_version, at)
        _check_open(ticket, "reply")
        result = _send_reply(session, ticket, actor, body, at, config)
        mark_changed(session, number, at)
        return result


def note(
    store: Store,
    number: int,
    actor: Actor,
    body: str,
    *,
    expected_version: int | None = None,
    at: float | None = None,
    clear_draft: bool = False,
) -> Ticket:
    """An internal note (never mailed). Works on closed tickets too: history may need a word.

    `clear_draft` deletes the author's draft, for an editor that composed the note in it.
    """
    at = now() if at is None else at
    _check_body(body, "note")
    with action(store) as session:
        ticket = lock_ticket(session, number, expected_version, at)
        me = technician_for(session, actor)
        message = Message(
            ticket_number=number,
            direction=MessageDirection.NOTE,
            author=normalize_email(actor.email),
            technician_id=me.id,
            created_at=at,
            subject=ticket.subject,
            body=body,
        )
        session.add(message)
        session.flush()
        if clear_draft:
            _delete_draft(session, number, me.id)
        audit(session, number, actor, "note", at, message=message.id)
        mark_changed(session, number, at)
        return ticket


def save_draft(store: Store, number: int, actor: Actor, body: str, at: float | None = None) -> None:
    """Keep the technician's unsent reply (one per ticket and technician).

    Not a ticket change: no version bump, no audit event, no change-log row, so saving as you
    type never collides with anyone. An empty (or blank) body deletes the draft.
    """
    at = now() if at is None else at
    if len(body) > MAX_BODY_CHARS:
        raise ActionError(f"the draft is too long ({len(body):,} characters)")
    with action(store) as session:
        if session.get(Ticket, number) is None:
            raise NotFound(f"there is no ticket #{number}")
        me = technician_for(session, actor)
        if not body.strip():
            _delete_draft(session, number, me.id)
            return
        values: dict[str, Any] = {
            "ticket_number": number,
            "technician_id": me.id,
            "body": body,
            "updated_at": at,
        }
        dialect = session.get_bind().dialect.name
        insert_stmt: Any
        if dialect == "postgresql":
            insert_stmt = pg_insert(Draft).values(**values)
        elif dialect == "sqlite":
            insert_stmt = sqlite_insert(Draft).values(**values)
        else:  # pragma: no cover - other backends: read-then-write under the unique constraint
            existing = session.execute(
                select(Draft).where(
                    col(Draft.ticket_number) == number, col(Draft.technician_id) == me.id
                )
            ).scalar_one_or_none()
            if existing is None:
                session.add(Draft(**values))
            else:
                existing.body, existing.updated_at = body, at
            return
        session.execute(
            insert_stmt.on_conflict_do_update(
                index_elements=["ticket_number", "technician_id"],
                set_={"body": body, "updated_at": at},
            )
        )


def load_draft(store: Store, number: int, actor: Actor) -> str | None:
    """The technician's saved draft for the ticket, or None."""
    email = normalize_email(actor.email)
    with store.session() as session:
        return session.execute(
            select(col(Draft.body))
            .join(Technician, col(Technician.id) == col(Draft.technician_id))
            .where(col(Draft.ticket_number) == number, col(Technician.email) == email)
        ).scalar_one_or_none()


def release(
    store: Store,
    number: int,
    actor: Actor,
    *,
    expected_version: int | None = None,
    at: float | None = None,
) -> Ticket:
    """Unassign the ticket (yours or a colleague's; the audit names whose it was)."""
    at = now() if at is None else at
    with action(store) as session:
        ticket = lock_ticket(session, number, expected_version, at)
        if ticket.assignee_id is None:
            raise ActionError(f"#{number} is not assigned to anyone")
        previous = session.get(Technician, ticket.assignee_id)
        ticket.assignee_id = None
        audit(
            session,
            number,
            actor,
            "release",
            at,
            previous_assignee=previous.email if previous else None,
        )
        mark_changed(session, number, at)
        return ticket


def check_phone_number(phone_number: str) -> str:
    """A dialable number, normalized to single spaces; ActionError with the reason otherwise."""
    text = " ".join((phone_number or "").split())
    if not text:
        raise ActionError("give the number to call")
    if not _PHONE_CHARS.match(text):
        raise ActionError(
            f"{text!r} is not a phone number (digits, spaces, + ( ) . - only; e.g. +1 555 123 4567)"
        )
    digits = sum(ch.isdigit() for ch in text)
    if not 5 <= digits <= 15:
        raise ActionError(f"{text!r} has {digits} digits; a phone number has 5 to 15")
    if "+" in text[1:]:
        raise ActionError(f"{text!r}: '+' may only start the number")
    return text


def check_timezone_name(zone: str) -> str:
    name = zone.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ActionError(f"{zone!r} is not an IANA time zone (e.g. Europe/Berlin)") from None
    return name


def grant_phone(
    store: Store,
    number: int,
    actor: Actor,
    *,
    phone_number: str,
    scheduled_at: float | None,
    customer_timezone: str | None,
    note: str | None = None,
    expected_version: int | None = None,
    at: float | None = None,
) -> PhoneResult:
    """Grant phone support: a PhoneDecision row and ticket.phone_escalated = True.

    `scheduled_at` is the agreed time (epoch seconds); `customer_timezone` (IANA) is the zone the
    customer gave it in. Without a zone the customer's stored zone is used; a scheduled call
    needs one. A zone given for a customer who had none is remembered on the customer.
    """
    at = now() if at is None else at
    number_text = check_phone_number(phone_number)
    zone = check_timezone_name(customer_timezone) if customer_timezone else None
    if scheduled_at is not None and scheduled_at < at - 60:
        raise ActionError("the call time is in the past")
    with action(store) as session:
        ticket = lock_ticket(session, number, expected_version, at)
        _check_open(ticket, "grant a call")
        customer = session.get(Customer, ticket.customer_id) if ticket.customer_id else None
        if zone is None and customer is not None and customer.timezone:
            zone = customer.timezone
        if scheduled_at is not None and zone is None:
            raise ActionError("give the customer's time zone for the call (e.g. Europe/Berlin)")
        if customer is not None and not customer.timezone and zone:
            customer.timezone = zone
        me = technician_for(session, actor)
        decision = PhoneDecision(
            ticket_number=number,
            decision="granted",
            technician_id=me.id,  # type: ignore[arg-type]
            phone_number=number_text,
            scheduled_at=scheduled_at,
            customer_timezone=zone,
            note=(note or "").strip() or None,
            created_at=at,
        )
        session.add(decision)
        session.flush()
        assert decision.id is not None
        ticket.phone_escalated = True
        audit(
            session,
            number,
            actor,
            "phone_grant",
            at,
            decision=decision.id,
            phone_number=number_text,
            scheduled_at=scheduled_at,
            timezone=zone,
            note=decision.note,
        )
        mark_changed(session, number, at)
        return PhoneResult(ticket, decision.id)


def decline_reply_text(config: Config) -> str:
    """The default email for a declined call: support goes on by email, in this ticket."""
    return (
        "Hello,\n\n"
        "Thank you for your message. We are not able to offer a phone call for this request, "
        "but we will keep working on it with you by email: simply reply to this message and "
        "your answer will reach us in the same ticket.\n\n"
        f"Kind regards,\n{config.company.name} support\n"
    )


def decline_phone(
    store: Store,
    number: int,
    actor: Actor,
    *,
    reason: str,
    send_reply: bool,
    reply_body: str | None = None,
    expected_version: int | None = None,
    at: float | None = None,
    config: Config | None = None,
) -> PhoneResult:
    """Decline phone support (reason recorded, internal) and clear the ticket's phone flag.

    With `send_reply`, also queues an email (`reply_body`, else `decline_reply_text`) saying
    support continues by email, in the same transaction; it counts like any reply (it may be
    the first response).
    """
    at = now() if at is None else at
    config = config or Config()
    reason_text = " ".join((reason or "").split())
    if not reason_text:
        raise ActionError("say why the call is declined")
    body = (
        _check_body(reply_body, "reply") if reply_body is not None else decline_reply_text(config)
    )
    with action(store) as session:
        ticket = lock_ticket(session, number, expected_version, at)
        _check_open(ticket, "decline a call")
        me = technician_for(session, actor)
        decision = PhoneDecision(
            ticket_number=number,
            decision="declined",
            technician_id=me.id,  # type: ignore[arg-type]
            note=reason_text,
            created_at=at,
        )
        session.add(decision)
        session.flush()
        assert decision.id is not None
        ticket.phone_requested = False
        audit(
            session,
            number,
            actor,
            "phone_decline",
            at,
            decision=decision.id,
            reason=reason_text,
            reply=send_reply,
        )
        sent = (
            _send_reply(session, ticket, actor, body, at, config, phone_decision=decision.id)
            if send_reply
            else None
        )
        mark_changed(session, number, at)
        return PhoneResult(ticket, decision.id, sent)


MAX_CALL_SECONDS = 24 * 3600


def log_call(
    store: Store,
    number: int,
    actor: Actor,
    *,
    duration_seconds: int,
    notes: str,
    counts_as_first_response: bool,
    called_at: float | None = None,
    expected_version: int | None = None,
    at: float | None = None,
    config: Config | None = None,
) -> CallResult:
    """Record a call. If the technician says it counts and there is no first response yet,
    the call (at `called_at`, default now) becomes it and the ticket waits for the customer.

    The stored `counts_as_first_response` is what actually happened, so the detail pane never
    shows two first responses.
    """
    at = now() if at is None else at
    called_at = at if called_at is None else called_at
    config = config or Config()
    if isinstance(duration_seconds, bool) or not isinstance(duration_seconds, int):
        raise ActionError("the call's duration is a whole number of seconds")
    if not 0 <= duration_seconds <= MAX_CALL_SECONDS:
        raise ActionError(f"a call of {duration_seconds} seconds? (0 to {MAX_CALL_SECONDS})")
    if counts_as_first_response and duration_seconds == 0:
        raise ActionError("a call nobody answered can't be the first response")
    if called_at > at + 60:
        raise ActionError("the call is in the future: log it after it happened")
    notes_text = _check_body(notes, "call notes")
    with action(store) as session:
        ticket = lock_ticket(session, number, expected_version, at)
        _check_open(ticket, "log a call")
        if called_at < ticket.received_at:
            raise ActionError(f"the call is before #{number} was received")
        me = technician_for(session, actor)
        first = counts_as_first_response and _record_first_response(ticket, called_at, config)
        if first:
            ticket.status = TicketStatus.ANSWERED
            ticket.waiting_since = None
        call = PhoneCall(
            ticket_number=number,
            technician_id=me.id,  # type: ignore[arg-type]
            called_at=called_at,
            duration_seconds=duration_seconds,
            notes=notes_text,
            counts_as_first_response=first,
        )
        session.add(call)
        session.flush()
        assert call.id is not None
        audit(
            session,
            number,
            actor,
            "phone_call",
            at,
            call=call.id,
            duration=duration_seconds,
            asked_first_response=counts_as_first_response,
            first_response=first,
            first_response_met=ticket.first_response_met if first else None,
        )
        mark_changed(session, number, at)
        return CallResult(ticket, call.id, first)


def reclassify(
    store: Store,
    number: int,
    actor: Actor,
    reason: str,
    *,
    expected_version: int | None = None,
    at: float | None = None,
    config: Config | None = None,
) -> Ticket:
    """Emergency -> standard: its clock becomes business time from the original received time,
    and a refund is recorded as requested. An already given first response is re-judged on the
    standard clock."""
    at = now() if at is None else at
    config = config or Config()
    reason_text = " ".join((reason or "").split())
    if not reason_text:
        raise ActionError("say why this is not an emergency")
    with action(store) as session:
        ticket = lock_ticket(session, number, expected_version, at)
        if ticket.kind != TicketKind.EMERGENCY:
            raise ActionError(f"#{number} is a {ticket.kind} ticket, not an emergency")
        ticket.kind = TicketKind.STANDARD
        ticket.refund_requested = True
        verdict_before = ticket.first_response_met
        if ticket.first_response_at is not None:
            ticket.first_response_met = ticket.first_response_at <= first_response_deadline(
                ticket, config
            )
        audit(
            session,
            number,
            actor,
            "reclassify",
            at,
            reason=reason_text,
            from_kind=TicketKind.EMERGENCY,
            to_kind=TicketKind.STANDARD,
            refund_requested=True,
            first_response_met_before=verdict_before,
            first_response_met=ticket.first_response_met,
        )
        mark_changed(session, number, at)
        return ticket


def customer_wrote(session: Session, ticket: Ticket, message: Message, at: float) -> None:
    """A customer's new message on an existing ticket (intake's building block).

    The caller has locked the ticket (`lock_ticket`) and added `message` in this transaction.
    The ticket waits for us again: status open (a closed ticket reopens), the clock restarts from
    this message unless it was already waiting, and a request for a call sets the phone flag.
    """
    from models.phone import detect_phone_request

    assert ticket.number is not None
    previous = ticket.status
    if ticket.status != TicketStatus.OPEN or ticket.waiting_since is None:
        ticket.waiting_since = at
    ticket.status = TicketStatus.OPEN
    ticket.closed_at = None
    if detect_phone_request(message.body):
        ticket.phone_requested = True
    audit(
        session,
        ticket.number,
        Actor(message.author),
        "customer_message",
        at,
        previous_status=previous,
        message=message.id,
        phone_requested=ticket.phone_requested,
    )
    mark_changed(session, ticket.number, at)


# --------------------------------------------------------------------------- the detail read model


@dataclass(frozen=True)
class CustomerInfo:
    id: int
    name: str
    email: str
    organization: str | None
    timezone: str | None


@dataclass(frozen=True)
class LicenseInfo:
    id: int
    key: str
    product: str
    latest_version: str
    version_in_use: str
    purchased_on: str
    ms_expires_on: str


@dataclass(frozen=True)
class MessageInfo:
    id: int
    direction: str  # in | out | note
    author: str
    created_at: float
    subject: str
    body: str
    rfc_message_id: str | None
    in_reply_to: str | None
    references: str | None
    attachments: list[str]  # file names


@dataclass(frozen=True)
class PhoneDecisionInfo:
    id: int
    decision: str  # granted | declined
    technician: str
    phone_number: str | None
    scheduled_at: float | None
    customer_timezone: str | None
    note: str | None
    created_at: float


@dataclass(frozen=True)
class CallInfo:
    id: int
    technician: str
    called_at: float
    duration_seconds: int
    notes: str
    counts_as_first_response: bool


@dataclass(frozen=True)
class RsaaInfo:
    id: int
    accepted_by_name: str
    accepted_by_email: str
    accepted_at: float
    server: str
    method: str
    tool_name: str | None
    source_ip: str
    temp_account: str | None
    notes: str | None
    recorded_by: str
    recorded_at: float
    revoked_at: float | None
    revoked_by: str | None
    revoke_reason: str | None


@dataclass(frozen=True)
class OutboxInfo:
    id: int
    message_id: int | None
    kind: str
    to_address: str
    subject: str
    rfc_message_id: str
    status: str  # queued | sent | failed
    attempts: int
    next_attempt_at: float
    last_error: str | None
    created_at: float
    sent_at: float | None


@dataclass(frozen=True)
class AuditInfo:
    id: int
    actor: str
    action: str
    detail: dict[str, Any] | None
    process: str  # host:pid:program
    created_at: float

    @property
    def summary(self) -> str:
        """ "alice@example.com replied to it" style, for the history list."""
        return f"{self.actor} {_PAST.get(self.action, self.action)}"


@dataclass(frozen=True)
class TicketDetail:
    """Everything the detail pane and `show --json` show about one ticket (plain values)."""

    number: int
    kind: str
    status: str
    subject: str
    requester_email: str
    entitlement: str
    entitlement_note: str | None
    received_at: float
    waiting_since: float | None
    first_response_at: float | None
    first_response_met: bool | None
    assignee: str | None  # technician email
    phone_requested: bool
    phone_escalated: bool
    refund_requested: bool
    closed_at: float | None
    updated_at: float
    version: int
    customer: CustomerInfo | None
    license: LicenseInfo | None
    messages: list[MessageInfo]
    phone_decisions: list[PhoneDecisionInfo]
    calls: list[CallInfo]
    rsaas: list[RsaaInfo]
    outbox: list[OutboxInfo]
    audit: list[AuditInfo]

    @property
    def active_rsaa(self) -> RsaaInfo | None:
        return next((r for r in self.rsaas if r.revoked_at is None), None)

    def to_json(self, zone: str | None = None) -> dict[str, Any]:
        """A JSON-ready dict. Times are epoch seconds, or ISO 8601 in `zone` when given."""
        data = asdict(self)
        if zone is None:
            return data
        tz = ZoneInfo(zone)

        def convert(value: Any, key: str = "") -> Any:
            if isinstance(value, dict):
                return {k: convert(v, k) for k, v in value.items()}
            if isinstance(value, list):
                return [convert(v) for v in value]
            if isinstance(value, float) and (key.endswith("_at") or key == "waiting_since"):
                return _dt.datetime.fromtimestamp(value, tz).isoformat(timespec="seconds")
            return value

        return {k: convert(v, k) for k, v in data.items()}


def ticket_detail(store: Store, number: int) -> TicketDetail:
    """The read model of one ticket; NotFound when there is none."""
    with store.session() as session:
        ticket = session.get(Ticket, number)
        if ticket is None:
            raise NotFound(f"there is no ticket #{number}")
        technicians: dict[int | None, str] = {
            row.id: row.email for row in session.execute(select(Technician)).scalars()
        }

        def tech(technician_id: int | None) -> str:
            return technicians.get(technician_id, "?")

        customer = session.get(Customer, ticket.customer_id) if ticket.customer_id else None
        license_info = None
        if ticket.license_id is not None:
            found = session.execute(
                select(License, Product)
                .join(Product, col(Product.id) == col(License.product_id))
                .where(col(License.id) == ticket.license_id)
            ).first()
            if found is not None:
                lic, product = found
                license_info = LicenseInfo(
                    lic.id or 0,
                    lic.key,
                    product.name,
                    product.latest_version,
                    lic.version_in_use,
                    lic.purchased_on,
                    lic.ms_expires_on,
                )
        messages = list(
            session.execute(
                select(Message)
                .where(col(Message.ticket_number) == number)
                .order_by(col(Message.created_at), col(Message.id))
            ).scalars()
        )
        names: dict[int, list[str]] = {}
        if messages:
            for message_id, filename in session.execute(
                select(col(Attachment.message_id), col(Attachment.filename))
                .where(col(Attachment.message_id).in_([m.id for m in messages]))
                .order_by(col(Attachment.id))
            ):
                names.setdefault(message_id, []).append(filename)

        def rows(table: Any, order: Any) -> list[Any]:
            return list(
                session.execute(
                    select(table).where(table.ticket_number == number).order_by(order, table.id)
                ).scalars()
            )

        return TicketDetail(
            number=number,
            kind=ticket.kind,
            status=ticket.status,
            subject=ticket.subject,
            requester_email=ticket.requester_email,
            entitlement=ticket.entitlement,
            entitlement_note=ticket.entitlement_note,
            received_at=ticket.received_at,
            waiting_since=ticket.waiting_since,
            first_response_at=ticket.first_response_at,
            first_response_met=ticket.first_response_met,
            assignee=technicians.get(ticket.assignee_id) if ticket.assignee_id else None,
            phone_requested=ticket.phone_requested,
            phone_escalated=ticket.phone_escalated,
            refund_requested=ticket.refund_requested,
            closed_at=ticket.closed_at,
            updated_at=ticket.updated_at,
            version=ticket.version,
            customer=CustomerInfo(
                customer.id or 0,
                customer.name,
                customer.email,
                customer.organization,
                customer.timezone,
            )
            if customer
            else None,
            license=license_info,
            messages=[
                MessageInfo(
                    m.id or 0,
                    m.direction,
                    m.author,
                    m.created_at,
                    m.subject,
                    m.body,
                    m.rfc_message_id,
                    m.in_reply_to,
                    m.references,
                    names.get(m.id or 0, []),
                )
                for m in messages
            ],
            phone_decisions=[
                PhoneDecisionInfo(
                    d.id,
                    d.decision,
                    tech(d.technician_id),
                    d.phone_number,
                    d.scheduled_at,
                    d.customer_timezone,
                    d.note,
                    d.created_at,
                )
                for d in rows(PhoneDecision, PhoneDecision.created_at)
            ],
            calls=[
                CallInfo(
                    c.id,
                    tech(c.technician_id),
                    c.called_at,
                    c.duration_seconds,
                    c.notes,
                    c.counts_as_first_response,
                )
                for c in rows(PhoneCall, PhoneCall.called_at)
            ],
            rsaas=[
                RsaaInfo(
                    r.id,
                    r.accepted_by_name,
                    r.accepted_by_email,
                    r.accepted_at,
                    r.server,
                    r.method,
                    r.tool_name,
                    r.source_ip,
                    r.temp_account,
                    r.notes,
                    tech(r.recorded_by_id),
                    r.recorded_at,
                    r.revoked_at,
                    tech(r.revoked_by_id) if r.revoked_by_id else None,
                    r.revoke_reason,
                )
                for r in rows(Rsaa, Rsaa.recorded_at)
            ],
            outbox=[
                OutboxInfo(
                    o.id,
                    o.message_id,
                    o.kind,
                    o.to_address,
                    o.subject,
                    o.rfc_message_id,
                    o.status,
                    o.attempts,
                    o.next_attempt_at,
                    o.last_error,
                    o.created_at,
                    o.sent_at,
                )
                for o in rows(OutboxEntry, OutboxEntry.created_at)
            ],
            audit=[
                AuditInfo(
                    e.id,
                    e.actor,
                    e.action,
                    json.loads(e.detail) if e.detail else None,
                    e.process,
                    e.created_at,
                )
                for e in rows(AuditEvent, AuditEvent.id)
            ],
        )

"""Working a ticket: replies (with their outbox entry and the first response), notes, drafts,
release, reclassify, and the customer writing again. One transaction per public call."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlmodel import col

from models.clock.calendar import BusinessCalendar
from models.clock.sla import ClockKind, SlaPolicy
from models.desk.actions import (
    ActionError,
    Actor,
    NotFound,
    action,
    audit,
    clock_text,
    insert_message,
    mark_changed,
    normalize_email,
    now,
    technician_for,
    ticket_action,
)
from models.mail.outbox import enqueue, make_message_id
from models.policy.config import Config
from models.policy.credentials import find_credential
from models.store.db import Store
from models.store.tables import (
    Draft,
    Message,
    MessageDirection,
    Technician,
    Ticket,
    TicketKind,
    TicketStatus,
    table_of,
)

# --------------------------------------------------------------------------- working a ticket
#
# Everything below is one transaction per public call. Validation happens before the first write
# where it can; anything refused later raises inside `action()`, which rolls the whole thing back.

MAX_BODY_CHARS = 200_000
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|sv|fwd?)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
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


def first_response_minutes(ticket: Ticket, at: float, config: Config) -> float:
    """How long the first response took on the ticket's clock: business minutes (the SLA
    calendar) for a standard ticket, wall minutes for an emergency."""
    if ticket.kind == TicketKind.EMERGENCY:
        return max(0.0, at - ticket.received_at) / 60.0
    return max(0.0, sla_policy(config).calendar.elapsed(ticket.received_at, at)) / 60.0


def _judge_first_response(ticket: Ticket, config: Config) -> None:
    """Store the verdict with what it was measured against (deadline, minutes on the ticket's
    clock): the SLA report reads these, never today's config."""
    assert ticket.first_response_at is not None
    deadline = first_response_deadline(ticket, config)
    ticket.first_response_deadline = deadline
    ticket.first_response_minutes = first_response_minutes(ticket, ticket.first_response_at, config)
    ticket.first_response_met = ticket.first_response_at <= deadline


def _record_first_response(
    ticket: Ticket, at: float, config: Config, technician_id: int | None
) -> bool:
    """Stop the first-response clock if it still runs; True when this was the first."""
    if ticket.first_response_at is not None:
        return False
    ticket.first_response_at = at
    ticket.first_response_by_id = technician_id
    _judge_first_response(ticket, config)
    return True


def _check_body(body: str, what: str) -> str:
    if not body or not body.strip():
        raise ActionError(f"the {what} is empty")
    if len(body) > MAX_BODY_CHARS:
        raise ActionError(
            f"the {what} is too long ({len(body):,} characters, at most {MAX_BODY_CHARS:,})"
        )
    return body


class LooksLikeSecret(ActionError):
    """The text seems to carry a credential (`models.policy.credentials`): saved only when the
    technician confirms (`allow_secret`)."""

    def __init__(self, what: str, found: str) -> None:
        super().__init__(
            f"the {what} seems to contain {found}: shiftdesk never stores credentials, share "
            "them with the customer another way"
        )
        self.what = what
        self.found = found


def _check_secret(body: str, what: str, allow_secret: bool) -> None:
    if allow_secret:
        return
    found = find_credential(body)
    if found is not None:
        raise LooksLikeSecret(what, found)


def _secret_confirmed(allow_secret: bool, *texts: str | None) -> bool | None:
    """For the audit: True when the technician saved a text despite the credential warning."""
    if allow_secret and any(t and find_credential(t) is not None for t in texts):
        return True
    return None


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
    answers: bool = True,
    **audit_detail: Any,
) -> ReplyResult:
    """Outbound message + outbox entry + audit, in the caller's transaction. A reply that
    `answers` the customer is the first response (if none yet) and stops the ticket waiting; a
    notice that does not (a declined call's standard text) leaves the clock and queue alone."""
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
    message_id = insert_message(
        session,
        number,
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
    outbox_id = enqueue(
        session,
        to_address=to_address,
        subject=subject,
        body=body,
        at=at,
        ticket_number=number,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        rfc_message_id=rfc_message_id,
    )
    first = answers and _record_first_response(ticket, at, config, me.id)
    if answers:
        ticket.status = TicketStatus.ANSWERED
        ticket.waiting_since = None
    _delete_draft(session, number, me.id)
    audit(
        session,
        number,
        actor,
        audit_action,
        at,
        message=message_id,
        outbox=outbox_id,
        to=to_address,
        first_response=first,
        first_response_met=ticket.first_response_met if first else None,
        answers=None if answers else False,
        **audit_detail,
    )
    return ReplyResult(
        ticket=ticket,
        message_id=message_id,
        outbox_id=outbox_id,
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
    follow_up: bool = False,
    allow_secret: bool = False,
) -> ReplyResult:
    """Email the customer: message, outbox entry, first response, status answered, draft gone.

    A reply answers a customer who is waiting. When the ticket is already answered (a colleague's
    reply, or one of ten racing `reply` commands, got there first) it is refused with
    `AlreadyAnswered` unless the technician says it is a `follow_up` to that answer: so a first
    response is recorded, and mailed, once. The check runs after the version bump, which
    serializes racing replies on the ticket row (SQLite's write lock, PostgreSQL's row lock).

    `config` supplies the SLA calendar/targets (first response verdict) and the Message-ID
    domain (the SMTP from address); defaults to `Config()`. A body that seems to carry a
    credential is refused (`LooksLikeSecret`) unless `allow_secret`.
    """
    at = now() if at is None else at
    config = config or Config()
    _check_body(body, "reply")
    _check_secret(body, "reply", allow_secret)
    with ticket_action(store, number, expected_version, at) as (session, ticket):
        _check_open(ticket, "reply")
        if ticket.status == TicketStatus.ANSWERED and not follow_up:
            raise AlreadyAnswered(
                f"#{number} is already answered ({_last_answer(session, number)}): "
                "send yours only as a follow-up",
                number,
            )
        result = _send_reply(
            session,
            ticket,
            actor,
            body,
            at,
            config,
            follow_up=follow_up or None,
            secret_confirmed=_secret_confirmed(allow_secret, body),
        )
        return result


class AlreadyAnswered(ActionError):
    """A reply to a ticket that is no longer waiting, not marked as a follow-up."""

    def __init__(self, message: str, ticket_number: int) -> None:
        super().__init__(message)
        self.ticket_number = ticket_number


def _last_answer(session: Session, number: int) -> str:
    """ "bob@example.com replied at 10:31:02 MST" (the latest outbound message), for refusals."""
    last = session.execute(
        select(Message)
        .where(col(Message.ticket_number) == number, col(Message.direction) == MessageDirection.OUT)
        .order_by(col(Message.created_at).desc(), col(Message.id).desc())
        .limit(1)
    ).scalar_one_or_none()
    if last is None:
        return "by a call or before a reopen"
    return f"{last.author} replied at {clock_text(last.created_at)}"


def note(
    store: Store,
    number: int,
    actor: Actor,
    body: str,
    *,
    expected_version: int | None = None,
    at: float | None = None,
    clear_draft: bool = False,
    allow_secret: bool = False,
) -> Ticket:
    """An internal note (never mailed). Works on closed tickets too: history may need a word.

    `clear_draft` deletes the author's draft, for an editor that composed the note in it. A
    note that seems to carry a credential is refused (`LooksLikeSecret`) unless `allow_secret`.
    """
    at = now() if at is None else at
    _check_body(body, "note")
    _check_secret(body, "note", allow_secret)
    with ticket_action(store, number, expected_version, at) as (session, ticket):
        me = technician_for(session, actor)
        message_id = insert_message(
            session,
            number,
            direction=MessageDirection.NOTE,
            author=normalize_email(actor.email),
            technician_id=me.id,
            created_at=at,
            subject=ticket.subject,
            body=body,
        )
        if clear_draft:
            _delete_draft(session, number, me.id)
        audit(
            session,
            number,
            actor,
            "note",
            at,
            message=message_id,
            secret_confirmed=_secret_confirmed(allow_secret, body),
        )
        return ticket


def save_draft(store: Store, number: int, actor: Actor, body: str, at: float | None = None) -> None:
    """Keep the technician's unsent reply (one per ticket and technician).

    Not a ticket change: no version bump, no audit event, no change-log row, so saving as you
    type never collides with anyone. An empty (or blank) body deletes the draft. A body that
    seems to carry a credential is never stored, not even as a draft (`LooksLikeSecret`): the
    technician decides only when sending.
    """
    at = now() if at is None else at
    if len(body) > MAX_BODY_CHARS:
        raise ActionError(f"the draft is too long ({len(body):,} characters)")
    _check_secret(body, "draft", allow_secret=False)
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
    with ticket_action(store, number, expected_version, at) as (session, ticket):
        if ticket.kind != TicketKind.EMERGENCY:
            raise ActionError(f"#{number} is a {ticket.kind} ticket, not an emergency")
        ticket.kind = TicketKind.STANDARD
        ticket.refund_requested = True
        verdict_before = ticket.first_response_met
        if ticket.first_response_at is not None:
            # re-measured on the standard clock now, and stored: the report keeps this verdict
            _judge_first_response(ticket, config)
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
        return ticket


_TICKETS = table_of(Ticket)
_WAITING = select(_TICKETS.c.status, _TICKETS.c.waiting_since, _TICKETS.c.phone_requested).where(
    _TICKETS.c.number == bindparam("n")
)
_WAITS_AGAIN = (
    update(_TICKETS)
    .where(_TICKETS.c.number == bindparam("n"))
    .values(
        status=TicketStatus.OPEN,
        closed_at=None,
        waiting_since=bindparam("waiting_since"),
        phone_requested=bindparam("phone"),
    )
)


def customer_wrote(
    session: Session, number: int, *, message_id: int, author: str, body: str, at: float
) -> None:
    """A customer's new message on an existing ticket (intake's building block).

    The caller has bumped the ticket's version (`bump_version`) and inserted the message in this
    transaction. The ticket waits for us again: status open (a closed ticket reopens), the clock
    restarts from this message unless it was already waiting, and a request for a call sets the
    phone flag. Core statements: the mail gateway runs this once per reply.
    """
    from models.mail.phone import detect_phone_request

    previous, waiting_since, phone = session.execute(_WAITING, {"n": number}).one()
    if previous != TicketStatus.OPEN or waiting_since is None:
        waiting_since = at
    phone = bool(phone) or bool(detect_phone_request(body))
    session.execute(_WAITS_AGAIN, {"n": number, "waiting_since": waiting_since, "phone": phone})
    audit(
        session,
        number,
        Actor(author),
        "customer_message",
        at,
        previous_status=previous,
        message=message_id,
        phone_requested=phone,
    )
    mark_changed(session, number, at)

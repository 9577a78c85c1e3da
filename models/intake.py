"""The mail gateway: parse one RFC 5322 message, thread it, gate it, store it (one transaction).

Parsing uses the standard `email` package with `policy.default`, but never trusts it to decode:
bodies are decoded by hand with the declared charset (unknown charsets fall back to UTF-8, bad
bytes become U+FFFD), and a header the parser chokes on is kept as its raw text.

Threading, in order: `[#N]` in the subject naming an existing ticket; else an `In-Reply-To` or
`References` id matching a stored message (the customer's) or an outbox entry (ours); else a new
ticket.

License keys look like `ABCD-1234-EFGH` (KEY_PATTERN: groups of 4+ capital letters/digits joined
by hyphens, at least three groups); a key counts only when it is one of the sender's licenses.

Automatic mail (Auto-Submitted other than "no", Precedence bulk/junk/list/auto_reply,
X-Autoreply, X-Autorespond, bounces) and mail from our own addresses never create a ticket and are
never answered: when they thread onto a ticket they are kept on it without changing its status,
otherwise they are dropped with a reason.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from models.actions import (
    ActionError,
    Actor,
    NotFound,
    action,
    audit,
    insert_ticket_and_message,
    lock_ticket,
    mark_changed,
    normalize_email,
    technician_for,
)
from models.config import Config
from models.db import Store
from models.entitlement import EntitlementDecision, entitlement_at
from models.mailparse import (  # noqa: F401  (re-exported: the gateway's public names)
    _MSGID,
    MAX_ATTACHMENT_BYTES,
    MAX_HEADER_CHARS,
    MAX_MESSAGE_BYTES,
    MAX_SUBJECT_CHARS,
    Limits,
    ParsedAttachment,
    ParsedMail,
    Unusable,
    clean_text,
    html_to_text,
    parse_message,
)
from models.outbox import enqueue
from models.tables import (
    Appointment,
    Attachment,
    Customer,
    CustomerAddress,
    Entitlement,
    HostedSubscription,
    License,
    Message,
    MessageDirection,
    MsTerm,
    OutboxEntry,
    Partnership,
    Ticket,
    TicketKind,
    TicketStatus,
)

AUTOREPLY_QUIET_SECONDS = 24 * 3600  # at most one "not entitled" auto-reply per address per day

KEY_PATTERN = re.compile(r"\b[A-Z0-9]{4,}(?:-[A-Z0-9]{4,}){2,}\b")
TICKET_TAG = re.compile(r"\[#(\d{1,12})\]")


@dataclass(frozen=True)
class IntakeResult:
    outcome: str  # new | reply | ignored
    ticket_number: int | None = None
    reason: str | None = None

    def line(self) -> str:
        if self.outcome == "ignored":
            return f"ignored: {self.reason}"
        suffix = f" ({self.reason})" if self.reason else ""
        return f"ticket #{self.ticket_number} {self.outcome}{suffix}"


# --------------------------------------------------------------------------- store look-ups


def find_customer(session: Session, address: str) -> Customer | None:
    """The customer writing from `address` (any of their addresses, case-insensitive)."""
    email = normalize_email(address)
    return session.execute(
        select(Customer)
        .outerjoin(CustomerAddress, col(CustomerAddress.customer_id) == col(Customer.id))
        .where(or_(func.lower(CustomerAddress.email) == email, func.lower(Customer.email) == email))
        .limit(1)
    ).scalar_one_or_none()


def entitlement_rows(
    session: Session, customer_id: int
) -> tuple[list[tuple[License, list[MsTerm]]], list[HostedSubscription], list[Partnership]]:
    terms: dict[int, list[MsTerm]] = {}
    licenses: dict[int, License] = {}
    for license, term in session.execute(
        select(License, MsTerm)
        .outerjoin(MsTerm, col(MsTerm.license_id) == col(License.id))
        .where(col(License.customer_id) == customer_id)
        .order_by(col(License.id))
    ).all():
        assert license.id is not None
        licenses.setdefault(license.id, license)
        bucket = terms.setdefault(license.id, [])
        if term is not None:
            bucket.append(term)
    hosted = list(
        session.execute(
            select(HostedSubscription).where(col(HostedSubscription.customer_id) == customer_id)
        ).scalars()
    )
    partners = list(
        session.execute(
            select(Partnership).where(col(Partnership.customer_id) == customer_id)
        ).scalars()
    )
    return [(lic, terms[key]) for key, lic in licenses.items()], hosted, partners


def find_license_key(text: str, keys: Sequence[str]) -> str | None:
    """The first key-shaped token in `text` that is one of `keys` (case-insensitive)."""
    wanted = {k.upper() for k in keys}
    for match in KEY_PATTERN.finditer(text.upper()):
        if match.group(0) in wanted:
            return match.group(0)
    return None


def _tagged_ticket(session: Session, subject: str) -> int | None:
    for tag in TICKET_TAG.findall(subject):
        number = int(tag)
        if number < 2**62 and session.get(Ticket, number) is not None:
            return number
    return None


def _thread_and_duplicate(session: Session, mail: ParsedMail) -> tuple[int | None, int | None]:
    """(ticket this message already sits on, ticket it threads onto) in one or two queries."""
    thread_ids = mail.thread_ids()[:50]
    wanted = [*thread_ids, mail.message_id] if mail.message_id else thread_ids
    rows: list[tuple[int | None, str | None, str]] = []
    if wanted:
        rows = [
            (number, rfc_id, direction)
            for number, rfc_id, direction in session.execute(
                select(
                    col(Message.ticket_number),
                    col(Message.rfc_message_id),
                    col(Message.direction),
                ).where(col(Message.rfc_message_id).in_(wanted))
            ).all()
        ]
    for number, rfc_id, direction in rows:
        if rfc_id == mail.message_id and direction == MessageDirection.IN:
            return number, None
    tagged = _tagged_ticket(session, mail.subject)
    if tagged is not None or not thread_ids:
        return None, tagged
    by_id = {rfc_id: number for number, rfc_id, _ in rows if number is not None}
    if not any(rfc_id in by_id for rfc_id in thread_ids):
        for number, rfc_id in session.execute(
            select(col(OutboxEntry.ticket_number), col(OutboxEntry.rfc_message_id)).where(
                col(OutboxEntry.rfc_message_id).in_(thread_ids),
                col(OutboxEntry.ticket_number).is_not(None),
            )
        ).all():
            if number is not None:
                by_id[rfc_id] = number
    for rfc_id in thread_ids:  # In-Reply-To first, then the newest reference
        if by_id.get(rfc_id) is not None:
            return None, by_id[rfc_id]
    return None, None


def find_thread(session: Session, mail: ParsedMail) -> int | None:
    """The ticket `mail` belongs to: `[#N]`, else In-Reply-To/References (ours or theirs)."""
    return _thread_and_duplicate(session, mail)[1]


def _detect_phone(text: str) -> bool:
    try:
        from models.phone import detect_phone_request  # being written alongside
    except ImportError:
        return False
    return bool(detect_phone_request(text))


def _company_date(at: float, config: Config) -> dt.date:
    try:
        zone = zoneinfo.ZoneInfo(config.calendar.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return dt.datetime.fromtimestamp(at, zone).date()


def _own_addresses(config: Config) -> set[str]:
    return {
        normalize_email(config.smtp.from_address),
        normalize_email(config.company.support_address),
    }


# --------------------------------------------------------------------------- storing


def _add_message(session: Session, number: int, mail: ParsedMail, at: float) -> Message:
    message = Message(
        ticket_number=number,
        direction=MessageDirection.IN,
        author=mail.sender,
        created_at=at,
        subject=mail.subject,
        body=mail.body,
        rfc_message_id=mail.message_id,
        in_reply_to=mail.in_reply_to,
        references=mail.references,
        headers=mail.headers_json,
    )
    session.add(message)
    session.flush()
    return message


def _add_attachments(session: Session, message_id: int, mail: ParsedMail) -> None:
    for item in mail.attachments:
        session.add(
            Attachment(
                message_id=message_id,
                filename=item.filename,
                content_type=item.content_type,
                size=item.size,
                content=item.content,
            )
        )


def autoreply_text(config: Config, number: int, reason: str) -> str:
    company = config.company
    return (
        "Hello,\n\n"
        f"Thank you for writing to {company.name} support. We have kept your message as "
        f"ticket #{number}, but it is not covered by a support entitlement: {reason}.\n\n"
        "How to get help:\n"
        "- Reinstate Maintenance and Support for your license (or renew your hosted "
        "subscription or partnership); reply to this message and we will tell you how.\n"
        f"- Ask the community forum: {company.forum_url}\n"
        "- If you write from a new address or about a license we could not find, reply with "
        "your license key.\n\n"
        "This is an automatic message.\n"
    )


def _customer_reply(session: Session, number: int, mail: ParsedMail, at: float) -> Message:
    """A customer's message on a known ticket: models.work.customer_wrote's rules (status open,
    a closed ticket reopens, the clock restarts unless already waiting, phone flag)."""
    from models.work import customer_wrote  # imported only when a reply arrives

    ticket = lock_ticket(session, number, None, at)
    message = _add_message(session, number, mail, at)
    customer_wrote(session, ticket, message, at)
    return message


def store_message(
    store: Store, config: Config, mail: ParsedMail, received_at: float
) -> IntakeResult:
    """Thread, gate and store one parsed message in one transaction."""
    at = received_at
    own = mail.sender in _own_addresses(config)
    auto_reason = "mail from our own address" if own else mail.auto_reason
    actor = Actor(mail.sender, mail.sender_name or None)
    with action(store) as session, session.no_autoflush:
        duplicate, number = _thread_and_duplicate(session, mail)
        if duplicate is not None:
            return IntakeResult("ignored", duplicate, f"already stored on ticket #{duplicate}")
        if auto_reason is not None:
            if number is None:
                return IntakeResult("ignored", None, auto_reason)
            lock_ticket(session, number, None, at)
            message = _add_message(session, number, mail, at)
            assert message.id is not None
            _add_attachments(session, message.id, mail)
            audit(
                session,
                number,
                actor,
                "automatic_message",
                at,
                reason=auto_reason,
                message=message.id,
            )
            mark_changed(session, number, at)
            return IntakeResult("reply", number, f"{auto_reason}; status unchanged")
        if number is not None:
            message = _customer_reply(session, number, mail, at)
            assert message.id is not None
            _add_attachments(session, message.id, mail)
            return IntakeResult("reply", number)
        return _new_ticket(session, config, mail, at, actor)


def _new_ticket(
    session: Session, config: Config, mail: ParsedMail, at: float, actor: Actor
) -> IntakeResult:
    customer = find_customer(session, mail.sender)
    decision: EntitlementDecision
    license_id = None
    if customer is None or customer.id is None:
        decision = entitlement_at(None, [], [], [], _company_date(at, config))
    else:
        licenses, hosted, partners = entitlement_rows(session, customer.id)
        key = find_license_key(f"{mail.subject}\n{mail.body}", [lic.key for lic, _ in licenses])
        decision = entitlement_at(
            customer, licenses, hosted, partners, _company_date(at, config), key
        )
        license_id = decision.license_id
        if license_id is None and key is not None:
            license_id = next(lic.id for lic, _ in licenses if lic.key.upper() == key)
        elif license_id is None and len(licenses) == 1:
            license_id = licenses[0][0].id
    ticket, message = insert_ticket_and_message(
        session,
        subject=mail.subject or "(no subject)",
        requester_email=mail.sender,
        received_at=at,
        body=mail.body,
        customer_id=customer.id if customer else None,
        license_id=license_id,
        entitlement=decision.basis,
        entitlement_note=decision.reason,
        phone_requested=_detect_phone(mail.body),
        rfc_message_id=mail.message_id,
        headers=mail.headers_json,
        in_reply_to=mail.in_reply_to,
        references=mail.references,
        actor=actor,
    )
    assert ticket.number is not None
    number = ticket.number
    if mail.attachments:
        session.flush()  # the attachments need the message's id
        assert message.id is not None
        _add_attachments(session, message.id, mail)
    if not decision.entitled:
        _queue_autoreply(session, config, ticket, mail, decision.reason, at)
    return IntakeResult("new", number, None if decision.entitled else "not entitled")


def _queue_autoreply(
    session: Session, config: Config, ticket: Ticket, mail: ParsedMail, reason: str, at: float
) -> None:
    recent = session.execute(
        select(col(OutboxEntry.id))
        .where(
            col(OutboxEntry.kind) == "autoreply",
            col(OutboxEntry.to_address) == mail.sender,
            col(OutboxEntry.created_at) > at - AUTOREPLY_QUIET_SECONDS,
        )
        .limit(1)
    ).first()
    if recent is not None:
        audit(
            session,
            ticket.number,
            Actor("system", "shiftdesk"),
            "autoreply_skipped",
            at,
            reason="an auto-reply went to this address in the last 24 hours",
        )
        return
    assert ticket.number is not None
    references = " ".join(filter(None, [mail.references, mail.message_id])) or None
    domain = config.smtp.from_address.rsplit("@", 1)[-1] or None
    enqueue(
        session,
        to_address=mail.sender,
        subject=f"[#{ticket.number}] {mail.subject or 'your message'}"[:MAX_SUBJECT_CHARS],
        body=autoreply_text(config, ticket.number, reason),
        at=at,
        ticket_number=ticket.number,
        kind="autoreply",
        in_reply_to=mail.message_id,
        references=references[:MAX_HEADER_CHARS] if references else None,
        domain=domain,
    )


def receive(
    store: Store,
    config: Config,
    raw: bytes,
    *,
    received_at: float | None = None,
    limits: Limits = Limits(),
) -> IntakeResult:
    """Parse and store one message. Raises Unusable, StoreUnavailable, ActionError."""
    mail = parse_message(raw, limits)
    return store_message(store, config, mail, time.time() if received_at is None else received_at)


# --------------------------------------------------------------------------- gateway outcome

EX_OK = 0
EX_DATAERR = 65
EX_TEMPFAIL = 75


@dataclass(frozen=True)
class GateOutcome:
    code: int  # 0 stored/ignored, 65 unusable, 75 try again later
    line: str  # for stdout (0) or stderr (65/75)
    unexpected: bool = False  # a bug, not a property of the message or the store
    store_down: bool = False  # unreachable or locked: later messages will fail too
    result: IntakeResult | None = None


def gate(
    store: Store,
    config: Config,
    raw: bytes,
    *,
    received_at: float | None = None,
    limits: Limits = Limits(),
) -> GateOutcome:
    """What `shiftdesk mailgate` does with one message, as an exit code and one line."""
    from sqlalchemy.exc import DBAPIError

    from models.db import StoreError, one_line

    try:
        result = receive(store, config, raw, received_at=received_at, limits=limits)
    except Unusable as exc:
        return GateOutcome(EX_DATAERR, f"unusable message: {exc.reason}")
    except (StoreError, DBAPIError) as exc:
        return GateOutcome(EX_TEMPFAIL, f"store unavailable: {one_line(exc)}", store_down=True)
    except ActionError as exc:
        return GateOutcome(EX_TEMPFAIL, f"not stored: {exc}")
    except Exception as exc:  # never a traceback to the MTA: keep the mail queued, log the bug
        return GateOutcome(
            EX_TEMPFAIL, f"internal error: {type(exc).__name__}: {exc}", unexpected=True
        )
    return GateOutcome(EX_OK, result.line(), result=result)


# --------------------------------------------------------------------------- technician actions


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
    with action(store) as session:
        ticket = lock_ticket(session, number, expected_version, at)
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
        mark_changed(session, number, at)
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
    with action(store) as session:
        ticket = lock_ticket(session, number, None, at)
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
        mark_changed(session, number, at)
        return appointment


__all__ = [
    "KEY_PATTERN",
    "GateOutcome",
    "IntakeResult",
    "Limits",
    "NotFound",
    "ParsedAttachment",
    "ParsedMail",
    "Unusable",
    "accept_ticket",
    "autoreply_text",
    "entitlement_rows",
    "find_customer",
    "find_license_key",
    "find_thread",
    "gate",
    "html_to_text",
    "parse_message",
    "receive",
    "schedule_appointment",
    "store_message",
]

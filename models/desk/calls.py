"""Phone support at the technician's discretion: grant, decline (optionally with the standard
reply), log a call (which may count as the first response). One transaction per public call."""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models.desk.actions import (
    ActionError,
    Actor,
    audit,
    now,
    technician_for,
    ticket_action,
)
from models.desk.work import (
    ReplyResult,
    _check_body,
    _check_open,
    _check_secret,
    _record_first_response,
    _secret_confirmed,
    _send_reply,
)
from models.policy.config import Config
from models.store.db import Store
from models.store.tables import (
    Customer,
    PhoneCall,
    PhoneDecision,
    Ticket,
    TicketStatus,
)

_PHONE_CHARS = re.compile(r"^[0-9 ()./+-]+$")


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
    allow_secret: bool = False,
) -> PhoneResult:
    """Grant phone support: a PhoneDecision row and ticket.phone_escalated = True.

    `scheduled_at` is the agreed time (epoch seconds); `customer_timezone` (IANA) is the zone the
    customer gave it in. Without a zone the customer's stored zone is used; a scheduled call
    needs one. A zone given for a customer who had none is remembered on the customer.
    A note that seems to carry a credential is refused (`LooksLikeSecret`) unless `allow_secret`.
    """
    at = now() if at is None else at
    number_text = check_phone_number(phone_number)
    if note:
        _check_secret(note, "note", allow_secret)
    zone = check_timezone_name(customer_timezone) if customer_timezone else None
    if scheduled_at is not None and scheduled_at < at - 60:
        raise ActionError("the call time is in the past")
    with ticket_action(store, number, expected_version, at) as (session, ticket):
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
            secret_confirmed=_secret_confirmed(allow_secret, decision.note),
        )
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
    reply_answers: bool = False,
    allow_secret: bool = False,
) -> PhoneResult:
    """Decline phone support (reason recorded, internal) and clear the ticket's phone flag.

    With `send_reply`, also queues an email (`reply_body`, else `decline_reply_text`) saying
    support continues by email, in the same transaction. That notice answers nothing: the
    ticket keeps waiting and its first-response clock keeps running, unless the technician says
    the reply answers the customer (`reply_answers`: then it is the first response, if none
    yet, and the ticket leaves the waiting queue like after any reply). A reason or custom reply
    that seems to carry a credential is refused (`LooksLikeSecret`) unless `allow_secret`.
    """
    at = now() if at is None else at
    config = config or Config()
    reason_text = " ".join((reason or "").split())
    if not reason_text:
        raise ActionError("say why the call is declined")
    body = (
        _check_body(reply_body, "reply") if reply_body is not None else decline_reply_text(config)
    )
    _check_secret(reason_text, "reason", allow_secret)
    if reply_body is not None:
        _check_secret(body, "reply", allow_secret)
    with ticket_action(store, number, expected_version, at) as (session, ticket):
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
            reply_answers=reply_answers if send_reply else None,
            secret_confirmed=_secret_confirmed(allow_secret, reason_text, reply_body),
        )
        sent = (
            _send_reply(
                session,
                ticket,
                actor,
                body,
                at,
                config,
                answers=reply_answers,
                phone_decision=decision.id,
            )
            if send_reply
            else None
        )
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
    allow_secret: bool = False,
) -> CallResult:
    """Record a call. If the technician says it counts and there is no first response yet,
    the call (at `called_at`, default now) becomes it and the ticket waits for the customer.

    The stored `counts_as_first_response` is what actually happened, so the detail pane never
    shows two first responses. Notes that seem to carry a credential are refused
    (`LooksLikeSecret`) unless `allow_secret`.
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
    _check_secret(notes_text, "call note", allow_secret)
    with ticket_action(store, number, expected_version, at) as (session, ticket):
        _check_open(ticket, "log a call")
        if called_at < ticket.received_at:
            raise ActionError(f"the call is before #{number} was received")
        me = technician_for(session, actor)
        first = counts_as_first_response and _record_first_response(
            ticket, called_at, config, me.id
        )
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
            secret_confirmed=_secret_confirmed(allow_secret, notes_text),
        )
        return CallResult(ticket, call.id, first)

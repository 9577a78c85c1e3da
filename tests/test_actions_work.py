"""Working a ticket: reply, note, drafts, phone, reclassify, first response, collisions."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from models.desk import actions, calls, work
from models.desk.actions import ActionError, Actor, Conflict, NotFound
from models.desk.detail import ticket_detail
from models.desk.triage import schedule_appointment
from models.policy.config import Config, SmtpConfig
from models.store.db import Store
from models.store.tables import (
    Appointment,
    AuditEvent,
    Customer,
    Draft,
    Message,
    OutboxEntry,
    PhoneCall,
    PhoneDecision,
    Rsaa,
    Ticket,
    TicketKind,
    TicketStatus,
)

ALICE = Actor("alice@example.com", "Alice")
BOB = Actor("bob@example.com", "Bob")
PHOENIX = ZoneInfo("America/Phoenix")
# Tuesday 2026-03-10 09:00 in Phoenix: inside business hours (08:00-17:00 by default)
TUESDAY_9 = dt.datetime(2026, 3, 10, 9, 0, tzinfo=PHOENIX).timestamp()
CONFIG = Config(smtp=SmtpConfig(from_address="support@shiftdesk.example"))
HOUR = 3600.0


def _ticket(
    store: Store,
    *,
    kind: str = TicketKind.STANDARD,
    subject: str = "Crash on save",
    at: float = TUESDAY_9,
    rfc: str | None = "<first@customer.example>",
) -> int:
    return actions.create_ticket(
        store,
        subject=subject,
        requester_email="Jo@Customer.example",
        received_at=at,
        body="It crashes.",
        kind=kind,
        entitlement="license",
        rfc_message_id=rfc,
    )


def _count(store: Store, table: type, **where: object) -> int:
    with store.session() as s:
        stmt = select(func.count()).select_from(table)
        for name, value in where.items():
            stmt = stmt.where(getattr(table, name) == value)
        return int(s.execute(stmt).scalar_one())


def _ticket_row(store: Store, number: int) -> Ticket:
    with store.session() as s:
        row = s.get(Ticket, number)
        assert row is not None
        return row


def _actions(store: Store, number: int) -> list[str]:
    with store.session() as s:
        return list(
            s.execute(
                select(col(AuditEvent.action))
                .where(col(AuditEvent.ticket_number) == number)
                .order_by(col(AuditEvent.id))
            ).scalars()
        )


# --------------------------------------------------------------------------- reply


def test_reply_commits_message_outbox_first_response_and_audit(store: Store) -> None:
    number = _ticket(store)
    work.save_draft(store, number, ALICE, "draft text", at=TUESDAY_9 + 60)
    result = work.reply(
        store,
        number,
        ALICE,
        "Try this fix.",
        expected_version=1,
        at=TUESDAY_9 + HOUR,
        config=CONFIG,
    )
    assert result.first_response and result.first_response_met is True
    assert result.subject == f"Re: [#{number}] Crash on save"
    assert result.to_address == "jo@customer.example"
    assert result.rfc_message_id.endswith("@shiftdesk.example>")
    ticket = _ticket_row(store, number)
    assert ticket.status == TicketStatus.ANSWERED and ticket.waiting_since is None
    assert ticket.first_response_at == TUESDAY_9 + HOUR and ticket.first_response_met is True
    assert ticket.version == 2
    with store.session() as s:
        entry = s.execute(select(OutboxEntry)).scalar_one()
        message = s.get(Message, result.message_id)
    assert message is not None and message.direction == "out"
    assert entry.rfc_message_id == message.rfc_message_id == result.rfc_message_id
    assert entry.in_reply_to == "<first@customer.example>"
    assert entry.references == "<first@customer.example>"
    assert entry.status == "queued" and entry.message_id == message.id
    assert work.load_draft(store, number, ALICE) is None
    assert _actions(store, number) == ["create", "reply"]


def test_second_reply_is_not_a_first_response(store: Store) -> None:
    number = _ticket(store)
    work.reply(store, number, ALICE, "one", at=TUESDAY_9 + 60, config=CONFIG)
    with pytest.raises(
        work.AlreadyAnswered, match=r"already answered \(alice@example\.com replied"
    ):
        work.reply(store, number, BOB, "two", at=TUESDAY_9 + 120, config=CONFIG)
    second = work.reply(
        store, number, BOB, "two", at=TUESDAY_9 + 120, config=CONFIG, follow_up=True
    )
    assert not second.first_response
    assert _ticket_row(store, number).first_response_at == TUESDAY_9 + 60


def test_late_first_response_is_recorded_as_missed(store: Store) -> None:
    number = _ticket(store)
    # 4 business hours from Tuesday 09:00 is 13:00; the next day is well past it
    result = work.reply(store, number, ALICE, "sorry", at=TUESDAY_9 + 26 * HOUR, config=CONFIG)
    assert result.first_response and result.first_response_met is False


def test_emergency_first_response_runs_on_the_wall_clock(store: Store) -> None:
    friday_night = dt.datetime(2026, 3, 13, 22, 0, tzinfo=PHOENIX).timestamp()
    met = _ticket(store, kind=TicketKind.EMERGENCY, at=friday_night)
    missed = _ticket(store, kind=TicketKind.EMERGENCY, at=friday_night, rfc="<two@c.example>")
    assert work.reply(store, met, ALICE, "on it", at=friday_night + 50 * 60).first_response_met
    late = work.reply(store, missed, ALICE, "on it", at=friday_night + 70 * 60)
    assert late.first_response_met is False


def test_reply_subject_has_one_re_and_one_tag() -> None:
    assert work.reply_subject("Crash", 7) == "Re: [#7] Crash"
    assert work.reply_subject("Re: RE: Crash", 7) == "Re: [#7] Crash"
    assert work.reply_subject("Re: [#7] Crash", 7) == "Re: [#7] Crash"
    assert work.reply_subject("AW: Re: [#7] Crash", 7) == "Re: [#7] Crash"
    assert work.reply_subject("", 7) == "Re: [#7]"
    assert work.reply_subject("Crash in [#7] module", 7) == "Re: [#7] Crash in module"


def test_reply_threads_to_the_customers_latest_message(store: Store) -> None:
    number = _ticket(store)
    work.reply(store, number, ALICE, "first", at=TUESDAY_9 + 60, config=CONFIG)
    with store.transaction() as s:
        actions.bump_version(s, number, None, TUESDAY_9 + 120)
        body = "Please call me back."
        message_id = actions.insert_message(
            s,
            number,
            direction="in",
            author="jo2@customer.example",
            created_at=TUESDAY_9 + 120,
            subject="Re: [#1] Crash",
            body=body,
            rfc_message_id="<second@customer.example>",
            references="<first@customer.example> <out@shiftdesk.example>",
        )
        work.customer_wrote(
            s,
            number,
            message_id=message_id,
            author="jo2@customer.example",
            body=body,
            at=TUESDAY_9 + 120,
        )
    ticket = _ticket_row(store, number)
    assert ticket.status == TicketStatus.OPEN and ticket.waiting_since == TUESDAY_9 + 120
    assert ticket.phone_requested
    result = work.reply(store, number, ALICE, "second", at=TUESDAY_9 + 180, config=CONFIG)
    with store.session() as s:
        entry = s.get(OutboxEntry, result.outbox_id)
    assert entry is not None
    assert entry.to_address == "jo2@customer.example"
    assert entry.in_reply_to == "<second@customer.example>"
    assert entry.references == (
        "<first@customer.example> <out@shiftdesk.example> <second@customer.example>"
    )
    assert "customer_message" in _actions(store, number)


def test_reply_is_refused_on_closed_empty_or_stale_and_writes_nothing(store: Store) -> None:
    number = _ticket(store)
    with pytest.raises(ActionError, match="empty"):
        work.reply(store, number, ALICE, "   ")
    with pytest.raises(NotFound, match="no ticket #999"):
        work.reply(store, 999, ALICE, "hello")
    actions.take(store, number, BOB, expected_version=1)
    with pytest.raises(Conflict, match=r"bob@example\.com took it"):
        work.reply(store, number, ALICE, "hello", expected_version=1)
    actions.close(store, number, BOB)
    with pytest.raises(ActionError, match="closed"):
        work.reply(store, number, ALICE, "hello")
    assert _count(store, OutboxEntry) == 0
    assert _count(store, Message, direction="out") == 0
    assert _ticket_row(store, number).first_response_at is None


def test_two_replies_at_the_same_version_only_one_wins(store: Store) -> None:
    number = _ticket(store)
    work.reply(store, number, ALICE, "mine", expected_version=1, config=CONFIG)
    with pytest.raises(Conflict, match=r"alice@example\.com replied to it"):
        work.reply(store, number, BOB, "mine too", expected_version=1, config=CONFIG)
    assert _count(store, OutboxEntry) == 1


# --------------------------------------------------------------------------- note, drafts, release


def test_note_is_internal(store: Store) -> None:
    number = _ticket(store)
    work.save_draft(store, number, ALICE, "a note in progress")
    ticket = work.note(store, number, ALICE, "Customer is on v3.", clear_draft=True)
    assert ticket.status == TicketStatus.OPEN and ticket.first_response_at is None
    assert ticket.version == 2
    assert _count(store, OutboxEntry) == 0
    assert _count(store, Message, direction="note") == 1
    assert work.load_draft(store, number, ALICE) is None
    with pytest.raises(ActionError, match="empty"):
        work.note(store, number, ALICE, "")


def test_drafts_are_per_technician_and_not_a_version_bump(store: Store) -> None:
    number = _ticket(store)
    work.save_draft(store, number, ALICE, "Hello Jo,")
    work.save_draft(store, number, ALICE, "Hello Jo, try")
    work.save_draft(store, number, BOB, "Bob's words")
    assert work.load_draft(store, number, ALICE) == "Hello Jo, try"
    assert work.load_draft(store, number, Actor("ALICE@example.com")) == "Hello Jo, try"
    assert work.load_draft(store, number, BOB) == "Bob's words"
    assert _count(store, Draft) == 2
    assert _ticket_row(store, number).version == 1
    work.save_draft(store, number, ALICE, "  \n")
    assert work.load_draft(store, number, ALICE) is None
    assert work.load_draft(store, number, Actor("nobody@example.com")) is None
    with pytest.raises(NotFound):
        work.save_draft(store, 999, ALICE, "x")
    work.reply(store, number, ALICE, "sent", config=CONFIG)
    assert work.load_draft(store, number, BOB) == "Bob's words"  # only the author's goes


def test_a_draft_with_a_credential_is_never_stored(store: Store) -> None:
    number = _ticket(store)
    work.save_draft(store, number, ALICE, "Try the admin account")
    with pytest.raises(work.LooksLikeSecret, match="the draft seems to contain a password"):
        work.save_draft(store, number, ALICE, "Try the admin account, password: Hunter2")
    assert work.load_draft(store, number, ALICE) == "Try the admin account"


def test_phone_texts_with_a_credential_need_the_technicians_go_ahead(store: Store) -> None:
    number = _ticket(store)
    secret = "logged in as admin / Hunter2!"
    with pytest.raises(
        work.LooksLikeSecret, match="the call note seems to contain a user name and password"
    ):
        calls.log_call(
            store, number, ALICE, duration_seconds=60, notes=secret, counts_as_first_response=False
        )
    with pytest.raises(work.LooksLikeSecret, match="the reason"):
        calls.decline_phone(store, number, ALICE, reason=secret, send_reply=False)
    with pytest.raises(work.LooksLikeSecret, match="the reply"):
        calls.decline_phone(
            store, number, ALICE, reason="email is enough", send_reply=True, reply_body=secret
        )
    with pytest.raises(work.LooksLikeSecret, match="the note"):
        calls.grant_phone(
            store,
            number,
            ALICE,
            phone_number="+1 555 0100",
            scheduled_at=None,
            customer_timezone=None,
            note=secret,
        )
    assert _ticket_row(store, number).version == 1  # nothing was written
    assert _count(store, PhoneCall) == 0 and _count(store, OutboxEntry) == 0
    calls.log_call(
        store,
        number,
        ALICE,
        duration_seconds=60,
        notes=secret,
        counts_as_first_response=False,
        allow_secret=True,
    )
    event = ticket_detail(store, number).audit[-1]
    assert event.action == "phone_call" and event.detail["secret_confirmed"] is True
    assert event.sentence().endswith("(saved despite the credential warning).")


# --------------------------------------------------------------------------- phone


def test_grant_phone_records_decision_and_escalates(store: Store) -> None:
    number = _ticket(store)
    call_at = TUESDAY_9 + 2 * HOUR
    result = calls.grant_phone(
        store,
        number,
        ALICE,
        phone_number=" +49 30  1234567 ",
        scheduled_at=call_at,
        customer_timezone="Europe/Berlin",
        note="wants to walk through setup",
        at=TUESDAY_9,
    )
    assert result.ticket.phone_escalated and result.reply is None
    with store.session() as s:
        decision = s.execute(select(PhoneDecision)).scalar_one()
    assert decision.decision == "granted" and decision.phone_number == "+49 30 1234567"
    assert decision.scheduled_at == call_at and decision.customer_timezone == "Europe/Berlin"
    assert _actions(store, number)[-1] == "phone_grant"


@pytest.mark.parametrize(
    ("phone", "zone", "scheduled", "message"),
    [
        ("", None, None, "give the number"),
        ("call me maybe", None, None, "is not a phone number"),
        ("12", None, None, "has 2 digits"),
        ("+1 555 +123 4567", None, None, "'\\+' may only start"),
        ("+1 555 123 4567", "Mars/Olympus", None, "not an IANA time zone"),
        ("+1 555 123 4567", None, TUESDAY_9 + HOUR, "time zone for the call"),
        ("+1 555 123 4567", "UTC", TUESDAY_9 - HOUR, "in the past"),
    ],
)
def test_grant_phone_validation(
    store: Store, phone: str, zone: str | None, scheduled: float | None, message: str
) -> None:
    number = _ticket(store)
    with pytest.raises(ActionError, match=message):
        calls.grant_phone(
            store,
            number,
            ALICE,
            phone_number=phone,
            scheduled_at=scheduled,
            customer_timezone=zone,
            note=None,
            at=TUESDAY_9,
        )
    assert _count(store, PhoneDecision) == 0
    assert _ticket_row(store, number).version == 1


def test_grant_phone_uses_and_remembers_the_customer_zone(store: Store) -> None:
    with store.transaction() as s:
        customer = Customer(name="Jo", email="jo@customer.example", created_at=1.0)
        s.add(customer)
        s.flush()
        customer_id = customer.id
    number = actions.create_ticket(
        store,
        subject="s",
        requester_email="jo@customer.example",
        received_at=TUESDAY_9,
        customer_id=customer_id,
    )
    calls.grant_phone(
        store,
        number,
        ALICE,
        phone_number="+1 555 123 4567",
        scheduled_at=None,
        customer_timezone="America/Denver",
        at=TUESDAY_9,
    )
    calls.grant_phone(
        store,
        number,
        ALICE,
        phone_number="+1 555 123 4567",
        scheduled_at=TUESDAY_9 + HOUR,
        customer_timezone=None,
        at=TUESDAY_9,
    )
    with store.session() as s:
        zones = list(s.execute(select(col(PhoneDecision.customer_timezone))).scalars())
        assert s.get(Customer, customer_id).timezone == "America/Denver"  # type: ignore[union-attr]
    assert zones == ["America/Denver", "America/Denver"]


def test_decline_phone_with_reply_is_one_transaction(store: Store) -> None:
    number = _ticket(store)
    with store.transaction() as s:
        ticket = s.get(Ticket, number)
        assert ticket is not None
        ticket.phone_requested = True
    result = calls.decline_phone(
        store,
        number,
        ALICE,
        reason="standard plan: email only",
        send_reply=True,
        expected_version=1,
        at=TUESDAY_9 + 60,
        config=CONFIG,
    )
    # the standard "we continue by email" notice answers nothing: the customer still waits
    assert result.reply is not None and not result.reply.first_response
    ticket = _ticket_row(store, number)
    assert not ticket.phone_requested and ticket.status == TicketStatus.OPEN
    assert ticket.first_response_at is None and ticket.waiting_since == ticket.received_at
    assert ticket.version == 2  # one transaction, one bump
    with store.session() as s:
        entry = s.execute(select(OutboxEntry)).scalar_one()
        decision = s.execute(select(PhoneDecision)).scalar_one()
    assert "by email" in entry.body and "standard plan" not in entry.body
    assert decision.decision == "declined" and decision.note == "standard plan: email only"
    assert _actions(store, number)[-2:] == ["phone_decline", "reply"]


def test_decline_phone_reply_answers_only_when_the_technician_says_so(store: Store) -> None:
    number = _ticket(store)
    result = calls.decline_phone(
        store,
        number,
        ALICE,
        reason="standard plan: email only",
        send_reply=True,
        reply_body="No call, sorry, but here is the fix: upgrade to 9.4.3.",
        reply_answers=True,
        at=TUESDAY_9 + 60,
        config=CONFIG,
    )
    assert result.reply is not None and result.reply.first_response
    ticket = _ticket_row(store, number)
    assert ticket.status == TicketStatus.ANSWERED and ticket.waiting_since is None


def test_decline_phone_without_reply_and_validation(store: Store) -> None:
    number = _ticket(store)
    with pytest.raises(ActionError, match="say why"):
        calls.decline_phone(store, number, ALICE, reason=" ", send_reply=False)
    result = calls.decline_phone(store, number, ALICE, reason="not needed", send_reply=False)
    assert result.reply is None
    assert _count(store, OutboxEntry) == 0
    assert _ticket_row(store, number).first_response_at is None


def test_logged_call_may_be_the_first_response(store: Store) -> None:
    number = _ticket(store)
    result = calls.log_call(
        store,
        number,
        ALICE,
        duration_seconds=600,
        notes="walked through the fix",
        counts_as_first_response=True,
        called_at=TUESDAY_9 + 1800,
        at=TUESDAY_9 + 2400,
        config=CONFIG,
    )
    assert result.first_response
    ticket = _ticket_row(store, number)
    assert ticket.first_response_at == TUESDAY_9 + 1800 and ticket.first_response_met
    assert ticket.status == TicketStatus.ANSWERED
    again = calls.log_call(
        store,
        number,
        BOB,
        duration_seconds=60,
        notes="follow-up",
        counts_as_first_response=True,
        at=TUESDAY_9 + 3000,
    )
    assert not again.first_response
    with store.session() as s:
        flags = list(
            s.execute(
                select(col(PhoneCall.counts_as_first_response)).order_by(col(PhoneCall.id))
            ).scalars()
        )
    assert flags == [True, False]  # never two first responses


def test_call_that_does_not_count_leaves_the_clock_running(store: Store) -> None:
    number = _ticket(store)
    calls.log_call(
        store,
        number,
        ALICE,
        duration_seconds=0,
        notes="no answer",
        counts_as_first_response=False,
        at=TUESDAY_9 + 60,
    )
    ticket = _ticket_row(store, number)
    assert ticket.first_response_at is None and ticket.status == TicketStatus.OPEN


@pytest.mark.parametrize(
    ("duration", "counts", "notes", "called", "message"),
    [
        (-5, False, "x", None, "a call of -5 seconds"),
        (0, True, "x", None, "nobody answered"),
        (60, False, "", None, "empty"),
        (60, False, "x", TUESDAY_9 + 10 * HOUR, "in the future"),
        (60, False, "x", TUESDAY_9 - HOUR, "before #"),
    ],
)
def test_log_call_validation(
    store: Store, duration: int, counts: bool, notes: str, called: float | None, message: str
) -> None:
    number = _ticket(store)
    with pytest.raises(ActionError, match=message):
        calls.log_call(
            store,
            number,
            ALICE,
            duration_seconds=duration,
            notes=notes,
            counts_as_first_response=counts,
            called_at=called,
            at=TUESDAY_9 + 60,
        )
    assert _count(store, PhoneCall) == 0


# --------------------------------------------------------------------------- reclassify


def test_reclassify_emergency_to_standard(store: Store) -> None:
    number = _ticket(store, kind=TicketKind.EMERGENCY)
    ticket = work.reclassify(store, number, ALICE, "a cosmetic glitch", expected_version=1)
    assert ticket.kind == TicketKind.STANDARD and ticket.refund_requested
    detail = ticket_detail(store, number)
    event = detail.audit[-1]
    assert event.action == "reclassify" and event.detail is not None
    assert event.detail["reason"] == "a cosmetic glitch" and event.detail["refund_requested"]
    with pytest.raises(ActionError, match="not an emergency"):
        work.reclassify(store, number, ALICE, "again")


def test_reclassify_rejudges_the_first_response_in_business_hours(store: Store) -> None:
    friday_night = dt.datetime(2026, 3, 13, 22, 0, tzinfo=PHOENIX).timestamp()
    number = _ticket(store, kind=TicketKind.EMERGENCY, at=friday_night)
    work.reply(store, number, ALICE, "late", at=friday_night + 2 * HOUR, config=CONFIG)
    assert _ticket_row(store, number).first_response_met is False
    ticket = work.reclassify(store, number, ALICE, "not urgent", config=CONFIG)
    assert ticket.first_response_met is True  # business clock had not even started


def test_reclassify_needs_a_reason(store: Store) -> None:
    number = _ticket(store, kind=TicketKind.EMERGENCY)
    with pytest.raises(ActionError, match="say why"):
        work.reclassify(store, number, ALICE, "")
    assert _ticket_row(store, number).kind == TicketKind.EMERGENCY


# --------------------------------------------------------------------------- detail read model


def test_ticket_detail_has_everything_and_serializes(store: Store) -> None:
    number = _ticket(store)
    actions.take(store, number, ALICE)
    work.note(store, number, ALICE, "internal")
    calls.grant_phone(
        store,
        number,
        ALICE,
        phone_number="+1 555 123 4567",
        scheduled_at=None,
        customer_timezone="UTC",
    )
    calls.log_call(
        store, number, ALICE, duration_seconds=30, notes="hi", counts_as_first_response=False
    )
    work.reply(store, number, ALICE, "answer", config=CONFIG)
    detail = ticket_detail(store, number)
    assert detail.assignee == "alice@example.com"
    assert [m.direction for m in detail.messages] == ["in", "note", "out"]
    assert detail.phone_decisions[0].technician == "alice@example.com"
    assert detail.calls[0].duration_seconds == 30
    assert detail.outbox[0].status == "queued"
    assert [e.action for e in detail.audit] == [
        "create",
        "take",
        "note",
        "phone_grant",
        "phone_call",
        "reply",
    ]
    assert detail.audit[1].summary == "alice@example.com took it"
    assert detail.audit[1].process.count(":") >= 2
    raw = json.loads(json.dumps(detail.to_json()))
    assert raw["number"] == number and raw["messages"][2]["body"] == "answer"
    iso = detail.to_json("UTC")
    assert iso["received_at"].endswith("+00:00")
    assert iso["audit"][0]["created_at"].endswith("+00:00")
    with pytest.raises(NotFound):
        ticket_detail(store, 999)


def test_conflict_names_the_time_in_the_company_zone(store: Store) -> None:
    number = _ticket(store)
    actions.take(store, number, BOB, expected_version=1, at=TUESDAY_9 + 5)
    try:
        actions.set_display_zone("America/Denver")
        with pytest.raises(Conflict) as refused:
            actions.take(store, number, ALICE, expected_version=1, at=TUESDAY_9 + 60)
        expected = dt.datetime.fromtimestamp(TUESDAY_9 + 5, ZoneInfo("America/Denver"))
        assert str(refused.value).endswith(f"bob@example.com took it at {expected:%H:%M:%S %Z}")
    finally:
        actions.set_display_zone(None)  # back to the machine's local time


# --------------------------------------------------------------------------- scheduling


def _installation(store: Store, zone: str | None) -> int:
    number = _ticket(store, kind=TicketKind.INSTALLATION, subject="Install on the new server")
    with store.transaction() as s:
        customer = Customer(name="Jo", email="jo@customer.example", created_at=0.0, timezone=zone)
        s.add(customer)
        s.flush()
        ticket = s.get(Ticket, number)
        assert ticket is not None
        ticket.customer_id = customer.id
    return number


def test_schedule_is_always_in_the_customers_zone(store: Store) -> None:
    number = _installation(store, "Asia/Kolkata")
    appointment = schedule_appointment(store, number, ALICE, "2026-03-12 09:30", at=TUESDAY_9)
    kolkata = dt.datetime(2026, 3, 12, 9, 30, tzinfo=ZoneInfo("Asia/Kolkata")).timestamp()
    assert appointment.starts_at == kolkata and appointment.customer_timezone == "Asia/Kolkata"
    # the technician's (or company's) zone is not a way around it
    with pytest.raises(ActionError, match="customer's time zone is Asia/Kolkata"):
        schedule_appointment(store, number, ALICE, "2026-03-12 09:30", "America/Phoenix")


def test_schedule_refuses_the_past_and_dst_gaps(store: Store) -> None:
    number = _installation(store, "Europe/Berlin")
    with pytest.raises(ActionError, match="in the past"):
        schedule_appointment(store, number, ALICE, "2026-03-09 09:30", at=TUESDAY_9)
    with pytest.raises(ActionError, match="does not exist in Europe/Berlin"):
        schedule_appointment(store, number, ALICE, "2026-03-29 02:30", at=TUESDAY_9)
    with pytest.raises(ActionError, match="happens twice"):
        schedule_appointment(store, number, ALICE, "2026-10-25 02:30", at=TUESDAY_9)
    assert _count(store, Appointment) == 0


def test_schedule_needs_a_zone_and_remembers_it(store: Store) -> None:
    number = _installation(store, None)
    with pytest.raises(ActionError, match="no time zone on file"):
        schedule_appointment(store, number, ALICE, "2026-03-12 09:30", at=TUESDAY_9)
    schedule_appointment(store, number, ALICE, "2026-03-12 09:30", "Europe/London", at=TUESDAY_9)
    detail = ticket_detail(store, number)
    assert detail.customer is not None and detail.customer.timezone == "Europe/London"


def test_appointments_are_in_the_read_model_and_json(store: Store) -> None:
    number = _installation(store, "Europe/Berlin")
    schedule_appointment(
        store,
        number,
        ALICE,
        "2026-03-12 09:30",
        duration_minutes=90,
        note="bring the DVD",
        at=TUESDAY_9,
    )
    detail = ticket_detail(store, number)
    [appointment] = detail.appointments
    assert appointment.local_text() == "Thu 2026-03-12 09:30 Europe/Berlin, 90 min"
    assert appointment.note == "bring the DVD" and appointment.technician == "alice@example.com"
    data = detail.to_json("Europe/Berlin")
    assert data["appointments"][0]["starts_at"] == "2026-03-12T09:30:00+01:00"
    assert detail.audit[-1].sentence("Europe/Berlin") == (
        "alice@example.com scheduled a session for Thu 2026-03-12 09:30 CET, 90 min."
    )


# --------------------------------------------------------------------------- history sentences


def test_history_lines_are_sentences(store: Store) -> None:
    number = _ticket(store)
    actions.take(store, number, ALICE, at=TUESDAY_9 + 10)
    actions.take(store, number, BOB, at=TUESDAY_9 + 20, take_over=True)
    work.reply(store, number, BOB, "fixed", at=TUESDAY_9 + 60, config=CONFIG)
    work.note(store, number, BOB, "internal", at=TUESDAY_9 + 70)
    actions.close(store, number, BOB, at=TUESDAY_9 + 80, reason="solved")
    sentences = [e.sentence("America/Phoenix") for e in ticket_detail(store, number).audit]
    assert sentences == [
        "system created it (standard).",
        "alice@example.com took it.",
        "bob@example.com took it over from alice@example.com.",
        "bob@example.com replied to jo@customer.example: the first response, in time.",
        "bob@example.com added an internal note.",
        "bob@example.com closed it: solved.",
    ]
    assert not any("{" in s for s in sentences)


@pytest.mark.parametrize(
    ("action", "detail", "sentence"),
    [
        ("take", {"previous_assignee": 5}, "a@x took it over from another technician."),
        ("release", {"previous_assignee": "b@x"}, "a@x released it from b@x."),
        ("phone_decline", {"reason": "email only", "reply": True, "reply_answers": False},
         "a@x declined a phone call (email only); the customer was told by email."),
        ("phone_call", {"duration": 600, "first_response": True, "first_response_met": True},
         "a@x logged a call of 10 min: the first response, in time."),
        ("rsaa_revoke", {"reason": "ticket_closed"},
         "a@x revoked the remote access agreement: the ticket was closed."),
        ("customer_message", {"previous_status": "closed", "phone_requested": True},
         "a@x wrote again, which reopened it (asks for a call)."),
        ("schedule", {"starts_at": TUESDAY_9, "timezone": "Asia/Kolkata", "minutes": 60},
         "a@x scheduled a session for Tue 2026-03-10 21:30 IST, 60 min."),
        ("autoreply_skipped", {"reason": "an auto-reply went out today"},
         "No auto-reply was sent: an auto-reply went out today."),
        ("something_new", {"reason": "why"}, "a@x something new it: why."),
    ],
)  # fmt: skip
def test_each_kind_of_event_reads_as_a_sentence(
    action: str, detail: dict[str, object], sentence: str
) -> None:
    from models.desk.detail import describe_event

    assert describe_event("a@x", action, detail, "America/Phoenix") == sentence


def test_close_returns_the_rsaa_reminder(store: Store) -> None:
    number = _ticket(store)
    assert actions.close_ticket(store, number, ALICE, at=TUESDAY_9 + 5).revoke_reminder is None
    other = _ticket(store, rfc="<second@customer.example>")
    with store.transaction() as s:
        tech = actions.technician_for(s, ALICE)
        s.add(
            Rsaa(
                ticket_number=other,
                accepted_by_name="Jo",
                accepted_by_email="jo@customer.example",
                accepted_at=TUESDAY_9,
                server="srv01.customer.example",
                method="rdp",
                source_ip="198.51.100.7",
                temp_account="shiftdesk-support",
                recorded_by_id=tech.id or 0,
                recorded_at=TUESDAY_9,
            )
        )
    closed = actions.close_ticket(store, other, ALICE, at=TUESDAY_9 + 10)
    assert closed.revoke_reminder == (
        "Remove the temporary account shiftdesk-support and the firewall rule for "
        "198.51.100.7 on srv01.customer.example."
    )

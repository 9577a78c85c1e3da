"""The mail gateway: parsing a corpus, threading, customer and license matching, the entitlement
gate and its auto-reply, no mail loops, accepting and scheduling. Store tests run on both
backends."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from models.desk.actions import ActionError, Actor
from models.desk.triage import accept_ticket, schedule_appointment
from models.mail.intake import (
    Limits,
    Unusable,
    find_license_key,
    gate,
    html_to_text,
    parse_message,
    receive,
)
from models.policy.config import CompanyConfig, Config
from models.policy.imports import add_purchase
from models.store.db import Store
from models.store.tables import (
    Appointment,
    Attachment,
    AuditEvent,
    Message,
    OutboxEntry,
    Ticket,
)
from tests.intake_support import (
    ACTIVE_KEY,
    CONFIG,
    LAPSED_KEY,
    RECEIVED,
    alternative,
    bounce,
    forwarded,
    html_only,
    plain,
    raw_latin1_declared_utf8,
    raw_unknown_charset,
    seed,
    with_attachment,
)

ALICE = Actor("alice@example.com", "Alice")


# --------------------------------------------------------------------------- parsing corpus


def test_plain_message_fields() -> None:
    mail = parse_message(plain(sender="Jo Customer <Jo@Customer.Example>"))
    assert mail.sender == "jo@customer.example"
    assert mail.sender_name == "Jo Customer"
    assert mail.subject == "Crash on save"
    assert mail.message_id == "<m1@customer.example>"
    assert mail.body.strip() == "Our server crashes when saving."
    assert mail.date == dt.datetime(2026, 1, 15, 19, tzinfo=dt.UTC).timestamp()
    assert mail.auto_reason is None
    headers = json.loads(mail.headers_json)
    assert ["Subject", "Crash on save"] in headers


@pytest.mark.parametrize("cte", ["quoted-printable", "base64"])
def test_alternative_prefers_plain_text(cte: str) -> None:
    mail = parse_message(alternative("Plain wins — café", "<p>HTML <b>loses</b></p>", cte=cte))
    assert mail.body == "Plain wins — café"
    assert mail.attachments == []


def test_html_only_becomes_readable_text() -> None:
    html = (
        "<html><head><style>p{color:red}</style><title>x</title></head><body>"
        "<p>Hello&nbsp;team,</p><script>alert(1)</script><ul><li>one</li><li>two</li></ul>"
        '<p>See <a href="https://kb.example.com/42">the article</a>.</p></body></html>'
    )
    body = parse_message(html_only(html)).body
    assert "alert" not in body and "color" not in body
    assert "Hello team," in body
    assert "- one\n" in body and "- two" in body
    assert "the article <https://kb.example.com/42>" in body


def test_html_to_text_survives_garbage() -> None:
    assert "x" in html_to_text("<<<>>x</p></div><a href=")


def test_wrong_charset_is_replaced_not_fatal() -> None:
    mail = parse_message(raw_latin1_declared_utf8())
    assert mail.subject == "Grüße"
    assert "aus M" in mail.body and "\ufffd" in mail.body


def test_unknown_charset_falls_back() -> None:
    mail = parse_message(raw_unknown_charset())
    assert mail.body.startswith("hello") and mail.body.endswith("world")


def test_attachments_keep_name_type_size_and_content_up_to_limit() -> None:
    data = bytes(range(256)) * 40
    mail = parse_message(with_attachment(data))
    [item] = mail.attachments
    assert (item.filename, item.content_type, item.size) == (
        "log.txt.gz",
        "application/gzip",
        len(data),
    )
    assert item.content == data
    assert mail.body.strip() == "See the attached logs."
    big = parse_message(with_attachment(data), Limits(max_attachment_bytes=100))
    assert big.attachments[0].size == len(data) and big.attachments[0].content is None


def test_nested_forward_is_readable_and_kept() -> None:
    mail = parse_message(forwarded())
    assert mail.body.startswith("Forwarding this, please help.")
    assert "---------- Forwarded message ----------" in mail.body
    assert "From: colleague@customer.example" in mail.body
    assert "The export fails with error 42." in mail.body
    [item] = mail.attachments
    assert item.content_type == "message/rfc822" and item.content
    assert b"error 42" in item.content


def test_missing_and_repeated_headers() -> None:
    raw = b"From: jo@customer.example\r\nSubject: first\r\nSubject: second\r\n\r\nbody\r\n"
    mail = parse_message(raw)
    assert mail.subject == "first" and mail.message_id is None and mail.date is None
    assert [h[1] for h in json.loads(mail.headers_json) if h[0] == "Subject"] == ["first", "second"]
    bare = parse_message(b"From: jo@customer.example\r\n\r\n")
    assert bare.subject == "" and bare.body == ""


def test_enormous_headers_are_cut() -> None:
    long = "word " * 40_000
    mail = parse_message(plain(subject=long, X_Huge=long))
    assert len(mail.subject) <= 1000
    huge = next(h[1] for h in json.loads(mail.headers_json) if h[0] == "X-Huge")
    assert len(huge) < 17_000 and huge.endswith("[cut]")


def test_bad_date_and_garbage_message_id_are_tolerated() -> None:
    mail = parse_message(plain(message_id="not-an-id", Date_="yesterday-ish"))
    assert mail.message_id is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"   \r\n", "empty"),
        (b"Subject: nobody\r\n\r\nhi\r\n", "no sender"),
        (b"From: not an address\r\n\r\nhi\r\n", "no sender"),
    ],
)
def test_unusable_messages(raw: bytes, reason: str) -> None:
    with pytest.raises(Unusable, match=reason):
        parse_message(raw)


def test_over_the_size_limit_is_unusable() -> None:
    with pytest.raises(Unusable, match="over the 100-byte limit"):
        parse_message(plain("x" * 200), Limits(max_message_bytes=100))


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Auto_Submitted": "auto-replied"}, "auto-reply"),
        ({"Auto_Submitted": "auto-generated"}, "automatic mail"),
        ({"Precedence": "auto_reply"}, "auto-reply"),
        ({"X_Autoreply": "yes"}, "auto-reply"),
        ({"X_Autorespond": "Out of office"}, "auto-reply"),
        ({"Return_Path": "<>"}, "bounce"),
    ],
)
def test_automatic_mail_is_recognised(headers: dict[str, str], reason: str) -> None:
    assert parse_message(plain(**headers)).auto_reason == reason


def test_human_mail_is_not_automatic() -> None:
    assert parse_message(plain(Auto_Submitted="no", Precedence="first-class")).auto_reason is None
    assert parse_message(bounce()).auto_reason == "bounce"
    assert parse_message(plain(sender="MAILER-DAEMON@mx.example")).auto_reason == "bounce"


def test_license_key_format() -> None:
    keys = [ACTIVE_KEY, LAPSED_KEY]
    assert find_license_key(f"my key is {ACTIVE_KEY.lower()}, thanks", keys) == ACTIVE_KEY
    assert find_license_key("ACME-9999-9999 is not ours", keys) is None
    assert find_license_key("ACME-2024 too short", keys) is None


# --------------------------------------------------------------------------- store helpers


def _ticket(store: Store, number: int) -> Ticket:
    with store.session() as s:
        ticket = s.get(Ticket, number)
        assert ticket is not None
        return ticket


def _count(store: Store, table: type, *where: object) -> int:
    with store.session() as s:
        return int(s.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def _outbox(store: Store) -> list[OutboxEntry]:
    with store.session() as s:
        return list(s.execute(select(OutboxEntry).order_by(col(OutboxEntry.id))).scalars())


def _receive(store: Store, raw: bytes, at: float = RECEIVED, config: Config = CONFIG):
    return receive(store, config, raw, received_at=at)


# --------------------------------------------------------------------------- gate


def test_entitled_customer_gets_a_license_ticket(store: Store) -> None:
    ids = seed(store)
    result = _receive(store, plain())
    assert (result.outcome, result.line()) == ("new", f"ticket #{result.ticket_number} new")
    ticket = _ticket(store, result.ticket_number or 0)
    assert ticket.entitlement == "license"
    assert ticket.license_id == ids["active_license"]
    assert ticket.customer_id == ids["jo"]
    assert ticket.received_at == RECEIVED and ticket.waiting_since == RECEIVED
    assert _outbox(store) == []


def test_customer_matched_by_any_address_case_insensitive(store: Store) -> None:
    ids = seed(store)
    result = _receive(store, plain(sender="Jo <JO.Alias@Customer.EXAMPLE>"))
    ticket = _ticket(store, result.ticket_number or 0)
    assert ticket.customer_id == ids["jo"] and ticket.entitlement == "license"
    assert ticket.requester_email == "jo.alias@customer.example"


def test_lapsed_customer_is_not_entitled_and_told_why(store: Store) -> None:
    config = Config(company=CompanyConfig(forum_url="https://forum.example.org"))
    seed(store)
    result = _receive(store, plain(sender="lapsed@old.example"), config=config)
    assert result.line() == f"ticket #{result.ticket_number} new (not entitled)"
    ticket = _ticket(store, result.ticket_number or 0)
    assert ticket.entitlement == "none"
    assert ticket.entitlement_note == "Maintenance and Support lapsed on 2025-03-01"
    [reply] = _outbox(store)
    assert reply.kind == "autoreply" and reply.to_address == "lapsed@old.example"
    assert reply.ticket_number == ticket.number
    assert reply.subject == f"Auto: [#{ticket.number}] Crash on save"  # RFC 3834 3.1.5
    assert reply.in_reply_to == "<m1@customer.example>"
    assert "Maintenance and Support lapsed on 2025-03-01" in reply.body
    assert "Reinstate Maintenance and Support" in reply.body
    assert "https://forum.example.org" in reply.body


def test_unknown_sender_is_kept_and_answered_once_a_day(store: Store) -> None:
    seed(store)
    first = _receive(store, plain(sender="stranger@nowhere.example", message_id="<s1@x>"))
    second = _receive(
        store,
        plain(sender="stranger@nowhere.example", message_id="<s2@x>", subject="again"),
        at=RECEIVED + 60,
    )
    assert first.ticket_number != second.ticket_number
    assert _ticket(store, first.ticket_number or 0).entitlement_note == (
        "the sender is not a known customer"
    )
    assert len(_outbox(store)) == 1
    _receive(
        store,
        plain(sender="stranger@nowhere.example", message_id="<s3@x>"),
        at=RECEIVED + 2 * 86400,
    )
    assert len(_outbox(store)) == 2


@pytest.mark.parametrize(
    ("sender", "basis"),
    [("hosted@cloud.example", "hosted"), ("partner@reseller.example", "partner")],
)
def test_hosted_and_partner_entitlement(store: Store, sender: str, basis: str) -> None:
    seed(store)
    result = _receive(store, plain(sender=sender))
    assert _ticket(store, result.ticket_number or 0).entitlement == basis
    assert _outbox(store) == []


def test_license_key_in_the_body_picks_the_license(store: Store) -> None:
    ids = seed(store)
    result = _receive(store, plain(f"License {LAPSED_KEY}: it broke", sender="lapsed@old.example"))
    ticket = _ticket(store, result.ticket_number or 0)
    assert ticket.license_id == ids["lapsed_license"]
    assert ticket.entitlement_note == (
        f"Maintenance and Support for license {LAPSED_KEY} lapsed on 2025-03-01"
    )
    # someone else's key does not entitle the sender
    other = _receive(
        store, plain(f"use {ACTIVE_KEY}", sender="lapsed@old.example", message_id="<m2@x>")
    )
    assert _ticket(store, other.ticket_number or 0).entitlement == "none"


# --------------------------------------------------------------------------- threading


def _set_answered(store: Store, number: int) -> None:
    with store.transaction() as s:
        ticket = s.get(Ticket, number)
        assert ticket is not None
        ticket.status, ticket.waiting_since, ticket.first_response_at = "answered", None, RECEIVED


def test_reply_by_ticket_tag_reopens_waiting(store: Store) -> None:
    seed(store)
    number = _receive(store, plain()).ticket_number or 0
    _set_answered(store, number)
    later = RECEIVED + 3600
    result = _receive(
        store,
        plain(
            "Still broken",
            subject=f"Re: [#{number}] Crash on save",
            message_id="<m2@customer.example>",
        ),
        at=later,
    )
    assert result.line() == f"ticket #{number} reply"
    ticket = _ticket(store, number)
    assert (ticket.status, ticket.waiting_since) == ("open", later)
    assert ticket.version == 2
    assert _count(store, Message, col(Message.ticket_number) == number) == 2
    with store.session() as s:
        actions = [
            e.action
            for e in s.execute(
                select(AuditEvent)
                .where(col(AuditEvent.ticket_number) == number)
                .order_by(col(AuditEvent.id))
            ).scalars()
        ]
    assert actions == ["create", "customer_message"]


def test_a_second_message_keeps_the_older_waiting_start(store: Store) -> None:
    seed(store)
    number = _receive(store, plain()).ticket_number or 0
    _receive(store, plain("more", subject=f"[#{number}]", message_id="<m2@x>"), at=RECEIVED + 60)
    assert _ticket(store, number).waiting_since == RECEIVED


def test_unknown_ticket_tag_makes_a_new_ticket(store: Store) -> None:
    seed(store)
    result = _receive(store, plain(subject="Re: [#999] old thread"))
    assert result.outcome == "new"


def test_reply_to_our_outbox_message_threads(store: Store) -> None:
    seed(store)
    number = _receive(store, plain(sender="lapsed@old.example")).ticket_number
    [auto] = _outbox(store)
    result = _receive(
        store,
        plain(
            "I renewed today",
            sender="lapsed@old.example",
            subject="Re: something else",
            message_id="<m9@x>",
            In_Reply_To=auto.rfc_message_id,
        ),
    )
    assert (result.outcome, result.ticket_number) == ("reply", number)
    assert len(_outbox(store)) == 1  # a reply on a thread is never auto-answered


def test_reply_by_references_to_the_customers_message(store: Store) -> None:
    seed(store)
    number = _receive(store, plain()).ticket_number
    result = _receive(
        store,
        plain(
            "follow-up",
            subject="no tag",
            message_id="<m3@x>",
            References="<zzz@elsewhere> <m1@customer.example>",
        ),
    )
    assert (result.outcome, result.ticket_number) == ("reply", number)


def test_duplicate_delivery_is_stored_once(store: Store) -> None:
    seed(store)
    first = _receive(store, plain())
    again = _receive(store, plain())
    assert again.outcome == "ignored" and again.ticket_number == first.ticket_number
    assert _count(store, Message) == 1


# --------------------------------------------------------------------------- no loops


@pytest.mark.parametrize(
    "raw",
    [
        plain(sender="stranger@nowhere.example", Auto_Submitted="auto-replied"),
        plain(sender="stranger@nowhere.example", X_Autoreply="yes"),
        plain(sender="support@example.com"),
        bounce(),
    ],
)
def test_automatic_or_own_mail_never_creates_or_answers(store: Store, raw: bytes) -> None:
    seed(store)
    result = _receive(store, raw)
    assert result.outcome == "ignored" and result.line().startswith("ignored: ")
    assert _count(store, Ticket) == 0 and _outbox(store) == []


def test_auto_reply_on_a_thread_is_kept_without_status_change(store: Store) -> None:
    seed(store)
    number = _receive(store, plain(sender="lapsed@old.example")).ticket_number or 0
    _set_answered(store, number)
    [auto] = _outbox(store)
    result = _receive(
        store,
        plain(
            "I am out of office",
            sender="lapsed@old.example",
            subject="Out of office",
            message_id="<ooo@x>",
            Auto_Submitted="auto-replied",
            In_Reply_To=auto.rfc_message_id,
        ),
        at=RECEIVED + 5,
    )
    assert (result.outcome, result.ticket_number) == ("reply", number)
    assert "status unchanged" in result.line()
    ticket = _ticket(store, number)
    assert ticket.status == "answered" and ticket.waiting_since is None
    assert _count(store, Message, col(Message.ticket_number) == number) == 2
    assert len(_outbox(store)) == 1


def test_attachments_and_headers_are_stored(store: Store) -> None:
    seed(store)
    data = b"\x00\x01binary" * 100
    number = _receive(store, with_attachment(data)).ticket_number
    with store.session() as s:
        message = s.execute(
            select(Message).where(col(Message.ticket_number) == number)
        ).scalar_one()
        [attachment] = s.execute(select(Attachment)).scalars()
    assert attachment.message_id == message.id and attachment.content == data
    assert attachment.size == len(data)
    assert json.loads(message.headers or "[]")[0][0] == "From"


def test_odd_text_stores_on_both_backends(store: Store) -> None:
    seed(store)
    raw = (
        b"From: jo@customer.example\r\nSubject: nul\x00 and \xff bytes\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nbody \x00 with NUL \xc3\x28\r\n"
    )
    number = _receive(store, raw).ticket_number or 0
    ticket = _ticket(store, number)
    assert "\x00" not in ticket.subject


def test_phone_request_is_detected_at_intake(store: Store) -> None:
    phone = pytest.importorskip("models.mail.phone")
    text = "Please call me at +1 555 0100, this is urgent."
    if not phone.detect_phone_request(text):
        pytest.skip("the detector does not flag this text")
    seed(store)
    number = _receive(store, plain(text)).ticket_number or 0
    assert _ticket(store, number).phone_requested is True


# --------------------------------------------------------------------------- gate outcomes


def test_gate_maps_outcomes(store: Store) -> None:
    seed(store)
    assert gate(store, CONFIG, plain(), received_at=RECEIVED).code == 0
    unusable = gate(store, CONFIG, b"Subject: x\r\n\r\n")
    assert (unusable.code, unusable.line) == (65, "unusable message: no sender address (From)")


def test_gate_store_unreachable_is_75() -> None:
    store = Store("postgresql://postgres@127.0.0.1:1/x", migrate=False)
    outcome = gate(store, CONFIG, plain())
    assert outcome.code == 75 and outcome.store_down and not outcome.unexpected
    store.dispose()


# --------------------------------------------------------------------------- accept, schedule


def test_accept_not_entitled_ticket(store: Store) -> None:
    seed(store)
    number = _receive(store, plain(sender="lapsed@old.example")).ticket_number or 0
    with pytest.raises(ActionError, match="reason"):
        accept_ticket(store, number, ALICE, "  ")
    ticket = accept_ticket(store, number, ALICE, "renewal in progress", at=RECEIVED + 7200)
    assert ticket.entitlement == "accepted"
    assert ticket.waiting_since == RECEIVED and ticket.received_at == RECEIVED
    assert ticket.entitlement_note is not None
    assert ticket.entitlement_note.startswith("accepted by alice@example.com: renewal in progress")
    with pytest.raises(ActionError, match="already entitled"):
        accept_ticket(store, number, ALICE, "again")
    assert _count(store, AuditEvent, col(AuditEvent.action) == "accept") == 1


def test_schedule_installation_in_customer_zone(store: Store) -> None:
    seed(store)
    number = add_purchase(
        store,
        "installation",
        "jo@customer.example",
        ACTIVE_KEY,
        "Install on new server",
        "",
        RECEIVED,
    )
    appointment = schedule_appointment(
        store,
        number,
        ALICE,
        "2026-03-10T09:30",
        "Europe/Berlin",
        90,
        "remote session",
        at=RECEIVED,
    )
    expected = dt.datetime(2026, 3, 10, 9, 30, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
    assert appointment.starts_at == expected.timestamp()
    assert appointment.duration_minutes == 90
    assert _count(store, Appointment) == 1
    assert _count(store, AuditEvent, col(AuditEvent.action) == "schedule") == 1
    with pytest.raises(ActionError, match="does not exist"):
        schedule_appointment(store, number, ALICE, "2026-03-29T02:30", at=RECEIVED)
    with pytest.raises(ActionError, match="time zone"):
        schedule_appointment(store, number, ALICE, "2026-03-10T09:30", "Mars/Olympus")


def test_only_installation_and_training_are_scheduled(store: Store) -> None:
    seed(store)
    number = _receive(store, plain()).ticket_number or 0
    with pytest.raises(ActionError, match="only installation and training"):
        schedule_appointment(store, number, ALICE, "2026-03-10T09:30", "Europe/Berlin", at=RECEIVED)


def test_too_many_parts_and_deep_nesting_are_unusable() -> None:
    many = b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" + (
        b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" * 2500
    )
    with pytest.raises(Unusable, match="MIME parts"):
        parse_message(many)
    deep = b"From: a@b.example\r\n" + b"Content-Type: message/rfc822\r\n\r\n" * 1500
    with pytest.raises(Unusable, match="nested too deeply"):
        parse_message(deep + b"From: x@y.example\r\n\r\nhi\r\n")


def test_garbage_charset_name_falls_back() -> None:
    raw = b"From: jo@customer.example\r\nContent-Type: text/plain; charset=\x00utf-8\r\n\r\nhi\r\n"
    assert parse_message(raw).body == "hi"

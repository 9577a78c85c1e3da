"""Outbox delivery against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import email
import socket
from collections import Counter
from collections.abc import Iterator
from email.message import Message as MimeMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from models.desk import actions, work
from models.desk.actions import Actor
from models.mail.outbox import (
    backoff_seconds,
    deliver_all_due,
    deliver_due,
    enqueue,
    outbox_status,
    status_line,
)
from models.policy.config import Config, SmtpConfig
from models.store.db import Store
from models.store.tables import OutboxEntry

ALICE = Actor("alice@example.com")
T0 = 1_773_158_400.0  # a fixed "now" so backoff is exact


class Sink:
    """Collects what the server accepted; refuses the addresses in `refuse` with 550."""

    def __init__(self) -> None:
        self.messages: list[MimeMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def smtp(port: int) -> SmtpConfig:
    return SmtpConfig(
        host="127.0.0.1", port=port, from_address="support@shiftdesk.example", timeout_seconds=5
    )


@pytest.fixture
def sink(port: int) -> Iterator[Sink]:
    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler
    controller.stop()


def _ticket(store: Store, n: int = 0) -> int:
    return actions.create_ticket(
        store,
        subject="Re: Crash on save",
        requester_email="jo@customer.example",
        received_at=T0 - 600,
        body="It crashes.",
        rfc_message_id=f"<c{n}@customer.example>",
    )


def _reply(store: Store, number: int, smtp: SmtpConfig, body: str = "Try 4.2.1") -> str:
    result = work.reply(store, number, ALICE, body, at=T0, config=Config(smtp=smtp))
    return result.rfc_message_id


def _entries(store: Store) -> list[OutboxEntry]:
    with store.session() as s:
        return list(s.execute(select(OutboxEntry).order_by(OutboxEntry.id)).scalars())  # type: ignore[arg-type]


async def test_reply_arrives_with_threading_headers(
    store: Store, smtp: SmtpConfig, sink: Sink
) -> None:
    number = _ticket(store)
    rfc_id = _reply(store, number, smtp)
    report = await deliver_due(store, smtp, now=T0)
    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    [mail] = sink.messages
    assert mail["Message-ID"] == rfc_id
    assert mail["In-Reply-To"] == "<c0@customer.example>"
    assert mail["References"] == "<c0@customer.example>"
    assert mail["Subject"] == f"Re: [#{number}] Crash on save"
    assert mail["From"] == "support@shiftdesk.example"
    assert mail["To"] == "jo@customer.example"
    assert mail["Date"] and mail["Auto-Submitted"] is None
    assert "Try 4.2.1" in mail.get_payload()
    assert sink.envelopes == [("support@shiftdesk.example", ["jo@customer.example"])]
    [entry] = _entries(store)
    assert entry.status == "sent" and entry.attempts == 1 and entry.sent_at == T0
    assert outbox_status(store) == (0, None)
    assert (await deliver_due(store, smtp, now=T0 + 3600)).attempted == 0  # never twice


async def test_autoreply_is_marked_auto_submitted(
    store: Store, smtp: SmtpConfig, sink: Sink
) -> None:
    with store.transaction() as s:
        enqueue(
            s,
            to_address="x@y.example",
            subject="About your message",
            body="auto",
            at=T0,
            kind="autoreply",
        )
    await deliver_due(store, smtp, now=T0)
    assert sink.messages[0]["Auto-Submitted"] == "auto-replied"


async def test_server_down_keeps_messages_then_delivers_each_once(
    store: Store, smtp: SmtpConfig, port: int
) -> None:
    numbers = [_ticket(store, n) for n in range(3)]
    ids = [_reply(store, n, smtp, f"reply {n}") for n in numbers]

    report = await deliver_due(store, smtp, now=T0)  # nothing listens on the port
    assert (report.sent, report.retrying) == (0, 3)
    entries = _entries(store)
    assert all(e.status == "queued" and e.attempts == 1 for e in entries)
    assert all(e.next_attempt_at == T0 + 30 for e in entries)
    assert all(e.last_error and "SMTP unreachable" in e.last_error for e in entries)
    assert all("\n" not in (e.last_error or "") for e in entries)
    waiting, error = outbox_status(store)
    assert waiting == 3 and error is not None
    assert status_line(waiting, error).startswith("outbox: 3 waiting — SMTP unreachable")

    # not due yet: backoff holds
    assert (await deliver_due(store, smtp, now=T0 + 10)).attempted == 0
    report = await deliver_due(store, smtp, now=T0 + 31)  # still down: 60 s next
    assert report.retrying == 3
    assert {e.next_attempt_at for e in _entries(store)} == {T0 + 31 + 60}

    handler = Sink()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        report = await deliver_all_due(store, smtp, now=T0 + 100)
        assert report.sent == 3
        assert (await deliver_all_due(store, smtp, now=T0 + 10_000)).attempted == 0
    finally:
        controller.stop()
    assert sorted(handler.ids()) == sorted(ids)
    entries = _entries(store)
    assert all(e.status == "sent" and e.attempts == 3 and e.last_error is None for e in entries)
    assert outbox_status(store) == (0, None)


async def test_permanent_refusal_fails_only_that_message(
    store: Store, smtp: SmtpConfig, sink: Sink
) -> None:
    with store.transaction() as s:
        for address in ("ok1@c.example", "gone@c.example", "ok2@c.example"):
            enqueue(s, to_address=address, subject="s", body="b", at=T0)
    sink.refuse.add("gone@c.example")
    report = await deliver_due(store, smtp, now=T0)
    assert (report.sent, report.failed, report.retrying) == (2, 1, 0)
    by_address = {e.to_address: e for e in _entries(store)}
    gone = by_address["gone@c.example"]
    assert gone.status == "failed" and gone.attempts == 1
    assert gone.last_error is not None and "550" in gone.last_error
    assert [to for _, [to] in sink.envelopes] == ["ok1@c.example", "ok2@c.example"]
    assert (await deliver_due(store, smtp, now=T0 + 10_000)).attempted == 0


async def test_two_concurrent_deliverers_never_double_send(
    db_url: str, smtp: SmtpConfig, sink: Sink
) -> None:
    first, second = Store(db_url), Store(db_url)
    try:
        with first.transaction() as s:
            for n in range(60):
                enqueue(s, to_address=f"c{n}@c.example", subject=f"s{n}", body="b", at=T0)
        reports = await asyncio.gather(
            deliver_all_due(first, smtp, now=T0, batch=25),
            deliver_all_due(second, smtp, now=T0, batch=25),
        )
        assert sum(r.sent for r in reports) == 60
        counts = Counter(sink.ids())
        assert len(counts) == 60 and set(counts.values()) == {1}
        assert all(e.status == "sent" and e.attempts == 1 for e in _entries(first))
    finally:
        first.dispose()
        second.dispose()


def test_backoff_doubles_from_30_seconds_up_to_30_minutes() -> None:
    assert [backoff_seconds(n) for n in range(1, 8)] == [30, 60, 120, 240, 480, 960, 1800]
    assert backoff_seconds(50) == 1800

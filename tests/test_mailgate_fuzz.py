"""Fuzz the gateway with mutated messages: `models.mail.intake.gate` (what `shiftdesk mailgate`
runs) only ever answers 0, 65 or 75, never raises, never hits the unexpected-error path, and leaves
the store consistent (every ticket has its first message)."""

from __future__ import annotations

from email import policy
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from models.mail import mailparse
from models.mail.intake import Limits, gate
from models.mail.mailparse import Unusable, parse_message
from models.store.db import Store
from models.store.tables import Message, Ticket
from tests.intake_support import (
    CONFIG,
    alternative,
    bounce,
    forwarded,
    html_only,
    plain,
    raw_latin1_declared_utf8,
    raw_unknown_charset,
    with_attachment,
)

CORPUS = [
    plain(),
    plain("reply", subject="Re: [#1] x", In_Reply_To="<m1@customer.example>"),
    plain(Auto_Submitted="auto-replied"),
    alternative("text", "<p>html</p>"),
    alternative("text", "<p>html</p>", cte="base64"),
    html_only("<div>only <b>html</b></div>"),
    with_attachment(b"\x00" * 300),
    forwarded(),
    bounce(),
    raw_latin1_declared_utf8(),
    raw_unknown_charset(),
]

INTERESTING = [
    b"\r\n",
    b"\n\n",
    b":",
    b"=?utf-8?b?",
    b"=?x?q?=FF?=",
    b"--",
    b"boundary=",
    b"\x00",
    b"\xff",
    b'Content-Type: multipart/mixed; boundary=""\r\n',
    b"Content-Transfer-Encoding: base64\r\n",
    b'charset="',
    b"[#",
    b"<>",
    b"From: \r\n",
    b"Subject: [#1] ",
    b"message/rfc822",
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "splice", "dup"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.sampled_from(INTERESTING) | st.binary(max_size=40))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 200))]
        elif op == "truncate":
            del data[pos:]
        elif op == "splice":
            other = draw(st.sampled_from(CORPUS))
            cut = draw(st.integers(0, len(other)))
            data[pos:] = other[cut:]
        elif op == "dup":
            end = min(len(data), pos + draw(st.integers(1, 400)))
            data[pos:pos] = data[pos:end] * draw(st.integers(1, 5))
    return bytes(data)


def test_gateway_survives_mutated_mail(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'fuzz.db'}")
    limits = Limits(max_message_bytes=64 * 1024, max_attachment_bytes=1024)
    seen: set[int] = set()

    @settings(
        max_examples=800,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(raw=mutated())
    def check(raw: bytes) -> None:
        outcome = gate(store, CONFIG, raw, limits=limits)
        assert outcome.code in (0, 65, 75)
        assert not outcome.unexpected, outcome.line
        assert "\n" not in outcome.line
        seen.add(outcome.code)

    try:
        check()
        with store.session() as s:
            tickets = s.execute(select(func.count()).select_from(Ticket)).scalar_one()
            without_message = s.execute(
                select(func.count())
                .select_from(Ticket)
                .where(~select(Message.id).where(Message.ticket_number == Ticket.number).exists())
            ).scalar_one()
        assert without_message == 0
        assert tickets > 0 and 0 in seen
    finally:
        store.dispose()


def _parsed(raw: bytes) -> object:
    try:
        return parse_message(raw)
    except Unusable as exc:
        return ("unusable", exc.reason)


@settings(max_examples=300, deadline=None, database=None)
@given(raw=st.sampled_from(CORPUS) | mutated())
def test_parse_once_policy_reads_mail_exactly_as_policy_default(raw: bytes) -> None:
    """The gateway's policy caches parsed header values; it must read every message, broken
    ones included, exactly as plain policy.default does."""
    ours = _parsed(raw)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(mailparse, "POLICY", policy.default)
        plain_default = _parsed(raw)
    assert ours == plain_default

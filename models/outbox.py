"""Outgoing mail: queued in the same transaction as the reply, delivered over SMTP later.

Each entry gets its RFC 5322 Message-ID at enqueue time, so a retry after a lost connection
resends the same message (the receiving side can de-duplicate) and threading never changes.
"""

from __future__ import annotations

import secrets
import socket

from sqlalchemy.orm import Session

from models.tables import OutboxEntry


def make_message_id(ticket_number: int | None, domain: str | None = None) -> str:
    host = domain or socket.getfqdn() or "shiftdesk.invalid"
    tag = f"t{ticket_number}." if ticket_number is not None else ""
    return f"<shiftdesk.{tag}{secrets.token_hex(10)}@{host}>"


def enqueue(
    session: Session,
    *,
    to_address: str,
    subject: str,
    body: str,
    at: float,
    ticket_number: int | None = None,
    message_id: int | None = None,
    kind: str = "reply",
    in_reply_to: str | None = None,
    references: str | None = None,
    rfc_message_id: str | None = None,
    domain: str | None = None,
) -> OutboxEntry:
    """Queue one message (caller's transaction). Delivery is models.outbox's worker's job."""
    entry = OutboxEntry(
        ticket_number=ticket_number,
        message_id=message_id,
        kind=kind,
        to_address=to_address,
        subject=subject,
        body=body,
        rfc_message_id=rfc_message_id or make_message_id(ticket_number, domain),
        in_reply_to=in_reply_to,
        references=references,
        status="queued",
        attempts=0,
        next_attempt_at=at,
        created_at=at,
    )
    session.add(entry)
    session.flush()
    return entry

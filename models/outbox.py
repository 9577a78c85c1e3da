"""Outgoing mail: queued in the same transaction as the reply, delivered over SMTP later.

Each entry gets its RFC 5322 Message-ID at enqueue time, so a retry after a lost connection
resends the same message (the receiving side can de-duplicate) and threading never changes.

Delivery (`deliver_due`) opens one SMTP connection per batch. Each message is claimed just before
it is sent with a conditional UPDATE that moves `next_attempt_at` into the future (a lease):
a second worker's claim then matches no row, so two workers never send the same message. The
entry is marked `sent` only after the server accepted it; a failure counts an attempt, keeps a
one-line `last_error` and backs off (30 s doubling, capped at 30 min). A 5xx refusal of the
recipient or of the message is permanent (`failed`); everything else is retried. A worker that
dies mid-send leaves the lease to expire, and the message goes out again with the same
Message-ID.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import aiosmtplib
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from models.actions import inserted_id
from models.config import SmtpConfig
from models.db import Store
from models.tables import OutboxEntry, table_of

BACKOFF_FIRST_SECONDS = 30.0
BACKOFF_MAX_SECONDS = 30 * 60.0
LEASE_EXTRA_SECONDS = 60.0  # added to the SMTP timeout: how long a claim keeps others away
MAX_ERROR_CHARS = 300


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
) -> int:
    """Queue one message (caller's transaction); returns the outbox entry's id. Delivery is
    models.outbox's worker's job."""
    result = session.execute(
        _ENQUEUE,
        {
            "ticket_number": ticket_number,
            "message_id": message_id,
            "kind": kind,
            "to_address": to_address,
            "subject": subject,
            "body": body,
            "rfc_message_id": rfc_message_id or make_message_id(ticket_number, domain),
            "in_reply_to": in_reply_to,
            "references": references,
            "status": "queued",
            "attempts": 0,
            "next_attempt_at": at,
            "last_error": None,
            "created_at": at,
            "sent_at": None,
        },
    )
    return inserted_id(result)


_ENQUEUE = insert(table_of(OutboxEntry))


# --------------------------------------------------------------------------- delivery


@dataclass
class DeliveryReport:
    """What one `deliver_due` call did."""

    sent: int = 0
    retrying: int = 0  # temporary failure: queued again with backoff
    failed: int = 0  # permanent refusal (5xx): status failed
    skipped: int = 0  # claimed by another worker first
    errors: list[str] = field(default_factory=list)  # one line each, "#id: reason"

    @property
    def attempted(self) -> int:
        return self.sent + self.retrying + self.failed


@dataclass(frozen=True)
class _Due:
    id: int
    kind: str
    to_address: str
    subject: str
    body: str
    rfc_message_id: str
    in_reply_to: str | None
    references: str | None
    created_at: float
    attempts: int


def backoff_seconds(attempts: int) -> float:
    """Delay before the next try after `attempts` failed ones: 30 s, 60 s, 120 s ... 30 min."""
    exponent = max(0, min(attempts - 1, 16))
    return min(BACKOFF_FIRST_SECONDS * 2**exponent, BACKOFF_MAX_SECONDS)


def error_line(exc: BaseException) -> str:
    """One short line for `last_error` and the status bar."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        parts = [f"{r.recipient}: {r.code} {' '.join(r.message.split())}" for r in exc.recipients]
        text = "SMTP refused " + "; ".join(parts)
    elif isinstance(exc, aiosmtplib.SMTPResponseException):
        text = f"SMTP refused: {exc.code} {' '.join(str(exc.message).split())}"
    elif isinstance(exc, aiosmtplib.SMTPConnectError | ConnectionError | OSError):
        text = f"SMTP unreachable: {' '.join(str(exc).split()) or type(exc).__name__}"
    elif isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        text = "SMTP timed out"
    else:
        text = f"SMTP error: {' '.join(str(exc).split()) or type(exc).__name__}"
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def is_permanent(exc: BaseException) -> bool:
    """5xx for the recipient(s) or the message itself; sender/auth problems are our config."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return bool(exc.recipients) and all(500 <= r.code < 600 for r in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        return 500 <= exc.code < 600
    return False


def build_email(entry: _Due | OutboxEntry, from_address: str) -> EmailMessage:
    """The RFC 5322 message for an outbox entry (headers exactly as queued)."""
    mail = EmailMessage()
    mail["From"] = from_address
    mail["To"] = entry.to_address
    mail["Subject"] = entry.subject
    mail["Date"] = formatdate(entry.created_at, localtime=False, usegmt=True)
    mail["Message-ID"] = entry.rfc_message_id
    if entry.in_reply_to:
        mail["In-Reply-To"] = entry.in_reply_to
    if entry.references:
        mail["References"] = entry.references
    if entry.kind == "autoreply":
        mail["Auto-Submitted"] = "auto-replied"
    mail.set_content(entry.body)
    return mail


def _load_due(store: Store, at: float, limit: int) -> list[_Due]:
    with store.session() as session:
        rows = session.execute(
            select(
                col(OutboxEntry.id),
                col(OutboxEntry.kind),
                col(OutboxEntry.to_address),
                col(OutboxEntry.subject),
                col(OutboxEntry.body),
                col(OutboxEntry.rfc_message_id),
                col(OutboxEntry.in_reply_to),
                col(OutboxEntry.references),
                col(OutboxEntry.created_at),
                col(OutboxEntry.attempts),
            )
            .where(col(OutboxEntry.status) == "queued", col(OutboxEntry.next_attempt_at) <= at)
            .order_by(col(OutboxEntry.next_attempt_at), col(OutboxEntry.id))
            .limit(limit)
        ).all()
    return [_Due(**row._asdict()) for row in rows]


def _claim(store: Store, entry_id: int, at: float, lease_until: float) -> bool:
    """Take the entry for sending; False when another worker has it (or it is done)."""
    with store.transaction() as session:
        result = session.execute(
            update(OutboxEntry)
            .where(
                col(OutboxEntry.id) == entry_id,
                col(OutboxEntry.status) == "queued",
                col(OutboxEntry.next_attempt_at) <= at,
            )
            .values(next_attempt_at=lease_until),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))


def _mark_sent(store: Store, entry_id: int, at: float) -> None:
    with store.transaction() as session:
        session.execute(
            update(OutboxEntry)
            .where(col(OutboxEntry.id) == entry_id)
            .values(
                status="sent",
                sent_at=at,
                attempts=col(OutboxEntry.attempts) + 1,
                last_error=None,
            ),
            execution_options={"synchronize_session": False},
        )


def _mark_failed(
    store: Store, entries: Sequence[_Due], error: str, permanent: bool, at: float
) -> None:
    """Record one failed attempt for each of `entries` (one short transaction)."""
    with store.transaction() as session:
        for entry in entries:
            attempts = entry.attempts + 1
            values: dict[str, Any] = {
                "attempts": attempts,
                "last_error": error,
                "next_attempt_at": at + backoff_seconds(attempts),
            }
            if permanent:
                values["status"] = "failed"
            session.execute(
                update(OutboxEntry)
                .where(col(OutboxEntry.id) == entry.id, col(OutboxEntry.status) == "queued")
                .values(**values),
                execution_options={"synchronize_session": False},
            )


def _claim_all(store: Store, entries: Sequence[_Due], at: float, lease_until: float) -> list[_Due]:
    return [e for e in entries if _claim(store, e.id, at, lease_until)]


def _client(smtp: SmtpConfig) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname=smtp.host,
        port=smtp.port,
        use_tls=smtp.tls,
        start_tls=smtp.starttls,
        username=smtp.username,
        password=smtp.password(),
        timeout=smtp.timeout_seconds,
    )


async def deliver_due(
    store: Store, smtp: SmtpConfig, *, now: float | None = None, limit: int = 100
) -> DeliveryReport:
    """Send up to `limit` due messages over one SMTP connection.

    Database work runs in a thread (`asyncio.to_thread`) so an event loop stays responsive.
    """
    at = time.time() if now is None else now
    report = DeliveryReport()
    due = await asyncio.to_thread(_load_due, store, at, limit)
    if not due:
        return report
    lease_until = at + smtp.timeout_seconds * 3 + LEASE_EXTRA_SECONDS
    client = _client(smtp)
    try:
        await client.connect()
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        # nothing was sent: count the attempt on every due message we can claim
        claimed = await asyncio.to_thread(_claim_all, store, due, at, lease_until)
        error = error_line(exc)
        await asyncio.to_thread(_mark_failed, store, claimed, error, False, at)
        report.retrying += len(claimed)
        report.skipped += len(due) - len(claimed)
        report.errors.append(error)
        return report
    try:
        for index, entry in enumerate(due):
            if not await asyncio.to_thread(_claim, store, entry.id, at, lease_until):
                report.skipped += 1
                continue
            try:
                if not client.is_connected:
                    await client.connect()
                await client.send_message(
                    build_email(entry, smtp.from_address),
                    sender=smtp.from_address,
                    recipients=[entry.to_address],
                )
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                permanent = is_permanent(exc)
                error = error_line(exc)
                await asyncio.to_thread(_mark_failed, store, [entry], error, permanent, at)
                report.errors.append(f"#{entry.id}: {error}")
                if permanent:
                    report.failed += 1
                    continue
                report.retrying += 1
                if not client.is_connected:
                    # the server went away: the rest wait for the next round, attempt counted
                    rest = await asyncio.to_thread(
                        _claim_all, store, due[index + 1 :], at, lease_until
                    )
                    await asyncio.to_thread(_mark_failed, store, rest, error, False, at)
                    report.retrying += len(rest)
                    report.skipped += len(due) - index - 1 - len(rest)
                    break
                await _reset(client)
                continue
            await asyncio.to_thread(_mark_sent, store, entry.id, time.time() if now is None else at)
            report.sent += 1
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()
    return report


async def _reset(client: aiosmtplib.SMTP) -> None:
    """RSET after a refused transaction so the next message starts clean."""
    try:
        await client.rset()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()


async def deliver_all_due(
    store: Store, smtp: SmtpConfig, *, now: float | None = None, batch: int = 100
) -> DeliveryReport:
    """`deliver_due` in batches until nothing due is left (failures wait for their backoff)."""
    total = DeliveryReport()
    while True:
        report = await deliver_due(store, smtp, now=now, limit=batch)
        total.sent += report.sent
        total.retrying += report.retrying
        total.failed += report.failed
        total.skipped += report.skipped
        total.errors.extend(report.errors)
        if report.attempted + report.skipped < batch or report.sent == 0:
            return total


def outbox_status(store: Store) -> tuple[int, str | None]:
    """(messages waiting, the newest error among them) for the status bar."""
    with store.session() as session:
        waiting = session.execute(
            select(func.count()).select_from(OutboxEntry).where(col(OutboxEntry.status) == "queued")
        ).scalar_one()
        last_error = session.execute(
            select(col(OutboxEntry.last_error))
            .where(col(OutboxEntry.status) == "queued", col(OutboxEntry.last_error).is_not(None))
            .order_by(col(OutboxEntry.next_attempt_at).desc(), col(OutboxEntry.id).desc())
            .limit(1)
        ).scalar_one_or_none()
    return int(waiting), last_error


def failed_count(store: Store) -> int:
    """Messages refused for good (5xx): they need a technician's look."""
    with store.session() as session:
        return int(
            session.execute(
                select(func.count())
                .select_from(OutboxEntry)
                .where(col(OutboxEntry.status) == "failed")
            ).scalar_one()
        )


def status_line(waiting: int, last_error: str | None, width: int = 60) -> str:
    """ "outbox: 2 waiting — SMTP refused …" (or "outbox: empty")."""
    if waiting == 0:
        return "outbox: empty"
    text = f"outbox: {waiting} waiting"
    if last_error:
        text += f" — {last_error}"
    return text if len(text) <= width else text[: width - 1] + "…"

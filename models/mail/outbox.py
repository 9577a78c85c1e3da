"""Outgoing mail: queued in the same transaction as the reply, delivered over SMTP later.

Each entry gets its RFC 5322 Message-ID at enqueue time, so a retry after a lost connection
resends the same message (the receiving side can de-duplicate) and threading never changes.

Delivery (`deliver_due`) opens one SMTP connection per batch. Each message is claimed just before
it is sent, at the time of the claim, with a conditional UPDATE that sets `claimed_until` (a
lease) to one whole attempt's longest time plus a margin; the attempt itself is cancelled when it
runs over, so it always ends inside its lease. A second worker's claim matches no row while the
lease lives, so two workers never send the same message. The claim is apart from the retry
schedule (`next_attempt_at`): `outbox --flush` (`force`) attempts messages that are backing off,
but never one another worker holds. The entry is marked `sent` only after the server accepted
it; a failure counts an attempt, keeps a one-line `last_error` and backs off (30 s doubling,
capped at 30 min). A 5xx refusal of the recipient or of the message is permanent (`failed`);
everything else is retried. A worker that dies mid-send leaves the lease to expire, and the
message goes out again with the same Message-ID.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any

import aiosmtplib
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from models.desk.actions import inserted_id
from models.policy.config import SmtpConfig
from models.store.db import Store
from models.store.tables import OutboxEntry, table_of

BACKOFF_FIRST_SECONDS = 30.0
BACKOFF_MAX_SECONDS = 30 * 60.0
LEASE_EXTRA_SECONDS = 60.0  # added to one attempt's longest time: how long a claim lasts
ATTEMPT_COMMANDS = 6  # connect (+ STARTTLS/AUTH folded in), MAIL, RCPT, DATA, the data, QUIT
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
    models.mail.outbox's worker's job."""
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
    last_id: int | None = None  # the last entry looked at (where a forced flush goes on)

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


def loop_marker(from_address: str) -> str:
    """The X-Loop value for mail from `from_address`: its bare address, lower case."""
    return parseaddr(from_address)[1].strip().lower() or from_address.strip().lower()


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
    # our address as X-Loop on everything we send: mail coming back with it (an autoresponder
    # or a forwarding rule that keeps headers) is ours looping, and the gateway drops it
    mail["X-Loop"] = loop_marker(from_address)
    if entry.kind == "autoreply":
        mail["Auto-Submitted"] = "auto-replied"  # RFC 3834: no automatic answer to this
    mail.set_content(entry.body)
    return mail


def _load_due(
    store: Store, at: float, limit: int, *, force: bool = False, after_id: int = 0
) -> list[_Due]:
    """Queued entries due at `at` (with `force`: all of them, in id order from `after_id`),
    leaving out those another worker holds a live claim on."""
    conditions = [
        col(OutboxEntry.status) == "queued",
        or_(col(OutboxEntry.claimed_until).is_(None), col(OutboxEntry.claimed_until) <= at),
    ]
    if force:
        conditions.append(col(OutboxEntry.id) > after_id)
        order: list[Any] = [col(OutboxEntry.id)]
    else:
        conditions.append(col(OutboxEntry.next_attempt_at) <= at)
        order = [col(OutboxEntry.next_attempt_at), col(OutboxEntry.id)]
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
            .where(*conditions)
            .order_by(*order)
            .limit(limit)
        ).all()
    return [_Due(**row._asdict()) for row in rows]


def attempt_seconds(smtp: SmtpConfig) -> float:
    """The longest one message's attempt may take (connect, MAIL, RCPT, DATA, end of data:
    aiosmtplib's timeout is per command); the send is cancelled when it runs over."""
    return smtp.timeout_seconds * ATTEMPT_COMMANDS


def lease_seconds(smtp: SmtpConfig) -> float:
    """How long a claim keeps other workers away: one whole attempt plus a margin for marking
    the result, so a claim never runs out while its message is still being sent."""
    return attempt_seconds(smtp) + LEASE_EXTRA_SECONDS


def _claim(store: Store, entry_id: int, at: float, lease: float, force: bool) -> float | None:
    """Take the entry for sending until `at + lease`; None when another worker holds it (or it
    is done, or not due). Called right before each message is sent, with the time of the call:
    a lease taken at the start of a batch would run out while the batch is still going."""
    until = at + lease
    conditions = [
        col(OutboxEntry.id) == entry_id,
        col(OutboxEntry.status) == "queued",
        or_(col(OutboxEntry.claimed_until).is_(None), col(OutboxEntry.claimed_until) <= at),
    ]
    if not force:
        conditions.append(col(OutboxEntry.next_attempt_at) <= at)
    with store.transaction() as session:
        result = session.execute(
            update(OutboxEntry).where(*conditions).values(claimed_until=until),
            execution_options={"synchronize_session": False},
        )
        return until if getattr(result, "rowcount", 0) else None


def _mark_sent(store: Store, entry_id: int, at: float) -> None:
    # whatever happened to the claim meanwhile: the server has the message
    with store.transaction() as session:
        session.execute(
            update(OutboxEntry)
            .where(col(OutboxEntry.id) == entry_id)
            .values(
                status="sent",
                sent_at=at,
                attempts=col(OutboxEntry.attempts) + 1,
                last_error=None,
                claimed_until=None,
            ),
            execution_options={"synchronize_session": False},
        )


def _mark_failed(
    store: Store,
    entries: Sequence[tuple[_Due, float]],
    error: str,
    permanent: bool,
    at: float,
) -> None:
    """Record one failed attempt for each (entry, our claim) (one short transaction). An entry
    whose claim is no longer ours is left to the worker that holds it."""
    with store.transaction() as session:
        for entry, claimed_until in entries:
            attempts = entry.attempts + 1
            values: dict[str, Any] = {
                "attempts": attempts,
                "last_error": error,
                "next_attempt_at": at + backoff_seconds(attempts),
                "claimed_until": None,
            }
            if permanent:
                values["status"] = "failed"
            session.execute(
                update(OutboxEntry)
                .where(
                    col(OutboxEntry.id) == entry.id,
                    col(OutboxEntry.status) == "queued",
                    col(OutboxEntry.claimed_until) == claimed_until,
                )
                .values(**values),
                execution_options={"synchronize_session": False},
            )


def _claim_all(
    store: Store, entries: Sequence[_Due], clock: Callable[[], float], lease: float, force: bool
) -> list[tuple[_Due, float]]:
    claimed = []
    for entry in entries:
        until = _claim(store, entry.id, clock(), lease, force)
        if until is not None:
            claimed.append((entry, until))
    return claimed


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


_SEND_ERRORS = (aiosmtplib.SMTPException, OSError, TimeoutError)


async def deliver_due(
    store: Store,
    smtp: SmtpConfig,
    *,
    now: float | None = None,
    limit: int = 100,
    force: bool = False,
    after_id: int = 0,
) -> DeliveryReport:
    """Send up to `limit` due messages over one SMTP connection. `force` (`outbox --flush`)
    also sends messages still waiting for their backoff, in id order after `after_id`.

    Database work runs in a thread (`asyncio.to_thread`) so an event loop stays responsive.
    """

    def clock() -> float:
        return time.time() if now is None else now

    report = DeliveryReport()
    due = await asyncio.to_thread(_load_due, store, clock(), limit, force=force, after_id=after_id)
    if not due:
        return report
    report.last_id = due[-1].id
    lease = lease_seconds(smtp)
    client = _client(smtp)
    try:
        await asyncio.wait_for(client.connect(), attempt_seconds(smtp))
    except _SEND_ERRORS as exc:
        # nothing was sent: count the attempt on every due message we can claim
        claimed = await asyncio.to_thread(_claim_all, store, due, clock, lease, force)
        error = error_line(exc)
        await asyncio.to_thread(_mark_failed, store, claimed, error, False, clock())
        report.retrying += len(claimed)
        report.skipped += len(due) - len(claimed)
        report.errors.append(error)
        return report
    try:
        for index, entry in enumerate(due):
            claimed_until = await asyncio.to_thread(_claim, store, entry.id, clock(), lease, force)
            if claimed_until is None:
                report.skipped += 1
                continue
            try:
                mail = build_email(entry, smtp.from_address)
            except (ValueError, TypeError) as exc:  # a queued header no message can carry
                error = f"cannot build the message: {' '.join(str(exc).split())}"[:MAX_ERROR_CHARS]
                await asyncio.to_thread(
                    _mark_failed, store, [(entry, claimed_until)], error, True, clock()
                )
                report.errors.append(f"#{entry.id}: {error}")
                report.failed += 1
                continue
            try:
                # the whole attempt fits in the claim: it is cancelled before the lease ends
                await asyncio.wait_for(_send(client, mail, smtp, entry), attempt_seconds(smtp))
            except _SEND_ERRORS as exc:
                permanent = is_permanent(exc)
                error = error_line(exc)
                await asyncio.to_thread(
                    _mark_failed, store, [(entry, claimed_until)], error, permanent, clock()
                )
                report.errors.append(f"#{entry.id}: {error}")
                if permanent:
                    report.failed += 1
                    continue
                report.retrying += 1
                if not client.is_connected:
                    # the server went away: the rest wait for the next round, attempt counted
                    rest = await asyncio.to_thread(
                        _claim_all, store, due[index + 1 :], clock, lease, force
                    )
                    await asyncio.to_thread(_mark_failed, store, rest, error, False, clock())
                    report.retrying += len(rest)
                    report.skipped += len(due) - index - 1 - len(rest)
                    break
                await _reset(client)
                continue
            await asyncio.to_thread(_mark_sent, store, entry.id, clock())
            report.sent += 1
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except _SEND_ERRORS:
                client.close()
    return report


async def _send(client: aiosmtplib.SMTP, mail: EmailMessage, smtp: SmtpConfig, entry: _Due) -> None:
    if not client.is_connected:
        await client.connect()
    await client.send_message(mail, sender=smtp.from_address, recipients=[entry.to_address])


async def _reset(client: aiosmtplib.SMTP) -> None:
    """RSET after a refused transaction so the next message starts clean."""
    try:
        await client.rset()
    except _SEND_ERRORS:
        client.close()


async def deliver_all_due(
    store: Store,
    smtp: SmtpConfig,
    *,
    now: float | None = None,
    batch: int = 100,
    force: bool = False,
) -> DeliveryReport:
    """`deliver_due` in batches until nothing due is left (failures wait for their backoff).
    With `force` every queued message is attempted once, backoff or not (`postqueue -f`)."""
    total = DeliveryReport()
    after_id = 0
    while True:
        report = await deliver_due(
            store, smtp, now=now, limit=batch, force=force, after_id=after_id
        )
        total.sent += report.sent
        total.retrying += report.retrying
        total.failed += report.failed
        total.skipped += report.skipped
        total.errors.extend(report.errors)
        if force:
            if report.last_id is None:
                return total
            after_id = report.last_id
            continue
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

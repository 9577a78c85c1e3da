"""The mail gateway: parse one RFC 5322 message, thread it, gate it, store it (one transaction).

Parsing uses the standard `email` package with `policy.default`, but never trusts it to decode:
bodies are decoded by hand with the declared charset (unknown charsets fall back to UTF-8, bad
bytes become U+FFFD), and a header the parser chokes on is kept as its raw text.

Threading, in order: `[#N]` in the subject naming an existing ticket; else an `In-Reply-To` or
`References` id matching a stored message (the customer's) or an outbox entry (ours); else a new
ticket.

License keys look like `ABCD-1234-EFGH` (KEY_PATTERN: groups of 4+ capital letters/digits joined
by hyphens, at least three groups); a key counts only when it is one of the sender's licenses.

Loop safety (docs/intake.md): automatic mail (Auto-Submitted other than "no", Precedence
auto_reply, X-Autoreply, X-Autorespond, bounces, out-of-office subjects) and mail from our own
addresses or carrying our X-Loop never create a ticket and are never answered: when they thread
onto a ticket they are kept on it without changing its status, otherwise they are dropped with a
reason. List and bulk mail, X-Auto-Response-Suppress and no-reply senders become tickets like
any message but never get an auto-reply; nor does anyone once the global cap
(`smtp.autoreply_per_hour`) is reached. Every skipped auto-reply is an audit event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import bindparam, func, insert, literal, null, select, text, union_all
from sqlalchemy.orm import Session

from models.desk.actions import (
    ActionError,
    Actor,
    NotFound,
    action,
    audit,
    bump_version,
    insert_message,
    insert_ticket_and_message,
    mark_changed,
    normalize_email,
)
from models.mail.limits import (  # noqa: F401  (re-exported: the gateway's public names)
    MAX_ATTACHMENT_BYTES,
    MAX_HEADER_CHARS,
    MAX_MESSAGE_BYTES,
    MAX_SUBJECT_CHARS,
    Limits,
)
from models.mail.mailparse import (  # noqa: F401  (re-exported: the gateway's public names)
    _MSGID,
    ParsedAttachment,
    ParsedMail,
    Unusable,
    clean_text,
    html_to_text,
    parse_message,
)
from models.mail.outbox import enqueue, loop_marker
from models.mail.phone import detect_phone_request
from models.policy.config import Config
from models.policy.entitlement import EntitlementDecision, entitlement_at
from models.store.db import Store
from models.store.tables import (
    Attachment,
    Customer,
    CustomerAddress,
    HostedSubscription,
    License,
    Message,
    MessageDirection,
    MsTerm,
    OutboxEntry,
    Partnership,
    Ticket,
    table_of,
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
#
# The gateway runs these once per message, so they are prepared Core statements over the tables
# (about a sixth of an ORM query's cost), each answered by an index. Addresses are stored in lower
# case by every writer (imports, demo), so equality finds them through the unique indexes.

_T = table_of(Ticket)
_M = table_of(Message)
_O = table_of(OutboxEntry)
_C = table_of(Customer)
_A = table_of(CustomerAddress)
_L = table_of(License)
_MS = table_of(MsTerm)
_H = table_of(HostedSubscription)
_P = table_of(Partnership)

_BY_RFC_ID = select(_M.c.ticket_number, _M.c.rfc_message_id, _M.c.direction).where(
    _M.c.rfc_message_id.in_(bindparam("ids", expanding=True))
)
_OURS_BY_RFC_ID = select(_O.c.ticket_number, _O.c.rfc_message_id).where(
    _O.c.rfc_message_id.in_(bindparam("ids", expanding=True)), _O.c.ticket_number.is_not(None)
)
_TICKET_EXISTS = select(_T.c.number).where(_T.c.number == bindparam("n"))
_CUSTOMER_BY_ADDRESS = union_all(
    select(_A.c.customer_id).where(_A.c.email == bindparam("email")),
    select(_C.c.id).where(_C.c.email == bindparam("email")),
).limit(1)
_NULL = null()
# every entitlement fact of one customer in one round trip: (what, id, key, purchased_on,
# ms_expires_on, starts_on, ends_on, tier); a license without terms comes once with NULL dates
_ENTITLEMENT_FACTS = union_all(
    select(
        literal("license").label("what"),
        _L.c.id,
        _L.c.key,
        _L.c.purchased_on,
        _L.c.ms_expires_on,
        _MS.c.starts_on,
        _MS.c.ends_on,
        _NULL.label("tier"),
    )
    .select_from(_L.outerjoin(_MS, _MS.c.license_id == _L.c.id))
    .where(_L.c.customer_id == bindparam("customer")),
    select(
        literal("hosted"), _H.c.id, _NULL, _NULL, _NULL, _H.c.starts_on, _H.c.ends_on, _NULL
    ).where(_H.c.customer_id == bindparam("customer")),
    select(
        literal("partner"), _P.c.id, _NULL, _NULL, _NULL, _P.c.starts_on, _P.c.ends_on, _P.c.tier
    ).where(_P.c.customer_id == bindparam("customer")),
)
_RECENT_AUTOREPLY = (
    select(_O.c.id)
    .where(
        _O.c.to_address == bindparam("to"),
        _O.c.kind == "autoreply",
        _O.c.created_at > bindparam("since"),
    )
    .limit(1)
)


class LicenseFacts(NamedTuple):
    """What the entitlement rules read of a license (models.policy.entitlement takes any such
    row)."""

    id: int
    key: str
    purchased_on: str
    ms_expires_on: str


class Period(NamedTuple):
    """An M&S term, a hosted subscription or a partnership: first and last day covered."""

    starts_on: str
    ends_on: str | None
    tier: str | None = None


def customer_id_for(session: Session, address: str) -> int | None:
    """The customer writing from `address` (any of their addresses, case-insensitive)."""
    found = session.execute(_CUSTOMER_BY_ADDRESS, {"email": normalize_email(address)}).first()
    return None if found is None else int(found[0])


def find_customer(session: Session, address: str) -> Customer | None:
    """`customer_id_for`, as the ORM object."""
    customer_id = customer_id_for(session, address)
    return None if customer_id is None else session.get(Customer, customer_id)


def entitlement_rows(
    session: Session, customer_id: int
) -> tuple[list[tuple[LicenseFacts, list[Period]]], list[Period], list[Period]]:
    """(licenses with their M&S terms, hosted subscriptions, partnerships), in one query."""
    licenses: dict[int, tuple[LicenseFacts, list[Period]]] = {}
    hosted: list[Period] = []
    partners: list[Period] = []
    rows = session.execute(_ENTITLEMENT_FACTS, {"customer": customer_id}).all()
    for what, row_id, key, purchased_on, expires_on, starts_on, ends_on, tier in rows:
        if what == "license":
            _, terms = licenses.setdefault(
                row_id, (LicenseFacts(row_id, key, purchased_on, expires_on), [])
            )
            if starts_on is not None:
                terms.append(Period(starts_on, ends_on))
        else:
            (hosted if what == "hosted" else partners).append(Period(starts_on, ends_on, tier))
    return [licenses[key] for key in sorted(licenses)], hosted, partners


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
        if number < 2**62 and session.execute(_TICKET_EXISTS, {"n": number}).first() is not None:
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
            for number, rfc_id, direction in session.execute(_BY_RFC_ID, {"ids": wanted}).all()
        ]
    for number, rfc_id, direction in rows:
        if rfc_id == mail.message_id and direction == MessageDirection.IN:
            return number, None
    tagged = _tagged_ticket(session, mail.subject)
    if tagged is not None or not thread_ids:
        return None, tagged
    by_id = {rfc_id: number for number, rfc_id, _ in rows if number is not None}
    if not any(rfc_id in by_id for rfc_id in thread_ids):
        for number, rfc_id in session.execute(_OURS_BY_RFC_ID, {"ids": thread_ids}).all():
            if number is not None:
                by_id[rfc_id] = number
    for rfc_id in thread_ids:  # In-Reply-To first, then the newest reference
        if by_id.get(rfc_id) is not None:
            return None, by_id[rfc_id]
    return None, None


def find_thread(session: Session, mail: ParsedMail) -> int | None:
    """The ticket `mail` belongs to: `[#N]`, else In-Reply-To/References (ours or theirs)."""
    return _thread_and_duplicate(session, mail)[1]


def _company_date(at: float, config: Config) -> dt.date:
    try:
        zone = zoneinfo.ZoneInfo(config.calendar.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return dt.datetime.fromtimestamp(at, zone).date()


def _own_addresses(config: Config) -> set[str]:
    return {
        normalize_email(loop_marker(config.smtp.from_address)),
        normalize_email(config.company.support_address),
    }


def _ours_reason(config: Config, mail: ParsedMail) -> str | None:
    """Why `mail` is our own mail coming back, or None."""
    own = _own_addresses(config)
    if mail.sender in own:
        return "mail from our own address"
    for marker in mail.loop_markers:
        if any(address in marker for address in own):
            return "mail loop (our X-Loop)"
    return None


# --------------------------------------------------------------------------- storing


def _add_message(session: Session, number: int, mail: ParsedMail, at: float) -> int:
    message_id = insert_message(
        session,
        number,
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
    _add_attachments(session, message_id, mail)
    return message_id


_ATTACHMENT_INSERT = insert(table_of(Attachment))


def _add_attachments(session: Session, message_id: int, mail: ParsedMail) -> None:
    if mail.attachments:
        session.execute(
            _ATTACHMENT_INSERT,
            [
                {
                    "message_id": message_id,
                    "filename": item.filename,
                    "content_type": item.content_type,
                    "size": item.size,
                    "content": item.content,
                }
                for item in mail.attachments
            ],
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


_SQLITE_WRITE_LOCK = text("DELETE FROM change_log WHERE 0")  # writes nothing, takes the lock
_PG_SENDER_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


def _one_delivery_at_a_time(session: Session, sender: str) -> None:
    """The same message delivered twice at once (two aliases of the support address, two
    fetchers) must not pass the duplicate check twice, nor two messages from one stranger the
    once-a-day auto-reply check. SQLite: take the write lock before the checks (the first write
    opens the transaction, so the checks then see every committed delivery). PostgreSQL: a
    transaction-scoped advisory lock on the sender's address."""
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.blake2b(f"shiftdesk intake {sender}".encode(), digest_size=8).digest()
        session.execute(_PG_SENDER_LOCK, {"key": int.from_bytes(digest, "big", signed=True)})
    else:
        session.execute(_SQLITE_WRITE_LOCK)


def store_message(
    store: Store, config: Config, mail: ParsedMail, received_at: float
) -> IntakeResult:
    """Thread, gate and store one parsed message in one transaction."""
    at = received_at
    auto_reason = _ours_reason(config, mail) or mail.auto_reason
    actor = Actor(mail.sender, mail.sender_name or None)
    with action(store) as session:
        _one_delivery_at_a_time(session, mail.sender)
        duplicate, number = _thread_and_duplicate(session, mail)
        if duplicate is not None:
            return IntakeResult("ignored", duplicate, f"already stored on ticket #{duplicate}")
        if number is None:
            if auto_reason is not None:
                return IntakeResult("ignored", None, auto_reason)
            return _new_ticket(session, config, mail, at, actor)
        bump_version(session, number, None, at)
        message_id = _add_message(session, number, mail, at)
        if auto_reason is not None:
            audit(
                session,
                number,
                actor,
                "automatic_message",
                at,
                reason=auto_reason,
                message=message_id,
            )
            mark_changed(session, number, at)
            return IntakeResult("reply", number, f"{auto_reason}; status unchanged")
        from models.desk.work import customer_wrote  # imported only when a reply arrives

        customer_wrote(
            session, number, message_id=message_id, author=mail.sender, body=mail.body, at=at
        )
        return IntakeResult("reply", number)


def _new_ticket(
    session: Session, config: Config, mail: ParsedMail, at: float, actor: Actor
) -> IntakeResult:
    customer_id = customer_id_for(session, mail.sender)
    decision: EntitlementDecision
    license_id = None
    if customer_id is None:
        decision = entitlement_at(None, [], [], [], _company_date(at, config))
    else:
        licenses, hosted, partners = entitlement_rows(session, customer_id)
        key = find_license_key(f"{mail.subject}\n{mail.body}", [lic.key for lic, _ in licenses])
        decision = entitlement_at(
            customer_id, licenses, hosted, partners, _company_date(at, config), key
        )
        license_id = decision.license_id
        if license_id is None and key is not None:
            license_id = next(lic.id for lic, _ in licenses if lic.key.upper() == key)
        elif license_id is None and len(licenses) == 1:
            license_id = licenses[0][0].id
    created = insert_ticket_and_message(
        session,
        subject=mail.subject or "(no subject)",
        requester_email=mail.sender,
        received_at=at,
        body=mail.body,
        customer_id=customer_id,
        license_id=license_id,
        entitlement=decision.basis,
        entitlement_note=decision.reason,
        phone_requested=bool(detect_phone_request(mail.body)),
        rfc_message_id=mail.message_id,
        headers=mail.headers_json,
        in_reply_to=mail.in_reply_to,
        references=mail.references,
        actor=actor,
    )
    _add_attachments(session, created.message_id, mail)
    if decision.entitled:
        return IntakeResult("new", created.number)
    skipped = _queue_autoreply(session, config, created.number, mail, decision.reason, at)
    suffix = f"; no auto-reply: {skipped}" if skipped else ""
    return IntakeResult("new", created.number, f"not entitled{suffix}")


def _queue_autoreply(
    session: Session, config: Config, number: int, mail: ParsedMail, reason: str, at: float
) -> str | None:
    """Queue the "not entitled" auto-reply, or say why not (also an audit event)."""
    to_address = mail.return_path or mail.sender  # RFC 3834 section 4: the envelope sender
    skipped = mail.no_autoreply_reason
    if skipped is None:
        recent = session.execute(
            _RECENT_AUTOREPLY, {"to": to_address, "since": at - AUTOREPLY_QUIET_SECONDS}
        ).first()
        if recent is not None:
            skipped = "an auto-reply went to this address in the last 24 hours"
    if skipped is None:
        skipped = _over_the_cap(session, config, at)
    if skipped is not None:
        audit(
            session, number, Actor("system", "shiftdesk"), "autoreply_skipped", at, reason=skipped
        )
        return skipped
    references = " ".join(filter(None, [mail.references, mail.message_id])) or None
    domain = loop_marker(config.smtp.from_address).rsplit("@", 1)[-1] or None
    enqueue(
        session,
        to_address=to_address,
        # RFC 3834 section 3.1.5: "Auto:" then the subject it answers (the ticket tag kept, so a
        # person's reply to it still threads)
        subject=f"Auto: [#{number}] {mail.subject or 'your message'}"[:MAX_SUBJECT_CHARS],
        body=autoreply_text(config, number, reason),
        at=at,
        ticket_number=number,
        kind="autoreply",
        in_reply_to=mail.message_id,
        references=references[:MAX_HEADER_CHARS] if references else None,
        domain=domain,
    )
    return None


_PG_AUTOREPLY_LOCK = text("SELECT pg_advisory_xact_lock(:key)")
_AUTOREPLY_LOCK_KEY = int.from_bytes(
    hashlib.blake2b(b"shiftdesk autoreply cap", digest_size=8).digest(), "big", signed=True
)
_AUTOREPLIES_SINCE = select(func.count()).select_from(
    select(_O.c.id)
    .where(_O.c.kind == "autoreply", _O.c.created_at > bindparam("since"))
    .limit(bindparam("cap"))
    .subquery()
)


def _over_the_cap(session: Session, config: Config, at: float) -> str | None:
    """The global cap: at most `smtp.autoreply_per_hour` auto-replies in any rolling hour,
    whoever they go to (a flood of spoofed senders gets a bounded number of answers). Two
    gateways on PostgreSQL count one at a time (an advisory lock); SQLite's write lock is held
    already."""
    cap = config.smtp.autoreply_per_hour
    if cap <= 0:
        return "auto-replies are off (smtp.autoreply_per_hour = 0)"
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_PG_AUTOREPLY_LOCK, {"key": _AUTOREPLY_LOCK_KEY})
    sent = session.execute(_AUTOREPLIES_SINCE, {"since": at - 3600, "cap": cap}).scalar_one()
    if sent >= cap:
        return f"the cap of {cap} auto-replies an hour is reached (smtp.autoreply_per_hour)"
    return None


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

    from models.store.db import StoreError, one_line

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


__all__ = [
    "KEY_PATTERN",
    "GateOutcome",
    "IntakeResult",
    "Limits",
    "NotFound",
    "ParsedAttachment",
    "ParsedMail",
    "Unusable",
    "autoreply_text",
    "entitlement_rows",
    "find_customer",
    "find_license_key",
    "find_thread",
    "gate",
    "html_to_text",
    "parse_message",
    "receive",
    "store_message",
]

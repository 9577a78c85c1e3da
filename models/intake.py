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

import codecs
import contextlib
import datetime as dt
import json
import re
import time
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import HeaderRegistry
from email.message import Message as MimePart
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from sqlmodel import col

from models.actions import (
    ActionError,
    Actor,
    NotFound,
    action,
    audit,
    insert_ticket,
    lock_ticket,
    mark_changed,
    normalize_email,
    technician_for,
)
from models.config import Config
from models.db import Store
from models.entitlement import EntitlementDecision, entitlement_at
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

MAX_MESSAGE_BYTES = 25 * 1024 * 1024
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_HEADER_CHARS = 16 * 1024  # per stored header value; longer ones are cut
MAX_SUBJECT_CHARS = 998
# the stdlib parser with policy.default spends ~0.2 ms per MIME part: a message made of
# hundreds of thousands of tiny parts would hold the gateway for minutes
MAX_MIME_PARTS = 2000
_PART_HEADER = re.compile(rb"^content-type:", re.IGNORECASE | re.MULTILINE)
AUTOREPLY_QUIET_SECONDS = 24 * 3600  # at most one "not entitled" auto-reply per address per day

KEY_PATTERN = re.compile(r"\b[A-Z0-9]{4,}(?:-[A-Z0-9]{4,}){2,}\b")
TICKET_TAG = re.compile(r"\[#(\d{1,12})\]")
_MSGID = re.compile(r"<[^<>\s]+>")


class Unusable(Exception):
    """A message that cannot be used (sysexits 65); `reason` is one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int = MAX_MESSAGE_BYTES
    max_attachment_bytes: int = MAX_ATTACHMENT_BYTES


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    size: int
    content: bytes | None  # None when over the attachment limit


@dataclass
class ParsedMail:
    sender: str  # lower case address
    sender_name: str
    subject: str
    message_id: str | None
    in_reply_to: str | None
    references: str | None
    date: float | None  # the Date header, informational only
    body: str
    attachments: list[ParsedAttachment] = field(default_factory=list)
    headers_json: str = "[]"
    auto_reason: str | None = None  # why it is automatic mail, if it is

    def thread_ids(self) -> list[str]:
        ids = _MSGID.findall(self.in_reply_to or "")
        for found in reversed(_MSGID.findall(self.references or "")):
            if found not in ids:
                ids.append(found)
        return ids


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


# --------------------------------------------------------------------------- text helpers


def clean_text(value: str) -> str:
    """Text any store accepts: lone surrogates replaced, NUL dropped (PostgreSQL refuses it)."""
    if not value:
        return ""
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace").replace("\x00", "")


def _unfold(value: str) -> str:
    return " ".join(value.split())


def decode_bytes(payload: bytes, charset: str | None) -> str:
    """Decode with the declared charset; a wrong or unknown one never fails."""
    name = (charset or "utf-8").strip().strip('"').lower() or "utf-8"
    try:
        codecs.lookup(name)
    except (LookupError, ValueError):  # unknown, or garbage such as an embedded NUL
        name = "utf-8"
    try:
        return payload.decode(name)
    except (UnicodeDecodeError, ValueError):
        pass
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        return payload.decode(name, "replace")


class _HtmlText(HTMLParser):
    BLOCK = {
        "p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol",
        "blockquote", "pre", "hr", "section", "article", "header", "footer",
    }  # fmt: skip
    SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0
        self.href: str | None = None
        self.link_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.skip_depth += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")
            if tag == "li":
                self.parts.append("- ")
        elif tag == "a":
            self.href = dict(attrs).get("href")
            self.link_text = []

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in self.BLOCK:
            self.parts.append("\n")
        elif tag == "a" and self.href:
            text = "".join(self.link_text).strip()
            if self.href.startswith(("http:", "https:", "mailto:")) and self.href != text:
                self.parts.append(f" <{self.href}>")
            self.href = None

    def handle_data(self, data: str) -> None:
        if self.skip_depth:
            return
        self.parts.append(data)
        if self.href is not None:
            self.link_text.append(data)


def html_to_text(html: str) -> str:
    """Readable text from HTML: blocks become lines, links keep their address, scripts vanish."""
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # html.parser is lenient; a pathological input still must not fail intake
        return re.sub(r"<[^>]*>", " ", html)
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# --------------------------------------------------------------------------- parsing


class _CachingHeaderRegistry(HeaderRegistry):
    """policy.default's registry builds a new header class on every lookup (~80 µs); same
    classes, built once per header name."""

    def __init__(self) -> None:
        super().__init__()
        self._built: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        built = self._built.get(key)
        if built is None:
            built = self._built[key] = super().__getitem__(name)
        return built


# policy.default, with the header classes cached
POLICY = policy.default.clone(header_factory=_CachingHeaderRegistry())


class _Headers:
    """A message's headers read once: raw values for matching, policy.default decoding (RFC 2047,
    addresses) only for the few shown or parsed. A header the parser chokes on stays raw."""

    def __init__(self, msg: MimePart) -> None:
        self.pairs = [(str(k), str(v)) for k, v in msg.raw_items()]
        self.first: dict[str, str] = {}
        for name, value in self.pairs:
            self.first.setdefault(name.lower(), value)

    def raw(self, name: str) -> str | None:
        value = self.first.get(name.lower())
        return None if value is None else clean_text(_unfold(value))

    def decoded(self, name: str) -> str | None:
        value = self.first.get(name.lower())
        if value is None:
            return None
        # the header parser slows down badly on very long values: decode at most the stored size
        value = value[:MAX_HEADER_CHARS]
        if "=?" not in value:  # no RFC 2047 encoded words: nothing to decode, skip the parser
            return clean_text(_unfold(value))
        with contextlib.suppress(Exception):  # one policy.default cannot parse stays raw
            value = str(POLICY.header_fetch_parse(name, value))
        return clean_text(_unfold(value))

    def as_json(self) -> str:
        pairs = []
        for name, value in self.pairs:
            text = clean_text(_unfold(value))
            if len(text) > MAX_HEADER_CHARS:
                text = text[:MAX_HEADER_CHARS] + " …[cut]"
            pairs.append([clean_text(name), text])
        return json.dumps(pairs, ensure_ascii=False)


def _sender(headers: _Headers) -> tuple[str, str]:
    for name in ("From", "Sender", "Reply-To"):
        value = headers.decoded(name)
        if not value:
            continue
        try:
            addresses = getaddresses([value])
        except Exception:  # the stdlib address parser has failed on odd input before
            continue
        for display, address in addresses:
            if "@" in address and " " not in address.strip():
                return normalize_email(address), display.strip()
    raise Unusable("no sender address (From)")


@dataclass
class _PartInfo:
    ctype: str
    charset: str | None
    disposition: str | None
    filename: str | None


def _part_info(part: MimePart) -> _PartInfo:
    """Content-Type and Content-Disposition parsed once per part (each lookup re-parses)."""
    ctype, charset, disposition, filename = part.get_default_type(), None, None, None
    try:
        header = part.get("content-type")
        if header is not None:
            value = str(getattr(header, "content_type", "") or "").lower()
            ctype = value if value.count("/") == 1 else "text/plain"
            params = getattr(header, "params", {}) or {}
            charset = params.get("charset")
            filename = params.get("name")
    except Exception:
        ctype = "text/plain"
    try:
        header = part.get("content-disposition")
        if header is not None:
            disposition = str(getattr(header, "content_disposition", "") or "").lower() or None
            params = getattr(header, "params", {}) or {}
            filename = params.get("filename") or filename
    except Exception:
        pass
    name = clean_text(str(filename)).strip() if filename else None
    return _PartInfo(ctype, str(charset) if charset else None, disposition, name or None)


def _decoded_payload(part: MimePart) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _part_text(part: MimePart, info: _PartInfo) -> str:
    text = decode_bytes(_decoded_payload(part), info.charset)
    if info.ctype == "text/html":
        text = html_to_text(text)
    return clean_text(text)


def _collect(
    part: MimePart,
    texts: dict[str, list[str]],
    attachments: list[ParsedAttachment],
    forwards: list[str],
    limits: Limits,
    depth: int,
) -> None:
    if depth > 30:  # absurd nesting: stop rather than recurse without end
        return
    info = _part_info(part)
    ctype = info.ctype
    if ctype == "message/rfc822":
        inner = part.get_payload()
        inner_msg = inner[0] if isinstance(inner, list) and inner else None
        if isinstance(inner_msg, MimePart) and depth < 5:
            forwards.append(_forward_text(inner_msg, limits, depth + 1))
            data = _serialize(inner_msg) or _decoded_payload(part)
        else:
            data = _decoded_payload(part)
        _add_attachment(attachments, info.filename or "forwarded.eml", ctype, data, limits)
        return
    if part.is_multipart():
        payload = part.get_payload()
        for child in payload if isinstance(payload, list) else []:
            if isinstance(child, MimePart):
                _collect(child, texts, attachments, forwards, limits, depth + 1)
        return
    attached = info.disposition == "attachment" or info.filename is not None
    if ctype in ("text/plain", "text/html") and not attached:
        texts.setdefault(ctype, []).append(_part_text(part, info))
        return
    if ctype.startswith("multipart/"):
        return  # a multipart that failed to parse: nothing usable
    data = _decoded_payload(part)
    _add_attachment(
        attachments, info.filename or f"part.{ctype.split('/')[-1]}", ctype, data, limits
    )


def _serialize(msg: MimePart) -> bytes:
    """A forwarded message as bytes. Re-folding odd headers can trip the stdlib generator
    (IndexError and friends): then the compat32 generator, then nothing."""
    for chosen in (POLICY.clone(max_line_length=0), policy.compat32):
        try:
            return msg.as_bytes(policy=chosen)
        except Exception:
            continue
    return b""


def _add_attachment(
    attachments: list[ParsedAttachment], name: str, ctype: str, data: bytes, limits: Limits
) -> None:
    keep = data if len(data) <= limits.max_attachment_bytes else None
    attachments.append(ParsedAttachment(name[:255], ctype[:255], len(data), keep))


def _body_of(msg: MimePart, limits: Limits, depth: int) -> tuple[str, list[ParsedAttachment]]:
    texts: dict[str, list[str]] = {}
    attachments: list[ParsedAttachment] = []
    forwards: list[str] = []
    _collect(msg, texts, attachments, forwards, limits, depth)
    chosen = texts.get("text/plain") or texts.get("text/html") or []
    body = "\n\n".join(t.strip() for t in chosen if t.strip())
    for forwarded in forwards:
        body = f"{body}\n\n{forwarded}" if body else forwarded
    return body, attachments


def _forward_text(inner: MimePart, limits: Limits, depth: int) -> str:
    headers = _Headers(inner)
    lines = ["---------- Forwarded message ----------"]
    for name in ("From", "Date", "Subject", "To"):
        value = headers.decoded(name)
        if value:
            lines.append(f"{name}: {value}")
    body, _ = _body_of(inner, limits, depth)
    return "\n".join(lines) + "\n\n" + body


def _auto_reason(msg: MimePart, headers: _Headers, sender: str) -> str | None:
    auto_submitted = (headers.raw("Auto-Submitted") or "").strip().lower()
    if auto_submitted and auto_submitted != "no":
        return "auto-reply" if "replied" in auto_submitted else "automatic mail"
    precedence = (headers.raw("Precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return "bulk mail"
    if precedence == "auto_reply":
        return "auto-reply"
    if headers.raw("X-Autoreply") is not None or headers.raw("X-Autorespond") is not None:
        return "auto-reply"
    local = sender.split("@", 1)[0]
    if local in ("mailer-daemon", "postmaster"):
        return "bounce"
    return_path = headers.raw("Return-Path")
    if return_path is not None and return_path.strip() in ("<>", ""):
        return "bounce"
    content_type = (headers.raw("Content-Type") or "").lower()
    if content_type.startswith("multipart/report"):
        report_type = re.search(r"report-type\s*=\s*\"?([a-z\-]+)", content_type)
        if report_type and report_type.group(1) in ("delivery-status", "disposition-notification"):
            return "bounce"
    return None


def parse_message(raw: bytes, limits: Limits = Limits()) -> ParsedMail:
    """Parse one message. Raises Unusable (empty, over the size limit, no sender)."""
    if len(raw) > limits.max_message_bytes:
        raise Unusable(f"message is over the {limits.max_message_bytes}-byte limit")
    if not raw.strip():
        raise Unusable("empty message")
    parts = len(_PART_HEADER.findall(raw))
    if parts > MAX_MIME_PARTS:
        raise Unusable(f"{parts} MIME parts, over the limit of {MAX_MIME_PARTS}")
    try:
        msg = BytesParser(policy=POLICY).parsebytes(raw)
    except RecursionError:
        raise Unusable("MIME structure nested too deeply") from None
    headers = _Headers(msg)
    if not headers.pairs:
        raise Unusable("no headers")
    sender, sender_name = _sender(headers)
    subject = headers.decoded("Subject") or ""
    if len(subject) > MAX_SUBJECT_CHARS:
        subject = subject[:MAX_SUBJECT_CHARS] + "…"
    message_ids = _MSGID.findall(headers.raw("Message-ID") or "")
    date = None
    date_text = headers.raw("Date")
    if date_text:
        try:
            date = parsedate_to_datetime(date_text).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            date = None
    try:
        body, attachments = _body_of(msg, limits, 0)
    except RecursionError:
        raise Unusable("MIME structure nested too deeply") from None
    in_reply_to = headers.raw("In-Reply-To")
    references = headers.raw("References")
    return ParsedMail(
        sender=sender,
        sender_name=sender_name,
        subject=subject.strip(),
        message_id=message_ids[0][:900] if message_ids else None,
        in_reply_to=in_reply_to[:MAX_HEADER_CHARS] if in_reply_to else None,
        references=references[:MAX_HEADER_CHARS] if references else None,
        date=date,
        body=body,
        attachments=attachments,
        headers_json=headers.as_json(),
        auto_reason=_auto_reason(msg, headers, sender),
    )


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
    ticket = insert_ticket(
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
        actor=actor,
    )
    assert ticket.number is not None
    number = ticket.number
    # insert_ticket made the first message in this session: take it from the identity map
    session.flush()
    message = (
        next(
            (
                obj
                for obj in session.identity_map.values()
                if isinstance(obj, Message) and obj.ticket_number == number
            ),
            None,
        )
        or session.execute(select(Message).where(col(Message.ticket_number) == number)).scalar_one()
    )
    message.in_reply_to = mail.in_reply_to
    message.references = mail.references
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

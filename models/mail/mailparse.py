"""Parsing one RFC 5322 message for the gateway: sender, threading headers, body, attachments.

The standard `email` package with `policy.default` splits the message, but it is never trusted to
decode: bodies are decoded by hand with the declared charset (unknown charsets fall back to UTF-8,
bad bytes become U+FFFD), HTML becomes readable text, and a header the parser chokes on is kept as
its raw text. Automatic mail (Auto-Submitted other than "no", Precedence auto_reply,
X-Autoreply, X-Autorespond, bounces, out-of-office subjects) and mail nothing may answer
(Precedence bulk/junk/list, List-* headers, X-Auto-Response-Suppress, no-reply senders) are
recognised here; models.mail.intake decides what to do with them (docs/intake.md, "Loop safety").
No store access in this module.
"""

from __future__ import annotations

import codecs
import contextlib
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.message import Message as MimePart
from email.policy import EmailPolicy
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

from models.mail.limits import (  # noqa: F401  (re-exported)
    MAX_ATTACHMENT_BYTES,
    MAX_HEADER_CHARS,
    MAX_HEADER_FIELDS,
    MAX_HEADER_PARSE_CHARS,
    MAX_MESSAGE_BYTES,
    MAX_MIME_DEPTH,
    MAX_MIME_PARTS,
    MAX_SUBJECT_CHARS,
    Limits,
)

_MSGID = re.compile(r"<[^<>\s]+>")


class Unusable(Exception):
    """A message that cannot be used (sysexits 65); `reason` is one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
    # a person may have written it, but nothing automatic may answer it (RFC 3834): why
    no_autoreply_reason: str | None = None
    loop_markers: tuple[str, ...] = ()  # every X-Loop value, lower case
    return_path: str | None = None  # the envelope sender the MTA recorded, if any

    def thread_ids(self) -> list[str]:
        ids = _MSGID.findall(self.in_reply_to or "")
        for found in reversed(_MSGID.findall(self.references or "")):
            if found not in ids:
                ids.append(found)
        return ids


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


class _ParseOncePolicy(EmailPolicy):
    """policy.default, except that a header value is parsed once: the parser and Message ask for
    a part's Content-Type about six times each (get_content_type, is_multipart, ...), and every
    ask runs the structured-header parser again (~90 µs each; half of parsing a typical mail)."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if len(value) > 2000:  # keep the cache small whatever a message holds
            return super().header_fetch_parse(name, value)
        return _fetch_parse(self, name, value)


@functools.lru_cache(maxsize=256)
def _fetch_parse(chosen: EmailPolicy, name: str, value: str) -> Any:
    return EmailPolicy.header_fetch_parse(chosen, name, value)


# policy.default's settings, with header classes built once and header values parsed once
POLICY = _ParseOncePolicy(header_factory=_CachingHeaderRegistry())


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
                return address.strip().lower(), display.strip()
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


# subject-only out-of-office replies (no Auto-Submitted): Outlook / Exchange, Lotus Notes and
# the common localisations; the phrase must open the subject and be followed by a colon or end
# it, so "Out of office laptop won't boot" stays a customer's message
_OUT_OF_OFFICE = re.compile(
    r"^\s*(?:out of (?:the )?office(?: autoreply| auto-reply)?|automatic reply|auto(?:matic)?"
    r"[- ]?(?:reply|response)|autoreply|abwesenheitsnotiz|automatische antwort|"
    r"r[ée]ponse automatique|absence du bureau|respuesta autom[áa]tica|fuera de la oficina|"
    r"risposta automatica|fuori sede|automatisch antwoord|afwezigheidsbericht|autosvar|"
    r"poza biurem|vacation reply|away from (?:the )?office)\s*(?::|$)"
    r"|\bis out of (?:the )?office\b",
    re.IGNORECASE,
)
# senders nobody reads: RFC 3834 section 2 (owner-*, *-request, list software) and the
# no-reply addresses of notification systems
_NO_REPLY_LOCAL = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|no[-_.]?response|noreply[-_.].*|.*[-_.]noreply|"
    r"owner-.+|.+-owner|.+-request|.+-bounces?|bounces?|listserv|majordomo|mailman)"
    r"(?:\+.*)?$",
    re.IGNORECASE,
)
_SUPPRESS_VALUES = {"all", "autoreply", "oof"}  # X-Auto-Response-Suppress (Microsoft)


def _auto_reason(msg: MimePart, headers: _Headers, sender: str, subject: str) -> str | None:
    """Why the message is machine-made (never a ticket, never answered), or None."""
    auto_submitted = (headers.raw("Auto-Submitted") or "").strip().lower()
    keyword = re.split(r"[\s;(]", auto_submitted, maxsplit=1)[0]  # "no (a comment)" is no
    if auto_submitted and keyword != "no":
        return "auto-reply" if "replied" in auto_submitted else "automatic mail"
    precedence = (headers.raw("Precedence") or "").strip().lower()
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
    if _OUT_OF_OFFICE.search(subject):
        return "out-of-office reply (subject)"
    return None


def _no_autoreply_reason(headers: _Headers, sender: str, return_path: str | None) -> str | None:
    """Why no automatic answer may go to this message although a person may have written it
    (it still becomes a ticket), or None. RFC 3834 section 2, Microsoft's suppress header."""
    precedence = (headers.raw("Precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list"):
        return f"Precedence: {precedence}"
    for name in ("List-Id", "List-Unsubscribe", "List-Post"):
        if headers.raw(name) is not None:
            return f"list mail ({name})"
    suppress = (headers.raw("X-Auto-Response-Suppress") or "").lower()
    if _SUPPRESS_VALUES & {value.strip() for value in suppress.split(",")}:
        return "X-Auto-Response-Suppress"
    for address in (sender, return_path or ""):
        local = address.split("@", 1)[0]
        if local and _NO_REPLY_LOCAL.match(local):
            return f"no-reply sender ({address})"
    return None


def _return_path(headers: _Headers) -> str | None:
    value = headers.raw("Return-Path")
    if not value:
        return None
    address = value.strip().strip("<>").strip().lower()
    return address if "@" in address and " " not in address else None


def _loop_markers(headers: _Headers) -> tuple[str, ...]:
    return tuple(
        clean_text(_unfold(value)).strip().lower()[:MAX_HEADER_CHARS]
        for name, value in headers.pairs
        if name.lower() == "x-loop"
    )


# --------------------------------------------------------------------------- bounded MIME split
#
# The stdlib parser keeps every line of a body as its own str until the part ends (~55 bytes per
# line: a 25 MB message of short lines peaks near 1 GB), makes a Message per part whatever its
# headers (header-less parts slip past any count of "Content-Type:"), re-parses a Content-Type of
# any length (quadratic: minutes) and recurses without bound. `split_message` builds the same
# Message tree itself: header blocks go through the policy's own header_source_parse (so values
# read exactly as the stdlib parser gives them), bodies stay one slice each, and parts, nesting
# and header fields are counted as they are made, whatever their headers say.

_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)?")
# email.feedparser's headerRE: a line that does not match ends the header block
_HEADER_START = re.compile(rb"From |[\x21-\x39\x3b-\x7e]*:|[\t ]")
_LINE_ENDINGS = (b"\r\n", b"\n", b"\r")
# the headers whose parameter lists are parsed (quadratic in their length): real ones, RFC 2231
# continued file names included, stay under 2 KB
_PARAM_HEADERS = {"content-type", "content-disposition"}
MAX_PARAMS_PARSE_CHARS = 8 * 1024


class _Budget:
    def __init__(self) -> None:
        self.parts = 0
        self.fields = 0

    def part(self) -> None:
        self.parts += 1
        if self.parts > MAX_MIME_PARTS:
            raise Unusable(f"more than {MAX_MIME_PARTS} MIME parts")


def _read_headers(
    msg: MimePart, raw: bytes, start: int, end: int, budget: _Budget
) -> tuple[int, bool]:
    """The header fields of the part in raw[start:end] into `msg`, the way email.feedparser
    reads them (folded lines joined, the block ends at a blank line or at the first line that
    cannot be a header), each value cut at MAX_HEADER_PARSE_CHARS. Returns where the body
    starts, and whether a blank line (or the end) ended the block."""
    field: list[str] = []
    length = 0

    def flush() -> None:
        if field:
            name, value = POLICY.header_source_parse(field)
            limit = (
                MAX_PARAMS_PARSE_CHARS if name.lower() in _PARAM_HEADERS else MAX_HEADER_PARSE_CHARS
            )
            msg.set_raw(name, value[:limit])

    for match in _LINE.finditer(raw, start, end):
        line = match.group()
        if not line:
            break
        if line in _LINE_ENDINGS:
            flush()
            return match.end(), True
        if not _HEADER_START.match(line):
            flush()
            return match.start(), False  # feedparser: a missing separator, the body starts here
        if line[:1] in (b" ", b"\t"):
            if field and length < MAX_HEADER_PARSE_CHARS:
                field.append(line[:MAX_HEADER_PARSE_CHARS].decode("ascii", "surrogateescape"))
                length += len(line)
            continue
        flush()
        field, length = [], 0
        if line.startswith(b"From ") or line.startswith(b":"):
            continue  # an mbox envelope line or a nameless field: the stdlib skips both
        budget.fields += 1
        if budget.fields > MAX_HEADER_FIELDS:
            raise Unusable(f"more than {MAX_HEADER_FIELDS} header fields")
        field = [line[:MAX_HEADER_PARSE_CHARS].decode("ascii", "surrogateescape")]
        length = len(line)
    flush()
    return end, True


def _strip_eol(raw: bytes, start: int, end: int) -> int:
    """`end` less one line ending: the stdlib parser drops the one before a part's end."""
    if end - 2 >= start and raw.startswith(b"\r\n", end - 2):
        return end - 2
    if end > start and raw[end - 1] in (10, 13):
        return end - 1
    return end


def _delimiters(raw: bytes, start: int, end: int, boundary: str) -> Iterator[tuple[int, int, bool]]:
    """(start, end, is_close) of each delimiter line of `boundary` in raw[start:end]; the line
    ending before it belongs to it (RFC 2046 5.1.1). bytes.find, not a regex: a regex tried at
    every position made each nesting level a slow pass over the whole message."""
    marker = b"--" + boundary.encode("utf-8", "surrogateescape")
    position = start
    while (found := raw.find(marker, position, end)) >= 0:
        position = found + 1
        if found > start and raw[found - 1] not in (10, 13):
            continue  # not at the start of a line
        tail = found + len(marker)
        close = raw.startswith(b"--", tail, end)
        if close:
            tail += 2
        while tail < end and raw[tail] in (32, 9):
            tail += 1
        if tail < end and raw[tail] not in (10, 13):
            continue  # something else follows on the line: not a delimiter
        if raw.startswith(b"\r\n", tail, end):
            tail += 2
        elif tail < end:
            tail += 1
        head = found
        if head > start and raw[head - 1] == 10:
            head -= 2 if head - 1 > start and raw[head - 2] == 13 else 1
        elif head > start:
            head -= 1  # a lone CR ends the line
        yield head, tail, close


def _split_part(
    raw: bytes, start: int, end: int, budget: _Budget, depth: int, default_type: str
) -> MimePart:
    if depth > MAX_MIME_DEPTH:
        raise Unusable(f"MIME structure nested too deeply (over {MAX_MIME_DEPTH} levels)")
    budget.part()
    msg = EmailMessage(policy=POLICY)
    if default_type != "text/plain":
        msg.set_default_type(default_type)
    body_start, _ = _read_headers(msg, raw, start, end, budget)
    try:
        ctype = msg.get_content_type()
    except Exception:
        ctype = "text/plain"
    if ctype.startswith("multipart/"):
        try:
            boundary = msg.get_boundary()
        except Exception:
            boundary = None
        children = _split_multipart(raw, body_start, end, budget, depth, ctype, boundary)
        if children is not None:
            msg.set_payload(list[MimePart | str](children))
            return msg
    elif ctype == "message/delivery-status":
        msg.set_payload(list[MimePart | str](_status_blocks(raw, body_start, end, budget)))
        return msg
    elif ctype.startswith("message/"):
        msg.set_payload([_split_part(raw, body_start, end, budget, depth + 1, "text/plain")])
        return msg
    msg.set_payload(raw[body_start:end].decode("ascii", "surrogateescape"))
    return msg


def _status_blocks(raw: bytes, start: int, end: int, budget: _Budget) -> list[MimePart]:
    """A delivery status: blocks of header fields, one header-only Message each (as the stdlib
    parser gives it)."""
    blocks: list[MimePart] = []
    position = start
    while position < end:
        budget.part()
        block = EmailMessage(policy=POLICY)
        body_start, by_blank = _read_headers(block, raw, position, end, budget)
        blocks.append(block)
        position = body_start
        if by_blank:
            block.set_payload("")
            continue
        # a line that is no header: the block's body runs to the next blank line
        body_end = next_position = end
        for match in _LINE.finditer(raw, body_start, end):
            if not match.group() or match.group() in _LINE_ENDINGS:
                body_end, next_position = match.start(), match.end()
                break
        block.set_payload(raw[body_start:body_end].decode("ascii", "surrogateescape"))
        position = max(next_position, position + 1)
    return blocks


def _split_multipart(
    raw: bytes,
    start: int,
    end: int,
    budget: _Budget,
    depth: int,
    ctype: str,
    boundary: str | None,
) -> list[MimePart] | None:
    """The parts between the delimiter lines; None when there is no usable boundary (the
    whole body then stays text, as the stdlib parser leaves it)."""
    if not boundary:
        return None
    child_type = "message/rfc822" if ctype == "multipart/digest" else "text/plain"
    children: list[MimePart] = []
    part_start: int | None = None
    found = False
    for delimiter_start, delimiter_end, close in _delimiters(raw, start, end, boundary):
        found = True
        if part_start is not None and delimiter_start < part_start:
            # delimiter right after delimiter: the stdlib parser makes no empty part of it
            if close:
                part_start = None
                break
            part_start = delimiter_end
            continue
        if part_start is not None:
            children.append(
                _split_part(raw, part_start, delimiter_start, budget, depth + 1, child_type)
            )
        part_start = None
        if close:  # the close delimiter: the rest is epilogue
            break
        part_start = delimiter_end
    if not found:
        return None
    if part_start is not None:  # no close delimiter: the last part runs to the end
        part_end = _strip_eol(raw, part_start, end)
        children.append(_split_part(raw, part_start, part_end, budget, depth + 1, child_type))
    return children


def split_message(raw: bytes) -> MimePart:
    """The message as an email.message tree, within MAX_MIME_PARTS parts, MAX_MIME_DEPTH levels
    and MAX_HEADER_FIELDS header fields (Unusable beyond them)."""
    return _split_part(raw, 0, len(raw), _Budget(), 0, "text/plain")


def parse_message(raw: bytes, limits: Limits = Limits()) -> ParsedMail:
    """Parse one message. Raises Unusable (empty, over the size limit, no sender)."""
    if len(raw) > limits.max_message_bytes:
        raise Unusable(f"message is over the {limits.max_message_bytes}-byte limit")
    if not raw.strip():
        raise Unusable("empty message")
    msg = split_message(raw)
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
    body, attachments = _body_of(msg, limits, 0)
    in_reply_to = headers.raw("In-Reply-To")
    references = headers.raw("References")
    return_path = _return_path(headers)
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
        auto_reason=_auto_reason(msg, headers, sender, subject),
        no_autoreply_reason=_no_autoreply_reason(headers, sender, return_path),
        loop_markers=_loop_markers(headers),
        return_path=return_path,
    )

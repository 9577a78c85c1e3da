"""The gateway's size limits, in a module of their own: the thin `mailgate --socket` client needs
the message limit and must not pay for importing the email parser (~50 ms)."""

from __future__ import annotations

from dataclasses import dataclass

MAX_MESSAGE_BYTES = 25 * 1024 * 1024
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_HEADER_CHARS = 16 * 1024  # per stored header value; longer ones are cut
MAX_SUBJECT_CHARS = 998
# the stdlib parser with policy.default spends ~0.2 ms per MIME part: a message made of
# hundreds of thousands of tiny parts would hold the gateway for minutes. Counted as the parts
# are made (models.mail.mailparse.split_message), header-less parts included.
MAX_MIME_PARTS = 2000
MAX_MIME_DEPTH = 30  # multiparts / forwarded messages inside each other
# header fields in the whole message, all parts: real mail has tens to a few hundred
# (Received, DKIM, ARC chains); a million costs a gigabyte of header objects
MAX_HEADER_FIELDS = 5000
# a header value longer than this is cut before any parsing: policy.default's structured
# parsers are quadratic on a long parameter list (a 4 MB Content-Type: minutes)
MAX_HEADER_PARSE_CHARS = 64 * 1024


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int = MAX_MESSAGE_BYTES
    max_attachment_bytes: int = MAX_ATTACHMENT_BYTES

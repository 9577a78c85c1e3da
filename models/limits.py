"""The gateway's size limits, in a module of their own: the thin `mailgate --socket` client needs
the message limit and must not pay for importing the email parser (~50 ms)."""

from __future__ import annotations

from dataclasses import dataclass

MAX_MESSAGE_BYTES = 25 * 1024 * 1024
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_HEADER_CHARS = 16 * 1024  # per stored header value; longer ones are cut
MAX_SUBJECT_CHARS = 998
# the stdlib parser with policy.default spends ~0.2 ms per MIME part: a message made of
# hundreds of thousands of tiny parts would hold the gateway for minutes
MAX_MIME_PARTS = 2000


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int = MAX_MESSAGE_BYTES
    max_attachment_bytes: int = MAX_ATTACHMENT_BYTES
